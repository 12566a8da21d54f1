//! Route patterns and lookups: the first lines of the input are patterns (each parsed
//! and registered, or refused with an error), the rest are request paths looked up with
//! every method. Invariants: a registered pattern without parameters or braces finds
//! itself; a float parameter is finite;
//! a redirect differs from the path only by its trailing slash.
#![no_main]

use cello_router::{Lookup, Method, ParamValue, RouterBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (patterns, paths) = text.split_once("\n\n").unwrap_or((&text, "/"));
    let mut builder = RouterBuilder::new();
    let mut literal = Vec::new();
    for (index, pattern) in patterns.lines().take(16).enumerate() {
        let method = [Method::GET, Method::POST, Method::DELETE][index % 3].clone();
        if builder
            .insert(&[method.clone()], pattern, index, "fuzz")
            .is_ok()
            && !pattern.contains(['{', '}', '*', '%'])
            && pattern.is_ascii()
            && !pattern.bytes().any(|b| b.is_ascii_control() || b == b' ')
        {
            literal.push((method, pattern.to_owned()));
        }
    }
    let router = builder.freeze();
    for (method, pattern) in &literal {
        match router.lookup(method, pattern) {
            Lookup::Found { .. } => {}
            other => panic!("registered {method} {pattern:?} is not found: {other:?}"),
        }
    }
    for path in paths.lines().take(16) {
        for method in [Method::GET, Method::HEAD, Method::POST, Method::OPTIONS] {
            match router.lookup(&method, path) {
                Lookup::Found { params, .. } => {
                    for (_, value) in params.iter() {
                        if let ParamValue::Float(number) = value {
                            assert!(number.is_finite(), "{path:?} gave {number}");
                        }
                    }
                }
                Lookup::RedirectSlash { location } => {
                    assert_eq!(
                        location.trim_end_matches('/'),
                        path.trim_end_matches('/'),
                        "redirect of {path:?}"
                    );
                }
                Lookup::Options { .. } | Lookup::MethodNotAllowed { .. } | Lookup::NotFound => {}
            }
        }
    }
});
