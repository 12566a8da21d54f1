"""gRPC on Cello's engine: grpcio servicers, unchanged, served from Rust.

Calls arrive on the app's own port (HTTP/2, ``application/grpc``); Rust reads the
frames, the deadline and the metadata, Python runs the servicer, Rust writes the
messages and the status. grpcio's generated code registers servicers with the app as
if it were a ``grpc.server``::

    import grpc
    from cello import App, GrpcConfig
    import helloworld_pb2, helloworld_pb2_grpc

    class Greeter(helloworld_pb2_grpc.GreeterServicer):
        async def SayHello(self, request, context):
            return helloworld_pb2.HelloReply(message=f"Hello, {request.name}!")

    app = App()
    app.enable_grpc(GrpcConfig(reflection=True))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), app)
    app.run(port=50051)

See docs/grpc.md for what is served and what is not yet.
"""

from __future__ import annotations

from typing import Any

from cello.grpc._context import ServicerContext
from cello.grpc._server import GrpcHandlers
from cello.grpc.config import GrpcConfig
from cello.grpc.services import (
    GrpcChannel,
    GrpcRequest,
    GrpcResponse,
    GrpcServer,
    GrpcService,
    grpc_method,
)

__all__ = [
    "GrpcChannel",
    "GrpcConfig",
    "GrpcError",
    "GrpcHandlers",
    "GrpcRequest",
    "GrpcResponse",
    "GrpcServer",
    "GrpcService",
    "ServicerContext",
    "grpc_method",
]


class GrpcError(Exception):
    """A gRPC status as an exception: raise it in a servicer to end the call with
    `code` and `message` (the original's API; ``context.abort`` does the same).

    Example:
        >>> from cello.grpc import GrpcError
        >>> error = GrpcError(GrpcError.NOT_FOUND, "no such user")
        >>> error.code, error.message
        (5, 'no such user')
    """

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    def __init__(self, code: Any, message: str = "", details: Any = None) -> None:
        from cello.grpc._context import code_number

        super().__init__(message)
        self.code = code_number(code)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"GrpcError(code={self.code}, message={self.message!r})"
