"""`Probe`: one cleartext HTTP/2 (h2c, prior knowledge) connection driven frame by frame.

Frames are packed by hand (RFC 9113 section 4.1) so a test can send anything,
including frames a real client library refuses to build. Header blocks are encoded
as HPACK literals without indexing (RFC 7541 section 6.2.2), so the server's dynamic
table never changes and a raw byte appended to a block means exactly what the test
says. What the server sends is parsed into `Frame`s, its header blocks decoded with
`hpack`, and kept in a transcript that failure messages print. What a test sends is
queued and written in one go before the next read (see `Probe.send`).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Self

import hpack

__all__ = [
    "ACK",
    "END_HEADERS",
    "END_STREAM",
    "PADDED",
    "PREFACE",
    "PRIORITY_FLAG",
    "Closed",
    "ErrorCode",
    "Frame",
    "FrameType",
    "Probe",
    "Setting",
    "TimedOut",
    "encode_headers",
    "encode_integer",
    "literal",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20


class FrameType(IntEnum):
    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class ErrorCode(IntEnum):
    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class Setting(IntEnum):
    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6


def _name(enum: type[IntEnum], value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return f"0x{value:x}"


@dataclass
class Frame:
    """A frame the server sent. `headers` is set on the frame that ends a header block."""

    type: int
    flags: int
    stream_id: int
    payload: bytes
    headers: list[tuple[str, str]] | None = None
    #: For a completed header block: whether its HEADERS frame carried END_STREAM.
    block_ends_stream: bool = False

    @property
    def ends_stream(self) -> bool:
        if self.type == FrameType.DATA:
            return bool(self.flags & END_STREAM)
        return self.block_ends_stream

    @property
    def error_code(self) -> int:
        """Of a RST_STREAM or GOAWAY frame."""
        if self.type == FrameType.RST_STREAM:
            return int(struct.unpack("!I", self.payload[:4])[0])
        if self.type == FrameType.GOAWAY:
            return int(struct.unpack("!I", self.payload[4:8])[0])
        raise ValueError(f"{self.describe()} carries no error code")

    @property
    def last_stream_id(self) -> int:
        """Of a GOAWAY frame."""
        return int(struct.unpack("!I", self.payload[:4])[0]) & 0x7FFFFFFF

    @property
    def settings(self) -> list[tuple[int, int]]:
        return [
            struct.unpack("!HI", self.payload[i : i + 6])
            for i in range(0, len(self.payload) - 5, 6)
        ]

    @property
    def data(self) -> bytes:
        """A DATA frame's payload without its padding."""
        if self.flags & PADDED:
            return self.payload[1 : len(self.payload) - self.payload[0]]
        return self.payload

    @property
    def window_increment(self) -> int:
        return int(struct.unpack("!I", self.payload[:4])[0]) & 0x7FFFFFFF

    def status(self) -> int | None:
        for name, value in self.headers or []:
            if name == ":status":
                return int(value)
        return None

    def describe(self) -> str:
        kind = _name(FrameType, self.type)
        if self.type == FrameType.GOAWAY:
            debug = self.payload[8:]
            return (
                f"GOAWAY(last_stream={self.last_stream_id}, {_name(ErrorCode, self.error_code)}"
                + (f", debug={debug!r})" if debug else ")")
            )
        if self.type == FrameType.RST_STREAM:
            return f"RST_STREAM(stream={self.stream_id}, {_name(ErrorCode, self.error_code)})"
        if self.type == FrameType.SETTINGS:
            if self.flags & ACK:
                return "SETTINGS(ACK)"
            values = ", ".join(f"{_name(Setting, k)}={v}" for k, v in self.settings)
            return f"SETTINGS({values})"
        if self.type == FrameType.PING:
            return f"PING({'ACK, ' if self.flags & ACK else ''}{self.payload!r})"
        if self.type == FrameType.WINDOW_UPDATE:
            return f"WINDOW_UPDATE(stream={self.stream_id}, +{self.window_increment})"
        if self.type == FrameType.DATA:
            end = ", END_STREAM" if self.flags & END_STREAM else ""
            return f"DATA(stream={self.stream_id}, {len(self.data)} bytes{end})"
        if self.type in (FrameType.HEADERS, FrameType.CONTINUATION):
            end = ", END_STREAM" if self.block_ends_stream else ""
            shown = f", {self.headers}" if self.headers is not None else ""
            return f"{kind}(stream={self.stream_id}{end}{shown})"
        return (
            f"{kind}(stream={self.stream_id}, flags=0x{self.flags:02x}, {len(self.payload)} bytes)"
        )


class Closed:
    """The server closed the connection (EOF or reset)."""

    def __init__(self, how: str) -> None:
        self.how = how

    def describe(self) -> str:
        return f"connection closed ({self.how})"


