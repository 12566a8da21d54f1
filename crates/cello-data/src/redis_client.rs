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
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            database: None,
            password: None,
            connection_timeout: Duration::from_secs(5),
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

/// A Redis connection. Cloning shares it.
#[derive(Clone)]
pub struct RedisClient {
    client: redis::Client,
    manager: ConnectionManager,
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
            manager,
            address,
        };
        redis
            .command(vec![b"PING".to_vec()])
            .await
            .map_err(|error| connect_error(&redis.address, &error.to_string()))?;
        Ok(redis)
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
        let mut manager = self.manager.clone();
        let reply: redis::Value = command
            .query_async(&mut manager)
            .await
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
        let mut manager = self.manager.clone();
        let replies: Vec<redis::Value> = pipeline
            .query_async(&mut manager)
            .await
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
