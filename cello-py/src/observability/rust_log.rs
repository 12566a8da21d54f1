//! Rust's `tracing` events (targets `cello::*`: connection errors, handler panics)
//! forwarded to a Python callable, so they come out through Python's `logging` in
//! the app's format. Rate-limited: a client sending garbage on many connections
//! cannot flood the log (suppressed lines are counted in the next one).
//!
//! No subscriber is installed until an app enables logging, so with logging off
//! every `tracing` call site stays disabled at no cost.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{span, Event, Level, Metadata, Subscriber};

/// 0: off, else the most verbose level forwarded (1 error .. 5 trace).
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: Mutex<Option<Sink>> = Mutex::new(None);
static INSTALL: Once = Once::new();

struct Sink {
    callback: Py<PyAny>,
    limiter: Limiter,
}

/// A token bucket: `burst` lines at once, then `per_second`.
struct Limiter {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
    suppressed: u64,
}

impl Limiter {
    fn admit(&mut self) -> Option<u64> {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens < 1.0 {
            self.suppressed += 1;
            return None;
        }
        self.tokens -= 1.0;
        Some(std::mem::take(&mut self.suppressed))
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn python_level(level: Level) -> u8 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

struct PythonLogs;

#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl PythonLogs {
    fn wanted(metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("cello")
            && rank(*metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }
}

impl Subscriber for PythonLogs {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::wanted(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match MAX_LEVEL.load(Ordering::Relaxed) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::wanted(metadata)
    }

    fn new_span(&self, _span: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _span: &span::Id, _values: &span::Record<'_>) {}

    fn record_follows_from(&self, _span: &span::Id, _follows: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message::default();
        event.record(&mut message);
        let metadata = event.metadata();
        let Ok(mut sink) = SINK.lock() else { return };
        let Some(sink) = sink.as_mut() else { return };
        let Some(suppressed) = sink.limiter.admit() else {
            return;
        };
        let mut text = format!("{}{}", message.text, message.fields);
        if suppressed > 0 {
            use std::fmt::Write as _;
            let _ = write!(text, " ({suppressed} similar lines suppressed)");
        }
        let logger = metadata.target().replace("::", ".");
        let level = python_level(*metadata.level());
        Python::attach(|py| {
            if let Err(error) = sink.callback.call1(py, (level, logger, text)) {
                error.print(py);
            }
        });
    }

    fn enter(&self, _span: &span::Id) {}

    fn exit(&self, _span: &span::Id) {}
}

/// Forwards Rust's `cello::*` events at `level` (a Python level number) and above to
/// `sink(level, logger_name, message)`, at most `burst` at once and `per_second`
/// after; `sink=None` stops forwarding.
#[pyfunction]
#[pyo3(signature = (sink, level = 20, per_second = 10.0, burst = 20.0))]
pub fn set_log_sink(sink: Option<Py<PyAny>>, level: u8, per_second: f64, burst: f64) {
    let max = match (&sink, level) {
        (None, _) => 0,
        (Some(_), 0..=5) => 5,
        (Some(_), 6..=10) => 4,
        (Some(_), 11..=20) => 3,
        (Some(_), 21..=30) => 2,
        (Some(_), _) => 1,
    };
    if let Ok(mut slot) = SINK.lock() {
        *slot = sink.map(|callback| Sink {
            callback,
            limiter: Limiter {
                tokens: burst.max(1.0),
                burst: burst.max(1.0),
                per_second: per_second.max(0.0),
                last: Instant::now(),
                suppressed: 0,
            },
        });
    }
    MAX_LEVEL.store(max, Ordering::Relaxed);
    if max > 0 {
        INSTALL.call_once(|| {
            // Fails only if another global subscriber exists; then that one gets the events.
            let _ = tracing::subscriber::set_global_default(PythonLogs);
        });
    }
    tracing::callsite::rebuild_interest_cache();
}
