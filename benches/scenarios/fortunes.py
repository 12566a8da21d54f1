"""TechEmpower test type 4, fortunes: every ``fortune`` row plus one added at request
time, sorted by message, rendered as an HTML table by the framework's template engine with
its HTML escaping."""

from harness.scenario import Scenario
from harness.tfb_checks import expect_fortunes

SCENARIO = Scenario(
    name="fortunes",
    title="Fortunes: query, sort, template, escape (TechEmpower)",
    description="GET /fortunes: the fortune table plus one row, sorted, as escaped HTML.",
    path="/fortunes",
    check=expect_fortunes(),
    database=True,
    order=220,
)
