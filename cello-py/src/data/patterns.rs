//! The binding of cello-patterns: the event store and the saga checkpoints over a
//! worker's pool (`cello.eventsourcing` and `cello.saga` wrap them). Records cross as
//! dicts; payloads are JSON values converted by the crate's encoder and decoder.

use cello_patterns::{
    EventStore, Expected, NewEvent, PatternsError, RawEvent, RecordedEvent, SagaStore,
};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyModule, PyString};

use super::convert::{json_of, json_to_python};
use super::database::PyDatabase;
use super::errors::to_py;
use super::tasks::{spawn_fallible as spawn, IntoPyException};
use crate::driver::PyDriver;

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

impl IntoPyException for PatternsError {
    fn to_exception(&self, py: Python<'_>) -> PyErr {
        match self {
            Self::Data(error) => to_py(py, error),
            Self::Invalid(message) => PyValueError::new_err(message.clone()),
            Self::Concurrency { stream, actual, .. } => {
                let raised = MODULE
                    .get_or_try_init(py, || {
                        Ok::<_, PyErr>(py.import("cello.eventsourcing")?.unbind())
                    })
                    .and_then(|module| {
                        let class = module.bind(py).getattr("ConcurrencyError")?;
                        class.call1((self.to_string(), stream.clone(), *actual))
                    });
                match raised {
                    Ok(exception) => PyErr::from_value(exception),
                    Err(failed) => failed,
                }
            }
            other => pyo3::exceptions::PyRuntimeError::new_err(other.to_string()),
        }
    }
}

fn json_out(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    Ok(json_to_python(py, value)?.unbind())
}

fn json_list(
    py: Python<'_>,
    values: impl Iterator<Item = serde_json::Value>,
) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for value in values {
        list.append(json_to_python(py, &value)?)?;
    }
    Ok(list.into_any().unbind())
}

/// Appended events as dicts, like stored ones (their JSON written out again: an append
/// holds a few events, a replay thousands).
fn records(py: Python<'_>, events: &[RecordedEvent]) -> PyResult<Py<PyAny>> {
    let raw: Vec<RawEvent> = events
        .iter()
        .map(|event| RawEvent {
            position: event.position,
            stream_id: event.stream_id.clone(),
            version: event.version,
            event_id: event.event_id.clone(),
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            data: event.data.to_string(),
            metadata: event.metadata.to_string(),
            recorded_at: event.recorded_at.clone(),
        })
        .collect();
    raw_records(py, &raw)
}

/// Stored events as dicts, their JSON decoded straight into Python objects.
fn raw_records(py: Python<'_>, events: &[RawEvent]) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    // A stream's events share their stream id and a handful of types: one string
    // object each instead of one per event.
    let mut stream_id = Reused::default();
    let mut event_type = Reused::default();
    for event in events {
        let dict = PyDict::new(py);
        dict.set_item(intern!(py, "position"), event.position)?;
        dict.set_item(
            intern!(py, "stream_id"),
            stream_id.get(py, &event.stream_id),
        )?;
        dict.set_item(intern!(py, "version"), event.version)?;
        dict.set_item(intern!(py, "event_id"), &event.event_id)?;
        dict.set_item(
            intern!(py, "event_type"),
            event_type.get(py, &event.event_type),
        )?;
        dict.set_item(intern!(py, "schema_version"), event.schema_version)?;
        dict.set_item(
            intern!(py, "data"),
            crate::json::decode(py, event.data.as_bytes())?,
        )?;
        dict.set_item(
            intern!(py, "metadata"),
            crate::json::decode(py, event.metadata.as_bytes())?,
        )?;
        dict.set_item(intern!(py, "recorded_at"), &event.recorded_at)?;
        list.append(dict)?;
    }
    Ok(list.into_any().unbind())
}

/// Strings made once for texts that repeat (up to 16 distinct ones are kept).
#[derive(Default)]
struct Reused<'py> {
    made: Vec<(String, Bound<'py, PyString>)>,
}

impl<'py> Reused<'py> {
    fn get(&mut self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        if let Some((_, string)) = self.made.iter().find(|(made, _)| made == text) {
            return string.clone();
        }
        let string = PyString::new(py, text);
        if self.made.len() < 16 {
            self.made.push((text.to_owned(), string.clone()));
        }
        string
    }
}

