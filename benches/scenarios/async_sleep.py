"""Async handler that suspends once: a real trip through the event loop per request."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="async_sleep",
    title="Async handler, await asyncio.sleep(0)",
    description="GET /async-sleep: an `async def` handler that awaits `asyncio.sleep(0)` and "
    'returns {"message": "Hello, World!"}.',
    path="/async-sleep",
    check=expect_json({"message": "Hello, World!"}),
    order=80,
)
