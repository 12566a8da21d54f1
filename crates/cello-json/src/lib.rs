//! Request JSON without Python: simd-json's tape walked into any [`Builder`], with one
//! depth limit for both directions and the refusals that keep every decoded value
//! encodable again (the Python binding builds Python objects with it; `fuzz/` builds a
//! plain tree).

use std::fmt;

use simd_json::{Node, StaticNode};

/// Deepest nesting either direction accepts, so that whatever `request.json()` returns
/// a handler can send back (orjson draws the line at the same place). The outermost
/// container is level 0.
pub const MAX_DEPTH: u32 = 255;

/// Why a document is refused although JSON's grammar may allow it: what a decoder
/// accepted, the encoder could not write back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A number beyond the range of a float (it would become infinity).
    OutOfRange,
    /// A `\uD800`-`\uDFFF` escape without its partner, at this byte offset.
    LoneSurrogate { offset: usize },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooDeep => write!(f, "JSON document nested deeper than {MAX_DEPTH} levels"),
            Self::OutOfRange => f.write_str(
                "JSON number is beyond the range of a float (it would become infinity, which \
                 JSON cannot express)",
            ),
            Self::LoneSurrogate { offset } => write!(
                f,
                "JSON string has a lone surrogate escape at byte {offset}: \\uD800-\\uDFFF \
                 must come in pairs (high then low) to be Unicode text"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Makes the values of a document, one call per node of simd-json's tape, outermost
/// first: a container is made empty with its length, then filled.
pub trait Builder {
    type Value;
    type Error: From<Refusal>;
    fn null(&mut self) -> Result<Self::Value, Self::Error>;
    fn bool(&mut self, value: bool) -> Result<Self::Value, Self::Error>;
    fn i64(&mut self, value: i64) -> Result<Self::Value, Self::Error>;
    fn u64(&mut self, value: u64) -> Result<Self::Value, Self::Error>;
    /// Always finite: out-of-range numbers are refused before.
    fn f64(&mut self, value: f64) -> Result<Self::Value, Self::Error>;
    fn string(&mut self, text: &str) -> Result<Self::Value, Self::Error>;
    fn array(&mut self, len: usize) -> Result<Self::Value, Self::Error>;
    fn push(&mut self, array: &mut Self::Value, item: Self::Value) -> Result<(), Self::Error>;
    fn object(&mut self, len: usize) -> Result<Self::Value, Self::Error>;
    fn insert(
        &mut self,
        object: &mut Self::Value,
        key: &str,
        value: Self::Value,
    ) -> Result<(), Self::Error>;
    /// Decodes a document simd-json refused or would change (integers beyond 64 bits,
    /// surrogate escapes, invalid JSON) another way; its depth is already checked and
    /// it has no lone surrogate. It must refuse out-of-range numbers itself.
    fn fallback(&mut self, input: &[u8]) -> Result<Self::Value, Self::Error>;
}

/// Parses JSON `input` into `builder`'s values.
///
/// simd-json does the parsing. The rare documents it refuses or would change go to
/// [`Builder::fallback`]: integers beyond 64 bits, escaped lone surrogates (simd-json
/// turns `"\ud800"` into U+0000), raw NUL bytes (simd-json stops reading at one), numbers of 19 or
/// more digits (it skips junk after them), and invalid JSON. What the encoder could not send
/// back is a [`Refusal`]: numbers beyond the float range, lone surrogates (a valid
/// surrogate pair is fine) and nesting deeper than [`MAX_DEPTH`].
pub fn decode<B: Builder>(builder: &mut B, input: &[u8]) -> Result<B::Value, B::Error> {
    // simd-json takes a NUL byte after a number for the end of the input and accepts
    // the document without reading the rest (`[1\x002]` would be `[1]`); JSON has no
    // raw NUL anywhere, so such a document is the fallback's to refuse.
    // It also reads a number of 19 significant digits or more and skips whatever follows
    // it up to the next separator (`[1234567890123456789x]` would be
    // `[1234567890123456789]`, `[4164407340.00488147400--2]` a float).
    if !has_surrogate_escape(input) && !input.contains(&0) && !has_long_digit_run(input) {
        let mut scratch = input.to_vec();
        if let Ok(tape) = simd_json::to_tape(&mut scratch) {
            let nodes = tape.0;
            let mut index = 0;
            return build(builder, &nodes, &mut index, 0);
        }
    } else if let Some(offset) = lone_surrogate(input) {
        return Err(Refusal::LoneSurrogate { offset }.into());
    }
    if nesting_exceeds(input, MAX_DEPTH) {
        return Err(Refusal::TooDeep.into());
    }
    builder.fallback(input)
}

fn build<B: Builder>(
    builder: &mut B,
    nodes: &[Node<'_>],
    index: &mut usize,
    depth: u32,
) -> Result<B::Value, B::Error> {
    if depth > MAX_DEPTH {
        return Err(Refusal::TooDeep.into());
    }
    let node = nodes[*index];
    *index += 1;
    match node {
        Node::String(text) => builder.string(text),
        Node::Static(value) => match value {
            StaticNode::Null => builder.null(),
            StaticNode::Bool(flag) => builder.bool(flag),
            StaticNode::I64(number) => builder.i64(number),
            StaticNode::U64(number) => builder.u64(number),
            StaticNode::F64(number) if number.is_finite() => builder.f64(number),
            StaticNode::F64(_) => Err(Refusal::OutOfRange.into()),
        },
        Node::Array { len, .. } => {
            let mut array = builder.array(len)?;
            for _ in 0..len {
                let item = build(builder, nodes, index, depth + 1)?;
                builder.push(&mut array, item)?;
            }
            Ok(array)
        }
        Node::Object { len, .. } => {
            let mut object = builder.object(len)?;
            for _ in 0..len {
                let Node::String(key) = nodes[*index] else {
                    unreachable!("simd-json object keys are strings");
                };
                *index += 1;
                let value = build(builder, nodes, index, depth + 1)?;
                builder.insert(&mut object, key, value)?;
            }
            Ok(object)
        }
    }
}

/// Whether arrays and objects in `input` nest deeper than `limit` (brackets inside
/// strings do not count). Run only on the rare fallback path.
pub fn nesting_exceeds(input: &[u8], limit: u32) -> bool {
    let mut depth: u32 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in input {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                // The outermost container is level 0, as the decoder and encoder count.
                if depth > limit + 1 {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The byte offset of the first `\uXXXX` escape in a string of `input` that is a
/// surrogate without its partner, if any.
pub fn lone_surrogate(input: &[u8]) -> Option<usize> {
    let mut in_string = false;
    let mut index = 0;
    let mut pending_high: Option<usize> = None;
    while index < input.len() {
        let byte = input[index];
        if !in_string {
            if byte == b'"' {
                in_string = true;
            }
            index += 1;
            continue;
        }
        if byte == b'"' {
            if let Some(high) = pending_high {
                return Some(high);
            }
            in_string = false;
            index += 1;
            continue;
        }
        if byte != b'\\' {
            if let Some(high) = pending_high {
                return Some(high);
            }
            index += 1;
            continue;
        }
        let escape = input.get(index + 1).copied();
        if escape != Some(b'u') {
            if let Some(high) = pending_high {
                return Some(high);
            }
            index += 2;
            continue;
        }
        let unit = input
            .get(index + 2..index + 6)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u16::from_str_radix(hex, 16).ok());
        match unit {
            Some(0xD800..=0xDBFF) => {
                if let Some(high) = pending_high {
                    return Some(high);
                }
                pending_high = Some(index);
            }
            Some(0xDC00..=0xDFFF) => {
                if pending_high.take().is_none() {
                    return Some(index);
                }
            }
            _ => {
                if let Some(high) = pending_high {
                    return Some(high);
                }
            }
        }
        index += 6;
    }
    pending_high
}

/// Whether `input` has a run of number characters (digits, `.`, `e`, `E`, `+`, `-`)
/// holding 19 digits or more: a number with that many significant digits, in a number
/// or in a string (the fallback is correct for both, and such documents are rare).
pub fn has_long_digit_run(input: &[u8]) -> bool {
    let mut digits = 0u32;
    for &byte in input {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 19 {
                    return true;
                }
            }
            b'.' | b'e' | b'E' | b'+' | b'-' => {}
            _ => digits = 0,
        }
    }
    false
}

/// Whether `input` contains an escape in `\uD800`..`\uDFFF`.
pub fn has_surrogate_escape(input: &[u8]) -> bool {
    input.windows(4).any(|window| {
        window[0] == b'\\'
            && window[1] == b'u'
            && (window[2] | 0x20) == b'd'
            && matches!(window[3] | 0x20, b'8' | b'9' | b'a'..=b'f')
    })
}

#[cfg(test)]
mod tests;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
