"""h2spec sections 6.7 to 6.10: PING, GOAWAY, WINDOW_UPDATE and flow control, CONTINUATION."""

from __future__ import annotations

from h2conformance.cases.registry import (
    BIG_BODY_SIZE,
    CONN,
    DUMMY,
    FLOW_CONTROL,
    FRAME_SIZE,
    MAX_WINDOW,
    PROTOCOL,
    STREAM,
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
    FrameType,
    Probe,
    Setting,
)

# --- 6.7 PING ------------------------------------------------------------------------------------


@case("6.7/1", "Sends a PING frame", "PING with ACK and the identical payload")
def ping(probe: Probe) -> None:
    probe.handshake()
    expect_ping_answered(probe, b"h2spec\x00\x00")


@case("6.7/2", "Sends a PING frame with ACK", "no answer to the ACK; the next PING answered")
def ping_ack_not_answered(probe: Probe) -> None:
    probe.handshake()
    probe.ping(b"invalid\x00", ack=True)
    probe.ping(b"h2spec\x00\x00")
    answer = expect_frame(probe, lambda f: f.type == FrameType.PING, "a PING")
    assert answer.flags & ACK and answer.payload == b"h2spec\x00\x00", (
        f"answered the PING ACK: {answer.describe()}"
    )


@case(
    "6.7/3",
    "Sends a PING frame with a stream identifier field value other than 0x0",
    CONN.format("PROTOCOL_ERROR"),
)
def ping_on_stream(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.PING, 0, 1, b"\x00" * 8)
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.7/4",
    "Sends a PING frame with a length field value other than 8",
    CONN.format("FRAME_SIZE_ERROR"),
)
def ping_wrong_length(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.PING, 0, 0, b"\x00" * 6)
    expect_connection_error(probe, FRAME_SIZE)


# --- 6.8 GOAWAY ----------------------------------------------------------------------------------


@case(
    "6.8/1",
    "Sends a GOAWAY frame with a stream identifier other than 0x0",
    CONN.format("PROTOCOL_ERROR"),
)
def goaway_on_stream(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.GOAWAY, 0, 1, b"\x00" * 8)
    expect_connection_error(probe, PROTOCOL)


# --- 6.9 WINDOW_UPDATE ---------------------------------------------------------------------------


@case(
    "6.9/1",
    "Sends a WINDOW_UPDATE frame with a flow control window increment of 0",
    CONN.format("PROTOCOL_ERROR"),
)
def window_update_zero_on_connection(probe: Probe) -> None:
    probe.handshake()
    probe.window_update(0, 0)
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.9/2",
    "Sends a WINDOW_UPDATE frame with a flow control window increment of 0 on a stream",
    STREAM.format("PROTOCOL_ERROR"),
)
def window_update_zero_on_stream(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False)
    probe.window_update(1, 0)
    expect_stream_error(probe, 1, PROTOCOL)


@case(
    "6.9/3",
    "Sends a WINDOW_UPDATE frame with a length other than 4 octets",
    CONN.format("FRAME_SIZE_ERROR"),
)
def window_update_wrong_length(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.WINDOW_UPDATE, 0, 0, b"\x00\x00\x01")
    expect_connection_error(probe, FRAME_SIZE)


# --- 6.9.1 The flow-control window ---------------------------------------------------------------


@case(
    "6.9.1/1",
    "Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame",
    "first DATA is 1 octet",
)
def window_of_one(probe: Probe) -> None:
    probe.handshake()
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 1))
    settings_acked(probe)
    probe.headers(1, get(probe))
    expect_first_data_length(probe, 1, 1)


@case(
    "6.9.1/2",
    "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1",
    "GOAWAY(FLOW_CONTROL_ERROR)",
)
def connection_window_overflow(probe: Probe) -> None:
    probe.handshake()
    probe.window_update(0, MAX_WINDOW)
    probe.window_update(0, MAX_WINDOW)
    expect_connection_error(probe, FLOW_CONTROL)


@case(
    "6.9.1/3",
    "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1 on a stream",
    "RST_STREAM(FLOW_CONTROL_ERROR)",
)
def stream_window_overflow(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False)
    probe.window_update(1, MAX_WINDOW)
    probe.window_update(1, MAX_WINDOW)
    reset = expect_frame(
        probe,
        lambda f: f.type == FrameType.RST_STREAM and f.stream_id == 1,
        "RST_STREAM on stream 1",
    )
    assert reset.error_code == FLOW_CONTROL, reset.describe()


