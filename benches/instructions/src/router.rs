//! Router lookups (cello-router) against a frozen router of 400 routes.

use std::hint::black_box;

use cello_router::{Lookup, Method, Router, RouterBuilder};

use crate::measure::{region, Benchmark, PageAligned};

/// Routes of each kind; the router holds four times as many.
const SIZE: usize = 100;

pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "router/static",
        description: "GET of a static path, the last of 100 siblings",
        operations: 1000,
        run: static_path,
    },
    Benchmark {
        name: "router/int_param",
        description: "GET /users99/123456 against /users99/{id:int}: match and int conversion",
        operations: 1000,
        run: int_param,
    },
    Benchmark {
        name: "router/catch_all",
        description: "GET of a 12-segment path under /files99/{*rest}",
        operations: 1000,
        run: catch_all,
    },
    Benchmark {
        name: "router/head_fallback",
        description: "HEAD answered by the GET route of a static path",
        operations: 1000,
        run: head_fallback,
    },
    Benchmark {
        name: "router/method_not_allowed",
        description: "DELETE of a GET-only path: 405 with its Allow header",
        operations: 1000,
        run: method_not_allowed,
    },
    Benchmark {
        name: "router/not_found",
        description: "GET of a path no route matches: 404, trailing-slash probe included",
        operations: 1000,
        run: not_found,
    },
];

/// `SIZE` routes of each kind, so the matcher has realistic siblings at every level (the
/// same shape as the criterion bench in crates/cello-router/benches/lookup.rs).
fn router() -> Router<usize> {
    let mut builder = RouterBuilder::new();
    for i in 0..SIZE {
        let owner = format!("instructions {i}");
        let routes = [
            format!("/static/resource{i}/list"),
            format!("/users{i}/{{id:int}}"),
            format!("/files{i}/{{*rest}}"),
            // Routes ending in '/' make the 404 path probe the trailing-slash alternative.
            format!("/dirs{i}/"),
        ];
        for (kind, path) in routes.iter().enumerate() {
            builder
                .insert(&[Method::GET], path, i * 4 + kind, &owner)
                .expect("benchmark routes are valid");
        }
    }
    builder.freeze()
}

/// Checks what `path` resolves to, then counts `benchmark.operations` lookups of it.
fn lookups(
    benchmark: &Benchmark,
    method: &Method,
    path: &str,
    expect: fn(&Lookup<'_, '_, usize>) -> bool,
) {
    let router = router();
    let aligned = PageAligned::new(path);
    let path = aligned.as_str();
    let outcome = router.lookup(method, path);
    assert!(
        expect(&outcome),
        "{}: unexpected lookup {outcome:?}",
        benchmark.name
    );
    drop(outcome);
    region(benchmark, &mut || {
        for _ in 0..benchmark.operations {
            black_box(router.lookup(black_box(method), black_box(path)));
        }
    });
}

fn static_path(benchmark: &Benchmark) {
    lookups(
        benchmark,
        &Method::GET,
        "/static/resource99/list",
        |outcome| matches!(outcome, Lookup::Found { value: 396, .. }),
    );
}

fn int_param(benchmark: &Benchmark) {
    lookups(benchmark, &Method::GET, "/users99/123456", |outcome| {
        matches!(outcome, Lookup::Found { value: 397, .. })
    });
}

fn catch_all(benchmark: &Benchmark) {
    lookups(
        benchmark,
        &Method::GET,
        "/files99/a/b/c/d/e/f/g/h/i/j/index.html",
        |outcome| matches!(outcome, Lookup::Found { value: 398, .. }),
    );
}

fn head_fallback(benchmark: &Benchmark) {
    lookups(
        benchmark,
        &Method::HEAD,
        "/static/resource99/list",
        |outcome| {
            matches!(
                outcome,
                Lookup::Found {
                    head_fallback: true,
                    ..
                }
            )
        },
    );
}

fn method_not_allowed(benchmark: &Benchmark) {
    lookups(benchmark, &Method::DELETE, "/users99/123456", |outcome| {
        matches!(outcome, Lookup::MethodNotAllowed { .. })
    });
}

fn not_found(benchmark: &Benchmark) {
    lookups(
        benchmark,
        &Method::GET,
        "/users99/123456/missing",
        |outcome| matches!(outcome, Lookup::NotFound),
    );
}
