//! `Redis` and `Subscription`: handles on cello-data's Redis client, resolved into
//! asyncio futures of the worker's loop (the same spawning as `database.rs`).

use std::sync::Arc;
use std::time::Duration;

use cello_data::{PubSubMessage, RedisClient, RedisConfig, Value};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use tokio::sync::{mpsc, Mutex};

use super::convert::to_python;
use super::tasks::spawn;
use crate::driver::PyDriver;

/// One command's arguments as bytes: str (UTF-8), bytes, int, float.
fn command_args(args: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for item in args.try_iter()? {
        let item = item?;
        if let Ok(text) = item.cast::<PyString>() {
            out.push(text.to_str()?.as_bytes().to_vec());
        } else if let Ok(bytes) = item.cast::<PyBytes>() {
            out.push(bytes.as_bytes().to_vec());
        } else if item.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err(
                "a Redis argument cannot be a bool: pass 1/0 or a string",
            ));
        } else if item.is_instance_of::<pyo3::types::PyInt>()
            || item.is_instance_of::<pyo3::types::PyFloat>()
        {
            out.push(item.str()?.to_str()?.as_bytes().to_vec());
        } else {
            return Err(PyTypeError::new_err(format!(
                "a Redis argument must be str, bytes, int or float, got {}",
                item.get_type().name()?
            )));
        }
    }
    Ok(out)
}

/// Replies: bulk strings as str when they are UTF-8 (bytes otherwise), numbers, lists.
fn reply_to_python(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => PyString::new(py, text).into_any().unbind(),
            Err(_) => PyBytes::new(py, bytes).into_any().unbind(),
        },
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(reply_to_python(py, item)?)?;
            }
            list.into_any().unbind()
        }
        other => to_python(py, other)?.unbind(),
    })
}

/// A worker's Redis connection (`cello.data.Redis` wraps it).
#[pyclass(name = "Redis", module = "cello._cello", frozen)]
pub struct PyRedis {
    client: RedisClient,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyRedis {
    /// Connects on the worker's runtime and resolves `future` with the client.
    #[staticmethod]
    #[pyo3(signature = (driver, future, url, database, password, connection_timeout_secs, cluster = false))]
    fn connect(
        driver: &Bound<'_, PyDriver>,
        future: Py<PyAny>,
        url: String,
        database: Option<i64>,
        password: Option<String>,
        connection_timeout_secs: f64,
        cluster: bool,
    ) -> PyResult<()> {
        let mut config = RedisConfig::new(url);
        config.cluster = cluster;
        config.database = database;
        config.password = password;
        config.connection_timeout =
            Duration::try_from_secs_f64(connection_timeout_secs).map_err(|_| {
                crate::errors::invalid("connection_timeout_secs must be a positive number")
            })?;
        let handle_driver = driver.clone().unbind();
        spawn(
            &driver.clone().unbind(),
            future,
            RedisClient::connect(config),
            move |py, client| {
                Ok(Py::new(
                    py,
                    PyRedis {
                        client,
                        driver: handle_driver,
                    },
                )?
                .into_any())
            },
        )
    }

    /// `host:port` of the server (the seed nodes of a cluster).
    #[getter]
    fn address(&self) -> &str {
        self.client.address()
    }

    /// Whether this is a Redis Cluster client.
    #[getter]
    fn cluster(&self) -> bool {
        self.client.is_cluster()
    }

    /// Runs one command; resolves with its reply.
    fn execute(&self, future: Py<PyAny>, args: &Bound<'_, PyAny>) -> PyResult<()> {
        let args = command_args(args)?;
        let client = self.client.clone();
        spawn(
            &self.driver,
            future,
            async move { client.command(args).await },
            |py, reply| reply_to_python(py, &reply),
        )
    }

    /// Runs `commands` (a list of argument lists) in one round trip, in `MULTI`/`EXEC`
    /// when `atomic`; resolves with the list of replies.
    fn pipeline(
        &self,
        future: Py<PyAny>,
        commands: &Bound<'_, PyAny>,
        atomic: bool,
    ) -> PyResult<()> {
        let commands = commands
            .try_iter()?
            .map(|command| command_args(&command?))
            .collect::<PyResult<Vec<_>>>()?;
        let client = self.client.clone();
        spawn(
            &self.driver,
            future,
            async move { client.pipeline(commands, atomic).await },
            |py, replies| reply_to_python(py, &Value::Array(replies)),
        )
    }

    /// Subscribes to channels and patterns; resolves with a `Subscription`.
    fn subscribe(
        &self,
        future: Py<PyAny>,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> PyResult<()> {
        let client = self.client.clone();
        let driver = Python::attach(|py| self.driver.clone_ref(py));
        let state = self.driver.get().state()?;
        let _guard = state.runtime.enter();
        spawn(
            &self.driver,
            future,
            async move { client.subscribe(channels, patterns).await },
            move |py, receiver| {
                Ok(Py::new(
                    py,
                    PySubscription {
                        receiver: Arc::new(Mutex::new(receiver)),
                        driver,
                    },
                )?
                .into_any())
            },
        )
    }
}

/// Messages of a subscription (`async for message in redis.subscribe(...)`).
#[pyclass(name = "Subscription", module = "cello._cello", frozen)]
pub struct PySubscription {
    receiver: Arc<Mutex<mpsc::Receiver<PubSubMessage>>>,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PySubscription {
    /// Resolves with the next message as `(channel, pattern, payload bytes)`, or None
    /// once the subscription has ended.
    fn next_message(&self, future: Py<PyAny>) -> PyResult<()> {
        let receiver = Arc::clone(&self.receiver);
        let work = async move { Ok(receiver.lock().await.recv().await) };
        spawn(&self.driver, future, work, |py, message| {
            Ok(match message {
                None => py.None(),
                Some(message) => PyTuple::new(
                    py,
                    [
                        PyString::new(py, &message.channel).into_any(),
                        match &message.pattern {
                            Some(pattern) => PyString::new(py, pattern).into_any(),
                            None => py.None().into_bound(py),
                        },
                        PyBytes::new(py, &message.payload).into_any(),
                    ],
                )?
                .into_any()
                .unbind(),
            })
        })
    }

    /// Unsubscribes (the connection closes).
    fn close(&self) {
        if let Ok(mut receiver) = self.receiver.try_lock() {
            receiver.close();
        }
    }
}
