//! The `Cookie` request header (`cello_http::cookies::parse`, what `request.cookies`
//! reads). Invariants: names and values carry no surrounding whitespace, no pair is
//! invented (at most one per `;`-separated part), and a value percent-encoded back
//! parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let pairs: Vec<_> = cello_http::cookies::parse(header).collect();
    assert!(pairs.len() <= header.split(';').count());
    for (name, value) in &pairs {
        assert_eq!(name.trim(), *name);
        assert!(!name.contains(';') && !name.contains('='));
        let encoded: String = value.bytes().map(|byte| format!("%{byte:02X}")).collect();
        let again: Vec<_> = cello_http::cookies::parse(&format!("n={encoded}"))
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(
            again,
            [value.as_ref()],
            "value {value:?} does not round-trip"
        );
    }
});
