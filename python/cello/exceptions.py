"""Exceptions users raise and catch."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from cello._cello import BodyNotRead, CelloError, InvalidJSON, RouteConflictError, TlsError

__all__ = [
    "BodyNotRead",
    "CelloError",
    "HTTPException",
    "InvalidJSON",
    "MissingFeatureError",
    "RequestValidationError",
    "RouteConflictError",
    "TlsError",
]


class MissingFeatureError(CelloError, RuntimeError):
    """A feature was used that this build of the native module does not include.

    The message names the cargo feature and the command that builds Cello with it;
    ``cello.features()`` lists what the build has.
    """


class HTTPException(CelloError):
    """Stops handling and answers with `status_code`.

    The response is an RFC 9457 ``application/problem+json`` document whose
    ``detail`` is the given text (the status's reason phrase by default), unless an
    exception handler registered for ``HTTPException`` answers instead.

    Example:
        >>> from cello import App, HTTPException
        >>> app = App()
        >>> @app.get("/items/{id}")
        ... def item(request):
        ...     raise HTTPException(404, "no item with that id")
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            phrase = HTTPStatus(status_code).phrase
        except ValueError:
            if not 400 <= status_code <= 599:
                raise ValueError(
                    f"HTTPException needs an error status (400-599), got {status_code}"
                ) from None
            phrase = "Error"
        self.status_code = status_code
        self.detail = detail if detail is not None else phrase
        self.headers = dict(headers or {})
        super().__init__(status_code, self.detail)

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"HTTPException(status_code={self.status_code!r}, detail={self.detail!r})"


class RequestValidationError(CelloError, ValueError):
    """The request did not match the handler's typed parameters: answered with 422.

    The response is ``application/problem+json`` with an ``errors`` list, one entry
    per failure in Pydantic's shape (``loc`` such as ``["query", "limit"]``, ``msg``,
    ``type``, ``input``), which FastAPI clients already read. Register
    ``@app.exception_handler(RequestValidationError)`` to answer differently.
    """

    status_code = 422

    def __init__(self, errors: list[dict[str, object]]) -> None:
        self._errors = errors
        count = len(errors)
        self.detail = f"{count} validation error{'s' if count != 1 else ''} in the request"
        super().__init__(self.detail)

    def errors(self) -> list[dict[str, object]]:
        """One entry per failure: ``{"type", "loc", "msg", "input", "ctx"?}``."""
        return self._errors
