//! [`Transaction`]: one pooled connection inside `BEGIN ... COMMIT`, with savepoints.
//!
//! A transaction that is dropped while open (its task was cancelled: the client went
//! away, a timeout fired) is rolled back and its connection goes back to the pool: sqlx
//! queues the `ROLLBACK` and runs it when the connection is returned, before anyone
//! else can acquire it.

use std::borrow::Cow;
use std::time::Instant;

use crate::config::BackendKind;
use crate::error::DataError;
use crate::pool::{execute_on, fetch_all_on, fetch_optional_on, Database, Pool};
use crate::row::Row;
use crate::value::Value;

/// SQL isolation levels (SQLite's transactions are always serializable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            Self::ReadUncommitted => "READ UNCOMMITTED",
            Self::ReadCommitted => "READ COMMITTED",
            Self::RepeatableRead => "REPEATABLE READ",
            Self::Serializable => "SERIALIZABLE",
        }
    }

    /// Parses `"read committed"`, `"read_committed"`, `"SERIALIZABLE"`, ...
    pub fn parse(text: &str) -> Result<Self, DataError> {
        match text
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-'], " ")
            .as_str()
        {
            "read uncommitted" => Ok(Self::ReadUncommitted),
            "read committed" => Ok(Self::ReadCommitted),
            "repeatable read" => Ok(Self::RepeatableRead),
            "serializable" => Ok(Self::Serializable),
            _ => Err(DataError::Config(format!(
                "unknown isolation level {text:?}: use \"read_uncommitted\", \"read_committed\", \
                 \"repeatable_read\" or \"serializable\""
            ))),
        }
    }
}

/// How a transaction starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    pub isolation: Option<IsolationLevel>,
    pub read_only: bool,
}

impl TransactionOptions {
    /// The statement that opens the transaction on `backend`. SQLite's write
    /// transactions take the write lock at `BEGIN IMMEDIATE`: a deferred one that writes
    /// later fails with "database is locked" when another writer got there first,
    /// without waiting for the busy timeout.
    pub fn begin_sql(&self, backend: BackendKind) -> String {
        match backend {
            BackendKind::Sqlite if self.read_only => "BEGIN DEFERRED".into(),
            BackendKind::Sqlite => "BEGIN IMMEDIATE".into(),
            BackendKind::Postgres => {
                let mut sql = String::from("BEGIN");
                if let Some(level) = self.isolation {
                    sql.push_str(" ISOLATION LEVEL ");
                    sql.push_str(level.sql());
                }
                if self.read_only {
                    sql.push_str(" READ ONLY");
                }
                sql
            }
            BackendKind::MySql if self.read_only => "START TRANSACTION READ ONLY".into(),
            BackendKind::MySql => "START TRANSACTION".into(),
        }
    }
}

