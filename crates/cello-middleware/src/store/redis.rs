//! The Redis store: state shared by every worker process, over one multiplexed,
//! reconnecting connection per worker (`redis::aio::ConnectionManager`).
//!
//! - **Lazy**: [`RedisStore::new`] only parses the URL. The connection is opened by the
//!   first command, in the worker's runtime, after the fork; a socket opened before the
//!   fork would be shared by every worker, and their replies mixed.
//! - **Prefixed**: every key gets the configured prefix, so apps sharing a Redis (or
//!   tests running at once) stay apart.
//! - **Outages**: a connection failure is logged once to stderr, and for the retry
//!   interval after it commands fail at once ([`StoreError::Down`]) instead of each
//!   waiting for a dead server; then one command tries again, on a new connection. When
//!   one succeeds, the recovery is logged once too. Logs are per worker.
//! - **Atomic decisions**: layers run Lua scripts ([`RedisStore::invoke`]; `EVALSHA`, and
//!   `SCRIPT LOAD` when the server does not know the script yet).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, FromRedisValue, RedisError, RedisResult, Script, ToRedisArgs};
use tokio::time::Instant;

use crate::error::{ConfigError, StoreError};

/// Options of the Redis store.
#[derive(Clone, Debug)]
pub struct RedisStoreConfig {
    /// `redis://[:password@]host:port[/db]`, or `rediss://` for TLS where the redis crate
    /// was built with it, or `redis+unix:///path`.
    pub url: String,
    /// Put in front of every key (`cello:` makes `cello:rl:tb:ip:192.0.2.7`).
    pub key_prefix: String,
    /// How long connecting, and then each command, may take before it counts as a
    /// failure. Redis answers in well under a millisecond on a LAN; this bounds what a
    /// request waits when it does not.
    pub timeout: Duration,
    /// After a connection failure, how long commands fail at once before one tries again.
    pub retry_interval: Duration,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/0".into(),
            key_prefix: "cello:".into(),
            timeout: Duration::from_millis(500),
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// A handle on a Redis store; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Rc<Inner>,
}

struct Inner {
    client: Client,
    /// `host:port` or the socket path, never the password: for messages.
    address: String,
    prefix: Box<str>,
    timeout: Duration,
    retry_interval: Duration,
    /// `None` until the first command, and again after a connection failure.
    connection: RefCell<Option<ConnectionManager>>,
    health: Cell<Health>,
}

#[derive(Clone, Copy, Debug)]
enum Health {
    Up,
    /// Commands have failed since `since` (`failures` of them). When the connection
    /// failed (`retry_at` set), none is sent before `retry_at`.
    Failing {
        since: Instant,
        failures: u64,
        retry_at: Option<Instant>,
    },
}

/// `INCRBY`, and the TTL only when the key has none yet (a new counter).
static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local value = redis.call('INCRBY', KEYS[1], ARGV[1])\n\
         if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n\
         return value",
    )
});

impl RedisStore {
    /// Parses `config`; connects nothing.
    pub fn new(config: &RedisStoreConfig) -> Result<Self, ConfigError> {
        let client = Client::open(config.url.as_str()).map_err(|error| {
            ConfigError::invalid(format!(
                "redis store url {:?} cannot be used ({error}): write it as \
                 redis://host:6379/0, redis://:password@host:6379/0 or redis+unix:///path",
                redact(&config.url)
            ))
        })?;
        if config.timeout.is_zero() {
            return Err(ConfigError::invalid(
                "redis store timeout must be more than 0 (500 ms is the default): it bounds \
                 how long a request waits for Redis",
            ));
        }
        let address = client.get_connection_info().addr().to_string();
        Ok(Self {
            inner: Rc::new(Inner {
                client,
                address,
                prefix: config.key_prefix.as_str().into(),
                timeout: config.timeout,
                retry_interval: config.retry_interval,
                connection: RefCell::new(None),
                health: Cell::new(Health::Up),
            }),
        })
    }

