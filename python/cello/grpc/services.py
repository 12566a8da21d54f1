"""The original framework's gRPC API, for real: services written as classes of
``@grpc_method`` methods that take and return dicts, bound to a service of ``.proto``
files that Rust compiles at start-up (no ``protoc``, no generated code), and a client.

Example:
    >>> from cello import App, GrpcConfig
    >>> from cello.grpc import GrpcService, grpc_method
    >>> class UserService(GrpcService):
    ...     @grpc_method
    ...     async def GetUser(self, request):
    ...         return {"id": request["id"], "name": "Ada"}
    >>> app = App()
    >>> # app.enable_grpc(GrpcConfig(), proto_files=["users.proto"])
    >>> # app.add_grpc_service(UserService())
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from cello import _cello

__all__ = ["GrpcChannel", "GrpcRequest", "GrpcResponse", "GrpcServer", "GrpcService", "grpc_method"]

F = TypeVar("F", bound=Callable[..., Any])


def grpc_method(function: F | None = None, *, stream: bool = False, name: str | None = None) -> Any:
    """Marks a `GrpcService` method as the handler of the proto method of its name
    (or `name`). ``stream=True`` is the original's mark for a server-streaming method
    (a generator); with a ``.proto`` the method's kind comes from the file.
    """

    def mark(method: F) -> F:
        method._grpc_method = True  # type: ignore[attr-defined]
        method._grpc_method_name = name or method.__name__  # type: ignore[attr-defined]
        method._grpc_stream = stream  # type: ignore[attr-defined]
        return method

    return mark(function) if function is not None else mark


class GrpcRequest:
    """What a `@grpc_method` handler receives: the request message as a dict, and the
    call's metadata. ``request["id"]`` and ``request.get("id")`` read the message."""

    def __init__(self, service: str = "", method: str = "", data: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> None:
        self._service = service
        self._method = method
        self._data = data if data is not None else {}
        self._metadata = metadata if metadata is not None else {}

    @property
    def service(self) -> str:
        return self._service

    @property
    def method(self) -> str:
        return self._method

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"GrpcRequest({self._service}/{self._method}, {self._data!r})"


class GrpcResponse:
    """A handler's answer with a status: ``GrpcResponse.ok(data)``,
    ``GrpcResponse.error(code, message)``. The original's doc spelling
    ``GrpcResponse(error="...", code=5)`` works too. `metadata` becomes trailing
    metadata."""

    def __init__(
        self,
        data: Any = None,
        status_code: int = 0,
        message: str = "OK",
        *,
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
        code: int | None = None,
    ) -> None:
        if error is not None:
            message = error
            status_code = code if code is not None else 2
        elif code is not None:
            status_code = code
        self.data = data
        self.status_code = int(status_code)
        self.message = message
        self.metadata: dict[str, Any] = dict(metadata or {})

    @classmethod
    def ok(cls, data: Any = None) -> GrpcResponse:
        return cls(data)

    @classmethod
    def error(cls, code: int, message: str) -> GrpcResponse:
        return cls(None, code, message)

    def __repr__(self) -> str:
        return f"GrpcResponse(status_code={self.status_code}, message={self.message!r}, data={self.data!r})"


class Answer(dict[str, Any]):
    """A call's answer: the message as a dict, which also reads as the original's docs
    use it (``response.data``, ``response.status_code``)."""

    @property
    def data(self) -> dict[str, Any]:
        return self

    @property
    def status_code(self) -> int:
        return 0


class GrpcService:
    """A gRPC service written with ``@grpc_method`` methods. Its name (the proto
    service it implements) is the constructor's `name`, else a class attribute
    ``service_name`` or ``name``, else the class name; a short name matches the
    service of that name in any package."""

    def __init__(self, name: str | None = None) -> None:
        declared = getattr(type(self), "service_name", None) or getattr(type(self), "name", None)
        self._name = name or (declared if isinstance(declared, str) else None) or type(self).__name__

    def get_name(self) -> str:
        return self._name

    def get_methods(self) -> list[dict[str, Any]]:
        methods: list[Any] = [method for _, method in inspect.getmembers(self, callable) if getattr(method, "_grpc_method", False)]
        return [{"name": method._grpc_method_name, "stream": method._grpc_stream} for method in methods]

    def _handler(self, method_name: str) -> Callable[..., Any] | None:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", method_name).lower()
        found = None
        method: Any
        for _, method in inspect.getmembers(self, callable):
            marked = getattr(method, "_grpc_method", False)
            if marked and method._grpc_method_name == method_name:
                return method  # type: ignore[no-any-return]
            if marked and method.__name__ in (method_name, snake):
                found = method
        return found


class _Handler:
    """What `GrpcHandlers` calls: grpcio's `RpcMethodHandler` fields."""

    def __init__(self, request_streaming: bool, response_streaming: bool, deserialize: Callable[[bytes], Any], serialize: Callable[[Any], bytes], behaviour: Callable[..., Any]) -> None:
        self.request_streaming = request_streaming
        self.response_streaming = response_streaming
        self.request_deserializer = deserialize
        self.response_serializer = serialize
        self.unary_unary = self.unary_stream = self.stream_unary = self.stream_stream = None
        if request_streaming and response_streaming:
            self.stream_stream = behaviour
        elif request_streaming:
            self.stream_unary = behaviour
        elif response_streaming:
            self.unary_stream = behaviour
        else:
            self.unary_unary = behaviour


def _answer(result: Any, context: Any) -> Any:
    from cello.grpc import GrpcError

    if isinstance(result, GrpcResponse):
        if result.metadata:
            context.set_trailing_metadata(list(result.metadata.items()))
        if result.status_code:
            raise GrpcError(result.status_code, result.message)
        result = result.data
    return {} if result is None else result


def _metadata(context: Any) -> dict[str, Any]:
    return {key: value for key, value in context.invocation_metadata()}


def bind(service: GrpcService, protos: _cello.ProtoSet) -> tuple[str, dict[str, _Handler]]:
    """The proto service `service` implements, and a handler for each of its methods
    (UNIMPLEMENTED for methods the class does not define)."""
    wanted = service.get_name()
    methods = protos.methods()
    names = sorted({full for full, *_ in methods})
    matches = [full for full in names if full == wanted] or [full for full in names if full.rsplit(".", 1)[-1] == wanted]
    if len(matches) != 1:
        known = ", ".join(names) or "none"
        what = "no service" if not matches else f"several services ({', '.join(matches)})"
        raise LookupError(f"{type(service).__name__} implements {wanted!r}, but the .proto files have {what} of that name (their services: {known}); name it in full with GrpcService(name=...)")
    full_name = matches[0]
    handlers: dict[str, _Handler] = {}
    for service_name, method, input_type, output_type, client_streaming, server_streaming in methods:
        if service_name != full_name:
            continue
        function = service._handler(method)
        if function is None:
            continue
        handlers[method] = _Handler(
            client_streaming,
            server_streaming,
            _decoder(protos, input_type),
            _encoder(protos, output_type),
            _behaviour(function, full_name, method, client_streaming, server_streaming),
        )
    return full_name, handlers


def _decoder(protos: _cello.ProtoSet, message: str) -> Callable[[bytes], Any]:
    return lambda data: protos.decode(message, data)


def _encoder(protos: _cello.ProtoSet, message: str) -> Callable[[Any], bytes]:
    return lambda value: protos.encode(message, value)


def _behaviour(function: Callable[..., Any], service: str, method: str, client_streaming: bool, server_streaming: bool) -> Callable[..., Any]:
    takes_context = len(inspect.signature(function).parameters) >= 2

    def call(request: Any, context: Any) -> Any:
        return function(request, context) if takes_context else function(request)

    async def requests(iterator: AsyncIterator[Any], context: Any) -> AsyncIterator[GrpcRequest]:
        metadata = _metadata(context)
        async for data in iterator:
            yield GrpcRequest(service, method, data, metadata)

    def wrap(request: Any, context: Any) -> Any:
        if client_streaming:
            return requests(request, context)
        return GrpcRequest(service, method, request, _metadata(context))

    if server_streaming:

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            result = call(wrap(request, context), context)
            if inspect.isawaitable(result):
                result = await result
            if inspect.isasyncgen(result) or hasattr(result, "__aiter__"):
                async for item in result:
                    yield _answer(item, context)
            else:
                for item in result or ():
                    yield _answer(item, context)

        return stream

    async def unary(request: Any, context: Any) -> Any:
        result = call(wrap(request, context), context)
        if inspect.isawaitable(result):
            result = await result
        return _answer(result, context)

    return unary


class GrpcServer:
    """A standalone gRPC server for `GrpcService`s (the original's API), served by a
    Cello engine on a thread of its own once `start` is awaited.

    Example:
        >>> from cello.grpc import GrpcServer
        >>> server = GrpcServer()
        >>> server.get_services()
        []
    """

    def __init__(
        self,
        config: Any = None,
        *,
        proto_files: list[str] | None = None,
        include_paths: list[str] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        from cello.grpc.config import GrpcConfig

        self.config = config if config is not None else GrpcConfig(reflection=False)
        # The original's docs write GrpcServer(host="localhost", port=50051).
        if host is not None or port is not None:
            self.config.address = f"{host or '127.0.0.1'}:{port if port is not None else 50051}"
        self.proto_files = list(proto_files or [])
        self.include_paths = list(include_paths or [])
        self._services: dict[str, GrpcService] = {}
        self._live: Any = None

    def register_service(self, service: GrpcService) -> None:
        if not isinstance(service, GrpcService):
            raise TypeError(f"register_service() takes a GrpcService, got {type(service).__name__}")
        name = service.get_name()
        if name in self._services:
            raise ValueError(f"a service named {name!r} is registered already")
        self._services[name] = service

    def get_services(self) -> list[str]:
        return list(self._services)

    @property
    def port(self) -> int | None:
        """The port it listens on, once started."""
        return self._live.port if self._live is not None else None

    async def start(self, address: str | None = None) -> None:
        """Listens on `address` (``host:port``, ``[::]:50051``; port 0 picks one)."""
        import asyncio

        from cello import App
        from cello.testing import LiveServer

        if self._live is not None:
            raise RuntimeError("the server is running already")
        address = address or self.config.address
        host, _, port = address.rpartition(":")
        app = App()
        app.enable_grpc(self.config, proto_files=self.proto_files, include_paths=self.include_paths)
        for service in self._services.values():
            app.add_grpc_service(service)
        live = LiveServer(app, host=host.strip("[]") or "127.0.0.1", port=int(port))
        await asyncio.to_thread(live.start)
        self._live = live

    async def stop(self) -> None:
        import asyncio

        if self._live is not None:
            live, self._live = self._live, None
            await asyncio.to_thread(live.stop)


class GrpcChannel:
    """A client that calls methods with dicts: ``await channel.call("UserService",
    "GetUser", {"id": 1})``. The message types come from `proto_files`, or else from
    the server's reflection service. Needs grpcio."""

    def __init__(self, target: str, *, proto_files: list[str] | None = None, include_paths: list[str] | None = None) -> None:
        self.target = target
        self._protos: _cello.ProtoSet | None = _cello.ProtoSet(proto_files, include_paths or []) if proto_files else None
        self._channel: Any = None

    @classmethod
    async def connect(cls, target: str, **options: Any) -> GrpcChannel:
        channel = cls(target, **options)
        channel._open()
        return channel

    def _open(self) -> Any:
        if self._channel is None:
            import grpc

            self._channel = grpc.aio.insecure_channel(self.target)
        return self._channel

    async def _descriptors(self, service: str) -> _cello.ProtoSet:
        if self._protos is not None and any(full == service or full.rsplit(".", 1)[-1] == service for full, *_ in self._protos.methods()):
            return self._protos
        import asyncio

        self._protos = await asyncio.to_thread(_reflect, self.target, service)
        return self._protos

    async def call(self, service: Any = None, method: str | None = None, request: Any = None, *, timeout: float | None = None, metadata: Any = None) -> Any:
        """Calls `service`/`method` with `request` (a dict or a `GrpcRequest`); the
        answer as a dict (a list of dicts for a server-streaming method). A failed
        call raises `GrpcError` with the server's code and message."""
        from cello.grpc import GrpcError

        if isinstance(request, GrpcRequest):
            service, method, request = service or request.service, method or request.method, request.data
        if not service or not method:
            raise TypeError("call() needs a service and a method")
        protos = await self._descriptors(service)
        found = [m for m in protos.methods() if (m[0] == service or m[0].rsplit(".", 1)[-1] == service) and m[1] == method]
        if not found:
            raise LookupError(f"{service}/{method} is not a method the server describes")
        full, name, input_type, output_type, client_streaming, server_streaming = found[0]
        if client_streaming:
            raise NotImplementedError("GrpcChannel.call() sends one message; use grpcio's generated stub for client streams")
        channel = self._open()
        path = f"/{full}/{name}"
        encode = lambda value: protos.encode(input_type, value)
        decode = lambda data: protos.decode(output_type, data)
        import grpc

        try:
            if server_streaming:
                stream = channel.unary_stream(path, request_serializer=encode, response_deserializer=decode)
                return [Answer(item) async for item in stream(request or {}, timeout=timeout, metadata=metadata)]
            unary = channel.unary_unary(path, request_serializer=encode, response_deserializer=decode)
            return Answer(await unary(request or {}, timeout=timeout, metadata=metadata))
        except grpc.aio.AioRpcError as error:
            raise GrpcError(error.code().value[0], error.details() or "") from None

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()


def _reflect(target: str, service: str) -> _cello.ProtoSet:
    """The descriptors of `service` and its imports, from the server's reflection."""
    import grpc
    from google.protobuf import descriptor_pb2
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        names = [name for name in database.get_services() if name == service or name.rsplit(".", 1)[-1] == service]
        if not names:
            raise LookupError(f"the server at {target} does not describe a service {service!r}")
        files: dict[str, Any] = {}
        pending = [database.FindFileContainingSymbol(names[0])]
        while pending:
            file = pending.pop()
            if file.name in files:
                continue
            files[file.name] = file
            pending.extend(database.FindFileByName(dependency) for dependency in file.dependency if dependency not in files)
    ordered: list[Any] = []

    def visit(file: Any) -> None:
        if file in ordered:
            return
        for dependency in file.dependency:
            visit(files[dependency])
        ordered.append(file)

    for file in files.values():
        visit(file)
    return _cello.ProtoSet.from_descriptor_set(descriptor_pb2.FileDescriptorSet(file=ordered).SerializeToString())