enum Open {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

macro_rules! with_open {
    ($open:expr, $name:ident => $body:expr) => {
        with_open!($open, ($name, _Db) => $body)
    };
    ($open:expr, ($name:ident, $db:ident) => $body:expr) => {
        match $open {
            #[cfg(feature = "sqlite")]
            Open::Sqlite($name) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            Open::Postgres($name) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
            #[cfg(feature = "mysql")]
            Open::MySql($name) => {
                #[allow(dead_code)]
                type $db = sqlx::MySql;
                $body
            }
        }
    };
}

/// An open transaction. Commit or roll it back; dropping it open rolls it back.
pub struct Transaction {
    open: Option<Open>,
    savepoints: usize,
    done: &'static str,
    database: Database,
    /// The runtime the connection belongs to: sqlx hands a dropped connection back to
    /// its pool on a task, so a drop outside the runtime (from Python's garbage
    /// collector) must enter it first.
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Transaction")
            .field("open", &self.open.is_some())
            .field("savepoints", &self.savepoints)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    pub(crate) async fn begin(
        database: &Database,
        options: TransactionOptions,
    ) -> Result<Self, sqlx::Error> {
        let statement: Cow<'static, str> = options.begin_sql(database.backend()).into();
        let open = match &database.inner.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Open::Sqlite(pool.begin_with(statement).await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Open::Postgres(pool.begin_with(statement).await?),
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => {
                let mut conn = pool.acquire().await?;
                if let Some(level) = options.isolation {
                    // MySQL sets the level of the *next* transaction with a statement of its own.
                    let sql = format!("SET TRANSACTION ISOLATION LEVEL {}", level.sql());
                    sqlx::Executor::execute(&mut *conn, sql.as_str()).await?;
                }
                Open::MySql(sqlx::Transaction::begin(conn, Some(statement)).await?)
            }
        };
        Ok(Self {
            open: Some(open),
            savepoints: 0,
            done: "",
            database: database.clone(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    fn open(&mut self) -> Result<&mut Open, DataError> {
        let done = self.done;
        self.open.as_mut().ok_or(DataError::TransactionDone(done))
    }

    /// Savepoints open inside the transaction.
    pub fn depth(&self) -> usize {
        self.savepoints
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub async fn fetch_all(
        &mut self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, DataError> {
        let started = Instant::now();
        let database = self.database.clone();
        let result =
            with_open!(self.open()?, (tx, Db) => fetch_all_on::<Db>(tx, sql, params).await);
        database.count(result, started)
    }

    pub async fn fetch_optional(
        &mut self,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Option<Row>, DataError> {
        let started = Instant::now();
        let database = self.database.clone();
        let result =
            with_open!(self.open()?, (tx, Db) => fetch_optional_on::<Db>(tx, sql, params).await);
        database.count(result, started)
    }

    pub async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64, DataError> {
        let started = Instant::now();
        let database = self.database.clone();
        let result = with_open!(self.open()?, (tx, Db) => execute_on::<Db>(tx, sql, params).await);
        database.count(result, started)
    }

    /// Runs `sql` once per parameter list; the rows affected in total.
    pub async fn execute_many(
        &mut self,
        sql: &str,
        batches: Vec<Vec<Value>>,
    ) -> Result<u64, DataError> {
        let mut total = 0;
        for params in batches {
            total += self.execute(sql, params).await?;
        }
        Ok(total)
    }

    async fn run(&mut self, sql: String) -> Result<(), DataError> {
        self.execute(&sql, Vec::new()).await.map(drop)
    }

    /// Opens a savepoint; returns its depth (1 for the first).
    pub async fn savepoint(&mut self) -> Result<usize, DataError> {
        let depth = self.savepoints + 1;
        self.run(format!("SAVEPOINT cello_savepoint_{depth}"))
            .await?;
        self.savepoints = depth;
        Ok(depth)
    }

    /// Keeps the work done since savepoint `depth` (and closes it and those inside it).
    pub async fn release_savepoint(&mut self, depth: usize) -> Result<(), DataError> {
        self.check_depth(depth)?;
        self.run(format!("RELEASE SAVEPOINT cello_savepoint_{depth}"))
            .await?;
        self.savepoints = depth - 1;
        Ok(())
    }

    /// Undoes the work done since savepoint `depth`, and closes it; the transaction goes on.
    pub async fn rollback_to_savepoint(&mut self, depth: usize) -> Result<(), DataError> {
        self.check_depth(depth)?;
        self.run(format!("ROLLBACK TO SAVEPOINT cello_savepoint_{depth}"))
            .await?;
        self.run(format!("RELEASE SAVEPOINT cello_savepoint_{depth}"))
            .await?;
        self.savepoints = depth - 1;
        Ok(())
    }

    fn check_depth(&self, depth: usize) -> Result<(), DataError> {
        if depth == 0 || depth > self.savepoints {
            return Err(DataError::Config(format!(
                "savepoint {depth} is not open (this transaction has {} open)",
                self.savepoints
            )));
        }
        Ok(())
    }

    pub async fn commit(&mut self) -> Result<(), DataError> {
        let open = self
            .open
            .take()
            .ok_or(DataError::TransactionDone(self.done))?;
        self.done = "committed";
        let started = Instant::now();
        let result = with_open!(open, tx => tx.commit().await);
        self.database.count(result, started)
    }

    pub async fn rollback(&mut self) -> Result<(), DataError> {
        let open = self
            .open
            .take()
            .ok_or(DataError::TransactionDone(self.done))?;
        self.done = "rolled back";
        let started = Instant::now();
        let result = with_open!(open, tx => tx.rollback().await);
        self.database.count(result, started)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            let _entered = self.runtime.enter();
            drop(open);
        }
    }
}
