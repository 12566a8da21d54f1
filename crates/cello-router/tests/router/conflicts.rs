//! Registration errors: conflicts name both owners; bad paths say how to fix them.

use cello_router::{Method, RouteError, RouterBuilder};

fn insert_two(first: (&[Method], &str), second: (&[Method], &str)) -> Result<(), RouteError> {
    let mut builder = RouterBuilder::new();
    builder.insert(first.0, first.1, 1, "users.get_user (app.py:12)")?;
    builder.insert(second.0, second.1, 2, "users.other (app.py:30)")
}

#[test]
fn same_method_and_path_twice_names_both_owners() {
    let error = insert_two(
        (&[Method::GET], "/users/{id}"),
        (&[Method::GET], "/users/{id}"),
    )
    .unwrap_err();
    assert!(matches!(error, RouteError::Conflict { .. }));
    assert_eq!(
        error.to_string(),
        "route GET /users/{id} is already registered by users.get_user (app.py:12); \
         cannot register it again for users.other (app.py:30)"
    );
}

#[test]
fn overlapping_method_lists_conflict_on_the_shared_method() {
    let error = insert_two(
        (&[Method::GET, Method::POST], "/a"),
        (&[Method::PUT, Method::POST], "/a"),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("route POST /a is already registered by users.get_user"),
        "{message}"
    );
}

#[test]
fn another_parameter_name_or_converter_at_the_same_position_conflicts() {
    let cases: [(&str, &str); 5] = [
        ("/users/{id}", "/users/{uid}"),
        ("/users/{id:int}", "/users/{id:uuid}"),
        ("/users/{id:int}", "/users/{id}"),
        ("/files/{*rest}", "/files/{other:path}"),
        ("/files/{name}", "/files/{*rest}"),
    ];
    for (first, second) in cases {
        // Also across methods: one path shape has one set of parameters.
        let error = insert_two((&[Method::GET], first), (&[Method::POST], second)).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, RouteError::Conflict { .. }),
            "{first} {second}: {message}"
        );
        for needle in [
            "users.get_user (app.py:12)",
            "users.other (app.py:30)",
            first,
            second,
            "GET",
            "POST",
        ] {
            assert!(message.contains(needle), "{needle} missing from: {message}");
        }
    }
}

#[test]
fn equivalent_spellings_share_a_path() {
    insert_two(
        (&[Method::GET], "/u/{id}"),
        (&[Method::POST], "/u/{id:str}"),
    )
    .unwrap();
    insert_two(
        (&[Method::GET], "/f/{*rest}"),
        (&[Method::POST], "/f/{rest:path}"),
    )
    .unwrap();
    insert_two(
        (&[Method::GET], "/u/{id}"),
        (&[Method::GET], "/u/{name}/posts"),
    )
    .unwrap();
}

#[test]
fn a_failed_insert_registers_nothing() {
    let mut builder = RouterBuilder::new();
    builder.insert(&[Method::POST], "/a", 1, "first").unwrap();
    assert!(builder
        .insert(&[Method::GET, Method::POST], "/a", 2, "second")
        .is_err());
    assert_eq!(builder.routes().count(), 1);
    builder.insert(&[Method::GET], "/a", 3, "third").unwrap();
}

#[test]
fn path_must_start_with_slash() {
    let error = insert_two((&[Method::GET], "/ok"), (&[Method::GET], "users")).unwrap_err();
    assert!(matches!(error, RouteError::InvalidPath { .. }));
    assert!(error.to_string().contains("must start with '/'"), "{error}");
    assert!(
        error.to_string().contains("users.other (app.py:30)"),
        "{error}"
    );
}

#[test]
fn unknown_converter_is_named_with_the_valid_ones() {
    let error =
        insert_two((&[Method::GET], "/ok"), (&[Method::GET], "/u/{id:integer}")).unwrap_err();
    assert!(
        matches!(error, RouteError::UnknownConverter { ref converter, .. } if &**converter == "integer")
    );
    let message = error.to_string();
    for needle in [
        "'integer'",
        "/u/{id:integer}",
        "users.other",
        "int, float, uuid, path and str",
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
}

#[test]
fn malformed_patterns_explain_themselves() {
    let cases = [
        ("/a/{*rest}/b", "must be the last segment"),
        ("/a/{x:path}/b", "must be the last segment"),
        ("/a/{x}{y}", "one parameter is allowed per path segment"),
        ("/a/{x", "unclosed '{'"),
        ("/a/x}", "unmatched '}'"),
        ("/a/{}", "must be an identifier"),
        ("/a/{x}/{x}", "appears twice"),
    ];
    for (path, needle) in cases {
        let error = insert_two((&[Method::GET], "/ok"), (&[Method::GET], path)).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, RouteError::InvalidPattern { .. }),
            "{path}: {message}"
        );
        assert!(
            message.contains(needle) && message.contains(path),
            "{path}: {message}"
        );
    }
}

#[test]
fn no_methods_is_an_error() {
    let error = insert_two((&[Method::GET], "/ok"), (&[], "/b")).unwrap_err();
    assert!(matches!(error, RouteError::NoMethods { .. }), "{error}");
}
