//! Converters and percent-decoding of parameter values.

use std::borrow::Cow;

use cello_router::{Lookup, Method, ParamValue};

use super::{found, param, router};

#[test]
fn int_converter() {
    let router = router(&[(&[Method::GET], "/n/{id:int}")]);
    assert_eq!(param(&router, "/n/42", "id"), ParamValue::Int(42));
    assert_eq!(param(&router, "/n/-7", "id"), ParamValue::Int(-7));
    assert_eq!(
        param(&router, "/n/9223372036854775807", "id"),
        ParamValue::Int(i64::MAX)
    );
    for bad in ["/n/+1", "/n/1.5", "/n/x", "/n/9223372036854775808", "/n/-"] {
        assert_eq!(router.lookup(&Method::GET, bad), Lookup::NotFound, "{bad}");
    }
}

#[test]
fn float_converter() {
    let router = router(&[(&[Method::GET], "/f/{x:float}")]);
    assert_eq!(param(&router, "/f/2.5", "x"), ParamValue::Float(2.5));
    assert_eq!(param(&router, "/f/-1e3", "x"), ParamValue::Float(-1000.0));
    assert_eq!(param(&router, "/f/3", "x"), ParamValue::Float(3.0));
    for bad in ["/f/inf", "/f/NaN", "/f/1e400", "/f/abc"] {
        assert_eq!(router.lookup(&Method::GET, bad), Lookup::NotFound, "{bad}");
    }
}

#[test]
fn uuid_converter_returns_lowercase() {
    let router = router(&[(&[Method::GET], "/u/{id:uuid}")]);
    let lower = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    assert_eq!(
        param(&router, &format!("/u/{lower}"), "id"),
        ParamValue::Uuid(lower.into())
    );
    let upper = format!("/u/{}", lower.to_uppercase());
    assert_eq!(param(&router, &upper, "id"), ParamValue::Uuid(lower.into()));
    for bad in [
        "/u/6f1c2a3b4d5e4f608a7b9c0d1e2f3a4b",
        "/u/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4",
        "/u/x",
    ] {
        assert_eq!(router.lookup(&Method::GET, bad), Lookup::NotFound, "{bad}");
    }
}

#[test]
fn converter_mismatch_does_not_fall_through_to_a_sibling_route() {
    let router = router(&[
        (&[Method::GET], "/items/{id:int}"),
        (&[Method::GET], "/items/{id:int}/{*rest}"),
        (&[Method::GET], "/{*anything}"),
    ]);
    assert_eq!(router.lookup(&Method::GET, "/items/abc"), Lookup::NotFound);
    assert_eq!(
        found(router.lookup(&Method::GET, "/other/abc")).0,
        "GET /{*anything}"
    );
}

#[test]
fn str_and_path_converters_are_plain_and_catch_all() {
    let router = router(&[
        (&[Method::GET], "/s/{name:str}"),
        (&[Method::GET], "/p/{rest:path}"),
    ]);
    assert_eq!(
        param(&router, "/s/bob", "name"),
        ParamValue::Str("bob".into())
    );
    assert_eq!(
        param(&router, "/p/a/b/c.txt", "rest"),
        ParamValue::Path("a/b/c.txt".into())
    );
    assert_eq!(router.lookup(&Method::GET, "/s/a/b"), Lookup::NotFound);
}

#[test]
fn catch_all_takes_the_rest_but_never_nothing() {
    let router = router(&[(&[Method::GET], "/files/{*rest}")]);
    assert_eq!(
        param(&router, "/files/a", "rest"),
        ParamValue::Path("a".into())
    );
    assert_eq!(
        param(&router, "/files/a/b/", "rest"),
        ParamValue::Path("a/b/".into())
    );
    // matchit 0.8 never matches an empty catch-all; "/files" and "/files/" are 404 here.
    assert_eq!(router.lookup(&Method::GET, "/files/"), Lookup::NotFound);
    assert_eq!(router.lookup(&Method::GET, "/files"), Lookup::NotFound);
}

#[test]
fn values_are_percent_decoded_after_matching_the_raw_path() {
    let router = router(&[(&[Method::GET], "/a/{x}/b"), (&[Method::GET], "/c/{*rest}")]);
    assert_eq!(
        param(&router, "/a/x%2Fy/b", "x"),
        ParamValue::Str("x/y".into())
    );
    assert_eq!(
        param(&router, "/a/caf%C3%A9%20au%20lait/b", "x"),
        ParamValue::Str("café au lait".into())
    );
    assert_eq!(
        param(&router, "/c/d%2Fe/f%25", "rest"),
        ParamValue::Path("d/e/f%".into())
    );
    // A malformed escape is kept as text, like browsers and Starlette do.
    assert_eq!(
        param(&router, "/a/100%/b", "x"),
        ParamValue::Str("100%".into())
    );
}

#[test]
fn values_without_escapes_are_borrowed_from_the_path() {
    let router = router(&[(&[Method::GET], "/a/{x}")]);
    let (_, params, _) = found(router.lookup(&Method::GET, "/a/plain"));
    assert!(matches!(
        params.get("x"),
        Some(ParamValue::Str(Cow::Borrowed("plain")))
    ));
}

#[test]
fn invalid_utf8_after_decoding_is_404() {
    let router = router(&[(&[Method::GET], "/a/{x}"), (&[Method::GET], "/c/{*rest}")]);
    for path in ["/a/%FF", "/a/%C3", "/c/ok/%80"] {
        assert_eq!(
            router.lookup(&Method::GET, path),
            Lookup::NotFound,
            "{path}"
        );
    }
}

#[test]
fn converters_check_the_decoded_value() {
    let router = router(&[(&[Method::GET], "/n/{id:int}")]);
    assert_eq!(param(&router, "/n/%2D%31%32", "id"), ParamValue::Int(-12));
}

#[test]
fn non_ascii_static_segments_match_their_encoded_form() {
    let router = router(&[(&[Method::GET], "/café/{x}")]);
    assert_eq!(
        param(&router, "/caf%C3%A9/1", "x"),
        ParamValue::Str("1".into())
    );
}

#[test]
fn many_parameters_keep_path_order() {
    let router = router(&[(&[Method::GET], "/{a}/{b:int}/{c}/{d}/{e}/{*f}")]);
    let (_, params, _) = found(router.lookup(&Method::GET, "/1/2/3/4/5/6/7"));
    let names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(params.len(), 6);
    assert_eq!(params.get("b"), Some(&ParamValue::Int(2)));
    assert_eq!(params.get("f"), Some(&ParamValue::Path("6/7".into())));
}
