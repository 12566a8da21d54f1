//! [`PoolConfig`]: what a pool connects to and how many connections it keeps.

use std::time::Duration;

use crate::error::DataError;

/// The database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
    MySql,
}

impl BackendKind {
    /// The backend of `url`, from its scheme.
    pub fn of_url(url: &str) -> Result<Self, DataError> {
        let scheme = url
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(DataError::Config(format!(
                "database URL {:?} has an unknown scheme: use sqlite://path.db, sqlite::memory:, \
                 postgresql://user@host:5432/db or mysql://user@host:3306/db",
                redact(url)
            ))),
        }
    }

    /// The cargo feature that builds this backend's driver.
    pub fn feature(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL",
        }
    }
}

/// A pool's settings. The defaults are the Python `DatabaseConfig`'s.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub url: String,
    /// The most connections open at once.
    pub pool_size: u32,
    /// Connections kept open while idle.
    pub min_idle: u32,
    pub max_lifetime: Option<Duration>,
    /// How long a query waits for a free connection (and a new connection to open).
    pub connection_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// PostgreSQL's `application_name`.
    pub application_name: Option<String>,
    /// Prepared statements cached per connection; 0 turns caching off (for poolers in
    /// transaction mode, such as PgBouncer).
    pub statement_cache_capacity: usize,
}

impl PoolConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 10,
            min_idle: 1,
            max_lifetime: Some(Duration::from_secs(1800)),
            connection_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(300)),
            application_name: None,
            statement_cache_capacity: 100,
        }
    }

    pub fn backend(&self) -> Result<BackendKind, DataError> {
        BackendKind::of_url(&self.url)
    }

    /// `host:port` of a server URL (the default port when none is given), or the path
    /// of a SQLite file, for messages.
    pub fn address(&self) -> String {
        address_of(&self.url)
    }

    pub(crate) fn check(&self) -> Result<(), DataError> {
        if self.pool_size == 0 {
            return Err(DataError::Config("pool_size must be at least 1".into()));
        }
        if self.min_idle > self.pool_size {
            return Err(DataError::Config(format!(
                "min_idle ({}) cannot exceed pool_size ({})",
                self.min_idle, self.pool_size
            )));
        }
        if self.connection_timeout.is_zero() {
            return Err(DataError::Config(
                "connection_timeout_secs must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// The URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn address_of(url: &str) -> String {
    let Ok(backend) = BackendKind::of_url(url) else {
        return redact(url);
    };
    if backend == BackendKind::Sqlite {
        let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
        return path.split('?').next().unwrap_or(path).to_owned();
    }
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let default_port = if backend == BackendKind::Postgres {
        5432
    } else {
        3306
    };
    let host_port = if host_port.is_empty() {
        "localhost"
    } else {
        host_port
    };
    let has_port = if host_port.starts_with('[') {
        host_port.contains("]:")
    } else {
        host_port.contains(':')
    };
    if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_address() {
        let config = PoolConfig::new("postgresql://user:secret@db.internal/app");
        assert_eq!(config.backend().unwrap(), BackendKind::Postgres);
        assert_eq!(config.address(), "db.internal:5432");
        assert_eq!(
            PoolConfig::new("mysql://root@127.0.0.1:3307/test").address(),
            "127.0.0.1:3307"
        );
        assert_eq!(PoolConfig::new("sqlite://cello.db").address(), "cello.db");
        assert_eq!(
            PoolConfig::new("sqlite::memory:").backend().unwrap(),
            BackendKind::Sqlite
        );
        let error = PoolConfig::new("oracle://x").backend().unwrap_err();
        assert!(error.to_string().contains("unknown scheme"), "{error}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:pw@h:1/d"), "postgres://u:***@h:1/d");
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
    }
}
