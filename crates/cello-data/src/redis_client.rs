//! [`RedisClient`]: a reconnecting Redis connection (the redis crate's `ConnectionManager`,
//! multiplexed, so one per worker serves every request) for any command, pipelines and
//! `MULTI`/`EXEC`, and pub/sub subscriptions streamed through a channel.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

use crate::error::DataError;
use crate::value::Value;

/// Where Redis is and how to talk to it.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]` or `redis+unix:///path`.
    pub url: String,
    /// Overrides the URL's database number when set.
    pub database: Option<i64>,
    pub password: Option<String>,
    pub connection_timeout: Duration,
    /// A Redis Cluster: `url` names one or more seed nodes, comma-separated; the client
    /// discovers the rest and routes each command to the node that owns its key.
    pub cluster: bool,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: None,
            password: None,
            connection_timeout: Duration::from_secs(5),
            cluster: false,
        }
    }
}

/// A published message.
#[derive(Debug, Clone, PartialEq)]
pub struct PubSubMessage {
    pub channel: String,
    /// The pattern that matched, for pattern subscriptions.
    pub pattern: Option<String>,
    pub payload: Vec<u8>,
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
    Sentinel(std::sync::Arc<SentinelState>),
}

/// A master found through Sentinel, and the Sentinels to ask again after a failover.
struct SentinelState {
    sentinel: tokio::sync::Mutex<redis::sentinel::SentinelClient>,
    manager: std::sync::RwLock<ConnectionManager>,
    timeout: Duration,
}

impl SentinelState {
    fn manager(&self) -> ConnectionManager {
        self.manager.read().map_or_else(
            |poisoned| poisoned.into_inner().clone(),
            |manager| manager.clone(),
        )
    }

    /// Asks the Sentinels for the current master and connects to it.
    async fn resolve(&self) -> redis::RedisResult<()> {
        let client = self.sentinel.lock().await.async_get_client().await?;
        let manager = client
            .get_connection_manager_with_config(manager_config(self.timeout))
            .await?;
        match self.manager.write() {
            Ok(mut slot) => *slot = manager,
            Err(poisoned) => *poisoned.into_inner() = manager,
        }
        Ok(())
    }
}

fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(1)
}

/// Whether `error` means the master went away (or became a replica): ask Sentinel.
fn master_lost(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
}

/// A Redis connection. Cloning shares it.
#[derive(Clone)]
pub struct RedisClient {
    /// A node (the first seed, for a cluster): pub/sub connections are opened from it
    /// (a cluster forwards published messages to every node).
    client: redis::Client,
    connection: Connection,
    address: String,
}

