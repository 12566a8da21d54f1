"""TechEmpower test type 5, updates: read 20 random ``world`` rows one by one, give each a
new random number, write them back (one batch statement, as the rules permit), answer the
updated rows."""

from harness.scenario import Scenario
from harness.tfb_checks import expect_updates

_CHECK, _SNAPSHOT = expect_updates(20)

SCENARIO = Scenario(
    name="updates",
    title="20 database updates (TechEmpower)",
    description="GET /updates?queries=20: 20 rows read, changed and written back.",
    path="/updates?queries=20",
    check=_CHECK,
    before_check=_SNAPSHOT.take,
    database=True,
    order=230,
)
