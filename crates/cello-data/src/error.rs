//! The one error enum of the crate. Database errors keep the backend's code and message
//! and say which family they belong to ([`ErrorClass`]), so a binding can raise the
//! matching exception (`UniqueViolation`, `ProgrammingError`, ...) without parsing text.

use std::time::Duration;

/// What went wrong with a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The configuration cannot work (bad URL, a driver this build lacks, a bad option).
    #[error("{0}")]
    Config(String),
    /// The server could not be reached or refused the connection at start-up.
    #[error("cannot connect to {backend} at {address}: {source}")]
    Connect {
        backend: &'static str,
        address: String,
        #[source]
        source: sqlx::Error,
    },
    /// Every connection of the pool stayed busy for the whole acquire timeout.
    #[error(
        "no database connection became free within {waited:?} (pool of {size} connections, all in use): \
         raise pool_size, shorten transactions, or raise connection_timeout_secs"
    )]
    PoolTimeout { waited: Duration, size: u32 },
    /// The pool was closed (the worker is shutting down).
    #[error("the database pool is closed")]
    PoolClosed,
    /// The server rejected a statement.
    #[error("{message}")]
    Database {
        class: ErrorClass,
        /// SQLSTATE for PostgreSQL and MySQL; SQLite's extended result code.
        code: Option<String>,
        message: String,
        /// The constraint that failed, when the backend names it.
        constraint: Option<String>,
        #[source]
        source: sqlx::Error,
    },
    /// A parameter could not be sent (a type the backend cannot take, out of range).
    #[error("parameter {index}: {message}")]
    Parameter { index: usize, message: String },
    /// A column value could not be decoded.
    #[error("column {column:?}: {message}")]
    Decode { column: String, message: String },
    /// The connection failed while in use (network, protocol, I/O).
    #[error("database connection failed: {0}")]
    Connection(#[source] sqlx::Error),
    /// Redis refused a command or could not be reached.
    #[error("redis at {address}: {message}")]
    Redis { address: String, message: String },
    /// The transaction was already committed or rolled back.
    #[error("the transaction is already {0}; open a new one")]
    TransactionDone(&'static str),
}

/// The family of a database error, as DB-API and asyncpg name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    UniqueViolation,
    ForeignKeyViolation,
    NotNullViolation,
    CheckViolation,
    /// Another integrity failure (exclusion constraints, restrict).
    Integrity,
    /// Bad data: a value out of range, an invalid text representation, division by zero.
    Data,
    /// The server or connection: locked databases, deadlocks, serialization failures,
    /// shutdown, out of resources.
    Operational,
    /// The statement: syntax, unknown tables or columns, wrong parameter counts.
    Programming,
    /// Anything the backend does not classify.
    Other,
}

impl ErrorClass {
    /// The Python exception name the binding raises for this class.
    pub fn name(self) -> &'static str {
        match self {
            Self::UniqueViolation => "UniqueViolation",
            Self::ForeignKeyViolation => "ForeignKeyViolation",
            Self::NotNullViolation => "NotNullViolation",
            Self::CheckViolation => "CheckViolation",
            Self::Integrity => "IntegrityError",
            Self::Data => "DataError",
            Self::Operational => "OperationalError",
            Self::Programming => "ProgrammingError",
            Self::Other => "DatabaseError",
        }
    }

    /// Classifies a SQLSTATE (PostgreSQL, MySQL): the class is its first two characters.
    pub fn from_sqlstate(code: &str) -> Self {
        match code {
            "23505" => Self::UniqueViolation,
            "23503" => Self::ForeignKeyViolation,
            "23502" => Self::NotNullViolation,
            "23514" => Self::CheckViolation,
            _ => match code.get(..2) {
                Some("23") => Self::Integrity,
                Some("22") => Self::Data,
                Some("42" | "0A" | "07" | "26" | "34") => Self::Programming,
                Some("08" | "40" | "53" | "54" | "55" | "57" | "58" | "25" | "HY") => {
                    Self::Operational
                }
                _ => Self::Other,
            },
        }
    }
}

