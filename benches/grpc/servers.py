"""The gRPC benchmark's servers: the interop TestService's UnaryCall and
StreamingOutputCall on Cello, on grpcio's asyncio server and on grpcio's thread-pool
server. ``python servers.py {cello,grpcio-aio,grpcio-sync} PORT GENERATED_DIR``."""

from __future__ import annotations

import asyncio
import sys
from concurrent import futures
from typing import Any

kind, port, generated = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, generated)

from interop import messages_pb2, test_pb2_grpc


def reply(request: Any) -> Any:
    return messages_pb2.SimpleResponse(payload=messages_pb2.Payload(body=b"x" * request.response_size))


def stream(request: Any) -> Any:
    return [messages_pb2.StreamingOutputCallResponse(payload=messages_pb2.Payload(body=b"x" * p.size)) for p in request.response_parameters]


class SyncService(test_pb2_grpc.TestServiceServicer):  # type: ignore[misc]
    def UnaryCall(self, request: Any, context: Any) -> Any:
        return reply(request)

    def StreamingOutputCall(self, request: Any, context: Any) -> Any:
        yield from stream(request)


class AsyncService(test_pb2_grpc.TestServiceServicer):  # type: ignore[misc]
    async def UnaryCall(self, request: Any, context: Any) -> Any:
        return reply(request)

    async def StreamingOutputCall(self, request: Any, context: Any) -> Any:
        for message in stream(request):
            yield message


if kind.startswith("cello"):
    from cello import App, GrpcConfig

    app = App()
    app.enable_grpc(GrpcConfig(reflection=False, health=False))
    test_pb2_grpc.add_TestServiceServicer_to_server(AsyncService() if kind == "cello-async" else SyncService(), app)
    sys.argv = sys.argv[:1]  # app.run() reads its own flags from the command line
    app.run(host="127.0.0.1", port=port, env="production", workers=1, logs=False)
elif kind == "grpcio-aio":
    import grpc

    async def main() -> None:
        server = grpc.aio.server()
        test_pb2_grpc.add_TestServiceServicer_to_server(AsyncService(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())
elif kind == "grpcio-sync":
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    test_pb2_grpc.add_TestServiceServicer_to_server(SyncService(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()
else:
    raise SystemExit(f"unknown server {kind!r}")
