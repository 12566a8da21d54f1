"""TechEmpower test type 2, single database query: one random ``world`` row as JSON."""

from harness.scenario import Scenario
from harness.tfb_checks import expect_worlds

SCENARIO = Scenario(
    name="db",
    title="Single database query (TechEmpower)",
    description='GET /db: one random world row from PostgreSQL, {"id": n, "randomNumber": m}.',
    path="/db",
    check=expect_worlds(None),
    database=True,
    order=200,
)