impl DataError {
    /// Wraps an error of sqlx met while running a statement.
    pub(crate) fn from_sqlx(error: sqlx::Error, sqlite: bool, size: u32, waited: Duration) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Self::PoolTimeout { waited, size },
            sqlx::Error::PoolClosed => Self::PoolClosed,
            sqlx::Error::Decode(source) if source.is::<Ours>() => match source.downcast::<Ours>() {
                Ok(ours) => ours.0,
                Err(source) => Self::Decode {
                    column: String::new(),
                    message: source.to_string(),
                },
            },
            sqlx::Error::Database(ref database) => {
                let code = database.code().map(|code| code.into_owned());
                let message = database.message().to_owned();
                let constraint = database.constraint().map(str::to_owned);
                let class = classify(database.as_ref(), code.as_deref(), &message, sqlite);
                Self::Database {
                    class,
                    code,
                    message,
                    constraint,
                    source: error,
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => Self::Connection(error),
            sqlx::Error::ColumnDecode { index, source } => Self::Decode {
                column: index,
                message: source.to_string(),
            },
            sqlx::Error::Encode(source) => Self::Parameter {
                index: 0,
                message: source.to_string(),
            },
            other => Self::Database {
                class: ErrorClass::Other,
                code: None,
                message: other.to_string(),
                constraint: None,
                source: other,
            },
        }
    }

    /// The class of a database error; `Operational` for connection and pool failures.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Database { class, .. } => *class,
            Self::Parameter { .. } | Self::Decode { .. } => ErrorClass::Data,
            Self::Config(_) | Self::TransactionDone(_) => ErrorClass::Programming,
            Self::Connect { .. }
            | Self::PoolTimeout { .. }
            | Self::PoolClosed
            | Self::Connection(_)
            | Self::Redis { .. } => ErrorClass::Operational,
        }
    }

    /// The backend's code (SQLSTATE or SQLite result code), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Database { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

fn classify(
    error: &dyn sqlx::error::DatabaseError,
    code: Option<&str>,
    message: &str,
    sqlite: bool,
) -> ErrorClass {
    match error.kind() {
        sqlx::error::ErrorKind::UniqueViolation => return ErrorClass::UniqueViolation,
        sqlx::error::ErrorKind::ForeignKeyViolation => return ErrorClass::ForeignKeyViolation,
        sqlx::error::ErrorKind::NotNullViolation => return ErrorClass::NotNullViolation,
        sqlx::error::ErrorKind::CheckViolation => return ErrorClass::CheckViolation,
        _ => {}
    }
    match code {
        None => ErrorClass::Other,
        Some(code) if sqlite => sqlite_class(code),
        // MariaDB reports a failed CHECK as SQLSTATE 23000, "CONSTRAINT `x` failed ...".
        Some("23000") if message.contains("CONSTRAINT") && message.contains("failed") => {
            ErrorClass::CheckViolation
        }
        Some(code) => ErrorClass::from_sqlstate(code),
    }
}

/// SQLite's (extended) result codes.
fn sqlite_class(code: &str) -> ErrorClass {
    match code.parse::<u32>() {
        // SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY
        Ok(2067 | 1555) => ErrorClass::UniqueViolation,
        Ok(787) => ErrorClass::ForeignKeyViolation,
        Ok(1299) => ErrorClass::NotNullViolation,
        Ok(275) => ErrorClass::CheckViolation,
        Ok(code) if code & 0xff == 19 => ErrorClass::Integrity,
        // SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE
        Ok(code) if matches!(code & 0xff, 20 | 18 | 25) => ErrorClass::Data,
        // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY
        Ok(code) if matches!(code & 0xff, 5 | 6 | 10 | 13 | 14 | 8) => ErrorClass::Operational,
        // SQLITE_ERROR: syntax errors, unknown tables and columns
        Ok(1) => ErrorClass::Programming,
        _ => ErrorClass::Other,
    }
}

/// A failure of ours (binding, decoding) carried through sqlx's error type, which the
/// generic statement code returns, until [`DataError::from_sqlx`] unwraps it again.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct Ours(pub(crate) DataError);

pub(crate) fn ours(error: DataError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(Ours(error)))
}
