//! gRPC building blocks (work in progress, issue #15): the length-prefixed message
//! framing and the status trailers. No server yet: see docs/grpc.md for what is missing.

mod framing;
mod status;

pub use framing::{decode_frames, encode_frame, FrameError};
pub use status::{Code, Status};
