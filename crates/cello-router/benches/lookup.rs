//! Lookup cost against router size: 10, 100 and 1,000 routes, each looked up as a static
//! path, a path with one parameter, and a deep catch-all.
//!
//! Run with `cargo bench -p cello-router`.

use std::hint::black_box;

use cello_router::{Lookup, Method, Router, RouterBuilder};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// `size` routes of each kind, so the matcher has realistic siblings at every level.
fn router(size: usize) -> Router<usize> {
    let mut builder = RouterBuilder::new();
    for i in 0..size {
        let owner = format!("bench {i}");
        let routes = [
            format!("/static/resource{i}/list"),
            format!("/users{i}/{{id:int}}"),
            format!("/files{i}/{{*rest}}"),
        ];
        for (kind, path) in routes.iter().enumerate() {
            builder
                .insert(&[Method::GET], path, i * 3 + kind, &owner)
                .unwrap();
        }
    }
    builder.freeze()
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for size in [10, 100, 1_000] {
        let router = router(size);
        // The last registered route of each kind: the worst case for a naive scan.
        let last = size - 1;
        let cases = [
            ("static", format!("/static/resource{last}/list")),
            ("one_param", format!("/users{last}/123456")),
            (
                "deep_catch_all",
                format!("/files{last}/a/b/c/d/e/f/g/h/i/j/index.html"),
            ),
        ];
        for (kind, path) in &cases {
            assert!(matches!(
                router.lookup(&Method::GET, path),
                Lookup::Found { .. }
            ));
            group.bench_with_input(BenchmarkId::new(*kind, size), path, |b, path| {
                b.iter(|| black_box(router.lookup(black_box(&Method::GET), black_box(path))));
            });
        }
        let miss = format!("/users{last}/123456/missing");
        group.bench_with_input(BenchmarkId::new("not_found", size), &miss, |b, path| {
            b.iter(|| black_box(router.lookup(black_box(&Method::GET), black_box(path))));
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
