//! The region of this process (inherited by forked workers) and `MetricFamily`.

use std::sync::{Mutex, OnceLock};

use cello_observability::{exposition, process, FamilyId, GaugeMode, Kind, Region, SHARED};
use pyo3::prelude::*;

use crate::errors::{invalid, metrics_error};

static REGION: OnceLock<Result<Region, String>> = OnceLock::new();
/// `(pid, slot)`: the worker slot this process took; a forked child sees its
/// parent's pid here and takes its own.
static WORKER: Mutex<Option<(u32, u32)>> = Mutex::new(None);

/// The shared region, created on first use. Created before `fork` (by
/// `app.enable_prometheus` or the first metric), it is shared with every worker.
pub fn region() -> PyResult<Region> {
    match REGION.get_or_init(|| Region::create().map_err(|error| error.to_string())) {
        Ok(region) => Ok(*region),
        Err(message) => Err(invalid(message.clone())),
    }
}

/// The region, if this process created (or inherited) one.
pub fn existing_region() -> Option<Region> {
    REGION
        .get()
        .and_then(|region| region.as_ref().ok().copied())
}

/// This process's worker slot in `region`, taken on first use.
pub fn worker_slot(region: Region) -> PyResult<u32> {
    let pid = std::process::id();
    let mut worker = WORKER
        .lock()
        .map_err(|_| invalid("metrics worker slot poisoned"))?;
    if let Some((owner, slot)) = *worker {
        if owner == pid {
            return Ok(slot);
        }
    }
    let slot = region.claim_worker(pid).map_err(|e| metrics_error(&e))?;
    *worker = Some((pid, slot));
    Ok(slot)
}

/// Creates the shared metrics region now (call before the workers fork).
#[pyfunction]
pub fn metrics_enable() -> PyResult<()> {
    region().map(|_| ())
}

/// The Prometheus text of every metric of the server, then the process metrics
/// (`<namespace>_workers`, ...).
#[pyfunction]
pub fn metrics_render(py: Python<'_>, namespace: &str) -> PyResult<String> {
    let region = region()?;
    let namespace = namespace.to_owned();
    Ok(py.detach(move || {
        let mut text = String::with_capacity(16 * 1024);
        exposition::render(&region, &mut text);
        process::render(&region, &namespace, &mut text);
        text
    }))
}

/// Frees the slot of worker `pid` (the supervisor calls it when it reaps one) and
/// adds its CPU time to the server's total.
#[pyfunction]
pub fn metrics_worker_exited(pid: u32, cpu_seconds: f64) {
    if let Some(region) = existing_region() {
        region.release_worker(pid, cpu_seconds);
    }
}

/// One metric (name) of `cello.observability`: its series are found by label set.
#[pyclass(name = "MetricFamily", module = "cello._cello", frozen)]
pub struct PyMetricFamily {
    region: Region,
    id: FamilyId,
    kind: Kind,
    bounds: Vec<f64>,
}

#[pymethods]
impl PyMetricFamily {
    /// `kind` is "counter", "gauge" or "histogram"; `mode` (gauges) "sum", "max",
    /// "min" or "all"; `bounds` the histogram's bucket bounds, increasing.
    #[new]
    #[pyo3(signature = (name, help, kind, bounds = Vec::new(), mode = "sum"))]
    fn new(name: &str, help: &str, kind: &str, bounds: Vec<f64>, mode: &str) -> PyResult<Self> {
        if !cello_observability::valid_name(name, false) {
            return Err(invalid(format!(
                "invalid metric name {name:?}: use letters, digits, '_' and ':', not starting with a digit"
            )));
        }
        let kind = match kind {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            other => return Err(invalid(format!("unknown metric kind {other:?}"))),
        };
        let mode = match mode {
            "sum" | "livesum" => GaugeMode::Sum,
            "max" | "livemax" => GaugeMode::Max,
            "min" | "livemin" => GaugeMode::Min,
            "all" | "liveall" => GaugeMode::All,
            other => {
                return Err(invalid(format!(
                    "unknown gauge mode {other:?}: use 'sum', 'max', 'min' or 'all'"
                )))
            }
        };
        if bounds.windows(2).any(|pair| pair[0] >= pair[1]) || bounds.iter().any(|b| b.is_nan()) {
            return Err(invalid("histogram buckets must be increasing numbers"));
        }
        let region = region()?;
        let id = region
            .family(name, help, kind, mode, &bounds)
            .map_err(|e| metrics_error(&e))?;
        Ok(Self {
            region,
            id,
            kind,
            bounds,
        })
    }

    /// The series id of a label set (`[(name, value), ...]`); `None` when the region
    /// is full. Gauges have one series per worker: call again after a fork.
    // pyo3 extracts the list as an owned Vec
    #[allow(clippy::needless_pass_by_value)]
    fn series(&self, labels: Vec<(String, String)>) -> PyResult<Option<u32>> {
        for (name, _) in &labels {
            if !cello_observability::valid_name(name, true) || name.starts_with("__") {
                return Err(invalid(format!("invalid label name {name:?}")));
            }
        }
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let text = exposition::label_set(&pairs);
        let worker = if self.kind == Kind::Gauge {
            worker_slot(self.region)?
        } else {
            SHARED
        };
        Ok(self
            .region
            .series(self.id, worker, &text)
            .map(|series| series.0))
    }

    /// Adds `amount` to a counter or gauge series.
    fn add(&self, series: u32, amount: f64) {
        self.region
            .add(cello_observability::SeriesId(series), amount);
    }

    /// Sets a gauge series.
    fn set(&self, series: u32, value: f64) {
        self.region
            .set(cello_observability::SeriesId(series), value);
    }

    /// Records `value` in a histogram series.
    fn observe(&self, series: u32, value: f64) {
        self.region
            .observe(cello_observability::SeriesId(series), &self.bounds, value);
    }

    /// The current value of a counter or gauge series (this worker's, for gauges).
    fn value(&self, series: u32) -> f64 {
        self.region.value(cello_observability::SeriesId(series))
    }
}
