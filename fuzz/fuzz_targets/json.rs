//! Request JSON (`cello_json::decode`, which `request.json()` runs with a builder of
//! Python objects) with a builder of `serde_json` values. Invariants: an accepted
//! document is nested at most `MAX_DEPTH` deep and holds only finite numbers (so the
//! encoder can always write it back), agrees with `serde_json`'s reading of the same
//! bytes, and survives a write-and-decode round trip; a lone surrogate is refused, never
//! decoded.
#![no_main]

use cello_json::{decode, Builder, Refusal, MAX_DEPTH};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value};

/// The fallback (Python's `json.loads` in Cello) is not Rust: it is marked, not run.
const FALLBACK: &str = "\u{0}fallback";

struct Values;

impl Builder for Values {
    type Value = Value;
    type Error = Refusal;
    fn null(&mut self) -> Result<Value, Refusal> {
        Ok(Value::Null)
    }
    fn bool(&mut self, value: bool) -> Result<Value, Refusal> {
        Ok(Value::Bool(value))
    }
    fn i64(&mut self, value: i64) -> Result<Value, Refusal> {
        Ok(value.into())
    }
    fn u64(&mut self, value: u64) -> Result<Value, Refusal> {
        Ok(value.into())
    }
    fn f64(&mut self, value: f64) -> Result<Value, Refusal> {
        Ok(Value::Number(
            Number::from_f64(value).expect("a finite float"),
        ))
    }
    fn string(&mut self, text: &str) -> Result<Value, Refusal> {
        Ok(Value::String(text.into()))
    }
    fn array(&mut self, len: usize) -> Result<Value, Refusal> {
        Ok(Value::Array(Vec::with_capacity(len)))
    }
    fn push(&mut self, array: &mut Value, item: Value) -> Result<(), Refusal> {
        array.as_array_mut().expect("an array").push(item);
        Ok(())
    }
    fn object(&mut self, _len: usize) -> Result<Value, Refusal> {
        Ok(Value::Object(Map::new()))
    }
    fn insert(&mut self, object: &mut Value, key: &str, value: Value) -> Result<(), Refusal> {
        object
            .as_object_mut()
            .expect("an object")
            .insert(key.into(), value);
        Ok(())
    }
    fn fallback(&mut self, _input: &[u8]) -> Result<Value, Refusal> {
        Ok(Value::String(FALLBACK.into()))
    }
}

fn depth(value: &Value) -> u32 {
    match value {
        Value::Array(items) => items.iter().map(|v| 1 + depth(v)).max().unwrap_or(0),
        Value::Object(pairs) => pairs.values().map(|v| 1 + depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Equal, with floats compared to within a rounding step (two correct parsers may
/// still round a 20-digit literal differently).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let decoded = decode(&mut Values, data);
    if let Some(offset) = cello_json::lone_surrogate(data) {
        if cello_json::has_surrogate_escape(data) {
            assert_eq!(decoded, Err(Refusal::LoneSurrogate { offset }));
        }
    }
    let Ok(value) = decoded else {
        return;
    };
    if value == Value::String(FALLBACK.into()) {
        return;
    }
    assert!(depth(&value) <= MAX_DEPTH, "nested {} deep", depth(&value));
    // serde_json refuses what is over its own recursion limit (128): compare below it.
    if depth(&value) < 100 {
        let theirs: Value = serde_json::from_slice(data).expect("serde_json accepts it too");
        assert!(same(&value, &theirs), "{value} vs serde_json's {theirs}");
    }
    let written = serde_json::to_vec(&value).expect("written");
    let again = decode(&mut Values, &written).expect("decodes again");
    assert!(same(&again, &value) || again == Value::String(FALLBACK.into()));
});