impl std::fmt::Debug for RedisClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RedisClient")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl RedisClient {
    /// Connects and pings, so that a bad URL or an unreachable server fails here.
    pub async fn connect(config: RedisConfig) -> Result<Self, DataError> {
        if config.cluster {
            return Self::connect_cluster(config).await;
        }
        if config.url.starts_with("redis+sentinel://") {
            return Self::connect_sentinel(config).await;
        }
        let mut info = redis::IntoConnectionInfo::into_connection_info(config.url.as_str())
            .map_err(|error| {
                DataError::Config(format!(
                    "Redis URL {:?} cannot be used ({error}): write it as redis://host:6379/0 or \
                 redis://:password@host:6379/0",
                    crate::config::redact(&config.url)
                ))
            })?;
        let address = info.addr().to_string();
        let mut settings = info.redis_settings().clone();
        if let Some(database) = config.database {
            settings = settings.set_db(database);
        }
        if let Some(password) = &config.password {
            settings = settings.set_password(password.clone());
        }
        info = info.set_redis_settings(settings);
        let client =
            redis::Client::open(info).map_err(|error| DataError::Config(error.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(None)
            .set_number_of_retries(1);
        let connect = client.get_connection_manager_with_config(manager_config);
        let manager = tokio::time::timeout(config.connection_timeout, connect)
            .await
            .map_err(|_| connect_error(&address, "timed out"))?
            .map_err(|error| connect_error(&address, &error.to_string()))?;
        let redis = Self {
            client,
            connection: Connection::Single(manager),
            address,
        };
        redis
            .command(vec![b"PING".to_vec()])
            .await
            .map_err(|error| connect_error(&redis.address, &error.to_string()))?;
        Ok(redis)
    }

    async fn connect_cluster(config: RedisConfig) -> Result<Self, DataError> {
        let nodes: Vec<&str> = config
            .url
            .split(',')
            .map(str::trim)
            .filter(|node| !node.is_empty())
            .collect();
        let address = nodes.join(",");
        let Some(first) = nodes.first() else {
            return Err(DataError::Config(
                "a Redis Cluster URL names at least one node".into(),
            ));
        };
        let mut builder = redis::cluster::ClusterClient::builder(nodes.clone())
            .connection_timeout(config.connection_timeout);
        if let Some(password) = &config.password {
            builder = builder.password(password.clone());
        }
        let cluster = builder
            .build()
            .map_err(|error| DataError::Config(format!("Redis Cluster {address}: {error}")))?;
        let connect = cluster.get_async_connection();
        let connection = tokio::time::timeout(config.connection_timeout, connect)
            .await
            .map_err(|_| connect_error(&address, "timed out"))?
            .map_err(|error| connect_error(&address, &error.to_string()))?;
        let client =
            redis::Client::open(*first).map_err(|error| DataError::Config(error.to_string()))?;
        let redis = Self {
            client,
            connection: Connection::Cluster(connection),
            address,
        };
        redis
            .command(vec![b"PING".to_vec()])
            .await
            .map_err(|error| connect_error(&redis.address, &error.to_string()))?;
        Ok(redis)
    }

    /// `redis+sentinel://host:26379,host:26380/service[/db]`: the master of `service`,
    /// found again through the Sentinels when it fails over.
    async fn connect_sentinel(config: RedisConfig) -> Result<Self, DataError> {
        let rest = config.url.trim_start_matches("redis+sentinel://");
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut path = path.split('/').filter(|part| !part.is_empty());
        let service = path.next().unwrap_or("mymaster").to_owned();
        let database = path
            .next()
            .and_then(|db| db.parse::<i64>().ok())
            .or(config.database)
            .unwrap_or(0);
        let sentinels: Vec<String> = hosts
            .split(',')
            .map(|host| format!("redis://{}", host.trim()))
            .collect();
        let address = format!("{hosts} ({service})");
        let mut node = redis::RedisConnectionInfo::default().set_db(database);
        if let Some(password) = &config.password {
            node = node.set_password(password.clone());
        }
        let node =
            redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(node);
        let mut sentinel = redis::sentinel::SentinelClient::build(
            sentinels,
            service,
            Some(node),
            redis::sentinel::SentinelServerType::Master,
        )
        .map_err(|error| DataError::Config(format!("Redis Sentinel {address}: {error}")))?;
        let resolve = async {
            let client = sentinel.async_get_client().await?;
            let manager = client
                .get_connection_manager_with_config(manager_config(config.connection_timeout))
                .await?;
            Ok::<_, redis::RedisError>((client, manager))
        };
        let (client, manager) = tokio::time::timeout(config.connection_timeout, resolve)
            .await
            .map_err(|_| connect_error(&address, "timed out"))?
            .map_err(|error| connect_error(&address, &error.to_string()))?;
        let state = SentinelState {
            sentinel: tokio::sync::Mutex::new(sentinel),
            manager: std::sync::RwLock::new(manager),
            timeout: config.connection_timeout,
        };
        let redis = Self {
            client,
            connection: Connection::Sentinel(std::sync::Arc::new(state)),
            address,
        };
        redis
            .command(vec![b"PING".to_vec()])
            .await
            .map_err(|error| connect_error(&redis.address, &error.to_string()))?;
        Ok(redis)
    }

    /// Whether this is a Redis Cluster client.
    pub fn is_cluster(&self) -> bool {
        matches!(self.connection, Connection::Cluster(_))
    }

    /// `host:port` of the server.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Runs one command (`["SET", "k", "v"]`).
    pub async fn command(&self, args: Vec<Vec<u8>>) -> Result<Value, DataError> {
        let mut command = redis::Cmd::new();
        for arg in args {
            command.arg(arg);
        }
        let reply: redis::Value = match self.connection.clone() {
            Connection::Single(mut manager) => command.query_async(&mut manager).await,
            Connection::Cluster(mut cluster) => command.query_async(&mut cluster).await,
            Connection::Sentinel(state) => match command.query_async(&mut state.manager()).await {
                Err(error) if master_lost(&error) => {
                    state.resolve().await.map_err(|error| self.error(&error))?;
                    command.query_async(&mut state.manager()).await
                }
                other => other,
            },
        }
        .map_err(|error| self.error(&error))?;
        Ok(value_of(reply))
    }

    /// Runs commands in one round trip; `atomic` wraps them in `MULTI`/`EXEC`. One reply
    /// per command.
    pub async fn pipeline(
        &self,
        commands: Vec<Vec<Vec<u8>>>,
        atomic: bool,
    ) -> Result<Vec<Value>, DataError> {
        let mut pipeline = redis::pipe();
        if atomic {
            pipeline.atomic();
        }
        for args in commands {
            let mut command = redis::Cmd::new();
            for arg in args {
                command.arg(arg);
            }
            pipeline.add_command(command);
        }
        // A cluster pipeline must keep to the keys of one slot (`{tag}` keys), as in Redis.
        let replies: Vec<redis::Value> = match self.connection.clone() {
            Connection::Single(mut manager) => pipeline.query_async(&mut manager).await,
            Connection::Cluster(mut cluster) => pipeline.query_async(&mut cluster).await,
            Connection::Sentinel(state) => match pipeline.query_async(&mut state.manager()).await {
                Err(error) if master_lost(&error) => {
                    state.resolve().await.map_err(|error| self.error(&error))?;
                    pipeline.query_async(&mut state.manager()).await
                }
                other => other,
            },
        }
        .map_err(|error| self.error(&error))?;
        Ok(replies.into_iter().map(value_of).collect())
    }

    /// Subscribes to `channels` and `patterns` on a connection of its own; messages come
    /// through the receiver until it is dropped (which unsubscribes).
    pub async fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<mpsc::Receiver<PubSubMessage>, DataError> {
        let mut pubsub = self
            .client
            .get_async_pubsub()
            .await
            .map_err(|error| self.error(&error))?;
        for channel in &channels {
            pubsub
                .subscribe(channel)
                .await
                .map_err(|error| self.error(&error))?;
        }
        for pattern in &patterns {
            pubsub
                .psubscribe(pattern)
                .await
                .map_err(|error| self.error(&error))?;
        }
        let (sender, receiver) = mpsc::channel(256);
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(message) = message else { break };
                        let message = PubSubMessage {
                            channel: message.get_channel_name().to_owned(),
                            pattern: message.get_pattern::<Option<String>>().ok().flatten(),
                            payload: message.get_payload_bytes().to_vec(),
                        };
                        if sender.send(message).await.is_err() {
                            break;
                        }
                    }
                    () = sender.closed() => break,
                }
            }
        });
        Ok(receiver)
    }

    fn error(&self, error: &redis::RedisError) -> DataError {
        DataError::Redis {
            address: self.address.clone(),
            message: error.to_string(),
        }
    }
}

