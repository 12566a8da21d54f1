"""16-deep HTTP/1.1 pipelining of plaintext (TechEmpower "Plaintext" style)."""

from harness.scenario import Scenario, expect_text

DEPTH = 16

SCENARIO = Scenario(
    name="pipeline",
    title="Plaintext, 16-deep pipelining",
    description=f"GET /plaintext, {DEPTH} requests written back to back per connection "
    "before the responses are read.",
    path="/plaintext",
    check=expect_text("Hello, World!"),
    order=90,
    pipeline_depth=DEPTH,
)
