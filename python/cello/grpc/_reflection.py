"""The reflection service: grpcio-reflection's servicer, under v1alpha (its own) and v1
(the same messages on the wire, another service name), reading a pool that finds both
generated code's descriptors and those of `.proto` files compiled in Rust."""

from __future__ import annotations

from typing import Any

from cello.grpc._server import GrpcHandlers

__all__ = ["REFLECTION_V1", "add_reflection"]

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


class _Pools:
    """protobuf's default pool (generated `_pb2` modules register there), then a pool
    of Cello's own: the Rust-compiled files and v1's descriptor. Kept apart, so a
    generated module imported later for the same file still registers cleanly."""

    def __init__(self, own: Any) -> None:
        from google.protobuf import descriptor_pool

        self._pools = (descriptor_pool.Default(), own)

    def _first(self, method: str, *args: Any) -> Any:
        for pool in self._pools:
            try:
                return getattr(pool, method)(*args)
            except KeyError:
                continue
        raise KeyError(args[0] if args else method)

    def FindFileByName(self, name: str) -> Any:
        return self._first("FindFileByName", name)

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        return self._first("FindFileContainingSymbol", symbol)

    def FindMessageTypeByName(self, name: str) -> Any:
        return self._first("FindMessageTypeByName", name)

    def FindExtensionByNumber(self, message: Any, number: int) -> Any:
        return self._first("FindExtensionByNumber", message, number)

    def FindAllExtensions(self, message: Any) -> Any:
        return self._first("FindAllExtensions", message)


def add_reflection(handlers: GrpcHandlers) -> None:
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha import reflection

    handlers.reflection_added = True
    own = descriptor_pool.DescriptorPool()
    for protos in handlers.protos:
        for name, data in protos.file_descriptors():
            try:
                own.FindFileByName(name)
            except KeyError:
                own.AddSerializedFile(data)
    own.AddSerializedFile(_v1_descriptor())
    names = [*handlers.services, reflection.SERVICE_NAME, REFLECTION_V1]
    reflection.enable_server_reflection(names, handlers, pool=_Pools(own))
    v1alpha = f"/{reflection.SERVICE_NAME}/ServerReflectionInfo"
    handlers.methods[f"/{REFLECTION_V1}/ServerReflectionInfo"] = handlers.methods[v1alpha]
    handlers._add_service(REFLECTION_V1)


def _v1_descriptor() -> bytes:
    """grpcio-reflection ships only v1alpha's descriptor; v1's is the same file under
    another package, and a client that describes the listed services asks for it."""
    from google.protobuf import descriptor_pb2
    from grpc_reflection.v1alpha import reflection_pb2

    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    file.name = "grpc/reflection/v1/reflection.proto"
    file.package = "grpc.reflection.v1"
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in file.message_type:
        for field in message.field:
            if field.type_name.startswith(old):  # scalars have none: leave it unset
                field.type_name = field.type_name.replace(old, new)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    file.options.Clear()
    return file.SerializeToString()  # type: ignore[no-any-return]
