//! `Database`, `Transaction` and `RowStream`: handles on cello-data's pool, resolved into
//! asyncio futures of the worker's loop. Each call spawns a task on the worker's Tokio
//! runtime (the same thread), which runs the statement without the GIL held and then
//! sets the future's result.

use std::sync::Arc;
use std::time::Duration;

use cello_data::{
    DataError, Database, IsolationLevel, PoolConfig, Row, Transaction, TransactionOptions, Value,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokio::sync::{mpsc, Mutex};

use super::convert::{params, to_python};
use super::row::PyRow;
use super::tasks::spawn;
use crate::driver::PyDriver;

/// What a statement's future resolves to.
#[derive(Clone, Copy)]
enum Mode {
    /// Every row (a list).
    All,
    /// The first row, or None.
    One,
    /// The first column of the first row, or None.
    Value,
    /// The rows affected.
    Execute,
}

impl Mode {
    fn parse(mode: &str) -> PyResult<Self> {
        match mode {
            "all" => Ok(Self::All),
            "one" => Ok(Self::One),
            "value" => Ok(Self::Value),
            "execute" => Ok(Self::Execute),
            _ => Err(crate::errors::invalid(format!(
                "unknown fetch mode {mode:?}"
            ))),
        }
    }
}

enum Outcome {
    Rows(Vec<Row>),
    Row(Option<Row>),
    Affected(u64),
}

fn outcome_to_python(py: Python<'_>, outcome: Outcome, mode: Mode) -> PyResult<Py<PyAny>> {
    Ok(match (outcome, mode) {
        (Outcome::Rows(rows), _) => {
            let list = PyList::empty(py);
            for row in rows {
                list.append(Py::new(py, PyRow { row })?)?;
            }
            list.into_any().unbind()
        }
        (Outcome::Row(None), _) => py.None(),
        (Outcome::Row(Some(row)), Mode::Value) => match row.get(0) {
            Some(value) => to_python(py, value)?.unbind(),
            None => py.None(),
        },
        (Outcome::Row(Some(row)), _) => Py::new(py, PyRow { row })?.into_any(),
        (Outcome::Affected(count), _) => count.into_pyobject(py)?.into_any().unbind(),
    })
}

fn batches(values: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<Value>>> {
    values.try_iter()?.map(|item| params(&item?)).collect()
}

/// A connection pool of one worker (`cello.data.Database` wraps it).
#[pyclass(name = "Database", module = "cello._cello", frozen)]
pub struct PyDatabase {
    db: Database,
    driver: Py<PyDriver>,
}

impl PyDatabase {
    /// The pool and the driver its statements run on (for the other bindings on it).
    pub(super) fn handle(&self) -> (&Database, &Py<PyDriver>) {
        (&self.db, &self.driver)
    }
}

#[pymethods]
impl PyDatabase {
    /// Opens a pool on the worker's runtime and resolves `future` with it.
    #[staticmethod]
    #[pyo3(signature = (driver, future, url, pool_size, min_idle, max_lifetime_secs, connection_timeout_secs, idle_timeout_secs, application_name, statement_cache_capacity))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        driver: &Bound<'_, PyDriver>,
        future: Py<PyAny>,
        url: String,
        pool_size: u32,
        min_idle: u32,
        max_lifetime_secs: Option<f64>,
        connection_timeout_secs: f64,
        idle_timeout_secs: Option<f64>,
        application_name: Option<String>,
        statement_cache_capacity: usize,
    ) -> PyResult<()> {
        let seconds = |value: f64, name: &str| {
            Duration::try_from_secs_f64(value).map_err(|_| {
                crate::errors::invalid(format!("{name} must be a positive number of seconds"))
            })
        };
        let mut config = PoolConfig::new(url);
        config.pool_size = pool_size;
        config.min_idle = min_idle;
        config.max_lifetime = max_lifetime_secs
            .map(|value| seconds(value, "max_lifetime_secs"))
            .transpose()?;
        config.connection_timeout = seconds(connection_timeout_secs, "connection_timeout_secs")?;
        config.idle_timeout = idle_timeout_secs
            .map(|value| seconds(value, "idle_timeout_secs"))
            .transpose()?;
        config.application_name = application_name;
        config.statement_cache_capacity = statement_cache_capacity;
        let handle_driver = driver.clone().unbind();
        spawn(
            &driver.clone().unbind(),
            future,
            Database::connect(config),
            move |py, db| {
                Ok(Py::new(
                    py,
                    PyDatabase {
                        db,
                        driver: handle_driver,
                    },
                )?
                .into_any())
            },
        )
    }

    /// `"sqlite"`, `"postgres"` or `"mysql"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.db.backend().feature()
    }

    /// Runs `sql` with `args`; `mode` is "all", "one", "value" or "execute".
    fn run(
        &self,
        future: Py<PyAny>,
        sql: String,
        args: &Bound<'_, PyAny>,
        mode: &str,
    ) -> PyResult<()> {
        let mode = Mode::parse(mode)?;
        let values = params(args)?;
        let db = self.db.clone();
        let work = async move {
            Ok(match mode {
                Mode::All => Outcome::Rows(db.fetch_all(&sql, values).await?),
                Mode::One | Mode::Value => Outcome::Row(db.fetch_optional(&sql, values).await?),
                Mode::Execute => Outcome::Affected(db.execute(&sql, values).await?),
            })
        };
        spawn(&self.driver, future, work, move |py, outcome| {
            outcome_to_python(py, outcome, mode)
        })
    }

    /// Runs `sql` once per argument tuple of `many`, in one transaction; resolves with
    /// the rows affected.
    fn run_many(&self, future: Py<PyAny>, sql: String, many: &Bound<'_, PyAny>) -> PyResult<()> {
        let values = batches(many)?;
        let db = self.db.clone();
        let work = async move { db.execute_many(&sql, values).await };
        spawn(&self.driver, future, work, |py, count| {
            Ok(count.into_pyobject(py)?.into_any().unbind())
        })
    }

    /// Starts streaming `sql`'s rows in batches of `batch`.
    fn stream(&self, sql: String, args: &Bound<'_, PyAny>, batch: usize) -> PyResult<PyRowStream> {
        let values = params(args)?;
        let state = self.driver.get().state()?;
        let _guard = state.runtime.enter();
        let receiver = self.db.stream(sql, values, batch);
        Ok(PyRowStream {
            receiver: Arc::new(Mutex::new(receiver)),
            driver: Python::attach(|py| self.driver.clone_ref(py)),
        })
    }

    /// Begins a transaction and resolves `future` with it.
    #[pyo3(signature = (future, isolation = None, read_only = false))]
    fn begin(&self, future: Py<PyAny>, isolation: Option<&str>, read_only: bool) -> PyResult<()> {
        let isolation = isolation
            .map(IsolationLevel::parse)
            .transpose()
            .map_err(|error| crate::errors::invalid(error.to_string()))?;
        let options = TransactionOptions {
            isolation,
            read_only,
        };
        let db = self.db.clone();
        let driver = Python::attach(|py| self.driver.clone_ref(py));
        spawn(
            &self.driver,
            future,
            async move { db.begin(options).await },
            move |py, transaction| {
                Ok(Py::new(
                    py,
                    PyTransaction {
                        inner: Arc::new(Mutex::new(transaction)),
                        driver,
                    },
                )?
                .into_any())
            },
        )
    }

    /// Resolves with True once a pooled connection answered.
    fn ping(&self, future: Py<PyAny>) -> PyResult<()> {
        let db = self.db.clone();
        spawn(
            &self.driver,
            future,
            async move { db.ping().await },
            |py, ()| Ok(true.into_pyobject(py)?.to_owned().into_any().unbind()),
        )
    }

    /// Closes the pool's connections.
    fn close(&self, future: Py<PyAny>) -> PyResult<()> {
        let db = self.db.clone();
        spawn(
            &self.driver,
            future,
            async move {
                db.close().await;
                Ok(())
            },
            |py, ()| Ok(py.None()),
        )
    }

    /// Pool use and statement counts.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.db.stats();
        let dict = PyDict::new(py);
        dict.set_item("backend", self.db.backend().feature())?;
        dict.set_item("size", stats.size)?;
        dict.set_item("idle", stats.idle)?;
        dict.set_item("in_use", stats.in_use)?;
        dict.set_item("max_size", stats.max_size)?;
        dict.set_item("queries", stats.queries)?;
        dict.set_item("errors", stats.errors)?;
        dict.set_item("timeouts", stats.timeouts)?;
        Ok(dict)
    }
}

