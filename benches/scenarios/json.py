"""JSON hello: the framework's own JSON encoder on the smallest possible object."""

from harness.scenario import Scenario, expect_json

SCENARIO = Scenario(
    name="json",
    title="JSON hello",
    description='GET /json returns {"message": "Hello, World!"} (TechEmpower "JSON").',
    path="/json",
    check=expect_json({"message": "Hello, World!"}),
    order=10,
)
