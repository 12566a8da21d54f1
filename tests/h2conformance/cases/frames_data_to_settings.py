"""h2spec sections 6.1 to 6.5.3: DATA, HEADERS, PRIORITY, RST_STREAM and SETTINGS."""

from __future__ import annotations

import struct
from collections.abc import Callable

from h2conformance.cases.preface_and_streams import (
    headers_inside_header_block,
    idle_rst_stream,
    priority_inside_header_block,
)
from h2conformance.cases.registry import (
    CONN,
    FLOW_CONTROL,
    FRAME_SIZE,
    INDEX_BODY,
    PROTOCOL,
    STREAM,
    STREAM_CLOSED,
    case,
    expect_first_data_length,
    expect_ping_answered,
    get,
    post,
    settings_acked,
)
from h2conformance.expect import (
    expect_connection_error,
    expect_frame,
    expect_response,
    expect_stream_error,
)
from h2conformance.probe import (
    ACK,
    END_HEADERS,
    END_STREAM,
    PADDED,
    ErrorCode,
    FrameType,
    Probe,
    Setting,
    literal,
)

# --- 6.1 DATA ------------------------------------------------------------------------------------


@case("6.1/1", "Sends a DATA frame with 0x0 stream identifier", CONN.format("PROTOCOL_ERROR"))
def data_on_stream_zero(probe: Probe) -> None:
    probe.handshake()
    probe.data(0, b"test")
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.1/2",
    'Sends a DATA frame on the stream that is not in "open" or "half-closed (local)" state',
    STREAM.format("STREAM_CLOSED"),
)
def data_on_half_closed(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe))
    probe.data(1, b"test")
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case(
    "6.1/x1",
    "Sends a DATA frame on a half-closed (remote) stream, then a POST on another stream",
    STREAM.format("STREAM_CLOSED") + " on the first; the POST processed",
)
def data_on_half_closed_then_post(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.data(1, b"x" * 16_384)
    probe.headers(3, post(probe), end_stream=False)
    probe.data(3, b"test")
    # A stream error, not a connection error: the connection goes on serving.
    expect_stream_error(probe, 1, STREAM_CLOSED)
    response = expect_response(probe, 3)
    assert (response.status, response.body) == (200, b"received 4 bytes"), response


@case("6.1/3", "Sends a DATA frame with invalid pad length", CONN.format("PROTOCOL_ERROR"))
def data_invalid_padding(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe, extra=(("content-length", "4"),)), end_stream=False)
    # Frame length 5, pad length 6.
    probe.send_frame(FrameType.DATA, END_STREAM | PADDED, 1, b"\x06Test")
    expect_connection_error(probe, PROTOCOL)


# --- 6.2 HEADERS ---------------------------------------------------------------------------------


@case(
    "6.2/1",
    "Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY frame",
    CONN.format("PROTOCOL_ERROR"),
)
def headers_then_priority(probe: Probe) -> None:
    priority_inside_header_block(probe)


@case(
    "6.2/2",
    "Sends a HEADERS frame to another stream while sending a HEADERS frame",
    CONN.format("PROTOCOL_ERROR"),
)
def headers_then_other_headers(probe: Probe) -> None:
    headers_inside_header_block(probe)


@case("6.2/3", "Sends a HEADERS frame with 0x0 stream identifier", CONN.format("PROTOCOL_ERROR"))
def headers_on_stream_zero(probe: Probe) -> None:
    probe.handshake()
    probe.headers(0, get(probe))
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.2/4",
    "Sends a HEADERS frame with invalid pad length",
    "PROTOCOL_ERROR (stream or connection)",
)
def headers_invalid_padding(probe: Probe) -> None:
    probe.handshake()
    block = b"".join(literal(name, value) for name, value in get(probe))
    payload = bytes([len(block) + 2]) + block  # pad length exceeds what follows it
    probe.send_frame(FrameType.HEADERS, END_STREAM | END_HEADERS | PADDED, 1, payload)
    expect_stream_error(probe, 1, PROTOCOL)


# --- 6.3 PRIORITY --------------------------------------------------------------------------------