/// An open transaction (`cello.data.Transaction` wraps it). Dropped while open (its
/// request was cancelled), it rolls back and its connection goes back to the pool.
#[pyclass(name = "Transaction", module = "cello._cello", frozen)]
pub struct PyTransaction {
    inner: Arc<Mutex<Transaction>>,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyTransaction {
    fn run(
        &self,
        future: Py<PyAny>,
        sql: String,
        args: &Bound<'_, PyAny>,
        mode: &str,
    ) -> PyResult<()> {
        let mode = Mode::parse(mode)?;
        let values = params(args)?;
        let inner = Arc::clone(&self.inner);
        let work = async move {
            let mut tx = inner.lock().await;
            Ok(match mode {
                Mode::All => Outcome::Rows(tx.fetch_all(&sql, values).await?),
                Mode::One | Mode::Value => Outcome::Row(tx.fetch_optional(&sql, values).await?),
                Mode::Execute => Outcome::Affected(tx.execute(&sql, values).await?),
            })
        };
        spawn(&self.driver, future, work, move |py, outcome| {
            outcome_to_python(py, outcome, mode)
        })
    }

    fn run_many(&self, future: Py<PyAny>, sql: String, many: &Bound<'_, PyAny>) -> PyResult<()> {
        let values = batches(many)?;
        let inner = Arc::clone(&self.inner);
        let work = async move { inner.lock().await.execute_many(&sql, values).await };
        spawn(&self.driver, future, work, |py, count| {
            Ok(count.into_pyobject(py)?.into_any().unbind())
        })
    }

    /// Opens a savepoint; resolves with its depth.
    fn savepoint(&self, future: Py<PyAny>) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        spawn(
            &self.driver,
            future,
            async move { inner.lock().await.savepoint().await },
            |py, depth| Ok(depth.into_pyobject(py)?.into_any().unbind()),
        )
    }

