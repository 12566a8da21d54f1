"""Path parameter: routing with a capture and the framework's own parameter binding."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="path_param",
    title="Path parameter",
    description='GET /users/{id} returns {"id": <id as an integer>}.',
    path="/users/12345",
    check=expect_json({"id": 12345}),
    order=30,
)
