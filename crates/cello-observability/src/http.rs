//! Request metrics of an HTTP server: counts by method, route template and status,
//! durations, request and response sizes, requests in flight.
//!
//! Route templates (`/users/{id}`), not raw paths, keep the number of series bounded;
//! a request no route matched is counted under `route="unmatched"`. A recorder
//! belongs to one worker thread (it caches its series ids without a lock).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use http::Method;

use crate::error::MetricsError;
use crate::exposition::label_set;
use crate::region::{FamilyId, GaugeMode, Kind, Region, SeriesId, SHARED};

/// Seconds; from 1 ms to 10 s, as most Prometheus HTTP instrumentations.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Bytes; from 100 B to 100 MB, in powers of ten and halves.
pub const SIZE_BUCKETS: [f64; 13] = [
    100.0, 500.0, 1e3, 5e3, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 1e7, 5e7, 1e8,
];

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Names of the request metrics: `<namespace>_<subsystem>_requests_total` and so on.
#[derive(Clone, Debug)]
pub struct HttpMetricsConfig {
    pub namespace: String,
    pub subsystem: String,
}

impl HttpMetricsConfig {
    fn name(&self, metric: &str) -> String {
        [self.namespace.as_str(), self.subsystem.as_str(), metric]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("_")
    }
}

/// The series one (route, method, status) records into.
#[derive(Clone, Copy)]
struct RequestSeries {
    count: Option<SeriesId>,
    duration: Option<SeriesId>,
    request_size: Option<SeriesId>,
    response_size: Option<SeriesId>,
}

/// Entries cached per recorder; past this, series are found in the region each time
/// (correct, only slower), so a caller passing fresh strings cannot grow it.
const CACHE_LIMIT: usize = 4096;

/// A multiply-rotate hash for the small integer keys of the cache (SipHash's DoS
/// resistance is not needed: clients do not choose the keys).
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_u16(&mut self, value: u16) {
        self.write_u64(u64::from(value));
    }
}

type Cache = HashMap<
    (usize, usize, u16, u16),
    (Box<str>, RequestSeries),
    std::hash::BuildHasherDefault<KeyHasher>,
>;

/// Records request metrics into a [`Region`] for one worker.
pub struct HttpMetrics {
    region: Region,
    requests: FamilyId,
    duration: FamilyId,
    request_size: FamilyId,
    response_size: FamilyId,
    in_flight: Option<SeriesId>,
    /// By (route address, route length, method, status): a route template from a
    /// frozen router keeps its address, so a hit costs no string hashing.
    cache: RefCell<Cache>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

/// The method label: the standard methods by name, anything else `other` (a client
/// cannot create series by inventing methods).
pub fn method_label(method: &Method) -> (u16, &'static str) {
    match *method {
        Method::GET => (0, "GET"),
        Method::POST => (1, "POST"),
        Method::PUT => (2, "PUT"),
        Method::PATCH => (3, "PATCH"),
        Method::DELETE => (4, "DELETE"),
        Method::HEAD => (5, "HEAD"),
        Method::OPTIONS => (6, "OPTIONS"),
        Method::CONNECT => (7, "CONNECT"),
        Method::TRACE => (8, "TRACE"),
        _ => (9, "other"),
    }
}

/// Decrements the in-flight gauge when the request is done (or its future dropped).
pub struct InFlight<'a> {
    metrics: &'a HttpMetrics,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(series) = self.metrics.in_flight {
            self.metrics.region.add(series, -1.0);
        }
    }
}

impl HttpMetrics {
    /// Registers the request families in `region` for worker slot `worker`
    /// ([`Region::claim_worker`]).
    ///
    /// # Errors
    /// A name already registered differently, or a full region.
    pub fn new(
        region: Region,
        config: &HttpMetricsConfig,
        worker: u32,
    ) -> Result<Self, MetricsError> {
        let requests = region.family(
            &config.name("requests_total"),
            "HTTP requests answered, by method, route template and status.",
            Kind::Counter,
            GaugeMode::Sum,
            &[],
        )?;
        let duration = region.family(
            &config.name("request_duration_seconds"),
            "Time from the request head to the response head, in seconds.",
            Kind::Histogram,
            GaugeMode::Sum,
            &DURATION_BUCKETS,
        )?;
        let request_size = region.family(
            &config.name("request_size_bytes"),
            "Request body sizes (Content-Length), in bytes.",
            Kind::Histogram,
            GaugeMode::Sum,
            &SIZE_BUCKETS,
        )?;
        let response_size = region.family(
            &config.name("response_size_bytes"),
            "Response body sizes (when known before sending), in bytes.",
            Kind::Histogram,
            GaugeMode::Sum,
            &SIZE_BUCKETS,
        )?;
        let in_flight_family = region.family(
            &config.name("requests_in_flight"),
            "HTTP requests being handled.",
            Kind::Gauge,
            GaugeMode::Sum,
            &[],
        )?;
        let in_flight = region.series(in_flight_family, worker, "");
        Ok(Self {
            region,
            requests,
            duration,
            request_size,
            response_size,
            in_flight,
            cache: RefCell::new(Cache::default()),
        })
    }

    /// Counts a request in flight until the guard drops.
    pub fn start(&self) -> InFlight<'_> {
        if let Some(series) = self.in_flight {
            self.region.add(series, 1.0);
        }
        InFlight { metrics: self }
    }

    fn resolve(&self, method: &'static str, route: &str, status: u16) -> RequestSeries {
        let status_text = status.to_string();
        let labels = label_set(&[("method", method), ("route", route)]);
        let counted = label_set(&[
            ("method", method),
            ("route", route),
            ("status", &status_text),
        ]);
        RequestSeries {
            count: self.region.series(self.requests, SHARED, &counted),
            duration: self.region.series(self.duration, SHARED, &labels),
            request_size: self.region.series(self.request_size, SHARED, &labels),
            response_size: self.region.series(self.response_size, SHARED, &labels),
        }
    }

    fn series(&self, method: &Method, route: &str, status: u16) -> RequestSeries {
        let (method_index, method_name) = method_label(method);
        let key = (route.as_ptr() as usize, route.len(), method_index, status);
        if let Some((cached_route, series)) = self.cache.borrow().get(&key) {
            if **cached_route == *route {
                return *series;
            }
        }
        let series = self.resolve(method_name, route, status);
        let mut cache = self.cache.borrow_mut();
        if cache.len() < CACHE_LIMIT {
            cache.insert(key, (Box::from(route), series));
        }
        series
    }

    /// Records one answered request. `route` is the matched route's template, or
    /// `None` (counted as `unmatched`).
    pub fn record(
        &self,
        method: &Method,
        route: Option<&str>,
        status: u16,
        elapsed: Duration,
        request_size: Option<u64>,
        response_size: Option<u64>,
    ) {
        let series = self.series(method, route.unwrap_or(UNMATCHED), status);
        if let Some(count) = series.count {
            self.region.add(count, 1.0);
        }
        if let Some(duration) = series.duration {
            self.region
                .observe(duration, &DURATION_BUCKETS, elapsed.as_secs_f64());
        }
        if let (Some(sizes), Some(size)) = (series.request_size, request_size) {
            self.region.observe(sizes, &SIZE_BUCKETS, size as f64);
        }
        if let (Some(sizes), Some(size)) = (series.response_size, response_size) {
            self.region.observe(sizes, &SIZE_BUCKETS, size as f64);
        }
    }
}
