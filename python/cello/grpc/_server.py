"""The servicers of one app, and how a call runs them.

grpcio's generated ``add_FooServicer_to_server(servicer, server)`` calls
``server.add_generic_rpc_handlers`` (and, since grpcio 1.62,
``server.add_registered_method_handlers``); `GrpcHandlers` takes both, so the generated
code runs unchanged with a `cello.App` (or `GrpcHandlers`) as the server.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from cello import _cello
from cello.grpc._context import AbortError, CallEnded, ServicerContext, receive, send

__all__ = ["GrpcHandlers"]

logger = logging.getLogger("cello.grpc")

_UNKNOWN = 2
_CANCELLED = 1


class _CallDetails:
    """grpcio's `HandlerCallDetails`, for generic handlers that choose by method."""

    __slots__ = ("invocation_metadata", "method")

    def __init__(self, method: str, invocation_metadata: tuple[Any, ...]) -> None:
        self.method = method
        self.invocation_metadata = invocation_metadata


class GrpcHandlers:
    """The method handlers of an app's gRPC services, by ``/package.Service/Method``."""

    def __init__(self) -> None:
        self.methods: dict[str, Any] = {}
        self.generic: list[Any] = []
        self.services: list[str] = []
        # Methods named by add_grpc_service() without a handler (UNIMPLEMENTED, said so).
        self.placeholders: set[str] = set()
        self.reflection_added = False
        self.health: Any = None
        # The original's dict API: compiled .proto files, and GrpcService objects to
        # bind to their services when the engine is built.
        self.protos: list[Any] = []
        self.pending: list[Any] = []
        # Threads for sync streaming handlers (GrpcConfig.concurrency_limit).
        self.threads = 100
        self._executor: Any = None

    # -- grpcio's server interface -------------------------------------------------
    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[Any]) -> None:
        """Registers grpcio generic handlers (what generated code passes)."""
        for handler in generic_rpc_handlers:
            methods = getattr(handler, "_method_handlers", None)
            if isinstance(methods, dict):
                self.methods.update(methods)
                name = getattr(handler, "service_name", None)
                self._add_service(name() if callable(name) else next(iter(methods), "/?/").split("/")[1])
            elif callable(getattr(handler, "service", None)):
                self.generic.append(handler)
            else:
                raise TypeError(f"{handler!r} is not a grpc.GenericRpcHandler")

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        """Registers the handlers of one service (grpcio >= 1.62's generated code)."""
        for method, handler in method_handlers.items():
            self.methods[f"/{service_name}/{method}"] = handler
        self._add_service(service_name)

    def bind_pending(self) -> None:
        """Binds the `GrpcService` objects to the services of the .proto files."""
        from cello.grpc.services import bind

        pending, self.pending = self.pending, []
        for service in pending:
            if not self.protos:
                raise LookupError(
                    f"{type(service).__name__} is a GrpcService: its messages are described by .proto files; "
                    "pass them with app.enable_grpc(config, proto_files=[...], include_paths=[...])"
                )
            errors = []
            for protos in self.protos:
                try:
                    full_name, handlers = bind(service, protos)
                except LookupError as error:
                    errors.append(str(error))
                    continue
                if service.get_name() in self.services and service.get_name() != full_name:
                    self.services.remove(service.get_name())
                self._add_service(full_name)
                for method, handler in handlers.items():
                    self.methods[f"/{full_name}/{method}"] = handler
                break
            else:
                raise LookupError(errors[0])

    def _add_service(self, name: str) -> None:
        if name and name not in self.services:
            self.services.append(name)

    # -- serving ---------------------------------------------------------------------
    def lookup(self, call: _cello.GrpcCall) -> Any:
        handler = self.methods.get(call.path)
        if handler is not None:
            return handler
        if self.generic:
            details = _CallDetails(call.path, tuple(call.metadata()))
            for generic in self.generic:
                handler = generic.service(details)
                if handler is not None:
                    return handler
        return None

    def dispatch(self, call: _cello.GrpcCall) -> Any:
        """Starts `call`: ``None`` if it was answered at once, else a coroutine to run."""
        handler = self.lookup(call)
        if handler is None:
            if call.path in self.placeholders:
                call.finish(12, f"{call.path} is registered by name only (add_grpc_service); no servicer implements it")
            else:
                # grpcio's own words for an unknown method.
                call.finish(12, "Method not found!")
            return None
        context = ServicerContext(call, handler.request_deserializer, handler.response_serializer)
        behaviour = handler.unary_unary
        if _is_inline(handler):
            try:
                raw = call.try_recv()
            except _cello.GrpcCallError as error:
                call.finish(*error.args)
                return None
            if raw is not False:
                # The common case: the request is here and the handler is sync: answer
                # inline, no task, no loop round trip.
                _unary_inline(behaviour, context, raw)
                return None
        return _run(handler, context, self)

    def executor(self) -> Any:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="cello-grpc")
        return self._executor


