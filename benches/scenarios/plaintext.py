"""Plaintext: the fixed cost of a request, with no encoder in the way."""

from harness.scenario import Scenario, expect_text

SCENARIO = Scenario(
    name="plaintext",
    title="Plaintext",
    description="GET /plaintext returns `Hello, World!` as text/plain, one request at a time.",
    path="/plaintext",
    check=expect_text("Hello, World!"),
    order=20,
)
