"""Typed parameters: an ``int`` path parameter and a Pydantic body bound from the
handler's annotations (FastAPI's way; on the original, by hand: it has no working
typed binding)."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="typed_body",
    title="Typed path parameter + Pydantic body",
    description=(
        'POST /items/7 with {"name": "pen", "price": 1.5}: item_id: int and item: Item '
        "(a Pydantic model) from the annotations; returns both."
    ),
    path="/items/7",
    method="POST",
    body=b'{"name": "pen", "price": 1.5}',
    headers={"Content-Type": "application/json"},
    check=expect_json({"item_id": 7, "name": "pen", "price": 1.5}),
    order=35,
)