def _is_async(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


@functools.lru_cache(maxsize=4096)
def _is_inline(handler: Any) -> bool:
    """Whether `handler` is a sync unary one, which may run inline (decided once per
    handler, not per call)."""
    behaviour = handler.unary_unary
    return behaviour is not None and not handler.request_streaming and not handler.response_streaming and not _is_async(behaviour)


def _unary_inline(behaviour: Callable[..., Any], context: ServicerContext, raw: bytes | None) -> None:
    failure = None
    try:
        _respond(context, behaviour(_decode(context, raw), context))
    except BaseException as error:  # noqa: BLE001 - every failure becomes a status
        failure = error
    _end(context, failure)


def _end(context: ServicerContext, failure: BaseException | None) -> None:
    """Sends the call's status (OK, or what `failure` means), then runs its callbacks."""
    try:
        if failure is None:
            context._finish()
        else:
            _fail(context, failure)
    finally:
        context._run_callbacks()


def _decode(context: ServicerContext, raw: bytes | None) -> Any:
    if raw is None:
        raise _Status(13, "the client sent no request message")
    try:
        return context._deserialize(raw) if context._deserialize else raw
    except Exception as error:
        raise _Status(13, f"Exception deserializing request! ({error})") from error


class _Status(Exception):
    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _encode(context: ServicerContext, message: Any) -> bytes:
    try:
        return context._serialize(message) if context._serialize else message
    except Exception as error:
        raise _Status(13, f"Failed to serialize response! ({error})") from error


def _respond(context: ServicerContext, response: Any) -> None:
    """The one message of a unary answer (sent unless the handler set an error code)."""
    if context._code not in (0, None):
        return
    if response is None:
        raise _Status(_UNKNOWN, "the handler returned None instead of a response message")
    if context._call.send(_encode(context, response)) is None:
        raise CallEnded


def _fail(context: ServicerContext, error: BaseException) -> None:
    call = context._call
    if isinstance(error, AbortError):
        context._finish()
    elif isinstance(error, _Status):
        context._finish(error.code, error.details)
    elif type(error).__name__ == "GrpcError" and hasattr(error, "code") and hasattr(error, "message"):
        context._finish(int(error.code), str(error.message))
    elif isinstance(error, _cello.GrpcCallError):
        code, details = error.args
        context._finish(code, details)
    elif isinstance(error, CallEnded):
        pass
    elif isinstance(error, asyncio.CancelledError):
        call.finish(_CANCELLED, "Cancelled")
        raise error
    elif isinstance(error, Exception):
        # As grpcio: a code or details the handler set before raising win (the
        # generated base class sets UNIMPLEMENTED, then raises NotImplementedError).
        if not context._code:
            logger.exception("gRPC %s failed", call.path)
        context._finish(context._code or _UNKNOWN, context._details or f"Exception calling application: {error}")
    else:
        call.finish(_UNKNOWN, "the server stopped the call")
        raise error


async def _run(handler: Any, context: ServicerContext, handlers: GrpcHandlers) -> None:
    failure = None
    try:
        await _serve(handler, context, handlers)
    except BaseException as error:  # noqa: BLE001 - every failure becomes a status
        failure = error
    _end(context, failure)


async def _serve(handler: Any, context: ServicerContext, handlers: GrpcHandlers) -> None:
    call = context._call
    if handler.request_streaming and handler.response_streaming:
        behaviour, one_in, many_out = handler.stream_stream, False, True
    elif handler.request_streaming:
        behaviour, one_in, many_out = handler.stream_unary, False, False
    elif handler.response_streaming:
        behaviour, one_in, many_out = handler.unary_stream, True, True
    else:
        behaviour, one_in, many_out = handler.unary_unary, True, False
    if _is_async(behaviour):
        request: Any = _decode(context, await receive(call)) if one_in else _async_requests(context)
        result = behaviour(request, context)
        if many_out:
            if inspect.isasyncgen(result):
                async for message in result:
                    await send(call, _encode(context, message))
            else:
                # grpc.aio's read/write style: the coroutine writes with context.write().
                await result
        else:
            _respond(context, await result)
        return
    # A sync handler that streams runs on a thread: it may block on the next request
    # message, or sleep between responses, without stopping the worker's loop.
    loop = asyncio.get_running_loop()
    if one_in:
        request = _decode(context, await receive(call))
    else:
        request = _sync_requests(context, loop)
    if many_out:
        await loop.run_in_executor(handlers.executor(), _drain_sync, behaviour, request, context, loop)
    else:
        response = await loop.run_in_executor(handlers.executor(), behaviour, request, context)
        _respond(context, response)


async def _async_requests(context: ServicerContext) -> AsyncIterator[Any]:
    while True:
        raw = await receive(context._call)
        if raw is None:
            return
        yield context._deserialize(raw) if context._deserialize else raw


def _sync_requests(context: ServicerContext, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    call = context._call
    while True:
        # What has arrived is read from this thread; only a wait goes through the loop.
        raw = call.try_recv()
        if raw is False:
            raw = asyncio.run_coroutine_threadsafe(receive(call), loop).result()
        if raw is None:
            return
        yield context._deserialize(raw) if context._deserialize else raw


def _drain_sync(behaviour: Callable[..., Any], request: Any, context: ServicerContext, loop: asyncio.AbstractEventLoop) -> None:
    call = context._call
    for message in behaviour(request, context):
        sent = call.send(_encode(context, message))
        if sent is None:
            raise CallEnded
        if sent is False:
            # The client is slow: wait, on the loop, for room.
            asyncio.run_coroutine_threadsafe(_room(call), loop).result()


async def _room(call: _cello.GrpcCall) -> None:
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    call.wait_capacity(future)
    if not await future:
        raise CallEnded