fn connect_error(address: &str, message: &str) -> DataError {
    DataError::Redis {
        address: address.to_owned(),
        message: format!("cannot connect: {message}"),
    }
}

/// A reply as a [`Value`]: bulk strings as bytes, simple strings and `OK` as text,
/// arrays, sets and maps (flattened to key, value, ...) as arrays.
fn value_of(reply: redis::Value) -> Value {
    match reply {
        redis::Value::Nil => Value::Null,
        redis::Value::Int(number) => Value::Int(number),
        redis::Value::BulkString(bytes) => Value::Bytes(bytes),
        redis::Value::SimpleString(text) => Value::Text(text),
        redis::Value::Okay => Value::Text("OK".into()),
        redis::Value::Double(number) => Value::Float(number),
        redis::Value::Boolean(flag) => Value::Bool(flag),
        redis::Value::VerbatimString { text, .. } => Value::Text(text),
        redis::Value::Array(items)
        | redis::Value::Set(items)
        | redis::Value::Push { data: items, .. } => {
            Value::Array(items.into_iter().map(value_of).collect())
        }
        redis::Value::Map(pairs) => Value::Array(
            pairs
                .into_iter()
                .flat_map(|(key, value)| [value_of(key), value_of(value)])
                .collect(),
        ),
        redis::Value::Attribute { data, .. } => value_of(*data),
        redis::Value::BigNumber(digits) => {
            Value::Decimal(String::from_utf8_lossy(&digits).into_owned())
        }
        redis::Value::ServerError(error) => Value::Text(format!("{error:?}")),
        _ => Value::Null,
    }
}
