"""h2spec sections 7 (error codes) and 8.1 (HTTP message exchanges: pseudo-headers,
connection-specific fields, content-length)."""

from __future__ import annotations

from collections.abc import Callable

from h2conformance.cases.registry import (
    MALFORMED,
    PROTOCOL,
    STREAM,
    case,
    expect_ping_answered,
    get,
    post,
)
from h2conformance.expect import (
    expect_connection_close,
    expect_response,
    expect_stream_error,
)
from h2conformance.probe import (
    Probe,
)

# --- 7 Error codes -------------------------------------------------------------------------------


@case("7/1", "Sends a GOAWAY frame with unknown error code", "connection closed by the server")
def goaway_unknown_code(probe: Probe) -> None:
    probe.handshake()
    probe.goaway(0, 0xFF)
    expect_connection_close(probe)


@case(
    "7/2", "Sends a RST_STREAM frame with unknown error code", "no special behaviour; PING answered"
)
def rst_stream_unknown_code(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.rst_stream(1, 0xFF)
    expect_ping_answered(probe)


# --- 8.1 HTTP request/response exchange ----------------------------------------------------------


@case(
    "8.1/x1",
    "Sends DATA and then trailers (regular fields only) with END_STREAM",
    "request processed (200)",
)
def request_with_trailers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.data(1, b"test", end_stream=False)
    probe.headers(1, [("x-checksum", "abc")])
    response = expect_response(probe, 1)
    assert (response.status, response.body) == (200, b"received 4 bytes"), response


@case(
    "8.1/1",
    "Sends a second HEADERS frame without the END_STREAM flag",
    STREAM.format("PROTOCOL_ERROR"),
)
def trailers_without_end_stream(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.data(1, b"test", end_stream=False)
    probe.headers(1, [("x-test", "ok")], end_stream=False)
    expect_stream_error(probe, 1, PROTOCOL)


def malformed(
    fields: Callable[[Probe], list[tuple[str | bytes, str | bytes]]],
) -> Callable[[Probe], None]:
    """A request whose header block is malformed (RFC 9113 8.1.1): RST_STREAM or 400."""

    def run(probe: Probe) -> None:
        probe.handshake()
        probe.headers(1, fields(probe))
        expect_stream_error(probe, 1, PROTOCOL, accept_status=(400,))

    return run


def without(name: str) -> Callable[[Probe], list[tuple[str | bytes, str | bytes]]]:
    return lambda probe: [(k, v) for k, v in get(probe) if k != name]


def plus(*extra: tuple[str, str]) -> Callable[[Probe], list[tuple[str | bytes, str | bytes]]]:
    return lambda probe: get(probe) + list(extra)


MALFORMED_REQUESTS: list[
    tuple[str, str, Callable[[Probe], list[tuple[str | bytes, str | bytes]]]]
] = [
    (
        "8.1.2/1",
        "Sends a HEADERS frame that contains the header field name in uppercase letters",
        plus(("X-TEST", "ok")),
    ),
    (
        "8.1.2.1/1",
        "Sends a HEADERS frame that contains a unknown pseudo-header field",
        plus((":test", "ok")),
    ),
    (
        "8.1.2.1/2",
        "Sends a HEADERS frame that contains the pseudo-header field defined for response",
        plus((":status", "200")),
    ),
    (
        "8.1.2.1/4",
        "Sends a HEADERS frame that contains a pseudo-header field that appears in a header block after a regular header field",
        lambda probe: [("x-test", "ok"), *get(probe)],
    ),
    (
        "8.1.2.2/1",
        "Sends a HEADERS frame that contains the connection-specific header field",
        plus(("connection", "keep-alive")),
    ),
    (
        "8.1.2.2/2",
        'Sends a HEADERS frame that contains the TE header field with any value other than "trailers"',
        plus(("trailers", "test"), ("te", "trailers, deflate")),
    ),
    (
        "8.1.2.2/x1",
        'Sends a HEADERS frame with "transfer-encoding: chunked"',
        plus(("transfer-encoding", "chunked")),
    ),
    (
        "8.1.2.2/x2",
        'Sends a HEADERS frame with "upgrade: websocket"',
        plus(("upgrade", "websocket")),
    ),
    (
        "8.1.2.2/x3",
        'Sends a HEADERS frame with "keep-alive: timeout=5"',
        plus(("keep-alive", "timeout=5")),
    ),
    (
        "8.1.2.2/x4",
        'Sends a HEADERS frame with "proxy-connection: keep-alive"',
        plus(("proxy-connection", "keep-alive")),
    ),
    (
        "8.1.2.3/1",
        'Sends a HEADERS frame with empty ":path" pseudo-header field',
        lambda probe: [(k, "" if k == ":path" else v) for k, v in get(probe)],
    ),
    (
        "8.1.2.3/2",
        'Sends a HEADERS frame that omits ":method" pseudo-header field',
        without(":method"),
    ),
    (
        "8.1.2.3/3",
        'Sends a HEADERS frame that omits ":scheme" pseudo-header field',
        without(":scheme"),
    ),
    ("8.1.2.3/4", 'Sends a HEADERS frame that omits ":path" pseudo-header field', without(":path")),
    (
        "8.1.2.3/5",
        'Sends a HEADERS frame with duplicated ":method" pseudo-header field',
        plus((":method", "GET")),
    ),
    (
        "8.1.2.3/6",
        'Sends a HEADERS frame with duplicated ":scheme" pseudo-header field',
        plus((":scheme", "http")),
    ),
    (
        "8.1.2.3/7",
        'Sends a HEADERS frame with duplicated ":path" pseudo-header field',
        plus((":path", "/")),
    ),
]

for _id, _description, _fields in MALFORMED_REQUESTS:
    case(_id, _description, MALFORMED)(malformed(_fields))


@case(
    "8.1.2.1/3", "Sends a HEADERS frame that contains a pseudo-header field as trailers", MALFORMED
)
def pseudo_header_in_trailers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.data(1, b"test", end_stream=False)
    probe.headers(1, [(":method", "POST")])
    expect_stream_error(probe, 1, PROTOCOL, accept_status=(400,))


@case(
    "8.1.2.2/x5",
    'Sends a HEADERS frame with "te: trailers" (the one allowed value)',
    "request processed (200)",
)
def te_trailers_allowed(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, plus(("te", "trailers"))(probe))
    assert expect_response(probe, 1).status == 200


def content_length_mismatch(declared: str, *chunks: bytes) -> Callable[[Probe], None]:
    def run(probe: Probe) -> None:
        probe.handshake()
        probe.headers(1, post(probe, extra=(("content-length", declared),)), end_stream=False)
        for n, chunk in enumerate(chunks):
            probe.data(1, chunk, end_stream=n == len(chunks) - 1)
        expect_stream_error(probe, 1, PROTOCOL, accept_status=(400,))

    return run


case(
    "8.1.2.6/1",
    'Sends a HEADERS frame with the "content-length" header field which does not equal the DATA frame payload length',
    MALFORMED,
)(content_length_mismatch("1", b"test"))
case(
    "8.1.2.6/2",
    'Sends a HEADERS frame with the "content-length" header field which does not equal the sum of the multiple DATA frames payload length',
    MALFORMED,
)(content_length_mismatch("1", b"test", b"test"))
case(
    "8.1.2.6/x1",
    'Sends fewer DATA octets than "content-length" declares, then END_STREAM',
    MALFORMED,
)(content_length_mismatch("10", b"test"))