fn expected_of(value: &Bound<'_, PyAny>) -> PyResult<Expected> {
    if value.is_none() {
        return Ok(Expected::Any);
    }
    if let Ok(text) = value.extract::<&str>() {
        return match text {
            "any" => Ok(Expected::Any),
            "no_stream" => Ok(Expected::NoStream),
            _ => Err(crate::errors::invalid(format!(
                "expected_version must be None, \"any\", \"no_stream\" or a version number, got {text:?}"
            ))),
        };
    }
    let version: i64 = value.extract()?;
    if version < 0 {
        return Err(crate::errors::invalid(format!(
            "expected_version cannot be negative, got {version}"
        )));
    }
    Ok(if version == 0 {
        Expected::NoStream
    } else {
        Expected::Exact(version)
    })
}

fn lease_of(seconds: f64) -> PyResult<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
        crate::errors::invalid(format!(
            "a lease must be a positive number of seconds, got {seconds}"
        ))
    })
}

fn new_event(item: &Bound<'_, PyAny>) -> PyResult<NewEvent> {
    let event = item.cast::<PyDict>()?;
    let field = |name: &str| event.get_item(name);
    let event_type: String = field("event_type")?
        .ok_or_else(|| crate::errors::invalid("an event needs an event_type"))?
        .extract()?;
    let data = match field("data")? {
        Some(data) => json_of(&data)?,
        None => serde_json::json!({}),
    };
    let mut new = NewEvent::new(event_type, data);
    if let Some(id) = field("event_id")? {
        if !id.is_none() {
            new.event_id = id.extract()?;
        }
    }
    if let Some(version) = field("schema_version")? {
        new.schema_version = version.extract()?;
    }
    if let Some(metadata) = field("metadata")? {
        if !metadata.is_none() {
            new.metadata = json_of(&metadata)?;
        }
    }
    Ok(new)
}

/// The event store of one pool (`cello.eventsourcing.EventStore` wraps it).
#[pyclass(name = "EventStoreCore", module = "cello._cello", frozen)]
pub struct PyEventStore {
    store: EventStore,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyEventStore {
    /// A store on `database`'s pool, its tables named `<prefix>events`, ...; with
    /// `outbox`, each append also writes its events to the outbox for that destination.
    #[new]
    #[pyo3(signature = (database, prefix = "cello_".to_owned(), outbox = None))]
    fn new(
        py: Python<'_>,
        database: &PyDatabase,
        prefix: String,
        outbox: Option<String>,
    ) -> PyResult<Self> {
        let (db, driver) = database.handle();
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(crate::errors::invalid(format!(
                "the table prefix {prefix:?} may hold only letters, digits and underscores"
            )));
        }
        let mut store = EventStore::new(db.clone(), prefix);
        if let Some(destination) = outbox {
            store = store.with_outbox(destination);
        }
        Ok(Self {
            store,
            driver: driver.clone_ref(py),
        })
    }

    /// Appends `events` (dicts with event_type, data, and optionally event_id,
    /// schema_version, metadata) to `stream` at `expected` (None, "any", "no_stream", or
    /// a version); resolves with the recorded events.
    fn append(
        &self,
        future: Py<PyAny>,
        stream: String,
        expected: &Bound<'_, PyAny>,
        events: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let expected = expected_of(expected)?;
        let events = events
            .try_iter()?
            .map(|item| new_event(&item?))
            .collect::<PyResult<Vec<_>>>()?;
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.append(&stream, expected, events).await },
            |py, recorded| records(py, &recorded),
        )
    }

    /// The events of `stream` after `from_version`.
    #[pyo3(signature = (future, stream, from_version = 0))]
    fn read_stream(&self, future: Py<PyAny>, stream: String, from_version: i64) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.read_stream_raw(&stream, from_version).await },
            |py, events| raw_records(py, &events),
        )
    }

    /// Up to `limit` events after global position `from_position`.
    #[pyo3(signature = (future, from_position = 0, limit = 1000))]
    fn read_all(&self, future: Py<PyAny>, from_position: i64, limit: i64) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.read_all_raw(from_position, limit).await },
            |py, events| raw_records(py, &events),
        )
    }

    /// The version of `stream` (0 when it has no events).
    fn stream_version(&self, future: Py<PyAny>, stream: String) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.stream_version(&stream).await },
            |py, version| Ok(version.into_pyobject(py)?.into_any().unbind()),
        )
    }

    /// Replaces the snapshot of `stream` with `state` as of `version`.
    fn save_snapshot(
        &self,
        future: Py<PyAny>,
        stream: String,
        version: i64,
        state: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let state = json_of(state)?;
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.save_snapshot(&stream, version, &state).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// The latest snapshot of `stream` as a dict (stream_id, version, state,
    /// recorded_at), or None.
    fn load_snapshot(&self, future: Py<PyAny>, stream: String) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.load_snapshot(&stream).await },
            |py, snapshot| match snapshot {
                None => Ok(py.None()),
                Some(snapshot) => json_out(
                    py,
                    &serde_json::json!({
                        "stream_id": snapshot.stream_id,
                        "version": snapshot.version,
                        "state": snapshot.state,
                        "recorded_at": snapshot.recorded_at,
                    }),
                ),
            },
        )
    }

    /// The global position projection `name` has processed up to.
    fn projection_position(&self, future: Py<PyAny>, name: String) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.projection_position(&name).await },
            |py, position| Ok(position.into_pyobject(py)?.into_any().unbind()),
        )
    }

    /// Creates the tables now (they are also created on first use).
    fn ensure_schema(&self, future: Py<PyAny>) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.ensure_schema().await },
            |py, ()| Ok(py.None()),
        )
    }
}

