//! JSON between Python objects and bytes, in one pass each way.
//!
//! Encoding walks the Python object graph and writes bytes directly (no intermediate
//! tree); decoding parses with simd-json's tape and builds Python objects from it.

/// Deepest nesting either direction accepts, so that whatever `request.json()` returns
/// a handler can send back (orjson draws the line at the same place). The decoding
/// side (and this limit) lives in the `cello-json` crate, which fuzzes without Python.
pub(crate) const MAX_DEPTH: u32 = cello_json::MAX_DEPTH;

mod decode;
mod encode;
mod types;

pub use decode::decode;
pub use encode::encode;
