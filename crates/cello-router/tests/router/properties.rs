//! Property tests: parameter values survive percent-encoding, static paths find themselves.

use std::collections::BTreeSet;

use cello_router::{Lookup, Method, ParamValue, RouterBuilder};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use proptest::prelude::*;

/// What a client must escape inside one path segment (non-ASCII is always escaped).
const SEGMENT: &AsciiSet = &CONTROLS.add(b'/').add(b'%').add(b'?').add(b'#').add(b' ');

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 1..24).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn encoded_parameter_round_trips(values in proptest::collection::vec(text(), 1..8)) {
        let mut builder = RouterBuilder::new();
        builder.insert(&[Method::GET], "/a/{x}/b", (), "a.x").unwrap();
        builder.insert(&[Method::GET], "/c/{*rest}", (), "c.rest").unwrap();
        let router = builder.freeze();
        for value in &values {
            let encoded = utf8_percent_encode(value, SEGMENT).to_string();
            let path = format!("/a/{encoded}/b");
            let Lookup::Found { params, .. } = router.lookup(&Method::GET, &path) else {
                panic!("{path} did not match");
            };
            prop_assert_eq!(params.get("x"), Some(&ParamValue::Str(value.as_str().into())));

            let path = format!("/c/{encoded}/{encoded}");
            let Lookup::Found { params, .. } = router.lookup(&Method::GET, &path) else {
                panic!("{path} did not match");
            };
            let expected = format!("{value}/{value}");
            prop_assert_eq!(params.get("rest"), Some(&ParamValue::Path(expected.into())));
        }
    }

    #[test]
    fn distinct_static_paths_find_their_own_value(
        paths in proptest::collection::btree_set("(/[a-z0-9_.~-]{1,6}){1,4}", 1..40)
    ) {
        let paths: Vec<String> = paths.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let mut builder = RouterBuilder::new();
        for (index, path) in paths.iter().enumerate() {
            builder.insert(&[Method::GET], path, index, path).unwrap();
        }
        let router = builder.freeze();
        for (index, path) in paths.iter().enumerate() {
            match router.lookup(&Method::GET, path) {
                Lookup::Found { value, params, head_fallback } => {
                    prop_assert_eq!(*value, index);
                    prop_assert!(params.is_empty() && !head_fallback);
                }
                other => prop_assert!(false, "{} gave {:?}", path, other),
            }
        }
    }

    #[test]
    fn any_i64_round_trips_through_int(n in any::<i64>()) {
        let mut builder = RouterBuilder::new();
        builder.insert(&[Method::GET], "/n/{id:int}", (), "n").unwrap();
        let router = builder.freeze();
        let path = format!("/n/{n}");
        let Lookup::Found { params, .. } = router.lookup(&Method::GET, &path) else {
            panic!("{path} did not match");
        };
        prop_assert_eq!(params.get("id"), Some(&ParamValue::Int(n)));
    }
}
