"""The case table: `case` registers an h2spec case (id, description, expected
outcome, and the function that plays it on a fresh `Probe`), plus the request
builders and small checks the cases share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from h2conformance.app import BIG_BODY_SIZE, INDEX_BODY
from h2conformance.expect import expect_frame
from h2conformance.probe import ACK, ErrorCode, Frame, FrameType, Probe

__all__ = [
    "BIG_BODY_SIZE",
    "CASES",
    "COMPRESSION",
    "CONN",
    "DUMMY",
    "FLOW_CONTROL",
    "FRAME_SIZE",
    "INDEX_BODY",
    "MALFORMED",
    "MAX_WINDOW",
    "PROTOCOL",
    "REFUSED",
    "STREAM",
    "STREAM_CLOSED",
    "Case",
    "case",
    "expect_first_data_length",
    "expect_ping_answered",
    "get",
    "is_ping_ack",
    "post",
    "settings_acked",
]

PROTOCOL = ErrorCode.PROTOCOL_ERROR
STREAM_CLOSED = ErrorCode.STREAM_CLOSED
FRAME_SIZE = ErrorCode.FRAME_SIZE_ERROR
FLOW_CONTROL = ErrorCode.FLOW_CONTROL_ERROR
COMPRESSION = ErrorCode.COMPRESSION_ERROR
REFUSED = ErrorCode.REFUSED_STREAM

# h2spec pads header blocks with 4,000-octet "x-dummyN" fields; 100 keeps the blocks
# well under the server's 16 KiB header-list limit, which is not what is tested.
DUMMY = [("x-dummy0", "x" * 100)]
MAX_WINDOW = 2**31 - 1


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    expected: str
    run: Callable[[Probe], None]


CASES: list[Case] = []


def case(
    case_id: str, description: str, expected: str
) -> Callable[[Callable[[Probe], None]], Callable[[Probe], None]]:
    def register(run: Callable[[Probe], None]) -> Callable[[Probe], None]:
        CASES.append(Case(case_id, description, expected, run))
        return run

    return register


CONN = "connection error {}"
STREAM = "stream error {}"
MALFORMED = "stream error PROTOCOL_ERROR, or a 400 response"


def get(probe: Probe, path: str = "/") -> list[tuple[str | bytes, str | bytes]]:
    return probe.request_fields("GET", path)


def post(
    probe: Probe, path: str = "/", extra: tuple[tuple[str, str], ...] = ()
) -> list[tuple[str | bytes, str | bytes]]:
    return probe.request_fields("POST", path, extra)


def is_ping_ack(payload: bytes) -> Callable[[Frame], bool]:
    return lambda f: f.type == FrameType.PING and bool(f.flags & ACK) and f.payload == payload


def expect_ping_answered(probe: Probe, payload: bytes = b"\x00" * 8) -> None:
    """The connection still works: a PING gets its ACK (h2spec's VerifyEventType(PING))."""
    probe.ping(payload)
    expect_frame(probe, is_ping_ack(payload), f"PING ACK with payload {payload!r}")


def expect_first_data_length(probe: Probe, stream_id: int, length: int) -> None:
    frame = expect_frame(
        probe, lambda f: f.type == FrameType.DATA and f.stream_id == stream_id, "a DATA frame"
    )
    assert len(frame.payload) == length, (
        f"DATA of {len(frame.payload)} bytes, window allowed {length}"
    )


def settings_acked(probe: Probe) -> None:
    expect_frame(
        probe, lambda f: f.type == FrameType.SETTINGS and bool(f.flags & ACK), "SETTINGS ACK"
    )
