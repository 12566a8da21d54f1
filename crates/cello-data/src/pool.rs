//! [`Database`]: a pool of one backend, with the statements a handler runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::TryStreamExt;
use sqlx::pool::PoolOptions;
use sqlx::{Executor, IntoArguments};
use tokio::sync::mpsc;

use crate::backend::{bind_all, columns_of, decode_row, decode_rows, Backend};
use crate::config::{BackendKind, PoolConfig};
use crate::error::{ours, DataError};
use crate::row::Row;
use crate::transaction::{Transaction, TransactionOptions};
use crate::value::Value;

/// The pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$pool` bound to the typed pool, whatever the backend.
/// `$db` names the backend's type inside `$body`.
macro_rules! with_pool {
    ($pool:expr, $name:ident => $body:expr) => {
        with_pool!($pool, ($name, _Db) => $body)
    };
    ($pool:expr, ($name:ident, $db:ident) => $body:expr) => {
        match $pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($name) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres($name) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
            #[cfg(feature = "mysql")]
            Pool::MySql($name) => {
                #[allow(dead_code)]
                type $db = sqlx::MySql;
                $body
            }
        }
    };
}

/// Pool use and statement counts, for `stats()` and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub size: u32,
    pub idle: u32,
    pub in_use: u32,
    pub max_size: u32,
    /// Statements run, and how many of them failed.
    pub queries: u64,
    pub errors: u64,
    /// Acquires that gave up after the connection timeout.
    pub timeouts: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    queries: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) config: PoolConfig,
    pub(crate) counters: Counters,
}

/// A connection pool. Cloning shares the pool.
///
/// Open it from inside the Tokio runtime that will use it: its connections belong to that
/// runtime's reactor (so a forking server opens one per worker, after the fork).
#[derive(Debug, Clone)]
pub struct Database {
    pub(crate) inner: Arc<Inner>,
}

impl Database {
    /// Opens a pool and one connection, so that a bad URL, wrong credentials or an
    /// unreachable server fail here, naming the address.
    pub async fn connect(config: PoolConfig) -> Result<Self, DataError> {
        config.check()?;
        let backend = config.backend()?;
        let pool = match backend {
            #[cfg(feature = "sqlite")]
            BackendKind::Sqlite => {
                let options = crate::backend::sqlite::connect_options(&config)?;
                let mut pool = pool_options(&config);
                if crate::backend::sqlite::is_memory(&config.url) {
                    pool = pool
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                }
                Pool::Sqlite(pool.connect_lazy_with(options))
            }
            #[cfg(feature = "postgres")]
            BackendKind::Postgres => Pool::Postgres(
                pool_options(&config)
                    .connect_lazy_with(crate::backend::postgres::connect_options(&config)?),
            ),
            #[cfg(feature = "mysql")]
            BackendKind::MySql => Pool::MySql(
                pool_options(&config)
                    .connect_lazy_with(crate::backend::mysql::connect_options(&config)?),
            ),
            #[allow(unreachable_patterns)]
            other => {
                return Err(DataError::Config(format!(
                    "{} needs the `{}` feature of cello-data, and this build was made without it",
                    other.name(),
                    other.feature()
                )))
            }
        };
        let database = Self {
            inner: Arc::new(Inner {
                pool,
                config,
                counters: Counters::default(),
            }),
        };
        database.ping().await.map_err(|error| match error {
            DataError::Connection(source)
            | DataError::Database { source, .. }
            | DataError::Connect { source, .. } => DataError::Connect {
                backend: backend.name(),
                address: database.inner.config.address(),
                source,
            },
            DataError::PoolTimeout { .. } => DataError::Connect {
                backend: backend.name(),
                address: database.inner.config.address(),
                source: sqlx::Error::PoolTimedOut,
            },
            other => other,
        })?;
        Ok(database)
    }

