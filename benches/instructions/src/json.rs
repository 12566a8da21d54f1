//! JSON request-body decoding, the part of it that needs no Python.
//!
//! cello-py's `json::decode` copies the body into a scratch buffer, has simd-json build its
//! tape, then walks the tape creating Python objects. The copy and the tape are measured
//! here with the same simd-json version and features (the workspace dependency); the walk
//! needs Python and is not. The encoder is not measured: it walks Python objects, and its
//! Python-free pieces (string escaping, `itoa`/`ryu` number formatting) are private
//! functions of cello-py, which links libpython (see benches/instructions/README.md).

use std::fmt::Write;
use std::hint::black_box;

use crate::measure::{region, Benchmark, PageAligned};

pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "json/decode_small",
        description: "a 244-byte object: strings, ints, a float, a bool, arrays, a nested object",
        operations: 100,
        run: decode_small,
    },
    Benchmark {
        name: "json/decode_records",
        description: "a 4 KB array of 40 flat records, numbers and short strings",
        operations: 20,
        run: decode_records,
    },
    Benchmark {
        name: "json/decode_text",
        description: "a 4.4 KB object of long strings with escapes and non-ASCII text",
        operations: 20,
        run: decode_text,
    },
];

const SMALL: &str = r#"{"name":"Cello","email":"cello@example.com","age":42,"score":97.5,"active":true,"tags":["rust","python","http"],"address":{"street":"1 Main St","city":"Springfield","zip":"12345"},"notes":"line one\nline two \"quoted\"","ids":[1,2,3,4,5,6,7,8]}"#;

/// What `cello-py`'s decoder does before it touches Python: copy, then build the tape.
fn decode(document: &[u8]) -> usize {
    let mut scratch = document.to_vec();
    let tape = simd_json::to_tape(&mut scratch).expect("benchmark documents are valid JSON");
    tape.0.len()
}

fn decodes(benchmark: &Benchmark, document: &str) {
    let aligned = PageAligned::new(document);
    let bytes = aligned.as_str().as_bytes();
    assert!(decode(bytes) > 1, "{}: nothing decoded", benchmark.name);
    region(benchmark, &mut || {
        for _ in 0..benchmark.operations {
            black_box(decode(black_box(bytes)));
        }
    });
}

fn decode_small(benchmark: &Benchmark) {
    decodes(benchmark, SMALL);
}

fn decode_records(benchmark: &Benchmark) {
    let mut document = String::from("[");
    for i in 0..40 {
        if i > 0 {
            document.push(',');
        }
        write!(
            document,
            r#"{{"id":{},"sku":"SKU-{:05}","price":{}.{:02},"quantity":{},"in_stock":{},"warehouse":"eu-west-{}"}}"#,
            1_000_000 + i * 7919,
            i * 37,
            i * 3 + 1,
            i % 100,
            i % 13,
            i % 2 == 0,
            i % 3
        )
        .expect("writing to a String");
    }
    document.push(']');
    decodes(benchmark, &document);
}

fn decode_text(benchmark: &Benchmark) {
    let mut document = String::from("{");
    for i in 0..16 {
        if i > 0 {
            document.push(',');
        }
        write!(
            document,
            r#""paragraph_{i}":"Der Cellist spielte \"Suite Nr. {i}\" — zweimal.\nZeile zwei:\ttabuliert, \\ Backslash, \u00e9t\u00e9 und 日本語のテキスト {i}. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.""#
        )
        .expect("writing to a String");
    }
    document.push('}');
    decodes(benchmark, &document);
}
