//! Static paths, the root, and the trailing-slash redirect policy.

use cello_router::{Lookup, Method};

use super::{found, router};

fn redirect(location: &str) -> Lookup<'static, 'static, String> {
    Lookup::RedirectSlash {
        location: location.into(),
    }
}

#[test]
fn static_routes_win_over_parameters() {
    let router = router(&[
        (&[Method::GET], "/users/{id}"),
        (&[Method::GET], "/users/me"),
    ]);
    assert_eq!(
        found(router.lookup(&Method::GET, "/users/me")).0,
        "GET /users/me"
    );
    assert_eq!(
        found(router.lookup(&Method::GET, "/users/mo")).0,
        "GET /users/{id}"
    );
}

#[test]
fn root_matches_and_is_never_redirected() {
    let router = router(&[(&[Method::GET], "/")]);
    assert_eq!(found(router.lookup(&Method::GET, "/")).0, "GET /");
    let router = super::router(&[(&[Method::GET], "/x")]);
    assert_eq!(router.lookup(&Method::GET, "/"), Lookup::NotFound);
    assert_eq!(router.lookup(&Method::GET, ""), Lookup::NotFound);
}

#[test]
fn trailing_slash_is_added_or_removed_by_redirect() {
    let router = router(&[
        (&[Method::GET], "/items"),
        (&[Method::POST], "/users/{id}/"),
    ]);
    assert_eq!(router.lookup(&Method::GET, "/items/"), redirect("/items"));
    // Any method, even one the target does not serve: the redirect comes first.
    assert_eq!(
        router.lookup(&Method::DELETE, "/items/"),
        redirect("/items")
    );
    assert_eq!(
        router.lookup(&Method::POST, "/users/7"),
        redirect("/users/7/")
    );
    assert_eq!(
        router.lookup(&Method::GET, "/users/a%20b"),
        redirect("/users/a%20b/")
    );
}

#[test]
fn exact_matches_are_not_redirected() {
    let router = router(&[(&[Method::GET], "/a"), (&[Method::POST], "/a/")]);
    assert_eq!(found(router.lookup(&Method::GET, "/a")).0, "GET /a");
    assert_eq!(
        router.lookup(&Method::GET, "/a/"),
        Lookup::MethodNotAllowed {
            allow: "OPTIONS, POST"
        }
    );
}

#[test]
fn no_redirect_to_a_path_that_would_fail_its_converter() {
    let router = router(&[(&[Method::GET], "/n/{id:int}")]);
    assert_eq!(router.lookup(&Method::GET, "/n/x/"), Lookup::NotFound);
    assert_eq!(router.lookup(&Method::GET, "/n/1/"), redirect("/n/1"));
}

#[test]
fn converter_rejection_is_not_redirected_either() {
    let router = router(&[
        (&[Method::GET], "/n/{id:int}"),
        (&[Method::GET], "/n/{id:int}/"),
    ]);
    assert_eq!(router.lookup(&Method::GET, "/n/x"), Lookup::NotFound);
}

#[test]
fn no_open_redirect_to_another_host() {
    // Browsers read a Location of "/\host" or "//host" (tabs and newlines removed) as
    // another host, so such redirects are 404s even when the target would match.
    let router = router(&[
        (&[Method::GET], "/{name}"),
        (&[Method::GET], "/{a}/{b}"),
        (&[Method::GET], "//evil.example"),
    ]);
    for path in ["/\\evil.example/", "//evil.example/", "/\t/evil.example/"] {
        assert_eq!(
            router.lookup(&Method::GET, path),
            Lookup::NotFound,
            "{path:?}"
        );
    }
    assert_eq!(router.lookup(&Method::GET, "/fine/"), redirect("/fine"));
}

#[test]
fn paths_are_case_sensitive() {
    let router = router(&[(&[Method::GET], "/Items")]);
    assert_eq!(router.lookup(&Method::GET, "/items"), Lookup::NotFound);
}
