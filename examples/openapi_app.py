"""A small typed API with its OpenAPI 3.1 document, Swagger UI and ReDoc.

Run it with ``python examples/openapi_app.py`` and open http://127.0.0.1:8000/docs
(Swagger UI), http://127.0.0.1:8000/redoc (ReDoc) or http://127.0.0.1:8000/openapi.json.
The pages' files are served by the app itself (``pip install 'cello[openapi]'``), so
they work without a network.
"""

from __future__ import annotations

import itertools
from typing import Annotated

from cello import App, Header, HTTPException, Path, Query
from pydantic import BaseModel, Field

app = App()
app.enable_openapi(
    title="Shop API",
    version="1.0.0",
    description="Items for sale. Every error is RFC 9457 problem details.",
    tags=[
        {"name": "items", "description": "What the shop sells"},
        {"name": "meta", "description": "About the service"},
    ],
    license_info={"name": "MIT", "identifier": "MIT"},
)


class ItemIn(BaseModel):
    """What a client sends to create an item."""

    name: str = Field(min_length=1, max_length=50, examples=["teapot"])
    price: float = Field(ge=0, le=1_000_000, description="in euros")
    tags: list[str] = Field(default_factory=list, max_length=10)


class Item(ItemIn):
    """An item of the shop."""

    id: int


class Page(BaseModel):
    """One page of items."""

    items: list[Item]
    total: int


_ids = itertools.count(1)
ITEMS: dict[int, Item] = {}


@app.get("/items", tags=["items"], response_model=Page)
def list_items(
    limit: Annotated[int, Query(ge=1, le=100, description="how many items at most")] = 10,
    tag: Annotated[str | None, Query(max_length=30, description="only items with this tag")] = None,
) -> Page:
    """List items.

    The newest first; `tag` keeps those that carry it.
    """
    chosen = [item for item in reversed(ITEMS.values()) if tag is None or tag in item.tags]
    return Page(items=chosen[:limit], total=len(chosen))


@app.get(
    "/items/{item_id:int}",
    tags=["items"],
    response_model=Item,
    responses={404: {"description": "There is no item with this id"}},
)
def get_item(item_id: Annotated[int, Path(description="the item's id")]) -> Item:
    """Read one item."""
    item = ITEMS.get(item_id)
    if item is None:
        raise HTTPException(404, f"there is no item {item_id}")
    return item


@app.post("/items", tags=["items"], status_code=201, response_model=Item)
def create_item(item: ItemIn, x_request_source: Annotated[str | None, Header(max_length=40)] = None) -> Item:
    """Create an item."""
    created = Item(id=next(_ids), **item.model_dump())
    ITEMS[created.id] = created
    return created


@app.delete(
    "/items/{item_id:int}",
    tags=["items"],
    status_code=204,
    responses={404: {"description": "There is no item with this id"}},
)
def delete_item(item_id: int) -> None:
    """Delete an item."""
    if ITEMS.pop(item_id, None) is None:
        raise HTTPException(404, f"there is no item {item_id}")


@app.get("/items/search", tags=["items"], deprecated=True, response_model=Page)
def search_items(q: Annotated[str, Query(min_length=1, max_length=30)]) -> Page:
    """Search items by name (deprecated: use GET /items?tag=)."""
    found = [item for item in ITEMS.values() if q.lower() in item.name.lower()]
    return Page(items=found, total=len(found))


@app.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Whether the service is up."""
    return {"status": "ok"}


@app.get("/internal/stats", include_in_schema=False)
def stats() -> dict[str, int]:
    return {"items": len(ITEMS)}


if __name__ == "__main__":
    app.run()
