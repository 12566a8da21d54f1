"""TechEmpower test type 3, multiple queries: 20 random ``world`` rows, one query each."""

from harness.scenario import Scenario
from harness.tfb_checks import expect_worlds

SCENARIO = Scenario(
    name="queries",
    title="20 database queries (TechEmpower)",
    description="GET /queries?queries=20: 20 random world rows, each its own SELECT.",
    path="/queries?queries=20",
    check=expect_worlds(20),
    database=True,
    order=210,
)
