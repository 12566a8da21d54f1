"""The gRPC listener at an explicit `GrpcConfig.address`, beside the app's own port."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Listeners", "split_address"]


def split_address(address: str) -> tuple[str, int]:
    """``"[::]:50051"`` → ``("::", 50051)``; ``"127.0.0.1:0"`` → ``("127.0.0.1", 0)``."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"GrpcConfig.address must be host:port, got {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class Listeners:
    """The app's server and its gRPC listener, drained, reloaded and awaited together;
    `port` is the app's, `grpc_port` the listener's."""

    def __init__(self, main: Any, grpc: Any) -> None:
        self.main = main
        self.grpc = grpc

    @property
    def port(self) -> int:
        return int(self.main.port)

    @property
    def grpc_port(self) -> int:
        return int(self.grpc.port)

    @property
    def tls(self) -> bool:
        return bool(self.main.tls)

    def shutdown(self) -> None:
        self.main.shutdown()
        self.grpc.shutdown()

    def reload_tls(self) -> None:
        self.main.reload_tls()
        if self.grpc.tls:
            self.grpc.reload_tls()

    def wait_closed(self) -> Any:
        return asyncio.gather(self.main.wait_closed(), self.grpc.wait_closed())
