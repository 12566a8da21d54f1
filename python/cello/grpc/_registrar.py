"""`App.enable_grpc` and grpcio's server methods: the gRPC subsystem's half of `cello.App`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cello._features import require_feature
from cello.grpc._server import GrpcHandlers
from cello.grpc.config import GrpcConfig

__all__ = ["GrpcMixin"]


class GrpcMixin:
    """gRPC for `cello.App`: the app is a grpcio server as generated code sees it.

    Example:
        >>> from cello import App
        >>> app = App()
        >>> # helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), app)
        >>> app.enable_grpc()
    """

    _grpc: GrpcHandlers | None = None
    _grpc_config: GrpcConfig | None = None

    def _grpc_handlers(self) -> GrpcHandlers:
        if self._grpc is None:
            require_feature("grpc", "gRPC")
            self._grpc = GrpcHandlers()
        return self._grpc

    def enable_grpc(
        self,
        config: GrpcConfig | None = None,
        proto_files: list[str] | None = None,
        include_paths: list[str] | None = None,
        descriptor_set: bytes | str | None = None,
    ) -> None:
        """Serves gRPC on the app's port: HTTP/2 requests with an ``application/grpc``
        content type go to the registered servicers, everything else to the routes.

        Register servicers with grpcio's generated code, the app standing in for the
        server: ``add_GreeterServicer_to_server(Greeter(), app)``. With
        ``config.reflection`` the reflection service lists them (``grpcio-reflection``).

        `GrpcService` classes (the original's dict API) need the services' ``.proto``
        files: `proto_files` (paths, or names found in `include_paths`), compiled here
        in Rust, or a serialized `descriptor_set` (bytes, or the path of
        ``protoc --descriptor_set_out``). A file that does not compile raises
        `ValueError` naming it.
        """
        if config is None:
            config = GrpcConfig()
        if not isinstance(config, GrpcConfig):
            raise TypeError(f"enable_grpc() takes a GrpcConfig, got {type(config).__name__}")
        handlers = self._grpc_handlers()
        self._grpc_config = config
        if proto_files:
            from cello import _cello

            handlers.protos.append(_cello.ProtoSet([str(path) for path in proto_files], [str(path) for path in include_paths or []]))
        if descriptor_set is not None:
            from pathlib import Path

            from cello import _cello

            data = descriptor_set if isinstance(descriptor_set, bytes) else Path(descriptor_set).read_bytes()
            handlers.protos.append(_cello.ProtoSet.from_descriptor_set(data))
        if handlers.protos and handlers.pending:
            handlers.bind_pending()
        if config.reflection:
            _require_reflection()

    def add_grpc_service(self, name: Any, methods: list[str] | None = None) -> None:
        """Registers a service by name (the original's API): reflection lists it, and
        its methods answer UNIMPLEMENTED until a servicer for it is added.

        A grpcio servicer object is accepted too, with its generated ``add_*_to_server``
        found from its base class: ``app.add_grpc_service(Greeter())``.
        """
        handlers = self._grpc_handlers()
        from cello.grpc.services import GrpcService

        if isinstance(name, GrpcService):
            handlers.pending.append(name)
            if handlers.protos:
                handlers.bind_pending()
            else:
                # Bound once enable_grpc() brings the .proto files.
                handlers._add_service(name.get_name())
            return
        if not isinstance(name, str):
            _add_servicer(self, name)
            return
        if not name:
            raise ValueError("add_grpc_service() needs a service name")
        handlers._add_service(name)
        for method in methods or ():
            handlers.placeholders.add(f"/{name}/{method}")

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[Any]) -> None:
        """grpcio's server method, called by generated ``add_*Servicer_to_server``."""
        self._grpc_handlers().add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        """grpcio's server method (grpcio >= 1.62's generated code calls it)."""
        self._grpc_handlers().add_registered_method_handlers(service_name, method_handlers)

    @property
    def grpc_services(self) -> list[str]:
        """The names of the registered gRPC services."""
        return list(self._grpc.services) if self._grpc else []

    def _grpc_engine(self) -> tuple[Any, int, int, bool, list[str]] | None:
        """What the engine needs to serve gRPC; ``None`` without any (no cost per request)."""
        handlers = self._grpc
        if handlers is None:
            return None
        config = self._grpc_config or GrpcConfig(reflection=False)
        handlers.bind_pending()
        handlers.threads = config.concurrency_limit
        if config.health is not False and handlers.health is None:
            _add_health(handlers, required=config.health is True)
        if config.reflection and not handlers.reflection_added:
            from cello.grpc._reflection import add_reflection

            add_reflection(handlers)
        size = config.max_message_size
        return handlers.dispatch, size, size, config.enable_web, sorted(handlers.methods)

    def _grpc_listen_address(self, app_port: int) -> tuple[str, int] | None:
        """Where the gRPC listener binds: `GrpcConfig.address` when it was given (the
        default address opens nothing: gRPC is on the app's port), unless that is the
        app's own port."""
        config = self._grpc_config
        if self._grpc is None or config is None or not config.address_given:
            return None
        from cello.grpc._listener import split_address

        host, port = split_address(config.address)
        return None if port == app_port and port != 0 else (host, port)

    def _grpc_server_config(self, config: Any) -> Any:
        """`config` with HTTP/2 keep-alive pings every ``GrpcConfig.keepalive_secs``
        unless the server config sets an interval of its own."""
        grpc_config = self._grpc_config
        if grpc_config is None or not grpc_config.keepalive_secs or config.http2_keep_alive_interval:
            return config
        import dataclasses

        return dataclasses.replace(config, http2_keep_alive_interval=float(grpc_config.keepalive_secs))

    def _begin_drain(self) -> None:
        # The health service answers NOT_SERVING while the worker drains.
        super()._begin_drain()  # type: ignore[misc]
        if self._grpc is not None and self._grpc.health is not None:
            self._grpc.health.enter_graceful_shutdown()


def _require_reflection() -> None:
    try:
        import grpc_reflection  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "GrpcConfig(reflection=True) serves grpcio-reflection's service: "
            "pip install grpcio-reflection (or cello[grpc]), or pass reflection=False"
        ) from error


def _add_health(handlers: GrpcHandlers, required: bool) -> None:
    """grpcio-health-checking's servicer: SERVING for the server ("") and each service
    from the start, NOT_SERVING once the worker drains."""
    try:
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    except ImportError as error:
        if required:
            raise ImportError("GrpcConfig(health=True) needs grpcio-health-checking: pip install grpcio-health-checking (or cello[grpc])") from error
        return
    servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, handlers)
    for name in ["", *handlers.services]:
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    handlers.health = servicer


def _add_servicer(app: Any, servicer: Any) -> None:
    import importlib

    for base in type(servicer).__mro__[1:]:
        if not base.__name__.endswith("Servicer"):
            continue
        module = importlib.import_module(base.__module__)
        add = getattr(module, f"add_{base.__name__}_to_server", None)
        if add is not None:
            add(servicer, app)
            return
    raise TypeError(
        f"add_grpc_service() takes a service name or a grpcio servicer; {type(servicer).__name__} "
        "derives from no generated *Servicer class"
    )
