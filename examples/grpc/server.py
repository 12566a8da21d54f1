"""gRPC and HTTP on one port: a grpcio servicer, unchanged, served by Cello.

    python examples/grpc/server.py --port 50051
    python examples/grpc/client.py 127.0.0.1:50051

Reflection is on, so ``grpcurl -plaintext 127.0.0.1:50051 list`` or
``buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:50051``
lists the service; the health service answers ``grpc_health_probe``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cello import App, GrpcConfig
from protos import load

greeter_pb2, greeter_pb2_grpc = load()


class Greeter(greeter_pb2_grpc.GreeterServicer):  # type: ignore[misc, name-defined]
    async def SayHello(self, request: Any, context: Any) -> Any:
        if not request.name:
            import grpc

            # grpc.aio's spelling; Cello's abort raises at once, as grpcio's sync one does.
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "name is required")
        return greeter_pb2.HelloReply(message=f"Hello, {request.name}!")

    async def SayHelloStream(self, request: Any, context: Any) -> Any:
        for number in range(1, max(request.times, 1) + 1):
            yield greeter_pb2.HelloReply(message=f"Hello #{number}, {request.name}!")
            await asyncio.sleep(0)

    async def Chat(self, request_iterator: Any, context: Any) -> Any:
        async for request in request_iterator:
            yield greeter_pb2.HelloReply(message=f"You said {request.name}")


app = App()


@app.get("/")
def index() -> dict[str, str]:
    return {"grpc": "helloworld.Greeter is served on this port too"}


app.enable_grpc(GrpcConfig(reflection=True))
greeter_pb2_grpc.add_GreeterServicer_to_server(Greeter(), app)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=50051)
