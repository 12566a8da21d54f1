"""Server configuration."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerConfig", "TlsConfig", "parse_memory"]

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2, "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def parse_memory(value: int | str, what: str) -> int:
    """Bytes from an int or a size such as ``"512M"``, ``"1.5GiB"`` (units are binary)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number of bytes or a size such as '512M', got {value!r}")
    if isinstance(value, int):
        size = value
    else:
        text = str(value).strip().lower()
        number = text.rstrip("bkmgi")
        unit = text[len(number):]
        if unit not in _UNITS or not number:
            raise ValueError(f"{what} must be a number of bytes or a size such as '512M' or '2G', got {value!r}")
        try:
            size = int(float(number) * _UNITS[unit])
        except ValueError:
            raise ValueError(f"{what} must be a number of bytes or a size such as '512M', got {value!r}") from None
    if size <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return size


@dataclass(frozen=True)
class TlsConfig:
    """HTTPS with rustls: ``app.run(tls=TlsConfig("cert.pem", "key.pem"))``.

    The certificate file is a PEM chain (leaf first); the key PKCS#8, PKCS#1 or SEC1
    PEM. With `client_ca_path`, clients must present a certificate signed by one of
    those CAs (mutual TLS). ALPN offers HTTP/2 and HTTP/1.1. Send SIGHUP to reload the
    files after a renewal, without a restart.

    Example:
        >>> from cello import TlsConfig
        >>> tls = TlsConfig("cert.pem", "key.pem")
    """

    cert_path: str
    key_path: str
    client_ca_path: str | None = None
    #: Also listen for plain HTTP on this port and redirect (308) every request to HTTPS.
    redirect_http_port: int | None = None

    def as_tuple(self) -> tuple[str, str, str | None]:
        """The form the native server takes."""
        return (str(self.cert_path), str(self.key_path), self.client_ca_path and str(self.client_ca_path))


@dataclass
class ServerConfig:
    """Limits, timeouts and worker recycling, passed as ``app.run(config=...)``.

    Example:
        >>> from cello import ServerConfig
        >>> config = ServerConfig(max_body_size=1024 * 1024, max_requests=10_000)
    """

    #: Largest request head (request line and headers), bytes. Over it: 431.
    max_header_size: int = 16 * 1024
    #: Largest request body, bytes; checked before reading. Over it: 413.
    max_body_size: int = 16 * 1024 * 1024
    #: Bodies up to this many bytes are read before the handler runs, so the sync
    #: ``request.body()``/``json()`` work; larger ones are read by the handler with
    #: ``request.stream()`` or ``await request.form()`` (never held whole in memory).
    body_buffer_size: int = 1024 * 1024
    #: Most text fields in a form. Over it: 413.
    max_form_fields: int = 1000
    #: Most files in a multipart form. Over it: 413.
    max_form_files: int = 100
    #: Largest text field of a form, bytes. Over it: 413.
    max_field_size: int = 1024 * 1024
    #: Largest uploaded file, bytes (``None``: `max_body_size`). Over it: 413.
    max_file_size: int | None = None
    #: Uploaded files larger than this go to a temporary file instead of memory.
    spool_threshold: int = 1024 * 1024
    #: Directory for those temporary files (the system's temp directory by default).
    upload_dir: str | None = None
    #: Largest WebSocket message, bytes (after reassembly); larger ones close with 1009.
    ws_max_message_size: int = 16 * 1024 * 1024
    #: Seconds between the server's WebSocket pings (``None``: no pings).
    ws_ping_interval: float | None = 20.0
    #: Seconds a WebSocket may stay silent (no message, no pong) before it is closed (1001).
    ws_idle_timeout: float = 60.0
    #: Negotiate permessage-deflate (RFC 7692) when a WebSocket client offers it.
    ws_compression: bool = True
    #: zlib level of WebSocket compression, 0 (store) to 9 (smallest, slowest).
    ws_compression_level: int = 6
    #: WebSocket messages shorter than this many bytes are sent uncompressed.
    ws_compression_threshold: int = 128
    #: Keep the compressor's history between the messages of a connection: better
    #: ratios for similar messages, but about 256 KiB per connection. Off: every
    #: message is compressed on its own by a compressor the worker's connections share.
    ws_compression_context_takeover: bool = False
    #: Seconds to receive a complete request head (slowloris guard); then the connection closes.
    header_read_timeout: float = 30.0
    #: Seconds a keep-alive connection may idle between requests (uvicorn's default).
    #: An idle connection closes after the shorter of this and `header_read_timeout`.
    keep_alive_timeout: float = 5.0
    #: Seconds to receive a whole request body. Over it: 408.
    body_read_timeout: float = 60.0
    #: HTTP/1.1 keep-alive.
    keep_alive: bool = True
    #: Seconds in-flight requests get to finish on shutdown.
    shutdown_timeout: float = 30.0
    #: ``listen(2)`` backlog.
    backlog: int = 2048
    #: Serve HTTP/2: with prior knowledge (h2c) in cleartext, through ALPN with TLS.
    http2: bool = True
    #: Most concurrent streams per HTTP/2 connection.
    http2_max_concurrent_streams: int = 100
    #: Initial HTTP/2 flow-control window per stream, bytes.
    http2_stream_window: int = 1024 * 1024
    #: Initial HTTP/2 flow-control window per connection, bytes.
    http2_connection_window: int = 4 * 1024 * 1024
    #: Seconds between HTTP/2 keep-alive pings (``None``: none).
    http2_keep_alive_interval: float | None = None
    #: Restart a worker after it served this many requests (``None``: never).
    max_requests: int | None = None
    #: Up to this many extra requests, chosen at random per worker, so workers do not
    #: all restart at once.
    max_requests_jitter: int = 0
    #: Replace a worker whose resident memory (RSS) stays above this many bytes (or a
    #: size such as ``"512M"``) for three checks in a row (one a second): it finishes
    #: its in-flight requests first. Linux (``/proc``). ``None``: never.
    max_worker_memory: int | str | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_header_size", "max_body_size", "backlog", "body_buffer_size",
            "max_form_fields", "max_form_files", "max_field_size", "spool_threshold",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerConfig.{name} must be positive")
        for name in ("header_read_timeout", "keep_alive_timeout", "body_read_timeout", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerConfig.{name} must be a positive number of seconds")
        if self.max_requests is not None and self.max_requests <= 0:
            raise ValueError("ServerConfig.max_requests must be positive or None")
        if self.max_worker_memory is not None:
            self.max_worker_memory = parse_memory(self.max_worker_memory, "ServerConfig.max_worker_memory")
        if self.max_requests_jitter < 0:
            raise ValueError("ServerConfig.max_requests_jitter cannot be negative")
        if not 0 <= self.ws_compression_level <= 9:
            raise ValueError(
                f"ServerConfig.ws_compression_level must be between 0 and 9, got {self.ws_compression_level}"
            )
        if self.ws_compression_threshold < 0:
            raise ValueError("ServerConfig.ws_compression_threshold cannot be negative")
