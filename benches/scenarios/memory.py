"""Memory: RSS per worker when idle and while holding 10,000 idle keep-alive connections."""

from harness.scenario import Scenario, expect_text

SCENARIO = Scenario(
    name="memory",
    title="Memory with 10,000 idle keep-alive connections",
    description="RSS of the server's process tree when idle, then after the harness opens "
    "10,000 keep-alive connections that each send one GET /plaintext and stay open.",
    path="/plaintext",
    check=expect_text("Hello, World!"),
    order=100,
    client="idle-connections",
    idle_connections=10_000,
)
