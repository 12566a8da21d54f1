//! gRPC: calls routed by content type to the servicers registered in Python
//! (`cello.grpc`), over the engine's HTTP/2 (docs/grpc.md).

mod call;
mod proto;
mod serve;

pub use call::{GrpcCallError, PyGrpcCall};
pub use proto::PyProtoSet;
pub(crate) use serve::GrpcHost;