@case(
    "6.9.1/x1",
    "Large response through small windows (stream 1,000, connection 65,535)",
    "no DATA frame exceeds either window; body complete",
)
def flow_control_respected(probe: Probe) -> None:
    stream_window_size = 1000
    probe.handshake([(Setting.INITIAL_WINDOW_SIZE, stream_window_size)])
    probe.headers(1, get(probe, "/big"))
    stream_window, connection_window, received = stream_window_size, 65535, 0
    while True:
        frame = expect_frame(
            probe,
            lambda f: f.stream_id == 1 and f.type in (FrameType.DATA, FrameType.RST_STREAM),
            "DATA on stream 1",
        )
        assert frame.type == FrameType.DATA, frame.describe()
        size = len(frame.payload)
        assert size <= stream_window, (
            f"DATA of {size} bytes with a stream window of {stream_window}"
        )
        assert size <= connection_window, (
            f"DATA of {size} bytes with a connection window of {connection_window}"
        )
        stream_window -= size
        connection_window -= size
        received += len(frame.data)
        if frame.ends_stream:
            break
        if stream_window == 0:
            probe.window_update(1, stream_window_size)
            stream_window = stream_window_size
        if connection_window < stream_window_size:
            probe.window_update(0, 65535 - connection_window)
            connection_window = 65535
    assert received == BIG_BODY_SIZE


# --- 6.9.2 Initial flow-control window size ------------------------------------------------------


@case(
    "6.9.2/1",
    "Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame",
    "open stream's window adjusted: DATA of 1 octet",
)
def window_raised_after_headers(probe: Probe) -> None:
    probe.handshake()
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 0))
    settings_acked(probe)
    probe.headers(1, get(probe))
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 1))
    settings_acked(probe)
    expect_first_data_length(probe, 1, 1)


@case(
    "6.9.2/2",
    "Sends a SETTINGS frame for window size to be negative",
    "negative window tracked: DATA of 1 octet after +2",
)
def negative_window(probe: Probe) -> None:
    probe.handshake()
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 3))
    settings_acked(probe)
    probe.headers(1, get(probe))
    expect_first_data_length(probe, 1, 3)
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 2))  # window: 2 - 3 = -1
    settings_acked(probe)
    probe.window_update(1, 2)  # window: 1
    expect_first_data_length(probe, 1, 1)


@case(
    "6.9.2/3",
    "Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded maximum window size value",
    CONN.format("FLOW_CONTROL_ERROR"),
)
def initial_window_too_large(probe: Probe) -> None:
    probe.handshake()
    probe.send(probe.frame_bytes(FrameType.SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00"))
    expect_connection_error(probe, FLOW_CONTROL)


@case(
    "6.9.2/x1",
    "Raises SETTINGS_INITIAL_WINDOW_SIZE so an open stream's window passes 2^31-1",
    CONN.format("FLOW_CONTROL_ERROR"),
)
def initial_window_change_overflows_stream(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)  # open: the server waits for the body
    probe.window_update(1, MAX_WINDOW - 65535)  # stream window now exactly 2^31-1
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 65536))  # +1 on every stream
    expect_connection_error(probe, FLOW_CONTROL)


# --- 6.10 CONTINUATION ---------------------------------------------------------------------------


@case(
    "6.10/1", "Sends multiple CONTINUATION frames preceded by a HEADERS frame", "request processed"
)
def continuations(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_headers=False)
    probe.continuation(1, DUMMY, end_headers=False)
    probe.continuation(1, [("x-dummy1", "y" * 100)])
    assert expect_response(probe, 1).status == 200


@case(
    "6.10/2",
    "Sends a CONTINUATION frame followed by any frame other than CONTINUATION",
    CONN.format("PROTOCOL_ERROR"),
)
def continuation_then_data(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False, end_headers=False)
    probe.continuation(1, DUMMY, end_headers=False)
    probe.data(1, b"test")
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.10/3", "Sends a CONTINUATION frame with 0x0 stream identifier", CONN.format("PROTOCOL_ERROR")
)
def continuation_on_stream_zero(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_headers=False)
    probe.continuation(0, DUMMY)
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.10/4",
    "Sends a CONTINUATION frame preceded by a HEADERS frame with END_HEADERS flag",
    CONN.format("PROTOCOL_ERROR"),
)
def continuation_after_end_headers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.continuation(1, DUMMY)
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.10/5",
    "Sends a CONTINUATION frame preceded by a CONTINUATION frame with END_HEADERS flag",
    CONN.format("PROTOCOL_ERROR"),
)
def continuation_after_ended_continuation(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_headers=False)
    probe.continuation(1, DUMMY)
    probe.continuation(1, [("x-dummy1", "y" * 100)])
    expect_connection_error(probe, PROTOCOL)


@case(
    "6.10/6", "Sends a CONTINUATION frame preceded by a DATA frame", CONN.format("PROTOCOL_ERROR")
)
def continuation_after_data(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False, end_headers=False)
    probe.data(1, b"test")
    probe.continuation(1, DUMMY, end_headers=False)
    probe.continuation(0, DUMMY)
    expect_connection_error(probe, PROTOCOL)
