"""Calls the example server with grpcio's client: ``python examples/grpc/client.py HOST:PORT``."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protos import load

greeter_pb2, greeter_pb2_grpc = load()


def main(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = greeter_pb2_grpc.GreeterStub(channel)
        print(stub.SayHello(greeter_pb2.HelloRequest(name="Ada"), timeout=10).message)
        for reply in stub.SayHelloStream(greeter_pb2.HelloRequest(name="Ada", times=3), timeout=10):
            print(reply.message)
        chat = stub.Chat(iter([greeter_pb2.HelloRequest(name=word) for word in ("hi", "bye")]), timeout=10)
        print(" / ".join(reply.message for reply in chat))
        try:
            stub.SayHello(greeter_pb2.HelloRequest(), timeout=10)
        except grpc.RpcError as error:
            print(f"{error.code().name}: {error.details()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
