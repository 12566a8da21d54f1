"""Logging: the access log and every other record (the app's, libraries', Cello's
Rust side) in one format, each carrying the id of the request it was emitted for.

``app.enable_logging(LoggingConfig(format="json"))`` configures Python's `logging`:
one handler (stderr, stdout or a file) on the root logger with a formatter for the
chosen format and a filter that adds ``request_id`` (and ``trace_id``/``span_id``
when tracing is on) to every record emitted while a request is handled. The filter
finds the request through the slot the engine sets for the running handler, so it
costs nothing per request; only a record being written looks it up.

Example:
    >>> from cello import App, LoggingConfig
    >>> app = App()
    >>> app.enable_logging(LoggingConfig(format="json", level="INFO"))
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cello import _cello
from cello.background import current_request

__all__ = [
    "ACCESS_FIELDS",
    "CelloFormatter",
    "LoggingConfig",
    "RequestContextFilter",
    "current_ids",
    "install",
]

#: The fields an access record carries; `LoggingConfig.fields` picks among them.
ACCESS_FIELDS: tuple[str, ...] = (
    "client", "method", "path", "route", "status", "duration_ms", "size", "user_agent",
    "referer", "request_id",
)
_FORMATS = ("text", "combined", "json")
_DESTINATIONS = ("stderr", "stdout", "file")


@dataclass
class LoggingConfig:
    """How Cello logs.

    Args:
        format: ``"text"`` (a readable line), ``"combined"`` (Apache/nginx combined
            for access records, text for the rest) or ``"json"`` (one object a line).
        level: the least severe level written (``"INFO"``, ``logging.DEBUG``, ...).
        destination: ``"stderr"``, ``"stdout"`` or ``"file"`` (then `file_path`; the
            file is reopened when logrotate moves it).
        file_path: the log file, with ``destination="file"``.
        fields: the access-record fields written (see `ACCESS_FIELDS`); ``None``: all.
        access_log: one record per request (logger ``cello``).
        request_ids: give every request an id (``app.enable_request_id()`` unless
            already enabled) so every record can carry one.
        configure_root: put the handler on the root logger, so the app's and
            libraries' records come out the same way; else only on ``cello``.
        rust_lines_per_second: most records per second from Cello's Rust side
            (malformed connections, handler panics); the rest are counted, not written.
    """

    format: str = "text"
    level: int | str = "INFO"
    destination: str = "stderr"
    file_path: str | None = None
    fields: Sequence[str] | None = None
    access_log: bool = True
    request_ids: bool = True
    configure_root: bool = True
    rust_lines_per_second: float = 10.0
    _level_number: int = field(default=logging.INFO, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.format not in _FORMATS:
            raise ValueError(f"LoggingConfig.format must be one of {_FORMATS}, got {self.format!r}")
        if self.destination not in _DESTINATIONS:
            raise ValueError(f"LoggingConfig.destination must be one of {_DESTINATIONS}, got {self.destination!r}")
        if self.destination == "file" and not self.file_path:
            raise ValueError("LoggingConfig(destination='file') needs file_path")
        if self.fields is not None:
            unknown = sorted(set(self.fields) - set(ACCESS_FIELDS))
            if unknown:
                raise ValueError(f"unknown LoggingConfig.fields {unknown}; choose among {list(ACCESS_FIELDS)}")
        level = self.level
        if isinstance(level, str):
            number = logging.getLevelNamesMapping().get(level.upper())
            if number is None:
                raise ValueError(f"unknown log level {level!r}")
            level = number
        self._level_number = int(level)


def _request() -> Any:
    request = current_request.get()
    if request is None:
        request = _cello.current_request()
    return request


def current_ids() -> dict[str, str | None]:
    """``request_id``, ``trace_id`` and ``span_id`` of the request being handled here."""
    request = _request()
    ids: dict[str, str | None] = {
        "request_id": getattr(request, "request_id", None) if request is not None else None,
        "trace_id": None,
        "span_id": None,
    }
    if request is not None:
        ids["trace_id"] = getattr(request, "trace_id", None)
        ids["span_id"] = getattr(request, "span_id", None)
    return ids


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``trace_id`` and ``span_id`` to every record (``None``
    outside a request); an access record keeps the id it was given."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        for name, value in ids.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class CelloFormatter(logging.Formatter):
    """The three formats. Access records are those with a ``status`` attribute."""

    def __init__(self, style: str = "text", fields: Sequence[str] | None = None) -> None:
        super().__init__()
        self.style_name = style
        self.fields = tuple(fields) if fields is not None else ACCESS_FIELDS

    def format(self, record: logging.LogRecord) -> str:
        access = hasattr(record, "status") and hasattr(record, "duration_ms")
        if self.style_name == "json":
            return self._json(record, access)
        if self.style_name == "combined" and access:
            return self._combined(record)
        return self._text(record, access)

    def _ids(self, record: logging.LogRecord, access: bool = False) -> str:
        names: tuple[str, ...] = ("request_id", "trace_id", "span_id")
        if access and "request_id" not in self.fields:
            names = ("trace_id", "span_id")
        parts = [f"{name}={getattr(record, name)}" for name in names if getattr(record, name, None)]
        return (" " + " ".join(parts)) if parts else ""

    def _text(self, record: logging.LogRecord, access: bool) -> str:
        head = f"{_timestamp(record)} {record.levelname} {record.name}:"
        if access:
            line = f"{head} {self._access_text(record)}{self._ids(record, access)}"
        else:
            line = f"{head} {record.getMessage()}{self._ids(record, access)}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    def _access_text(self, record: logging.LogRecord) -> str:
        chosen = set(self.fields)
        value = record.__dict__.get
        parts = []
        if "client" in chosen:
            parts.append(value("client") or "-")
        request_line = [value(name) for name in ("method", "path") if name in chosen]
        if request_line:
            parts.append('"' + " ".join(str(item) for item in request_line) + '"')
        if "status" in chosen:
            parts.append(str(value("status")))
        if "duration_ms" in chosen:
            parts.append(f"{value('duration_ms'):.2f}ms")
        if "size" in chosen:
            parts.append("-" if value("size") is None else f"{value('size')}B")
        if "route" in chosen and value("route"):
            parts.append(f"route={value('route')}")
        if "user_agent" in chosen:
            parts.append(f'ua="{value("user_agent") or "-"}"')
        if "referer" in chosen and value("referer"):
            parts.append(f'referer="{value("referer")}"')
        return " ".join(parts)

    def _combined(self, record: logging.LogRecord) -> str:
        when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(record.created))
        client = (getattr(record, "client", None) or "-").rsplit(":", 1)[0].strip("[]")
        size = getattr(record, "size", None)
        return (
            f'{client} - - [{when}] "{record.method} {record.path} {getattr(record, "http_version", "HTTP/1.1")}" '  # type: ignore[attr-defined]
            f'{record.status} {"-" if size is None else size} '  # type: ignore[attr-defined]
            f'"{getattr(record, "referer", None) or "-"}" "{getattr(record, "user_agent", None) or "-"}"'
            f"{self._ids(record, True)}"
        )

    def _json(self, record: logging.LogRecord, access: bool) -> str:
        document: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "trace_id", "span_id"):
            value = getattr(record, name, None)
            if value is not None:
                document[name] = value
        if access:
            for name in self.fields:
                document[name] = getattr(record, name, None)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, separators=(",", ":"))


def _handler(config: LoggingConfig) -> logging.Handler:
    handler: logging.Handler
    if config.destination == "file":
        assert config.file_path is not None
        handler = logging.handlers.WatchedFileHandler(config.file_path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stdout if config.destination == "stdout" else sys.stderr)
    handler.setFormatter(CelloFormatter(config.format, config.fields))
    handler.addFilter(RequestContextFilter())
    handler.set_name("cello")
    return handler


def install(config: LoggingConfig) -> None:
    """Configures `logging` as `config` says (replacing a handler an earlier call
    put there) and forwards Rust's records."""
    target = logging.getLogger() if config.configure_root else logging.getLogger("cello")
    for existing in list(target.handlers):
        if existing.get_name() == "cello":
            target.removeHandler(existing)
    others = [handler for handler in target.handlers if handler.get_name() != "cello"]
    if others:
        # Logging is configured already (by the app, or a test runner): keep its
        # handlers and formats, and give their records the ids.
        for handler in others:
            if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
                handler.addFilter(RequestContextFilter())
    else:
        target.addHandler(_handler(config))
        target.setLevel(config._level_number)
    cello_logger = logging.getLogger("cello")
    if cello_logger.level == logging.NOTSET or cello_logger.level > config._level_number:
        cello_logger.setLevel(config._level_number)
    forward_rust_records(config._level_number, config.rust_lines_per_second)


