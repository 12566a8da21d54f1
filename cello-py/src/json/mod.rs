//! JSON between Python objects and bytes, in one pass each way.
//!
//! Encoding walks the Python object graph and writes bytes directly (no intermediate
//! tree); decoding parses with simd-json's tape and builds Python objects from it.

mod decode;
mod encode;
mod types;

pub use decode::decode;
pub use encode::encode;
