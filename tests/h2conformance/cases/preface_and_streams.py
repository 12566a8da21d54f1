"""h2spec sections 3.5 (connection preface), 4 (frames, sizes, header blocks) and 5
(stream states, identifiers, concurrency, dependencies, error handling, extensions)."""

from __future__ import annotations

from h2conformance.cases.registry import (
    COMPRESSION,
    CONN,
    DUMMY,
    FRAME_SIZE,
    PROTOCOL,
    REFUSED,
    STREAM,
    STREAM_CLOSED,
    case,
    expect_ping_answered,
    get,
    is_ping_ack,
    post,
)
from h2conformance.expect import (
    expect_connection_close,
    expect_connection_error,
    expect_frame,
    expect_response,
    expect_stream_error,
)
from h2conformance.probe import (
    ACK,
    END_HEADERS,
    END_STREAM,
    PREFACE,
    ErrorCode,
    Frame,
    FrameType,
    Probe,
    Setting,
    literal,
)

# --- 3.5 HTTP/2 connection preface ---------------------------------------------------------------


@case(
    "3.5/1", "Sends client connection preface", "server's first frame is a SETTINGS frame (not ACK)"
)
def preface_answered_with_settings(probe: Probe) -> None:
    probe.handshake([(Setting.INITIAL_WINDOW_SIZE, 65535)])
    first = probe.transcript[0]
    assert (
        isinstance(first, Frame) and first.type == FrameType.SETTINGS and not first.flags & ACK
    ), probe.format_transcript()


@case("3.5/2", "Sends invalid connection preface", "connection closed (GOAWAY optional)")
def invalid_preface(probe: Probe) -> None:
    probe.send(b"INVALID CONNECTION PREFACE\r\n\r\n")
    expect_connection_close(probe)


@case(
    "3.5/x1",
    "Sends a corrupted preface (valid prefix, wrong tail)",
    "connection closed (GOAWAY optional)",
)
def corrupted_preface(probe: Probe) -> None:
    probe.send(PREFACE[:-6] + b"XX\r\n\r\n" + probe.frame_bytes(FrameType.SETTINGS, 0, 0))
    expect_connection_close(probe)


@case(
    "3.5/x2",
    "Sends a preface followed by a PING instead of SETTINGS",
    "connection error PROTOCOL_ERROR (GOAWAY optional)",
)
def preface_without_settings(probe: Probe) -> None:
    probe.send(PREFACE + probe.frame_bytes(FrameType.PING, 0, 0, b"\x00" * 8))
    # RFC 9113 3.4: the preface is the magic octets *and* a SETTINGS frame; an invalid
    # one is a PROTOCOL_ERROR connection error whose GOAWAY may be omitted.
    expect_connection_error(probe, PROTOCOL, goaway_required=False)


# --- 4.1 Frame format ----------------------------------------------------------------------------


