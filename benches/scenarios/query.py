"""Query parameters: parsing the query string and binding two parameters."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="query",
    title="Query parameters",
    description='GET /query?a=1&b=2 returns {"a": "1", "b": "2"}.',
    path="/query?a=1&b=2",
    check=expect_json({"a": "1", "b": "2"}),
    order=40,
)
