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
mod phases;
pub mod process;
mod region;
#[cfg(feature = "otel")]
pub mod telemetry;

pub use error::MetricsError;
pub use http::{HttpMetrics, HttpMetricsConfig};
pub use phases::{Phase, Phases};
pub use region::{
    FamilyId, FamilyInfo, GaugeMode, Kind, Region, SeriesId, CELLS, MAX_BOUNDS, MAX_FAMILIES,
    MAX_SERIES, MAX_WORKERS, SHARED,
};

/// The W3C trace context of a request's server span, as handlers and logs see it.
/// Kept as integers (formatted only when asked for: most requests never are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceIds {
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
}

impl TraceIds {
    /// 32 lower-case hex digits.
    pub fn trace_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// 16 lower-case hex digits.
    pub fn span_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
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