class TimedOut:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def describe(self) -> str:
        return f"nothing more within {self.seconds:.1f} s"


Event = Frame | Closed | TimedOut


def encode_integer(value: int, prefix_bits: int, first_byte: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 section 5.1) with `first_byte`'s high bits preserved."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = bytearray([first_byte | limit])
    value -= limit
    while value >= 128:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("latin-1") if isinstance(text, str) else text


def literal(name: str | bytes, value: str | bytes) -> bytes:
    """A literal header field without indexing, new name, no Huffman: exactly these octets."""
    raw_name, raw_value = _as_bytes(name), _as_bytes(value)
    return (
        b"\x00"
        + encode_integer(len(raw_name), 7)
        + raw_name
        + encode_integer(len(raw_value), 7)
        + raw_value
    )


def encode_headers(fields: Iterable[tuple[str | bytes, str | bytes]]) -> bytes:
    return b"".join(literal(name, value) for name, value in fields)


def _frame(frame_type: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    length = len(payload)
    return (
        struct.pack("!BHBBI", length >> 16, length & 0xFFFF, frame_type, flags, stream_id) + payload
    )


@dataclass
class Probe:
    """A client connection that sends raw frames and records the server's."""

    host: str
    port: int
    timeout: float = 3.0
    sock: socket.socket = field(init=False)
    transcript: list[Event] = field(default_factory=list, init=False)
    #: The server's SETTINGS from its connection preface.
    server_settings: dict[int, int] = field(default_factory=dict, init=False)
    closed: bool = field(default=False, init=False)
    _buffer: bytes = field(default=b"", init=False)
    _outgoing: bytearray = field(default_factory=bytearray, init=False)
    _decoder: hpack.Decoder = field(default_factory=hpack.Decoder, init=False)
    _block: bytearray | None = field(default=None, init=False)
    _block_ends_stream: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def request_fields(
        self, method: str = "GET", path: str = "/", extra: Sequence[tuple[str, str]] = ()
    ) -> list[tuple[str | bytes, str | bytes]]:
        return [
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", self.authority),
            *extra,
        ]

    # --- sending ------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queues bytes; they are written, all in one write, before the next read.

        Frames a test sends in a row thus reach the server together and are decoded in
        one pass, so the stream states a case sets up (say, half-closed (remote) before
        the server had time to answer) do not depend on scheduling.
        """
        self._outgoing += data

    def flush(self) -> None:
        """Writes what is queued; a server that already closed is noticed when reading."""
        if not self._outgoing:
            return
        data, self._outgoing = bytes(self._outgoing), bytearray()
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_frame(self, frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> None:
        self.send(_frame(frame_type, flags, stream_id, payload))

    @staticmethod
    def frame_bytes(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
        return _frame(frame_type, flags, stream_id, payload)

    def handshake(self, settings: Sequence[tuple[int, int]] = ()) -> dict[int, int]:
        """Preface and SETTINGS both ways, each side's SETTINGS acknowledged (as h2spec).

        Returns the server's settings; the server's ACK of ours has arrived, so they apply.
        """
        self.send(PREFACE + _frame(FrameType.SETTINGS, 0, 0, _settings_payload(settings)))
        got_settings = got_ack = False
        deadline = time.monotonic() + self.timeout
        while not (got_settings and got_ack):
            event = self.next_event(deadline)
            assert isinstance(event, Frame), (
                f"handshake failed: {event.describe()}\n{self.format_transcript()}"
            )
            if event.type == FrameType.SETTINGS and event.flags & ACK:
                got_ack = True
            elif event.type == FrameType.SETTINGS:
                if got_settings:
                    raise AssertionError("the server sent a second SETTINGS before its ACK")
                self.server_settings = dict(event.settings)
                got_settings = True
                self.send_frame(FrameType.SETTINGS, ACK, 0)
        return self.server_settings

    def headers(
        self,
        stream_id: int,
        fields: Iterable[tuple[str | bytes, str | bytes]] | bytes,
        *,
        end_stream: bool = True,
        end_headers: bool = True,
        priority: tuple[int, int, bool] | None = None,
    ) -> None:
        """HEADERS; `fields` may be a ready header block; `priority` is (dependency, weight
        octet, exclusive), the octet being the weight minus one as on the wire."""
        block = fields if isinstance(fields, bytes) else encode_headers(fields)
        flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
        if priority is not None:
            dependency, weight, exclusive = priority
            block = _priority_payload(dependency, weight, exclusive) + block
            flags |= PRIORITY_FLAG
        self.send_frame(FrameType.HEADERS, flags, stream_id, block)

    def continuation(
        self, stream_id: int, fields: Iterable[tuple[str, str]] | bytes, end_headers: bool = True
    ) -> None:
        block = fields if isinstance(fields, bytes) else encode_headers(fields)
        self.send_frame(FrameType.CONTINUATION, END_HEADERS if end_headers else 0, stream_id, block)

    def data(self, stream_id: int, payload: bytes, end_stream: bool = True) -> None:
        self.send_frame(FrameType.DATA, END_STREAM if end_stream else 0, stream_id, payload)

    def settings(self, *pairs: tuple[int, int]) -> None:
        self.send_frame(FrameType.SETTINGS, 0, 0, _settings_payload(pairs))

    def ping(self, payload: bytes = b"\x00" * 8, ack: bool = False) -> None:
        self.send_frame(FrameType.PING, ACK if ack else 0, 0, payload)

    def priority(
        self, stream_id: int, dependency: int = 0, weight: int = 255, exclusive: bool = False
    ) -> None:
        self.send_frame(
            FrameType.PRIORITY, 0, stream_id, _priority_payload(dependency, weight, exclusive)
        )

    def rst_stream(self, stream_id: int, code: int) -> None:
        self.send_frame(FrameType.RST_STREAM, 0, stream_id, struct.pack("!I", code))

    def window_update(self, stream_id: int, increment: int) -> None:
        self.send_frame(FrameType.WINDOW_UPDATE, 0, stream_id, struct.pack("!I", increment))

    def goaway(self, last_stream_id: int, code: int, debug: bytes = b"") -> None:
        self.send_frame(FrameType.GOAWAY, 0, 0, struct.pack("!II", last_stream_id, code) + debug)

    # --- receiving ----------------------------------------------------------------

    def next_event(self, deadline: float) -> Event:
        """The next frame, or `Closed`, or `TimedOut` once `deadline` (monotonic) passes."""
        if self.closed:
            return Closed("already closed")
        self.flush()
        while True:
            frame = self._parse_buffered()
            if frame is not None:
                self.transcript.append(frame)
                if frame.type == FrameType.PING and not frame.flags & ACK:
                    # A well-behaved peer answers (hyper pings during graceful shutdown).
                    self.send_frame(FrameType.PING, ACK, 0, frame.payload)
                    self.flush()
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = TimedOut(self.timeout)
                self.transcript.append(timed_out)
                return timed_out
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError) as error:
                return self._closed(f"reset: {error.strerror}")
            if not chunk:
                return self._closed("EOF")
            self._buffer += chunk

    def _closed(self, how: str) -> Closed:
        if self._buffer:
            how += f", {len(self._buffer)} unparsed bytes {self._buffer[:40]!r}"
        self.closed = True
        closed = Closed(how)
        self.transcript.append(closed)
        return closed

    def _parse_buffered(self) -> Frame | None:
        if len(self._buffer) < 9:
            return None
        high, low, frame_type, flags, stream_id = struct.unpack("!BHBBI", self._buffer[:9])
        length = (high << 16) | low
        if len(self._buffer) < 9 + length:
            return None
        payload = self._buffer[9 : 9 + length]
        self._buffer = self._buffer[9 + length :]
        frame = Frame(frame_type, flags, stream_id & 0x7FFFFFFF, payload)
        self._track_header_block(frame)
        return frame

    def _track_header_block(self, frame: Frame) -> None:
        if frame.type == FrameType.HEADERS:
            fragment = frame.payload
            if frame.flags & PADDED:
                fragment = fragment[1 : len(fragment) - fragment[0]]
            if frame.flags & PRIORITY_FLAG:
                fragment = fragment[5:]
            self._block = bytearray(fragment)
            self._block_ends_stream = bool(frame.flags & END_STREAM)
        elif frame.type == FrameType.CONTINUATION and self._block is not None:
            self._block += frame.payload
        else:
            return
        if frame.flags & END_HEADERS:
            decoded = self._decoder.decode(bytes(self._block), raw=True)
            frame.headers = [
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in decoded
            ]
            frame.block_ends_stream = self._block_ends_stream
            self._block = None

    def format_transcript(self) -> str:
        lines = [f"  <- {event.describe()}" for event in self.transcript]
        return "server sent:\n" + ("\n".join(lines) if lines else "  (nothing)")


def _settings_payload(pairs: Iterable[tuple[int, int]]) -> bytes:
    return b"".join(struct.pack("!HI", identifier, value) for identifier, value in pairs)


def _priority_payload(dependency: int, weight: int, exclusive: bool) -> bytes:
    # `weight` is the wire octet (weight minus one), as in golang.org/x/net/http2.
    return struct.pack("!IB", dependency | (0x80000000 if exclusive else 0), weight)
