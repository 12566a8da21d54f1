"""grpcio's `ServicerContext` (sync and ``grpc.aio``), over one Rust `GrpcCall`."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import Any

from cello import _cello
from cello.forms import _driver

__all__ = ["ServicerContext", "code_number"]

Metadatum = namedtuple("Metadatum", ["key", "value"])


class AbortError(Exception):
    """Raised by `ServicerContext.abort`: ends the handler, the status is sent."""


class CallEnded(Exception):
    """The call ended under the handler (client gone, deadline passed)."""


def code_number(code: Any) -> int:
    """A `grpc.StatusCode` (or an int, or a `cello.grpc.GrpcError` constant) as its number."""
    value = getattr(code, "value", code)
    if isinstance(value, tuple):
        value = value[0]
    return int(value)


def _code_enum(number: int) -> Any:
    try:
        import grpc
    except ImportError:  # pragma: no cover - grpcio is what calls these
        return number
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


def _pairs(metadata: Iterable[Any] | None) -> list[tuple[str, Any]]:
    return [(str(key), value) for key, value in (metadata or ())]


class ServicerContext:
    """What a servicer method gets as ``context``: grpcio's `ServicerContext` and
    ``grpc.aio.ServicerContext`` methods, served by Cello.

    Example:
        >>> def GetUser(self, request, context):  # doctest: +SKIP
        ...     if not request.id:
        ...         context.abort(grpc.StatusCode.INVALID_ARGUMENT, "id is required")
        ...     context.set_trailing_metadata([("x-served-by", "cello")])
        ...     return User(id=request.id)
    """

    def __init__(self, call: _cello.GrpcCall, deserialize: Callable[[bytes], Any] | None, serialize: Callable[[Any], bytes] | None) -> None:
        self._call = call
        self._deserialize = deserialize
        self._serialize = serialize
        self._code = 0
        self._details = ""
        self._trailing: list[tuple[str, Any]] = []
        self._callbacks: list[Callable[[], Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what the client sent ---------------------------------------------------
    def invocation_metadata(self) -> tuple[Metadatum, ...]:
        """The client's metadata, as ``(key, value)`` tuples (``bytes`` for ``-bin`` keys)."""
        return tuple(Metadatum(key, value) for key, value in self._call.metadata())

    def peer(self) -> str:
        return self._call.peer

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def time_remaining(self) -> float | None:
        """Seconds until the client's deadline; ``None`` if it set none."""
        return self._call.time_remaining()

    def is_active(self) -> bool:
        return self._call.is_active()

    def cancelled(self) -> bool:
        """Whether the client cancelled, went away, or the deadline passed."""
        return self._call.cancelled()

    def done(self) -> bool:
        return not self._call.is_active()

    def add_callback(self, callback: Callable[[], Any]) -> bool:
        """Runs `callback` when the call ends."""
        self._callbacks.append(callback)
        return True

    def add_done_callback(self, callback: Callable[[Any], Any]) -> None:
        self._callbacks.append(lambda: callback(self))

    def cancel(self) -> bool:
        return self._call.finish(1, "Cancelled")

    # -- what the server sends ----------------------------------------------------
    def send_initial_metadata(self, initial_metadata: Iterable[Any]) -> None:
        self._call.send_initial_metadata(_pairs(initial_metadata))

    def set_trailing_metadata(self, trailing_metadata: Iterable[Any]) -> None:
        self._trailing = _pairs(trailing_metadata)

    def trailing_metadata(self) -> tuple[Metadatum, ...]:
        return tuple(Metadatum(key, value) for key, value in self._trailing)

    def set_code(self, code: Any) -> None:
        self._code = code_number(code)

    def set_details(self, details: str | None) -> None:
        self._details = details or ""

    def code(self) -> Any:
        return _code_enum(self._code) if self._code else None

    def details(self) -> str:
        return self._details

    def set_compression(self, compression: Any) -> None:
        """``grpc.Compression.Gzip`` compresses the response's messages (if the client accepts gzip)."""
        name = str(getattr(compression, "name", compression)).lower()
        self._call.set_compression("gzip" if name == "gzip" else "identity")

    def disable_next_message_compression(self) -> None:
        return None

    def abort(self, code: Any, details: str = "") -> Any:
        """Ends the call with `code` and `details`; raises, so nothing after it runs."""
        number = code_number(code)
        if number == 0:
            raise ValueError("abort() needs an error code, not OK")
        self._code = number
        self._details = details or ""
        raise AbortError(details)

    def abort_with_status(self, status: Any) -> Any:
        """`abort` with a ``grpc.Status`` (code, details, trailing_metadata)."""
        self._trailing = _pairs(getattr(status, "trailing_metadata", None))
        return self.abort(status.code, status.details)

    # -- grpc.aio's read/write style ----------------------------------------------
    async def read(self) -> Any:
        """The next request message, or ``grpc.aio.EOF`` at the end."""
        raw = await receive(self._call)
        if raw is None:
            try:
                from grpc.aio import EOF
            except ImportError:  # pragma: no cover
                return None
            return EOF
        return self._deserialize(raw) if self._deserialize else raw

    async def write(self, message: Any) -> None:
        """Sends a response message (back-pressure: waits while the client is slow)."""
        await send(self._call, self._serialize(message) if self._serialize else message)

    # -- the end --------------------------------------------------------------------
    def _finish(self, code: int | None = None, details: str | None = None) -> None:
        self._call.finish(self._code if code is None else code, self._details if details is None else details, self._trailing)

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                import logging

                logging.getLogger("cello.grpc").exception("a gRPC call's callback failed")


async def receive(call: _cello.GrpcCall) -> bytes | None:
    """The call's next request message (``None`` at the end), waiting for it to arrive."""
    while True:
        item = call.try_recv()
        if item is not False:
            return item
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        call.wait_recv(_driver(), future)
        await future


async def send(call: _cello.GrpcCall, data: bytes) -> None:
    """Sends one message; waits while the queue is full; `CallEnded` if the call ended."""
    sent = call.send(data)
    if sent is None:
        raise CallEnded
    if sent is False:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        call.wait_capacity(future)
        if not await future:
            raise CallEnded