/// The saga checkpoints of one pool (`cello.saga`'s durable runner uses it).
#[pyclass(name = "SagaStoreCore", module = "cello._cello", frozen)]
pub struct PySagaStore {
    store: SagaStore,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PySagaStore {
    #[new]
    #[pyo3(signature = (database, prefix = "cello_".to_owned()))]
    fn new(py: Python<'_>, database: &PyDatabase, prefix: String) -> PyResult<Self> {
        let (db, driver) = database.handle();
        Ok(Self {
            store: SagaStore::new(db.clone(), prefix),
            driver: driver.clone_ref(py),
        })
    }

    /// Records a new running instance with its steps pending, leased to `owner`.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        future: Py<PyAny>,
        id: String,
        saga_name: String,
        context: &Bound<'_, PyAny>,
        steps: Vec<String>,
        owner: String,
        lease_secs: f64,
    ) -> PyResult<()> {
        let context = json_of(context)?;
        let lease = lease_of(lease_secs)?;
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move {
                store
                    .start(&id, &saga_name, &context, &steps, &owner, lease)
                    .await
            },
            |py, ()| Ok(py.None()),
        )
    }

    /// Takes or renews the lease on `id` for `owner`; resolves with whether it did.
    fn claim(&self, future: Py<PyAny>, id: String, owner: String, lease_secs: f64) -> PyResult<()> {
        let lease = lease_of(lease_secs)?;
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.claim(&id, &owner, lease).await },
            |py, claimed| Ok(claimed.into_pyobject(py)?.to_owned().into_any().unbind()),
        )
    }

    /// Checkpoints a step and the instance's context in one transaction.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (future, id, index, status, attempts, result, error, context))]
    fn record_step(
        &self,
        future: Py<PyAny>,
        id: String,
        index: i64,
        status: String,
        attempts: i64,
        result: &Bound<'_, PyAny>,
        error: Option<String>,
        context: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let result = if result.is_none() {
            None
        } else {
            Some(json_of(result)?)
        };
        let context = json_of(context)?;
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move {
                store
                    .record_step(
                        &id,
                        index,
                        &status,
                        attempts,
                        result.as_ref(),
                        error.as_deref(),
                        &context,
                    )
                    .await
            },
            |py, ()| Ok(py.None()),
        )
    }

    /// Sets the instance's status (and error).
    #[pyo3(signature = (future, id, status, error = None))]
    fn set_status(
        &self,
        future: Py<PyAny>,
        id: String,
        status: String,
        error: Option<String>,
    ) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.set_status(&id, &status, error.as_deref()).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// One instance with its steps as a dict, or None.
    fn get(&self, future: Py<PyAny>, id: String) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.get(&id).await },
            |py, instance| match instance {
                None => Ok(py.None()),
                Some(instance) => json_out(py, &instance.to_json()),
            },
        )
    }

    /// Instances oldest first, filtered by status and saga name when given.
    #[pyo3(signature = (future, status = None, saga_name = None))]
    fn list(
        &self,
        future: Py<PyAny>,
        status: Option<String>,
        saga_name: Option<String>,
    ) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.list(status.as_deref(), saga_name.as_deref()).await },
            |py, found| json_list(py, found.iter().map(|instance| instance.to_json())),
        )
    }

    /// Instances a starting worker must resume (running or compensating).
    fn unfinished(&self, future: Py<PyAny>) -> PyResult<()> {
        let store = self.store.clone();
        spawn(
            &self.driver,
            future,
            async move { store.unfinished().await },
            |py, found| json_list(py, found.iter().map(|instance| instance.to_json())),
        )
    }
}