    fn release_savepoint(&self, future: Py<PyAny>, depth: usize) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        let work = async move { inner.lock().await.release_savepoint(depth).await };
        spawn(&self.driver, future, work, |py, ()| Ok(py.None()))
    }

    fn rollback_to_savepoint(&self, future: Py<PyAny>, depth: usize) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        let work = async move { inner.lock().await.rollback_to_savepoint(depth).await };
        spawn(&self.driver, future, work, |py, ()| Ok(py.None()))
    }

    fn commit(&self, future: Py<PyAny>) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        spawn(
            &self.driver,
            future,
            async move { inner.lock().await.commit().await },
            |py, ()| Ok(py.None()),
        )
    }

    fn rollback(&self, future: Py<PyAny>) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        spawn(
            &self.driver,
            future,
            async move { inner.lock().await.rollback().await },
            |py, ()| Ok(py.None()),
        )
    }

    /// Whether the transaction is still open (not committed or rolled back). A statement
    /// running meanwhile counts as open.
    #[getter]
    fn is_open(&self) -> bool {
        self.inner.try_lock().map_or(true, |tx| tx.is_open())
    }
}

/// Batches of a streamed result (`async for row in db.iterate(...)`).
#[pyclass(name = "RowStream", module = "cello._cello", frozen)]
pub struct PyRowStream {
    receiver: Arc<Mutex<Batches>>,
    driver: Py<PyDriver>,
}

type Batches = mpsc::Receiver<Result<Vec<Row>, DataError>>;

#[pymethods]
impl PyRowStream {
    /// Resolves `future` with the next list of rows, or None at the end.
    fn next_batch(&self, future: Py<PyAny>) -> PyResult<()> {
        let receiver = Arc::clone(&self.receiver);
        let work = async move { receiver.lock().await.recv().await.transpose() };
        spawn(&self.driver, future, work, |py, batch| {
            Ok(match batch {
                Some(rows) => outcome_to_python(py, Outcome::Rows(rows), Mode::All)?,
                None => py.None(),
            })
        })
    }

    /// Stops the query and frees its connection.
    fn close(&self) {
        if let Ok(mut receiver) = self.receiver.try_lock() {
            receiver.close();
        }
    }
}
