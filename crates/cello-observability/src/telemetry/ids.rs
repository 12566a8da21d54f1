//! Trace and span ids, and the sampling decision for a request that carries no
//! `traceparent`, made without the SDK: an unsampled request (most of them at a low
//! sampling rate) then costs a few arithmetic steps and no span object at all.
//!
//! The decision is the SDK's `TraceIdRatioBased` one (the low 64 bits of the trace id,
//! shifted right once, against `rate × 2^63`), so a sampled request's span, started
//! in the SDK with these ids, is decided the same way there.

use std::cell::Cell;
use std::hash::{BuildHasher as _, Hasher as _};

thread_local! {
    /// wyrand's state: seeded per thread (and per process, so forked workers
    /// differ) from the standard library's random hasher keys.
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64),
    );
    format!("{:?}", std::thread::current().id())
        .bytes()
        .for_each(|byte| hasher.write_u8(byte));
    hasher.finish()
}

/// wyrand (Wang Yi's 64-bit generator): fast, with good statistical quality; ids
/// need to be unique and evenly spread, not secret.
fn wyrand(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0xa076_1d64_78bd_642f);
    let t = u128::from(*state) * u128::from(*state ^ 0xe703_7ed1_a0b4_28db);
    (t >> 64) as u64 ^ t as u64
}

/// A new trace id and span id, both valid (non-zero), drawn with one access to the
/// thread's state.
pub(crate) fn fresh() -> (u128, u64) {
    STATE.with(|cell| {
        let mut state = cell.get();
        let trace_id = (u128::from(wyrand(&mut state)) << 64) | u128::from(wyrand(&mut state));
        let span_id = wyrand(&mut state);
        cell.set(state);
        // Zero is the invalid id; drawing it (2^-64 for a span, 2^-128 for a trace)
        // becomes 1, without a branch.
        (
            trace_id | u128::from(trace_id == 0),
            span_id | u64::from(span_id == 0),
        )
    })
}

/// The ratio sampler's threshold for `rate` (0 to 1).
pub(crate) fn threshold(rate: f64) -> Option<u64> {
    // rate ≥ 1 samples everything (`None`); the SDK's own arithmetic otherwise.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (rate < 1.0).then(|| (rate.max(0.0) * (1u64 << 63) as f64) as u64)
}

/// Whether a root span with `trace_id` is sampled under `threshold`.
pub(crate) fn sampled(trace_id: u128, threshold: Option<u64>) -> bool {
    threshold.is_none_or(|bound| ((trace_id as u64) >> 1) < bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_id() -> u128 {
        fresh().0
    }

    #[test]
    fn ids_are_valid_and_distinct() {
        let mut traces = std::collections::HashSet::new();
        let mut spans = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let (trace_id, span_id) = fresh();
            assert!(traces.insert(trace_id));
            assert!(spans.insert(span_id));
            assert_ne!(span_id, 0);
        }
    }

    #[test]
    fn the_decision_is_the_ratio_samplers() {
        assert!(sampled(u128::MAX, threshold(1.0)));
        assert!(!sampled(0, threshold(0.0)));
        // Low 64 bits 2 → 1 after the shift: under any positive threshold.
        assert!(sampled(2, threshold(0.01)));
        assert!(!sampled(u128::from(u64::MAX), threshold(0.5)));
        let rate = 0.25;
        let hits = (0..40_000)
            .filter(|_| sampled(trace_id(), threshold(rate)))
            .count();
        // 10,000 expected; ±5 standard deviations (about 87 each).
        assert!(
            (9_565..=10_435).contains(&hits),
            "{hits} of 40000 sampled at 0.25"
        );
    }

    #[test]
    fn threads_draw_different_ids() {
        let here = trace_id();
        let there = std::thread::spawn(trace_id).join().unwrap();
        assert_ne!(here, there);
    }
}
