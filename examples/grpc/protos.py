"""Compiles greeter.proto with grpcio-tools (``pip install grpcio-tools``) into a cache
folder and imports the modules: ``greeter_pb2``, ``greeter_pb2_grpc``.

In a project of your own, run ``python -m grpc_tools.protoc -I. --python_out=.
--grpc_python_out=. greeter.proto`` once instead and import the files it writes.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load() -> tuple[ModuleType, ModuleType]:
    from grpc_tools import protoc

    out = Path(tempfile.gettempdir()) / "cello-grpc-example"
    out.mkdir(exist_ok=True)
    if protoc.main(["protoc", f"-I{HERE}", f"--python_out={out}", f"--grpc_python_out={out}", "greeter.proto"]) != 0:
        raise SystemExit("protoc could not compile greeter.proto")
    sys.path.insert(0, str(out))
    return importlib.import_module("greeter_pb2"), importlib.import_module("greeter_pb2_grpc")
