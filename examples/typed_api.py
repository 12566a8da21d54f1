"""Dependency injection and typed parameters, FastAPI-style (docs/dependencies.md,
docs/validation.md).

    python examples/typed_api.py --port 8000
    curl -X POST localhost:8000/items -H 'authorization: Bearer s3cret' \
         -H 'content-type: application/json' -d '{"name": "bow", "price": 120}'
    curl 'localhost:8000/items?limit=1'
    curl localhost:8000/items/abc        # 422 problem+json
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from cello import App, Depends, Header, HTTPException, Query
from pydantic import BaseModel, Field

app = App()


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    price: float = Field(gt=0)
    secret_note: str | None = None


class ItemOut(BaseModel):
    id: int
    name: str
    price: float


class Store:
    """Stands in for a database: a dict and a transaction log."""

    def __init__(self) -> None:
        self.items: dict[int, dict[str, object]] = {}
        self.log: list[str] = []


app.register_singleton("store", Store())


def transaction(store: Store = Depends("store")) -> Iterator[Store]:
    store.log.append("begin")
    try:
        yield store
        store.log.append("commit")
    except Exception:
        store.log.append("rollback")
        raise


def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
    if authorization != "Bearer s3cret":
        raise HTTPException(401, "send Authorization: Bearer s3cret", {"www-authenticate": "Bearer"})
    return "ada"


@app.post("/items", status_code=201, response_model=ItemOut, tags=["items"])
def create_item(item: ItemIn, user: str = Depends(current_user), db: Store = Depends(transaction)):
    """Create an item (the note stays private: ItemOut does not declare it)."""
    item_id = len(db.items) + 1
    db.items[item_id] = {"id": item_id, **item.model_dump()}
    return db.items[item_id]


@app.get("/items", response_model=list[ItemOut], tags=["items"])
def list_items(limit: int = Query(10, ge=1, le=100), db: Store = Depends("store")):
    return list(db.items.values())[:limit]


@app.get("/items/{item_id}", response_model=ItemOut, tags=["items"])
def get_item(item_id: int, db: Store = Depends("store")):
    if item_id not in db.items:
        raise HTTPException(404, f"no item {item_id}")
    return db.items[item_id]


@app.get("/log")
def transaction_log(db: Store = Depends("store")):
    return {"log": db.log}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