def forward_rust_records(level: int, per_second: float) -> None:
    """Rust's ``cello::*`` tracing events become records of loggers ``cello.*``."""

    def sink(number: int, name: str, message: str) -> None:
        logging.getLogger(name).log(number, "%s", message)

    _cello.set_log_sink(sink, level, per_second, max(per_second * 2, 1.0))


def access_logger(config: LoggingConfig | None, level: int) -> Callable[..., None]:
    """The callable the engine calls after each response (`Engine(request_logger=)`)."""
    logger = logging.getLogger("cello")

    def log(
        method: str, target: str, status: int, duration_ms: float, size: int | None,
        request_id: str | None, client: str | None, route: str | None = None,
        user_agent: str | None = None, referer: str | None = None, http_version: str = "HTTP/1.1",
    ) -> None:
        if not logger.isEnabledFor(level):
            return
        logger.log(
            level,
            '%s "%s %s" %d %.2fms %s%s',
            client or "-", method, target, status, duration_ms,
            "-" if size is None else f"{size}B",
            f" id={request_id}" if request_id else "",
            extra={
                "method": method, "path": target, "status": status,
                "duration_ms": duration_ms, "size": size, "request_id": request_id,
                "client": client, "route": route, "user_agent": user_agent,
                "referer": referer, "http_version": http_version,
            },
        )

    return log
