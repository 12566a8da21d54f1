//! The walk and the refusals, with a builder that makes a plain tree.

use super::*;

#[derive(Debug, PartialEq)]
enum Tree {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    List(Vec<Tree>),
    Map(Vec<(String, Tree)>),
    Fallback,
}

struct Trees;

impl Builder for Trees {
    type Value = Tree;
    type Error = Refusal;
    fn null(&mut self) -> Result<Tree, Refusal> {
        Ok(Tree::Null)
    }
    fn bool(&mut self, value: bool) -> Result<Tree, Refusal> {
        Ok(Tree::Bool(value))
    }
    fn i64(&mut self, value: i64) -> Result<Tree, Refusal> {
        Ok(Tree::Int(value.into()))
    }
    fn u64(&mut self, value: u64) -> Result<Tree, Refusal> {
        Ok(Tree::Int(value.into()))
    }
    fn f64(&mut self, value: f64) -> Result<Tree, Refusal> {
        Ok(Tree::Float(value))
    }
    fn string(&mut self, text: &str) -> Result<Tree, Refusal> {
        Ok(Tree::Text(text.into()))
    }
    fn array(&mut self, len: usize) -> Result<Tree, Refusal> {
        Ok(Tree::List(Vec::with_capacity(len)))
    }
    fn push(&mut self, array: &mut Tree, item: Tree) -> Result<(), Refusal> {
        let Tree::List(items) = array else {
            unreachable!()
        };
        items.push(item);
        Ok(())
    }
    fn object(&mut self, _len: usize) -> Result<Tree, Refusal> {
        Ok(Tree::Map(Vec::new()))
    }
    fn insert(&mut self, object: &mut Tree, key: &str, value: Tree) -> Result<(), Refusal> {
        let Tree::Map(pairs) = object else {
            unreachable!()
        };
        pairs.push((key.into(), value));
        Ok(())
    }
    fn fallback(&mut self, _input: &[u8]) -> Result<Tree, Refusal> {
        Ok(Tree::Fallback)
    }
}

fn decoded(input: &str) -> Result<Tree, Refusal> {
    decode(&mut Trees, input.as_bytes())
}

#[test]
fn builds_every_kind_of_value_in_order() {
    assert_eq!(
        decoded(r#"{"a": [1, -2, 2.5, "x", true, null], "b": {}}"#),
        Ok(Tree::Map(vec![
            (
                "a".into(),
                Tree::List(vec![
                    Tree::Int(1),
                    Tree::Int(-2),
                    Tree::Float(2.5),
                    Tree::Text("x".into()),
                    Tree::Bool(true),
                    Tree::Null,
                ])
            ),
            ("b".into(), Tree::Map(vec![])),
        ]))
    );
}

#[test]
fn the_depth_limit_is_the_same_on_the_tape_and_on_the_fallback() {
    let deep = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
    assert!(decoded(&deep(MAX_DEPTH as usize + 1)).is_ok());
    assert_eq!(
        decoded(&deep(MAX_DEPTH as usize + 2)),
        Err(Refusal::TooDeep)
    );
    // a 65-bit integer sends the document to the fallback, with the same limit
    let big = |levels: usize| "[".repeat(levels) + "18446744073709551616" + &"]".repeat(levels);
    assert_eq!(decoded(&big(MAX_DEPTH as usize + 1)), Ok(Tree::Fallback));
    assert_eq!(decoded(&big(MAX_DEPTH as usize + 2)), Err(Refusal::TooDeep));
}

#[test]
fn refuses_what_the_encoder_could_not_write() {
    // simd-json refuses these itself; the fallback refuses them there (json.loads with
    // a finite-float hook in Cello). Either way, never an infinite float.
    for number in ["1e999999", "1e309", "-1e400"] {
        assert!(matches!(
            decoded(number),
            Ok(Tree::Fallback) | Err(Refusal::OutOfRange)
        ));
    }
    assert_eq!(
        decoded(r#"["ok", "\ud800"]"#),
        Err(Refusal::LoneSurrogate { offset: 8 })
    );
    assert_eq!(
        decoded(r#""\udc00\ud800""#),
        Err(Refusal::LoneSurrogate { offset: 1 })
    );
    // a pair is text: decoded by the fallback
    assert_eq!(decoded(r#""\ud83d\ude00""#), Ok(Tree::Fallback));
    assert_eq!(decoded("{"), Ok(Tree::Fallback));
}

#[test]
fn refusals_say_what_is_wrong() {
    assert!(Refusal::TooDeep
        .to_string()
        .contains("nested deeper than 255"));
    assert!(Refusal::OutOfRange.to_string().contains("beyond the range"));
    assert!(Refusal::LoneSurrogate { offset: 3 }
        .to_string()
        .contains("lone surrogate escape at byte 3: \\uD800-\\uDFFF"));
}

#[test]
fn a_nul_byte_is_never_taken_for_the_end_of_the_document() {
    // Found by the `json` fuzz target: simd-json stops at a NUL byte after a number and
    // accepts the rest unread, so `[12345678\x0012]` decoded to [12345678]. JSON has no
    // NUL outside a string's escapes: such documents go to the fallback (json.loads
    // refuses them, a 400 in Cello).
    for input in [
        &b"[1844674407\x00\x01e78578054]"[..],
        b"[12345678\x0012]",
        b"1\x00",
        b"[1e5\x00]",
        b"{\"a\": 1\x00}",
    ] {
        assert_eq!(decode(&mut Trees, input), Ok(Tree::Fallback), "{input:?}");
    }
}

#[test]
fn junk_after_a_long_number_is_never_dropped() {
    // Found by the `json` fuzz target: simd-json reads a number of 19 or more digits and
    // ignores what follows it up to the next separator, so `[1844674407370955161YYY5]`
    // decoded to [1844674407370955161]. Documents with such numbers go to the fallback.
    for input in [
        &b"[1844674407370955161YYYY5]"[..],
        b"[18446744073709551610Y]",
        b"[1.23456789012345678901Y]",
        b"[-1844674407370955161Y]",
        b"[416440734000.488147400-------02, -0]",
    ] {
        assert_eq!(decode(&mut Trees, input), Ok(Tree::Fallback), "{input:?}");
    }
    assert_eq!(
        decoded("[123456789012345678]"),
        Ok(Tree::List(vec![Tree::Int(123_456_789_012_345_678)]))
    );
}

#[test]
fn subnormal_floats_are_correctly_rounded() {
    // The `json` fuzz target's oracle (serde_json without `float_roundtrip`) read
    // 7223372137236e-321 one ulp low; Cello's decoder gives the correctly rounded
    // double, the one Rust's and Python's parsers give.
    for text in [
        "7223372137236e-321",
        "4.9e-324",
        "2.225073858507e-308",
        "1e-310",
    ] {
        let expected: f64 = text.parse().unwrap();
        assert_eq!(
            decoded(&format!("[{text}]")),
            Ok(Tree::List(vec![Tree::Float(expected)])),
            "{text}"
        );
    }
}
