"""`GrpcConfig`: where and how Cello serves gRPC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GrpcConfig"]

_DEFAULT_ADDRESS = "[::]:50051"


@dataclass
class GrpcConfig:
    """gRPC settings for `App.enable_grpc`.

    gRPC calls are served on the app's own port (HTTP/2, cleartext with prior knowledge
    or TLS), recognised by their ``application/grpc`` content type, so the app's TLS,
    workers and middleware apply to them.

    Args:
        address: given explicitly (``GrpcConfig(address="[::]:50051")`` or ``port=``),
            each worker also listens there, serving the same app, gRPC included
            (SO_REUSEPORT, with the app's TLS). Left at its default, no second port is
            opened: gRPC is served on the app's own port either way.
        reflection: serve the gRPC reflection service (v1 and v1alpha) listing the
            registered services; needs ``grpcio-reflection`` (``pip install cello[grpc]``).
        max_message_size: the largest message, in bytes, received or sent; a larger one
            fails the call with RESOURCE_EXHAUSTED.
        enable_web: also serve gRPC-Web (``application/grpc-web`` and
            ``application/grpc-web-text``, over HTTP/1.1 or HTTP/2) on the same port,
            for browsers; add `CORSMiddleware` exposing ``grpc-status`` and
            ``grpc-message`` for cross-origin pages.
        keepalive_secs: HTTP/2 keep-alive pings every this many seconds (0: none), on
            every connection of the app, unless
            ``ServerConfig.http2_keep_alive_interval`` sets its own interval.
        concurrency_limit: the most calls of sync streaming handlers running at once
            per worker (each holds a thread while it streams; more wait for one).
            Async handlers and sync unary ones run on the worker's loop and are
            bounded per connection by ``ServerConfig.http2_max_concurrent_streams``.
        health: the standard health service (``grpc.health.v1.Health``, from
            grpcio-health-checking): ``None`` serves it when that package is installed,
            ``True`` requires it, ``False`` leaves it out. Every service is SERVING once
            the worker serves and NOT_SERVING while it drains.

    Example:
        >>> from cello import App, GrpcConfig
        >>> app = App()
        >>> app.enable_grpc(GrpcConfig(reflection=False))
    """

    address: str = _DEFAULT_ADDRESS
    address_given: bool = False
    reflection: bool = True
    max_message_size: int = 4 * 1024 * 1024
    enable_web: bool = False
    keepalive_secs: int = 60
    concurrency_limit: int = 100
    health: bool | None = None

    def __init__(
        self,
        address: str | None = None,
        reflection: bool = True,
        max_message_size: int = 4 * 1024 * 1024,
        enable_web: bool = False,
        keepalive_secs: int = 60,
        concurrency_limit: int = 100,
        *,
        health: bool | None = None,
        port: int | None = None,
        enable_reflection: bool | None = None,
        enable_grpc_web: bool | None = None,
    ) -> None:
        # The original's docs spell these `port`, `enable_reflection`, `enable_grpc_web`.
        self.address_given = port is not None or address is not None
        if port is not None:
            address = f"[::]:{port}"
        if address is None:
            address = _DEFAULT_ADDRESS
        if enable_reflection is not None:
            reflection = enable_reflection
        if enable_grpc_web is not None:
            enable_web = enable_grpc_web
        if not isinstance(max_message_size, int) or max_message_size <= 0:
            raise ValueError(f"GrpcConfig.max_message_size must be a positive int, got {max_message_size!r}")
        self.address = address
        self.reflection = reflection
        self.max_message_size = max_message_size
        self.enable_web = enable_web
        self.keepalive_secs = keepalive_secs
        if not isinstance(concurrency_limit, int) or concurrency_limit <= 0:
            raise ValueError(f"GrpcConfig.concurrency_limit must be a positive int, got {concurrency_limit!r}")
        self.concurrency_limit = concurrency_limit
        self.health = health

    @property
    def port(self) -> int:
        """The port of `address`."""
        return int(self.address.rsplit(":", 1)[1])

    @property
    def enable_reflection(self) -> bool:
        return self.reflection

    @classmethod
    def local(cls, **overrides: Any) -> GrpcConfig:
        """Development defaults (the original's ``enable_web=True``)."""
        return cls(**{"enable_web": True, **overrides})

    @classmethod
    def production(cls, address: str | None = None, max_message_size: int = 4 * 1024 * 1024) -> GrpcConfig:
        """The original's production preset: no reflection, keep-alive 120 s."""
        return cls(address=address, reflection=False, max_message_size=max_message_size, keepalive_secs=120, concurrency_limit=1000)
