//! `lookup` must not allocate in the common case. A counting global allocator counts the
//! allocations of the current thread only, so tests running in parallel do not interfere.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cello_router::{Lookup, Method, Router, RouterBuilder};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is a
// const-initialised thread-local without a destructor, so touching it never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded with the caller's layout, which GlobalAlloc requires to be valid.
        unsafe { System.alloc(layout) }
    }

    // Growing an allocation is not a new one: forwarded without counting.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System.alloc` with this layout; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(run: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    run();
    ALLOCATIONS.with(Cell::get) - before
}

fn app() -> Router<u32> {
    let mut builder = RouterBuilder::new();
    let routes: [(&[Method], &str); 6] = [
        (&[Method::GET], "/"),
        (&[Method::GET, Method::POST], "/users/{id:int}"),
        (&[Method::GET], "/orders/{order:uuid}/lines/{line:int}"),
        (&[Method::GET], "/files/{*rest}"),
        (&[Method::PUT], "/about"),
        (&[Method::GET], "/blog/"),
    ];
    for (index, (methods, path)) in (0..).zip(routes) {
        builder.insert(methods, path, index, path).unwrap();
    }
    builder.freeze()
}

#[test]
fn common_lookups_do_not_allocate() {
    let router = app();
    let requests = [
        (Method::GET, "/"),
        (Method::GET, "/users/42"),
        (Method::HEAD, "/users/42"),
        (Method::DELETE, "/users/42"),
        (Method::OPTIONS, "/users/42"),
        (Method::GET, "/users/abc"),
        (
            Method::GET,
            "/orders/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b/lines/3",
        ),
        (Method::GET, "/files/a/b/c.txt"),
        (Method::GET, "/nowhere"),
        (Method::GET, "/nowhere/"),
    ];
    for (method, path) in &requests {
        let count = allocations_during(|| {
            let lookup = router.lookup(method, path);
            assert!(!matches!(lookup, Lookup::RedirectSlash { .. }));
            drop(lookup);
        });
        assert_eq!(count, 0, "{method} {path} allocated");
    }
}

#[test]
fn percent_decoding_is_the_allocation_that_remains() {
    let router = app();
    let count = allocations_during(|| drop(router.lookup(&Method::GET, "/files/a%20b")));
    assert_eq!(count, 1);
}

#[test]
fn a_miss_probing_for_a_trailing_slash_route_does_not_allocate() {
    let router = app();
    assert_eq!(
        allocations_during(|| drop(router.lookup(&Method::GET, "/blag"))),
        0
    );
    let long = format!("/{}", "x".repeat(300));
    assert_eq!(
        allocations_during(|| drop(router.lookup(&Method::GET, &long))),
        1
    );
}

/// Documents a matchit 0.8.6 behaviour the README mentions: when the next character of the
/// path matches a static route that sits beside a parameter route, matchit records a
/// backtracking point in a `Vec`, and more than three parameters spill to the heap.
#[test]
fn matchit_allocates_beside_static_siblings_and_past_three_params() {
    let mut builder = RouterBuilder::new();
    builder
        .insert(&[Method::GET], "/users/me", 0, "me")
        .unwrap();
    builder
        .insert(&[Method::GET], "/users/{id}", 1, "user")
        .unwrap();
    builder
        .insert(&[Method::GET], "/p/{a}/{b}/{c}/{d}", 2, "four")
        .unwrap();
    let router = builder.freeze();
    assert_eq!(
        allocations_during(|| drop(router.lookup(&Method::GET, "/users/42"))),
        0
    );
    assert!(allocations_during(|| drop(router.lookup(&Method::GET, "/users/mary"))) > 0);
    assert!(allocations_during(|| drop(router.lookup(&Method::GET, "/p/1/2/3/4"))) > 0);
}
