//! The RabbitMQ connection settings and the topology a broker declares (and declares
//! again after each reconnection).

use std::time::Duration;

use crate::messaging::Headers;

/// How to reach RabbitMQ and consume from it.
#[derive(Debug, Clone)]
pub struct RabbitConfig {
    /// `amqp://user:password@host:port/vhost?heartbeat=...`; a vhost in the URL wins over
    /// `vhost`.
    pub url: String,
    /// The virtual host when the URL names none.
    pub vhost: String,
    /// Unacknowledged deliveries a subscription holds at most (AMQP `basic.qos`).
    pub prefetch_count: u16,
    /// The heartbeat interval the client asks for, in seconds (0: none).
    pub heartbeat: u16,
    /// How long one connection attempt may take.
    pub connection_timeout: Duration,
    /// The first wait between reconnection attempts; it doubles up to `max_reconnect_delay`.
    pub reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
    /// How long `publish` waits for a lost connection to come back before it fails.
    pub publish_timeout: Duration,
    /// The connection's name, shown by `rabbitmqctl list_connections client_properties`.
    pub connection_name: Option<String>,
}

impl RabbitConfig {
    /// Defaults (those of `cello.RabbitMQConfig`) for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            vhost: "/".to_owned(),
            prefetch_count: 10,
            heartbeat: 60,
            connection_timeout: Duration::from_secs(5),
            reconnect_delay: Duration::from_millis(100),
            max_reconnect_delay: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(30),
            connection_name: None,
        }
    }
}

/// The kinds of AMQP exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    /// routes by exact routing key
    Direct,
    /// routes to every bound queue
    Fanout,
    /// routes by pattern (`orders.*`, `#`)
    Topic,
    /// routes by header values
    Headers,
}

impl ExchangeKind {
    /// Parses `direct`, `fanout`, `topic` or `headers`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "direct" => Some(Self::Direct),
            "fanout" => Some(Self::Fanout),
            "topic" => Some(Self::Topic),
            "headers" => Some(Self::Headers),
            _ => None,
        }
    }
}

/// An exchange to declare.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeSpec {
    /// its name
    pub name: String,
    /// its kind
    pub kind: ExchangeKind,
    /// whether it survives a broker restart
    pub durable: bool,
}

/// A queue to declare.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// its name
    pub name: String,
    /// whether it survives a broker restart
    pub durable: bool,
    /// deleted when its last consumer goes
    pub auto_delete: bool,
    /// A queue that receives what this one dead-letters (rejected, nacked without requeue,
    /// expired); declared too, durable, and wired through the default exchange.
    pub dead_letter_queue: Option<String>,
    /// Further `x-` arguments (`x-message-ttl`, `x-max-length`, `x-queue-type`).
    pub arguments: Headers,
}

impl QueueSpec {
    /// A durable queue with no dead letter.
    pub fn durable(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            durable: true,
            auto_delete: false,
            dead_letter_queue: None,
            arguments: Headers::new(),
        }
    }
}

/// A binding of a queue to an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingSpec {
    /// the queue
    pub queue: String,
    /// the exchange
    pub exchange: String,
    /// the routing key (or pattern, on a topic exchange)
    pub routing_key: String,
}

/// One recorded declaration, replayed in order after a reconnection.
#[derive(Debug, Clone, PartialEq)]
pub enum Declaration {
    /// an exchange
    Exchange(ExchangeSpec),
    /// a queue (and its dead-letter queue)
    Queue(QueueSpec),
    /// a binding
    Binding(BindingSpec),
}
