//! gRPC over any HTTP/2 server that speaks the `http` types: the length-prefixed
//! message framing (with gzip), the call head (`grpc-timeout`, codings, metadata), the
//! status trailers, and a response body of messages followed by trailers. Routing a
//! call to its handler is the embedder's (Cello's dispatcher does it, docs/grpc.md).

mod body;
mod framing;
mod head;
#[cfg(feature = "grpc-proto")]
mod proto;
mod status;
mod web;

pub use body::GrpcBody;
pub use framing::{decode_frames, encode_frame, encode_frame_with, Decoder, Encoding, FrameError};
pub use head::{decode_binary, encode_binary, parse_timeout, CallHead};
#[cfg(feature = "grpc-proto")]
pub use proto::{MethodInfo, ProtoError, ProtoSet};
pub use status::{Code, Status};
pub use web::{trailer_frame, Flavor, TextDecoder, WebBody};