@case("4.1/1", "Sends a frame with unknown type", "frame ignored; PING answered")
def unknown_frame_type(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(0x16, 0, 0, b"\x00" * 8)
    expect_ping_answered(probe)


@case("4.1/2", "Sends a frame with undefined flag", "flags ignored; PING answered")
def undefined_flags(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.PING, 0x16, 0, b"h2spec\x00\x00")
    expect_frame(probe, is_ping_ack(b"h2spec\x00\x00"), "PING ACK")


@case("4.1/3", "Sends a frame with reserved field bit", "reserved bit ignored; PING answered")
def reserved_bit(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.PING, 0x16, 0x80000000, b"h2spec\x00\x00")
    expect_frame(probe, is_ping_ack(b"h2spec\x00\x00"), "PING ACK")


# --- 4.2 Frame size ------------------------------------------------------------------------------


@case(
    "4.2/1", "Sends a DATA frame with 2^14 octets in length", "request processed (response HEADERS)"
)
def data_of_max_frame_size(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.data(1, b"x" * 16384)
    response = expect_response(probe, 1)
    assert (response.status, response.body) == (200, b"received 16384 bytes")


@case(
    "4.2/2",
    "Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE",
    STREAM.format("FRAME_SIZE_ERROR"),
)
def data_over_max_frame_size(probe: Probe) -> None:
    settings = probe.handshake()
    probe.headers(1, post(probe), end_stream=False)
    probe.data(1, b"x" * (settings.get(Setting.MAX_FRAME_SIZE, 16384) + 1))
    expect_stream_error(probe, 1, FRAME_SIZE)


@case(
    "4.2/3",
    "Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE",
    CONN.format("FRAME_SIZE_ERROR"),
)
def headers_over_max_frame_size(probe: Probe) -> None:
    settings = probe.handshake()
    limit = settings.get(Setting.MAX_FRAME_SIZE, 16384)
    fields = get(probe) + [(f"x-dummy{n}", "x" * 4000) for n in range(limit // 4000 + 1)]
    probe.headers(1, fields)
    expect_connection_error(probe, FRAME_SIZE)


# --- 4.3 Header compression and decompression ----------------------------------------------------


@case("4.3/1", "Sends invalid header block fragment", CONN.format("COMPRESSION_ERROR"))
def invalid_header_block(probe: Probe) -> None:
    probe.handshake()
    # Literal with incremental indexing, new name, but no name length or string.
    probe.send(b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x40")
    expect_connection_error(probe, COMPRESSION)


@case(
    "4.3/2", "Sends a PRIORITY frame while sending the header blocks", CONN.format("PROTOCOL_ERROR")
)
def priority_inside_header_block(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False, end_headers=False)
    probe.priority(1)
    probe.continuation(1, DUMMY)
    expect_connection_error(probe, PROTOCOL)


@case(
    "4.3/3",
    "Sends a HEADERS frame to another stream while sending the header blocks",
    CONN.format("PROTOCOL_ERROR"),
)
def headers_inside_header_block(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False, end_headers=False)
    probe.headers(3, get(probe))
    probe.continuation(1, DUMMY)
    expect_connection_error(probe, PROTOCOL)


# --- 5.1 Stream states ---------------------------------------------------------------------------


@case("5.1/1", "idle: Sends a DATA frame", CONN.format("PROTOCOL_ERROR"))
def idle_data(probe: Probe) -> None:
    probe.handshake()
    probe.data(1, b"test")
    expect_connection_error(probe, PROTOCOL)


@case("5.1/2", "idle: Sends a RST_STREAM frame", CONN.format("PROTOCOL_ERROR"))
def idle_rst_stream(probe: Probe) -> None:
    probe.handshake()
    probe.rst_stream(1, ErrorCode.CANCEL)
    expect_connection_error(probe, PROTOCOL)


@case("5.1/3", "idle: Sends a WINDOW_UPDATE frame", CONN.format("PROTOCOL_ERROR"))
def idle_window_update(probe: Probe) -> None:
    probe.handshake()
    probe.window_update(1, 100)
    expect_connection_error(probe, PROTOCOL)


@case("5.1/4", "idle: Sends a CONTINUATION frame", CONN.format("PROTOCOL_ERROR"))
def idle_continuation(probe: Probe) -> None:
    probe.handshake()
    probe.continuation(1, get(probe))
    expect_connection_error(probe, PROTOCOL)


@case("5.1/5", "half closed (remote): Sends a DATA frame", STREAM.format("STREAM_CLOSED"))
def half_closed_data(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.data(1, b"test")
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case("5.1/6", "half closed (remote): Sends a HEADERS frame", STREAM.format("STREAM_CLOSED"))
def half_closed_headers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.headers(1, get(probe))
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case(
    "5.1/7",
    "half closed (remote): Sends a CONTINUATION frame",
    STREAM.format("STREAM_CLOSED or PROTOCOL_ERROR"),
)
def half_closed_continuation(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    probe.continuation(1, get(probe))
    expect_stream_error(probe, 1, STREAM_CLOSED, PROTOCOL)


@case(
    "5.1/8",
    "closed: Sends a DATA frame after sending RST_STREAM frame",
    STREAM.format("STREAM_CLOSED"),
)
def reset_then_data(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False)
    probe.rst_stream(1, ErrorCode.CANCEL)
    probe.data(1, b"test")
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case(
    "5.1/9",
    "closed: Sends a HEADERS frame after sending RST_STREAM frame",
    STREAM.format("STREAM_CLOSED"),
)
def reset_then_headers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False)
    probe.rst_stream(1, ErrorCode.CANCEL)
    probe.headers(1, get(probe))
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case(
    "5.1/10",
    "closed: Sends a CONTINUATION frame after sending RST_STREAM frame",
    STREAM.format("STREAM_CLOSED or PROTOCOL_ERROR"),
)
def reset_then_continuation(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_stream=False)
    probe.rst_stream(1, ErrorCode.CANCEL)
    probe.continuation(1, DUMMY)
    expect_stream_error(probe, 1, STREAM_CLOSED, PROTOCOL)


@case(
    "5.1/11",
    "closed: Sends a DATA frame",
    CONN.format("STREAM_CLOSED") + " (RFC 6.1 also allows a stream error)",
)
def closed_data(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    expect_response(probe, 1)
    probe.data(1, b"test")
    # RFC 9113 5.1 ("closed") asks for a connection error, 6.1 for a stream error.
    expect_stream_error(probe, 1, STREAM_CLOSED)


@case("5.1/12", "closed: Sends a HEADERS frame", CONN.format("STREAM_CLOSED"))
def closed_headers(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    expect_response(probe, 1)
    probe.headers(1, get(probe))
    expect_connection_error(probe, STREAM_CLOSED)


@case(
    "5.1/13", "closed: Sends a CONTINUATION frame", CONN.format("STREAM_CLOSED or PROTOCOL_ERROR")
)
def closed_continuation(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    expect_response(probe, 1)
    probe.continuation(1, DUMMY)
    expect_connection_error(probe, STREAM_CLOSED, PROTOCOL)


# --- 5.1.1 Stream identifiers --------------------------------------------------------------------


@case("5.1.1/1", "Sends even-numbered stream identifier", CONN.format("PROTOCOL_ERROR"))
def even_stream_id(probe: Probe) -> None:
    probe.handshake()
    probe.headers(2, get(probe))
    expect_connection_error(probe, PROTOCOL)


@case(
    "5.1.1/2",
    "Sends stream identifier that is numerically smaller than previous",
    CONN.format("PROTOCOL_ERROR"),
)
def decreasing_stream_id(probe: Probe) -> None:
    probe.handshake()
    probe.headers(5, get(probe))
    probe.headers(3, get(probe))
    expect_connection_error(probe, PROTOCOL)


@case(
    "5.1.1/x1",
    "Opens stream 5 (skipping 1 and 3), then sends HEADERS on stream 5 again after its response",
    CONN.format("STREAM_CLOSED") + " (a used stream, not an unexpected identifier)",
)
def reused_stream_after_skipped_ids(probe: Probe) -> None:
    probe.handshake()
    probe.headers(5, get(probe))
    expect_response(probe, 5)
    probe.headers(5, get(probe))
    expect_connection_error(probe, STREAM_CLOSED)


# --- 5.1.2 Stream concurrency --------------------------------------------------------------------


@case(
    "5.1.2/1",
    "Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded",
    STREAM.format("REFUSED_STREAM or PROTOCOL_ERROR") + " on the extra stream",
)
def concurrency_limit(probe: Probe) -> None:
    settings = probe.handshake()
    limit = settings.get(Setting.MAX_CONCURRENT_STREAMS)
    assert limit is not None, "the server advertises no SETTINGS_MAX_CONCURRENT_STREAMS"
    # A zero window keeps every response (and so every stream) open.
    probe.settings((Setting.INITIAL_WINDOW_SIZE, 0))
    block = b"".join(literal(name, value) for name, value in get(probe))
    probe.send(
        b"".join(
            probe.frame_bytes(FrameType.HEADERS, END_STREAM | END_HEADERS, 1 + 2 * n, block)
            for n in range(limit + 1)
        )
    )
    expect_stream_error(probe, 1 + 2 * limit, REFUSED, PROTOCOL)


# --- 5.3.1 Stream dependencies -------------------------------------------------------------------


@case("5.3.1/1", "Sends HEADERS frame that depends on itself", STREAM.format("PROTOCOL_ERROR"))
def headers_depends_on_itself(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), priority=(1, 255, False))
    expect_stream_error(probe, 1, PROTOCOL)


@case("5.3.1/2", "Sends PRIORITY frame that depend on itself", STREAM.format("PROTOCOL_ERROR"))
def priority_depends_on_itself(probe: Probe) -> None:
    probe.handshake()
    probe.priority(1, dependency=1)
    expect_stream_error(probe, 1, PROTOCOL)


# --- 5.4.1 Connection error handling -------------------------------------------------------------


@case("5.4.1/1", "Sends an invalid PING frame for connection close", "connection closed")
def connection_error_closes(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(FrameType.PING, 0, 3, b"\x00" * 8)
    expect_connection_close(probe)


@case(
    "5.4.1/2",
    "Sends an invalid PING frame to receive GOAWAY frame",
    "GOAWAY(PROTOCOL_ERROR) naming the last processed stream (1)",
)
def connection_error_goaway(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe))
    expect_response(probe, 1)
    probe.send_frame(FrameType.PING, 0, 3, b"\x00" * 8)
    goaway = expect_connection_error(probe, PROTOCOL)
    assert goaway is not None and goaway.last_stream_id == 1, goaway and goaway.describe()


# --- 5.5 Extending HTTP/2 ------------------------------------------------------------------------


@case("5.5/1", "Sends an unknown extension frame", "frame ignored; PING answered")
def unknown_extension_frame(probe: Probe) -> None:
    probe.handshake()
    probe.send_frame(0x16, 0, 0, b"\x00" * 8)
    expect_ping_answered(probe)


@case(
    "5.5/2",
    "Sends an unknown extension frame in the middle of a header block",
    CONN.format("PROTOCOL_ERROR"),
)
def extension_frame_inside_header_block(probe: Probe) -> None:
    probe.handshake()
    probe.headers(1, get(probe), end_headers=False)
    probe.send_frame(0x16, 0, 0, b"\x00" * 8)
    expect_connection_error(probe, PROTOCOL)
