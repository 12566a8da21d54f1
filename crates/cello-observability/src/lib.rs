//! Cello's metrics, without Python: a registry that lives in one shared memory
//! mapping so the forked workers of a server count together ([`Region`]), request
//! metrics recorded on the hot path ([`HttpMetrics`]), process metrics from `/proc`
//! ([`process`]) and the Prometheus text format ([`exposition`]).
//!
//! ```
//! use cello_observability::{exposition, GaugeMode, Kind, Region, SHARED};
//!
//! let region = Region::create().unwrap();
//! let jobs = region.family("jobs_total", "Jobs done.", Kind::Counter, GaugeMode::Sum, &[]).unwrap();
//! let series = region.series(jobs, SHARED, "queue=\"mail\"").unwrap();
//! region.add(series, 1.0);
//! let mut text = String::new();
//! exposition::render(&region, &mut text);
//! assert!(text.contains("jobs_total{queue=\"mail\"} 1\n"));
//! ```

mod error;
pub mod exposition;
pub mod http;
pub mod process;
mod region;
#[cfg(feature = "otel")]
pub mod telemetry;

pub use error::MetricsError;
pub use http::{HttpMetrics, HttpMetricsConfig};
pub use region::{
    FamilyId, FamilyInfo, GaugeMode, Kind, Region, SeriesId, CELLS, MAX_BOUNDS, MAX_FAMILIES,
    MAX_SERIES, MAX_WORKERS, SHARED,
};

/// The W3C trace context of a request's server span, as handlers and logs see it
/// (lower-case hex ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceIds {
    pub trace_id: String,
    pub span_id: String,
    pub sampled: bool,
}

/// Whether `name` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`); label names
/// are the same without colons.
pub fn valid_name(name: &str, label: bool) -> bool {
    let mut characters = name.chars();
    let Some(first) = characters.next() else {
        return false;
    };
    let allowed = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (c == ':' && !label)
            || (!first && c.is_ascii_digit())
    };
    allowed(first, true) && characters.all(|c| allowed(c, false))
}