    pub fn backend(&self) -> BackendKind {
        with_pool!(&self.inner.pool, _pool => backend_of(_pool))
    }

    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Every row of the result.
    pub async fn fetch_all(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, DataError> {
        let started = Instant::now();
        let result = with_pool!(&self.inner.pool, (pool, Db) => async {
            let mut conn = pool.acquire().await?;
            fetch_all_on::<Db>(&mut conn, sql, params).await
        }.await);
        self.count(result, started)
    }

    /// The first row, or `None`.
    pub async fn fetch_optional(
        &self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Option<Row>, DataError> {
        let started = Instant::now();
        let result = with_pool!(&self.inner.pool, (pool, Db) => async {
            let mut conn = pool.acquire().await?;
            fetch_optional_on::<Db>(&mut conn, sql, params).await
        }.await);
        self.count(result, started)
    }

    /// Runs a statement; the rows it affected.
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, DataError> {
        let started = Instant::now();
        let result = with_pool!(&self.inner.pool, (pool, Db) => async {
            let mut conn = pool.acquire().await?;
            execute_on::<Db>(&mut conn, sql, params).await
        }.await);
        self.count(result, started)
    }

    /// Runs a statement once per parameter list, in one transaction (all or nothing);
    /// the rows affected in total.
    pub async fn execute_many(
        &self,
        sql: &str,
        batches: Vec<Vec<Value>>,
    ) -> Result<u64, DataError> {
        let mut transaction = self.begin(TransactionOptions::default()).await?;
        let total = transaction.execute_many(sql, batches).await?;
        transaction.commit().await?;
        Ok(total)
    }

    /// Streams the result in batches of up to `batch` rows through a bounded channel, on
    /// a task of the current runtime; dropping the receiver stops the query and returns
    /// the connection.
    pub fn stream(
        &self,
        sql: String,
        params: Vec<Value>,
        batch: usize,
    ) -> mpsc::Receiver<Result<Vec<Row>, DataError>> {
        let (sender, receiver) = mpsc::channel(2);
        let database = self.clone();
        let batch = batch.max(1);
        tokio::spawn(async move {
            let started = Instant::now();
            let result = with_pool!(&database.inner.pool, pool => {
                stream_on(pool, &sql, params, batch, &sender).await
            });
            if let Err(error) = database.count(result, started) {
                let _ = sender.send(Err(error)).await;
            }
        });
        receiver
    }

    /// Starts a transaction on a connection of its own.
    pub async fn begin(&self, options: TransactionOptions) -> Result<Transaction, DataError> {
        let started = Instant::now();
        let result = Transaction::begin(self, options).await;
        self.count(result, started)
    }

    /// Runs a trivial statement on a pooled connection (health checks).
    pub async fn ping(&self) -> Result<(), DataError> {
        let started = Instant::now();
        let result = with_pool!(&self.inner.pool, pool => async {
            let mut conn = pool.acquire().await?;
            sqlx::Connection::ping(&mut *conn).await
        }.await.map_err(|error| self.error(error, started)));
        result
    }

    pub fn stats(&self) -> PoolStats {
        let (size, idle) = with_pool!(&self.inner.pool, pool => (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX)));
        let counters = &self.inner.counters;
        PoolStats {
            size,
            idle,
            in_use: size.saturating_sub(idle),
            max_size: self.inner.config.pool_size,
            queries: counters.queries.load(Ordering::Relaxed),
            errors: counters.errors.load(Ordering::Relaxed),
            timeouts: counters.timeouts.load(Ordering::Relaxed),
        }
    }

    /// Closes every connection; later statements fail with [`DataError::PoolClosed`].
    pub async fn close(&self) {
        with_pool!(&self.inner.pool, pool => pool.close().await);
    }

    pub(crate) fn count<T>(
        &self,
        result: Result<T, sqlx::Error>,
        started: Instant,
    ) -> Result<T, DataError> {
        self.inner.counters.queries.fetch_add(1, Ordering::Relaxed);
        result.map_err(|error| self.error(error, started))
    }

    pub(crate) fn error(&self, error: sqlx::Error, started: Instant) -> DataError {
        let counters = &self.inner.counters;
        counters.errors.fetch_add(1, Ordering::Relaxed);
        if matches!(error, sqlx::Error::PoolTimedOut) {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        DataError::from_sqlx(
            error,
            self.backend() == BackendKind::Sqlite,
            self.inner.config.pool_size,
            started.elapsed(),
        )
    }
}

fn backend_of<DB: Backend>(_pool: &sqlx::Pool<DB>) -> BackendKind {
    DB::KIND
}

fn pool_options<DB: sqlx::Database>(config: &PoolConfig) -> PoolOptions<DB> {
    PoolOptions::<DB>::new()
        .max_connections(config.pool_size)
        .min_connections(config.min_idle)
        .acquire_timeout(config.connection_timeout)
        .max_lifetime(config.max_lifetime)
        .idle_timeout(config.idle_timeout)
        // sqlx pings every connection when it goes back to the pool already; a second
        // ping before each acquire would add a round trip to every statement.
        .test_before_acquire(false)
}

pub(crate) async fn fetch_all_on<DB>(
    conn: &mut DB::Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Row>, sqlx::Error>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let types = parameter_types::<DB>(conn, sql).await?;
    let query = bind_all::<DB>(sqlx::query(sql), params, types.as_deref()).map_err(ours)?;
    let rows = query.fetch_all(&mut *conn).await?;
    decode_rows::<DB>(&rows).map_err(ours)
}

pub(crate) async fn fetch_optional_on<DB>(
    conn: &mut DB::Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Option<Row>, sqlx::Error>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let types = parameter_types::<DB>(conn, sql).await?;
    let query = bind_all::<DB>(sqlx::query(sql), params, types.as_deref()).map_err(ours)?;
    match query.fetch_optional(&mut *conn).await? {
        Some(row) => decode_row::<DB>(&row, &columns_of::<DB>(&row))
            .map(Some)
            .map_err(ours),
        None => Ok(None),
    }
}

pub(crate) async fn execute_on<DB>(
    conn: &mut DB::Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<u64, sqlx::Error>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let types = parameter_types::<DB>(conn, sql).await?;
    let query = bind_all::<DB>(sqlx::query(sql), params, types.as_deref()).map_err(ours)?;
    let done = query.execute(&mut *conn).await?;
    Ok(DB::rows_affected(&done))
}

async fn stream_on<DB>(
    pool: &sqlx::Pool<DB>,
    sql: &str,
    params: Vec<Value>,
    batch: usize,
    sender: &mpsc::Sender<Result<Vec<Row>, DataError>>,
) -> Result<(), sqlx::Error>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let mut conn = pool.acquire().await?;
    let types = parameter_types::<DB>(&mut conn, sql).await?;
    let query = bind_all::<DB>(sqlx::query(sql), params, types.as_deref()).map_err(ours)?;
    let mut rows = query.fetch(&mut *conn);
    let mut columns = None;
    let mut chunk = Vec::with_capacity(batch);
    while let Some(row) = rows.try_next().await? {
        let columns = columns.get_or_insert_with(|| columns_of::<DB>(&row));
        chunk.push(decode_row::<DB>(&row, columns).map_err(ours)?);
        if chunk.len() == batch
            && sender
                .send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(batch))))
                .await
                .is_err()
        {
            return Ok(());
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(Ok(chunk)).await;
    }
    Ok(())
}

/// The parameter types the server inferred for `sql`, for backends whose binary
/// protocol needs each value in exactly that type (PostgreSQL). The statement is
/// prepared once per connection and cached, so later calls cost a cache lookup; the
/// query then reuses that prepared statement.
async fn parameter_types<DB>(
    conn: &mut DB::Connection,
    sql: &str,
) -> Result<Option<Vec<Box<str>>>, sqlx::Error>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    if !DB::NEEDS_PARAMETER_TYPES {
        return Ok(None);
    }
    let statement = (&mut *conn).prepare(sql).await?;
    Ok(match sqlx::Statement::parameters(&statement) {
        Some(sqlx::Either::Left(types)) => Some(
            types
                .iter()
                .map(|info| sqlx::TypeInfo::name(info).into())
                .collect(),
        ),
        _ => None,
    })
}
