//! Integration tests of cello-router through its public API only. One test binary; the
//! modules under `router/` group the behaviours.

// A test crate root resolves `mod` paths beside itself, hence the explicit paths.
#[path = "router/allocation.rs"]
mod allocation;
#[path = "router/conflicts.rs"]
mod conflicts;
#[path = "router/methods.rs"]
mod methods;
#[path = "router/params.rs"]
mod params;
#[path = "router/paths.rs"]
mod paths;
#[path = "router/properties.rs"]
mod properties;

use cello_router::{Lookup, Method, ParamValue, Params, Router, RouterBuilder};

/// A router whose values are the owners, so a lookup says which route it found.
fn router(routes: &[(&[Method], &str)]) -> Router<String> {
    let mut builder = RouterBuilder::new();
    for (methods, path) in routes {
        let owner = format!("{} {path}", methods[0]);
        builder
            .insert(methods, path, owner.clone(), &owner)
            .unwrap_or_else(|error| panic!("{error}"));
    }
    builder.freeze()
}

/// The value and parameters of a `Found`, panicking with the lookup otherwise.
fn found<'r, 'p>(lookup: Lookup<'r, 'p, String>) -> (&'r str, Params<'r, 'p>, bool) {
    match lookup {
        Lookup::Found {
            value,
            params,
            head_fallback,
        } => (value.as_str(), params, head_fallback),
        other => panic!("expected Found, got {other:?}"),
    }
}

/// The single parameter of a GET lookup that must match.
fn param(router: &Router<String>, path: &str, name: &str) -> ParamValue<'static> {
    let (_, params, _) = found(router.lookup(&Method::GET, path));
    let value = params
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {params:?}"));
    match value {
        ParamValue::Str(text) => ParamValue::Str(text.to_string().into()),
        ParamValue::Uuid(text) => ParamValue::Uuid(text.to_string().into()),
        ParamValue::Path(text) => ParamValue::Path(text.to_string().into()),
        ParamValue::Int(n) => ParamValue::Int(*n),
        ParamValue::Float(n) => ParamValue::Float(*n),
    }
}

#[test]
fn router_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Router<String>>();
    assert_send_sync::<RouterBuilder<String>>();
}

#[test]
fn routes_lists_registrations_in_order_with_owners() {
    let mut builder = RouterBuilder::new();
    builder
        .insert(
            &[Method::GET, Method::POST],
            "/items/{id:int}",
            1,
            "items.item (app.py:9)",
        )
        .unwrap();
    builder
        .insert(&[Method::GET], "/", 2, "index (app.py:3)")
        .unwrap();
    let listed = |routes: Vec<cello_router::RouteInfo<'_>>| {
        routes
            .iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.owner))
            .collect::<Vec<_>>()
    };
    let expected = [
        "GET /items/{id:int} items.item (app.py:9)",
        "POST /items/{id:int} items.item (app.py:9)",
        "GET / index (app.py:3)",
    ];
    assert_eq!(listed(builder.routes().collect()), expected);
    let router = builder.freeze();
    assert_eq!(listed(router.routes().collect()), expected);
}

#[test]
fn one_value_serves_every_method_of_an_insert() {
    let mut builder = RouterBuilder::new();
    builder
        .insert(&[Method::GET, Method::PUT], "/x", "shared", "f")
        .unwrap();
    let router = builder.freeze();
    for method in [Method::GET, Method::PUT] {
        assert!(matches!(
            router.lookup(&method, "/x"),
            Lookup::Found {
                value: &"shared",
                ..
            }
        ));
    }
}
