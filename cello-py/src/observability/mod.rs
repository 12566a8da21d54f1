//! The binding of cello-observability: the process's shared metrics region, metric
//! families for Python's `cello.observability` classes, and the per-request hook the
//! dispatcher calls when an app enabled metrics or health probes.

mod access_log;
mod hook;
mod metrics;
mod rust_log;
#[cfg(feature = "otel")]
mod sent;

pub(crate) use access_log::access_log;
pub use hook::{Begin, Observability, Observed, PyObservability, Seen};

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<metrics::PyMetricFamily>()?;
    m.add_class::<PyObservability>()?;
    m.add_function(wrap_pyfunction!(metrics::metrics_enable, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_render, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_worker_exited, m)?)?;
    m.add_function(wrap_pyfunction!(rust_log::set_log_sink, m)?)?;
    Ok(())
}
