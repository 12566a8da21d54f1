"""Outcome checks, modelled on h2spec's verifiers (spec/verifier.go) but stricter.

h2spec passes a connection error or a stream error as soon as the connection closes,
even after a GOAWAY or RST_STREAM carrying another error code than the one it
expects. Here a connection error must be a GOAWAY with an expected code followed by
the close (RFC 9113 section 5.4.1: an endpoint "SHOULD first send a GOAWAY"; the code
is what the RFC prescribes). A stream error may be a RST_STREAM on the stream or a
GOAWAY, with an expected code, since "an endpoint MAY choose to treat a stream error
as a connection error" (section 5.4). Every wait is bounded by the probe's timeout;
failures print the whole transcript of what the server sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from h2conformance.probe import Closed, ErrorCode, Frame, FrameType, Probe, TimedOut

__all__ = [
    "Response",
    "expect_connection_close",
    "expect_connection_error",
    "expect_frame",
    "expect_response",
    "expect_stream_error",
]


def _names(codes: Collection[int]) -> str:
    return " or ".join(ErrorCode(code).name for code in codes)


def _fail(probe: Probe, expected: str, why: str) -> AssertionError:
    return AssertionError(f"expected {expected}; {why}\n{probe.format_transcript()}")


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"0x{code:x}"


def expect_connection_error(
    probe: Probe, *codes: int, goaway_required: bool = True
) -> Frame | None:
    """A GOAWAY with one of `codes`, then the server closes the TCP connection.

    `goaway_required=False` where the RFC lets the GOAWAY be omitted (an invalid preface).
    """
    expected = f"connection error: GOAWAY({_names(codes)}) then close"
    deadline = time.monotonic() + probe.timeout
    goaway: Frame | None = None
    while True:
        event = probe.next_event(deadline)
        if isinstance(event, Closed):
            break
        if isinstance(event, TimedOut):
            if goaway is None:
                raise _fail(probe, expected, "got neither a GOAWAY nor a close")
            raise _fail(probe, expected, "the server sent GOAWAY but kept the connection open")
        if event.type == FrameType.GOAWAY:
            if event.error_code not in codes:
                raise _fail(probe, expected, f"GOAWAY carries {_code_name(event.error_code)}")
            goaway = event
        elif event.type == FrameType.RST_STREAM and goaway is None:
            raise _fail(probe, expected, f"got a stream error instead: {event.describe()}")
    if goaway is None and goaway_required:
        raise _fail(probe, expected, "the connection closed without a GOAWAY")
    return goaway


def expect_stream_error(
    probe: Probe,
    stream_id: int,
    *codes: int,
    accept_status: Collection[int] = (),
) -> Frame:
    """RST_STREAM(`codes`) on `stream_id`, or GOAWAY(`codes`) (stream error escalated).

    `accept_status`: for malformed requests, RFC 9113 section 8.1.1 lets a server answer
    with an HTTP response (such as 400) instead of, or before, resetting the stream.
    """
    expected = f"stream error on stream {stream_id}: RST_STREAM({_names(codes)}) or GOAWAY({_names(codes)})"
    if accept_status:
        expected += f" or a {'/'.join(map(str, accept_status))} response"
    deadline = time.monotonic() + probe.timeout
    while True:
        event = probe.next_event(deadline)
        if isinstance(event, (Closed, TimedOut)):
            raise _fail(probe, expected, f"got {event.describe()}")
        if event.type == FrameType.RST_STREAM and event.stream_id == stream_id:
            if event.error_code in codes:
                return event
            raise _fail(probe, expected, f"RST_STREAM carries {_code_name(event.error_code)}")
        if event.type == FrameType.GOAWAY:
            if event.error_code in codes:
                return event
            if event.error_code != ErrorCode.NO_ERROR:
                raise _fail(probe, expected, f"GOAWAY carries {_code_name(event.error_code)}")
        if accept_status and event.stream_id == stream_id and event.headers is not None:
            # A malformed request: any answer but an accepted error status means the
            # server processed it.
            status = event.status()
            if status in accept_status:
                return event
            raise _fail(probe, expected, f"the server answered the request with status {status}")


def expect_frame(probe: Probe, matches: Callable[[Frame], bool], description: str) -> Frame:
    """The first frame for which `matches` holds; GOAWAY, close or timeout before it fail."""
    deadline = time.monotonic() + probe.timeout
    while True:
        event = probe.next_event(deadline)
        if isinstance(event, (Closed, TimedOut)):
            raise _fail(probe, description, f"got {event.describe()}")
        if matches(event):
            return event
        if event.type == FrameType.GOAWAY:
            raise _fail(probe, description, f"got {event.describe()}")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    data_frames: list[Frame] = field(default_factory=list)
    trailers: list[tuple[str, str]] | None = None

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


def expect_response(probe: Probe, stream_id: int, replenish: bool = True) -> Response:
    """A complete response on `stream_id` (HEADERS, DATA..., END_STREAM).

    With `replenish`, every DATA frame is acknowledged with WINDOW_UPDATEs so bodies
    larger than the default window still arrive.
    """
    expected = f"a complete response on stream {stream_id}"
    deadline = time.monotonic() + probe.timeout
    response: Response | None = None
    while True:
        event = probe.next_event(deadline)
        if isinstance(event, (Closed, TimedOut)):
            raise _fail(probe, expected, f"got {event.describe()}")
        if event.type == FrameType.GOAWAY and event.error_code != ErrorCode.NO_ERROR:
            raise _fail(probe, expected, f"got {event.describe()}")
        if event.stream_id != stream_id:
            continue
        if event.type == FrameType.RST_STREAM:
            raise _fail(probe, expected, f"got {event.describe()}")
        if event.headers is not None:
            status = event.status()
            if response is None and status is not None and status >= 200:
                response = Response(status, event.headers)
            elif response is not None:
                response.trailers = event.headers
        elif event.type == FrameType.DATA:
            if response is None:
                raise _fail(probe, expected, "DATA arrived before the response HEADERS")
            response.body += event.data
            response.data_frames.append(event)
            if replenish and event.payload:
                probe.window_update(0, len(event.payload))
                if not event.ends_stream:
                    probe.window_update(stream_id, len(event.payload))
        if response is not None and event.ends_stream:
            return response


def expect_connection_close(probe: Probe) -> list[Frame]:
    """The server closes the connection (whatever frames come first)."""
    deadline = time.monotonic() + probe.timeout
    frames: list[Frame] = []
    while True:
        event = probe.next_event(deadline)
        if isinstance(event, Closed):
            return frames
        if isinstance(event, TimedOut):
            raise _fail(probe, "the server to close the connection", "it stayed open")
        frames.append(event)
