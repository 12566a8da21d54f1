"""Every case: importing a module registers its cases; `CASES` lists them in h2spec's
order (RFC 9113 sections numerically, additions "xN" after a section's own cases,
then the HPACK cases)."""

from h2conformance.cases import (  # noqa: F401 - imported for their registrations
    frames_data_to_settings,
    frames_ping_to_continuation,
    header_compression,
    messages,
    preface_and_streams,
)
from h2conformance.cases.registry import CASES, Case

__all__ = ["CASES", "Case"]


def _order(case: Case) -> tuple[bool, list[int], bool, int]:
    """ "hpack/6.3/x1" sorts as (True, [6, 3], True, 1)."""
    section, _, number = case.id.removeprefix("hpack/").partition("/")
    return (
        case.id.startswith("hpack/"),
        [int(part) for part in section.split(".")],
        number.startswith("x"),
        int(number.removeprefix("x")),
    )


CASES.sort(key=_order)
