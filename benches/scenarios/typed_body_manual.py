"""The typed_body work written by hand (``Item.model_validate(request.json())`` and
``int(request.params[...])``): the baseline that shows what Cello's typed binding
itself costs. FastAPI has only the typed way, so its row repeats typed_body."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="typed_body_manual",
    title="Path parameter + Pydantic body, by hand",
    description="POST /items-manual/7: the same as typed_body, validated in the handler.",
    path="/items-manual/7",
    method="POST",
    body=b'{"name": "pen", "price": 1.5}',
    headers={"Content-Type": "application/json"},
    check=expect_json({"item_id": 7, "name": "pen", "price": 1.5}),
    order=36,
)