    /// Where the store is (`127.0.0.1:6379`), for messages.
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// `key` with the store's prefix: the name Redis knows it by.
    pub fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.inner.prefix.len() + key.len());
        full.push_str(&self.inner.prefix);
        full.push_str(key);
        full
    }

    /// Runs `script` with `keys` (the prefix is added to each) and `args` (text, or
    /// bytes such as a serialized response: anything Redis takes as an argument).
    pub async fn invoke<T: FromRedisValue, A: ToRedisArgs>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[A],
    ) -> Result<T, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(self.key(key));
        }
        for arg in args {
            invocation.arg(arg);
        }
        self.send(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let command = redis::cmd("GET").arg(self.key(key)).clone();
        let value: Option<Vec<u8>> = self
            .send(|mut connection| async move { command.query_async(&mut connection).await })
            .await?;
        Ok(value.map(Bytes::from))
    }

    pub(crate) async fn set(
        &self,
        key: &str,
        value: Bytes,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(key))
            .arg(value.as_ref())
            .arg("PX")
            .arg(ttl_millis(ttl));
        self.send(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let command = redis::cmd("DEL").arg(self.key(key)).clone();
        let removed: i64 = self
            .send(|mut connection| async move { command.query_async(&mut connection).await })
            .await?;
        Ok(removed > 0)
    }

    pub(crate) async fn increment(
        &self,
        key: &str,
        by: i64,
        ttl: Duration,
    ) -> Result<i64, StoreError> {
        let args = [by.to_string(), ttl_millis(ttl).to_string()];
        self.invoke(&INCREMENT, &[key], &args).await
    }

    /// Sends one command on the (lazily opened) connection, minding the store's health.
    async fn send<T, F, Fut>(&self, command: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let now = Instant::now();
        if let Health::Failing {
            since,
            failures,
            retry_at: Some(retry_at),
        } = self.inner.health.get()
        {
            if now < retry_at {
                self.inner.health.set(Health::Failing {
                    since,
                    failures: failures + 1,
                    retry_at: Some(retry_at),
                });
                return Err(StoreError::Down {
                    store: format!("redis at {}", self.inner.address),
                });
            }
            // This command tries; the others meanwhile still fail at once.
            self.inner.health.set(Health::Failing {
                since,
                failures,
                retry_at: Some(now + self.inner.retry_interval),
            });
        }
        let result = match self.connection() {
            Ok(connection) => command(connection).await,
            Err(error) => Err(error),
        };
        self.note(result.as_ref().err());
        result.map_err(|source| StoreError::Redis {
            address: self.inner.address.clone(),
            source,
        })
    }

    fn connection(&self) -> RedisResult<ConnectionManager> {
        if let Some(connection) = self.inner.connection.borrow().as_ref() {
            return Ok(connection.clone());
        }
        // The manager spawns its reconnection task on the current tokio runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisError::from((
                ErrorKind::Client,
                "the redis store is used outside a tokio runtime",
            )));
        }
        // One attempt per connection, bounded by the timeout: the retry interval above,
        // not the manager's backoff, decides when to try again.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.inner.timeout))
            .set_response_timeout(Some(self.inner.timeout))
            .set_number_of_retries(0);
        let connection =
            ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)?;
        *self.inner.connection.borrow_mut() = Some(connection.clone());
        Ok(connection)
    }

    /// Updates the health after a command; logs the first failure and the recovery.
    fn note(&self, error: Option<&RedisError>) {
        let now = Instant::now();
        let inner = &self.inner;
        match (inner.health.get(), error) {
            (Health::Up, None) => {}
            (
                Health::Failing {
                    since, failures, ..
                },
                None,
            ) => {
                inner.health.set(Health::Up);
                eprintln!(
                    "cello: redis store at {} works again, after {:.1} s and {failures} failed \
                     command(s)",
                    inner.address,
                    now.duration_since(since).as_secs_f64()
                );
            }
            (health, Some(error)) => {
                let lost = is_connection_failure(error);
                if lost {
                    // A new manager next time: the old one may hold a failed attempt.
                    inner.connection.borrow_mut().take();
                }
                let (since, failures) = match health {
                    Health::Up => {
                        let what = if lost {
                            format!(
                                "is unreachable ({error}); it is tried again every {:?}",
                                inner.retry_interval
                            )
                        } else {
                            format!("refused a command ({error})")
                        };
                        eprintln!(
                            "cello: redis store at {} {what}. Until a command succeeds, layers \
                             using it follow their store-error setting (rate limits fail open \
                             unless set to fail closed) and this is not logged again",
                            inner.address
                        );
                        (now, 1)
                    }
                    Health::Failing {
                        since, failures, ..
                    } => (since, failures + 1),
                };
                inner.health.set(Health::Failing {
                    since,
                    failures,
                    retry_at: lost.then(|| now + inner.retry_interval),
                });
            }
        }
    }
}

/// A TTL in whole milliseconds, at least 1 (Redis refuses 0, and a zero TTL would mean
/// "already gone").
fn ttl_millis(ttl: Duration) -> u64 {
    let millis = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

/// Errors after which the connection is not worth using again.
fn is_connection_failure(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_unrecoverable_error()
        || matches!(error.kind(), ErrorKind::AuthenticationFailed)
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("address", &self.inner.address)
            .field("prefix", &self.inner.prefix)
            .field("health", &self.inner.health.get())
            .finish_non_exhaustive()
    }
}
