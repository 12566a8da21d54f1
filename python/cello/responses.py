"""Responses handlers can return.

Plain values need no wrapper (a dict becomes JSON, a str text, ``None`` a 204);
`Response` is for choosing the status, headers, cookies or media type.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

from cello import _cello
from cello.datastructures import MutableHeaders

__all__ = ["FileResponse", "Response"]

_JSON_TYPES = (dict, list, tuple, int, float, bool)


_TEXT = "text/plain; charset=utf-8"
_OCTETS = "application/octet-stream"


class _StreamAttribute:
    """``Response.stream(...)`` on the class, the body's iterable on an instance."""

    def __get__(self, instance: object, owner: type) -> Any:
        if instance is None:
            return owner.stream_body  # type: ignore[attr-defined]
        return None


class Response:
    """An HTTP response.

    Args:
        body: ``str`` (sent as UTF-8 text), ``bytes``, ``None`` (empty) or any value the
            JSON encoder accepts (dict, list, dataclass, Pydantic model...), sent as JSON.
        status: the status code.
        headers: extra headers.
        content_type: the ``Content-Type``; inferred from `body` when omitted.
        background: a `BackgroundTasks` (or callable) to run after the response is sent.

    Example:
        >>> from cello import Response
        >>> response = Response.json({"id": 1}, status=201)
        >>> response.status_code, response.headers["content-type"]
        (201, 'application/json')
    """

    __slots__ = ("background", "body", "raw_headers", "status_code")

    #: For file responses, the path to stream; ``None`` for in-memory bodies.
    path: str | None = None
    #: ``Response.stream(content, ...)`` builds a streamed response; on a response
    #: instance, ``stream`` is the iterable producing the body (``None`` if in memory).
    stream: Any = _StreamAttribute()
    #: For Server-Sent Events, seconds of silence before a keep-alive comment.
    keep_alive: float | None = None

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        *,
        background: Any = None,
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an int from 100 to 599, got {status!r}")
        # The common cases first, by exact type (this runs once per request).
        kind = type(body)
        inferred: str | None
        if kind is str:
            data, inferred = body.encode(), _TEXT
        elif body is None:
            data, inferred = b"", None
        elif kind is bytes:
            data, inferred = body, _OCTETS
        elif isinstance(body, str):
            data, inferred = body.encode(), _TEXT
        elif isinstance(body, (bytes, bytearray, memoryview)):
            data, inferred = bytes(body), _OCTETS
        else:
            data, inferred = _cello.json_dumps(body), "application/json"
        self.body: bytes = data
        self.status_code: int = status
        self.background = background
        media = content_type or inferred
        if not headers:
            self.raw_headers: list[tuple[str, str]] = [] if media is None else [("content-type", media)]
            return
        raw = [(name.lower(), str(value)) for name, value in headers.items()]
        if media is not None and not any(name == "content-type" for name, _ in raw):
            raw.insert(0, ("content-type", media))
        self.raw_headers = raw

    # --- constructors -------------------------------------------------------------

    @classmethod
    def json(
        cls,
        data: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        background: Any = None,
    ) -> Response:
        """A JSON response (encoded in Rust)."""
        response = cls(None, status, headers, background=background)
        response.body = _cello.json_dumps(data)
        response.headers["content-type"] = "application/json"
        return response

    @classmethod
    def text(
        cls,
        content: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        background: Any = None,
    ) -> Response:
        """A ``text/plain; charset=utf-8`` response."""
        return cls(content, status, headers, "text/plain; charset=utf-8", background=background)

    @classmethod
    def html(
        cls, content: str, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A ``text/html; charset=utf-8`` response."""
        return cls(content, status, headers, "text/html; charset=utf-8")

    @classmethod
    def xml(
        cls, content: str, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        """An ``application/xml`` response."""
        return cls(content, status, headers, "application/xml; charset=utf-8")

    @classmethod
    def binary(
        cls,
        data: bytes,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> Response:
        """Raw bytes with the given content type."""
        return cls(bytes(data), status, headers, content_type)

    @classmethod
    def redirect(
        cls, url: str, status: int = 307, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A redirect to `url` (307 keeps the method; use 301/302/303/308 as needed)."""
        if status not in (300, 301, 302, 303, 307, 308):
            raise ValueError(
                f"a redirect needs a 3xx status (300, 301, 302, 303, 307 or 308), got {status}"
            )
        response = cls(None, status, headers)
        response.headers["location"] = quote(url, safe=":/%#?=@[]!$&'()*+,;~")
        return response

    @classmethod
    def no_content(cls, headers: Mapping[str, str] | None = None) -> Response:
        """An empty 204 response."""
        return cls(None, 204, headers)

    @classmethod
    def file(
        cls,
        path: str | os.PathLike[str],
        filename: str | None = None,
        content_type: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> FileResponse:
        """A file streamed from disk (never loaded whole into memory)."""
        return FileResponse(path, filename, content_type, status, headers)

    @classmethod
    def stream_body(
        cls,
        content: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> Response:
        """A body streamed from an iterable or async iterable of ``bytes``/``str``
        chunks, with backpressure; the producer stops when the client disconnects.
        Also reachable as ``Response.stream(...)``."""
        from cello.streaming import StreamingResponse

        return StreamingResponse(content, status, headers, content_type)

    # --- attributes ---------------------------------------------------------------

    @property
    def status(self) -> int:
        """Same as `status_code`."""
        return self.status_code

    @property
    def headers(self) -> MutableHeaders:
        """The headers, case-insensitive and editable."""
        return MutableHeaders(self.raw_headers)

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header, or ``None``."""
        return self.headers.get("content-type")

    media_type = content_type

    # --- cookies ------------------------------------------------------------------

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Adds a ``Set-Cookie`` header (Starlette's signature)."""
        if any(c in key for c in ' ;,="\r\n\t'):
            raise ValueError(f"invalid cookie name {key!r}")
        parts = [f"{key}={quote(value, safe='')}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            if isinstance(expires, int):
                expires = datetime.fromtimestamp(
                    datetime.now(UTC).timestamp() + expires, UTC
                )
            parts.append(f"expires={format_datetime(expires.astimezone(UTC), usegmt=True)}")
        if path is not None:
            parts.append(f"Path={path}")
        if domain is not None:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite is not None:
            if samesite.lower() not in ("lax", "strict", "none"):
                raise ValueError("samesite must be 'lax', 'strict' or 'none'")
            parts.append(f"SameSite={samesite.capitalize()}")
        self.headers.append("set-cookie", "; ".join(parts))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Tells the client to drop cookie `key`."""
        self.set_cookie(
            key, "", max_age=0, expires=0, path=path, domain=domain,
            secure=secure, httponly=httponly, samesite=samesite,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status_code} {self.content_type or ''}>".replace(" >", ">")


class FileResponse(Response):
    """A file streamed from disk in 64 KiB chunks, with its content type guessed from
    the extension, ``Content-Length`` and ``Last-Modified``."""

    __slots__ = ("path",)

    def __init__(
        self,
        path: str | os.PathLike[str],
        filename: str | None = None,
        content_type: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        file_path = os.fspath(path)
        try:
            info = os.stat(file_path)
        except OSError as error:
            raise FileNotFoundError(f"Response.file: cannot read {file_path!r}: {error}") from None
        if not os.path.isfile(file_path):
            raise IsADirectoryError(f"Response.file: {file_path!r} is not a regular file")
        guessed = content_type or mimetypes.guess_type(filename or file_path)[0]
        if guessed is None:
            guessed = "application/octet-stream"
        elif guessed.startswith("text/") and "charset" not in guessed:
            guessed += "; charset=utf-8"
        super().__init__(None, status, headers, guessed)
        self.path = file_path
        modified = datetime.fromtimestamp(info.st_mtime, UTC)
        self.headers["last-modified"] = format_datetime(modified, usegmt=True)
        if filename is not None:
            self.headers["content-disposition"] = (
                f"attachment; filename*=utf-8''{quote(filename, safe='')}"
            )