@case("6.3/1", "Sends a PRIORITY frame with 0x0 stream identifier", CONN.format("PROTOCOL_ERROR"))
def priority_on_stream_zero(probe: Probe) -> None:
    probe.handshake()
    probe.priority(0)
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.3/2",
    "Sends a PRIORITY frame with a length other than 5 octets",
    STREAM.format("FRAME_SIZE_ERROR"),
)
def priority_wrong_length(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.send_frame(FrameType.PRIORITY, 0, 1, b"\x80\x00\x00\x01")
    expect_stream_error(probe, 1, FRAME_SIZE)


@case(
    "6.3/3",
    "Sends a PRIORITY frame for an idle stream, then send a HEADER frame for a lower stream ID",
    "request processed",
)
def priority_on_idle_stream(probe: Probe) -> None:
    probe.handshake()
    probe.priority(3)
    probe.headers(1, get(probe))
    assert expect_response(probe, 1).status == 200


@case(
    "6.3/x1",
    "Sends PRIORITY frames on an open and on a closed stream",
    "frames accepted; both requests processed",
)
def priority_on_open_and_closed_streams(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.priority(1, dependency=0, weight=15)
    probe.data(1, b"body")
    assert expect_response(probe, 1).body == b"received 4 bytes"
    probe.priority(1, dependency=0, weight=200, exclusive=True)
    probe.headers(3, get(probe), priority=(1, 31, False))
    assert expect_response(probe, 3).body == INDEX_BODY
    expect_ping_answered(probe)


# --- 6.4 RST_STREAM ------------------------------------------------------------------------------


@case("6.4/1", "Sends a RST_STREAM frame with 0x0 stream identifier", CONN.format("PROTOCOL_ERROR"))
def rst_stream_on_stream_zero(probe: Probe) -> None:
    probe.handshake()
    probe.rst_stream(0, ErrorCode.CANCEL)
    expect_connection_error(probe, PROTOCOL)


@case("6.4/2", "Sends a RST_STREAM frame on a idle stream", CONN.format("PROTOCOL_ERROR"))
def rst_stream_on_idle_stream(probe: Probe) -> None:
    idle_rst_stream(probe)


@case(
    "6.4/3",
    "Sends a RST_STREAM frame with a length other than 4 octets",
    CONN.format("FRAME_SIZE_ERROR"),
)
def rst_stream_wrong_length(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.send_frame(FrameType.RST_STREAM, 0, 1, b"\x00\x00\x00")
    # RFC 9113 6.4 makes this a connection error (h2spec also accepts a stream error).
    expect_connection_error(probe, FRAME_SIZE)


# --- 6.5 SETTINGS --------------------------------------------------------------------------------


@case("6.5/1", "Sends a SETTINGS frame with ACK flag and payload", CONN.format("FRAME_SIZE_ERROR"))
def settings_ack_with_payload(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.SETTINGS, ACK, 0, b"\x00")
    expect_connection_error(probe, FRAME_SIZE)


@case("6.5/2", "Sends a SETTINGS frame with 0x1 stream identifier", CONN.format("PROTOCOL_ERROR"))
def settings_on_stream_one(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(
        FrameType.SETTINGS, 0, 1, struct.pack("!HI", Setting.MAX_CONCURRENT_STREAMS, 100)
    )
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.5/3",
    "Sends a SETTINGS frame with a length other than a multiple of 6 octets",
    CONN.format("FRAME_SIZE_ERROR or PROTOCOL_ERROR"),
)
def settings_bad_length(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x64\x00\x02\x00")
    expect_connection_error(probe, FRAME_SIZE, PROTOCOL)


# --- 6.5.2 Defined SETTINGS parameters -----------------------------------------------------------


def invalid_setting(setting: int, value: int, *codes: int) -> Callable[[Probe], None]:
    def run(probe: Probe) -> None:
        probe.handshake()
        probe.settings((setting, value))
        expect_connection_error(probe, *codes)

    return run


case(
    "6.5.2/1",
    "SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1",
    CONN.format("PROTOCOL_ERROR"),
)(invalid_setting(Setting.ENABLE_PUSH, 2, PROTOCOL))
case(
    "6.5.2/2",
    "SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the maximum flow control window size",
    CONN.format("FLOW_CONTROL_ERROR"),
)(invalid_setting(Setting.INITIAL_WINDOW_SIZE, 2**31, FLOW_CONTROL))
case(
    "6.5.2/3",
    "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial value",
    CONN.format("PROTOCOL_ERROR"),
)(invalid_setting(Setting.MAX_FRAME_SIZE, 16383, PROTOCOL))
case(
    "6.5.2/4",
    "SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum allowed frame size",
    CONN.format("PROTOCOL_ERROR"),
)(invalid_setting(Setting.MAX_FRAME_SIZE, 2**24, PROTOCOL))


@case("6.5.2/5", "Sends a SETTINGS frame with unknown identifier", "setting ignored; PING answered")
def unknown_setting(probe: Probe) -> None:
    probe.handshake()
    probe.settings((0xFF, 1))
    expect_ping_answered(probe)


@case(
    "6.5.2/x1",
    "Sends SETTINGS_MAX_FRAME_SIZE at both bounds (2^14, 2^24-1) and ENABLE_PUSH 0 and 1",
    "accepted (SETTINGS ACK), request processed",
)
def boundary_settings(probe: Probe) -> None:
    probe.handshake()
    probe.settings(
        (Setting.MAX_FRAME_SIZE, 2**14),
        (Setting.MAX_FRAME_SIZE, 2**24 - 1),
        (Setting.ENABLE_PUSH, 1),
        (Setting.ENABLE_PUSH, 0),
    )
    settings_acked(probe)
    probe.headers(1, get(probe))
    assert expect_response(probe, 1).body == INDEX_BODY


# --- 6.5.3 Settings synchronization --------------------------------------------------------------


@case(
    "6.5.3/1",
    "Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE",
    "values applied in order: first DATA is 1 octet",
)
def settings_in_order(probe: Probe) -> None:
    probe.handshake()
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 100), (Setting.INITIAL_WINDOW_SIZE, 1))
    settings_acked(probe)
    probe.headers(1, get(probe))
    expect_first_data_length(probe, 1, 1)


@case(
    "6.5.3/2",
    "Sends a SETTINGS frame without ACK flag",
    "SETTINGS frame with ACK and empty payload",
)
def settings_acknowledged(probe: Probe) -> None:
    probe.handshake()
    probe.settings((Setting.ENABLE_PUSH, 0))
    ack = expect_frame(
        probe, lambda f: f.type == FrameType.SETTINGS and bool(f.flags & ACK), "SETTINGS ACK"
    )
    assert ack.payload == b"" and ack.stream_id == 0
