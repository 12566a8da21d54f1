//! Methods: 405 with Allow, automatic HEAD and OPTIONS, explicit routes winning.

use cello_router::{Lookup, Method};

use super::{found, router};

#[test]
fn wrong_method_is_405_with_sorted_allow() {
    let router = router(&[(&[Method::POST], "/items"), (&[Method::GET], "/items")]);
    assert_eq!(
        router.lookup(&Method::DELETE, "/items"),
        Lookup::MethodNotAllowed {
            allow: "GET, HEAD, OPTIONS, POST"
        }
    );
}

#[test]
fn allow_without_get_has_no_head() {
    let router = router(&[(&[Method::PUT, Method::DELETE], "/items/{id}")]);
    assert_eq!(
        router.lookup(&Method::GET, "/items/1"),
        Lookup::MethodNotAllowed {
            allow: "DELETE, OPTIONS, PUT"
        }
    );
    assert_eq!(
        router.lookup(&Method::HEAD, "/items/1"),
        Lookup::MethodNotAllowed {
            allow: "DELETE, OPTIONS, PUT"
        }
    );
}

#[test]
fn extension_methods_are_routed_and_listed() {
    let purge = Method::from_bytes(b"PURGE").unwrap();
    let router = router(&[(&[purge.clone(), Method::GET], "/cache")]);
    assert_eq!(found(router.lookup(&purge, "/cache")).0, "PURGE /cache");
    assert_eq!(
        router.lookup(&Method::POST, "/cache"),
        Lookup::MethodNotAllowed {
            allow: "GET, HEAD, OPTIONS, PURGE"
        }
    );
}

#[test]
fn unknown_path_is_404_not_405() {
    let router = router(&[(&[Method::GET], "/items")]);
    assert_eq!(router.lookup(&Method::POST, "/other"), Lookup::NotFound);
}

#[test]
fn head_falls_back_to_get() {
    let router = router(&[(&[Method::GET], "/items/{id}")]);
    let (value, params, head_fallback) = found(router.lookup(&Method::HEAD, "/items/7"));
    assert_eq!(value, "GET /items/{id}");
    assert!(head_fallback);
    assert_eq!(params.get("id").and_then(|v| v.as_str()), Some("7"));
    let (_, _, head_fallback) = found(router.lookup(&Method::GET, "/items/7"));
    assert!(!head_fallback);
}

#[test]
fn explicit_head_wins_over_get_in_either_order() {
    for routes in [
        [(&[Method::GET][..], "/x"), (&[Method::HEAD][..], "/x")],
        [(&[Method::HEAD][..], "/x"), (&[Method::GET][..], "/x")],
    ] {
        let router = router(&routes);
        let (value, _, head_fallback) = found(router.lookup(&Method::HEAD, "/x"));
        assert_eq!((value, head_fallback), ("HEAD /x", false));
        assert_eq!(found(router.lookup(&Method::GET, "/x")).0, "GET /x");
    }
}

#[test]
fn automatic_options_lists_allow() {
    let router = router(&[(&[Method::GET, Method::POST], "/items")]);
    assert_eq!(
        router.lookup(&Method::OPTIONS, "/items"),
        Lookup::Options {
            allow: "GET, HEAD, OPTIONS, POST"
        }
    );
    assert_eq!(
        router.lookup(&Method::OPTIONS, "/nothing"),
        Lookup::NotFound
    );
}

#[test]
fn explicit_options_wins() {
    let router = router(&[(&[Method::GET], "/items"), (&[Method::OPTIONS], "/items")]);
    let (value, _, head_fallback) = found(router.lookup(&Method::OPTIONS, "/items"));
    assert_eq!((value, head_fallback), ("OPTIONS /items", false));
    assert_eq!(
        router.lookup(&Method::PATCH, "/items"),
        Lookup::MethodNotAllowed {
            allow: "GET, HEAD, OPTIONS"
        }
    );
}

#[test]
fn converter_mismatch_is_404_whatever_the_method() {
    let router = router(&[(&[Method::GET], "/items/{id:int}")]);
    for method in [Method::GET, Method::POST, Method::HEAD, Method::OPTIONS] {
        assert_eq!(
            router.lookup(&method, "/items/abc"),
            Lookup::NotFound,
            "{method}"
        );
    }
}
