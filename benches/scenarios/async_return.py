"""Async handler that never suspends: what an ``async def`` costs when nothing is awaited."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="async_return",
    title="Async handler, no await",
    description='GET /async: an `async def` handler that returns {"message": "Hello, World!"} '
    "without awaiting anything.",
    path="/async",
    check=expect_json({"message": "Hello, World!"}),
    order=70,
)
