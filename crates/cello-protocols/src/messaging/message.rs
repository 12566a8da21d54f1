//! Messages out (`Outgoing`) and in (`Delivery`), with their headers.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use super::MessagingError;

/// A header value: the types every broker can carry.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    /// text
    Str(String),
    /// a signed integer (retry counts)
    Int(i64),
    /// a float
    Float(f64),
    /// a boolean
    Bool(bool),
    /// raw bytes
    Bytes(Vec<u8>),
}

/// Message headers, ordered by name.
pub type Headers = BTreeMap<String, HeaderValue>;

/// A message to publish.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// Where it goes: the routing key on RabbitMQ (a queue name on the default exchange).
    pub destination: String,
    /// The AMQP exchange (`""`: the default exchange, which routes by queue name).
    pub exchange: String,
    /// The message key: messages of one key keep their order (a header on RabbitMQ).
    pub key: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Headers.
    pub headers: Headers,
    /// The body's media type (`application/json`).
    pub content_type: Option<String>,
    /// An id for the message (deduplication, tracing).
    pub message_id: Option<String>,
    /// The id of the message this one answers.
    pub correlation_id: Option<String>,
    /// Where an answer should go.
    pub reply_to: Option<String>,
}

/// How a delivery is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Processed: the broker forgets it.
    Ack,
    /// Not processed: back to the queue (`requeue`) or to the dead letter.
    Nack {
        /// true: back to the queue; false: dead-lettered (or dropped without a dead letter)
        requeue: bool,
    },
    /// Refused: to the dead letter (or dropped without one), never requeued.
    Reject,
}

impl Settlement {
    fn name(self) -> &'static str {
        match self {
            Self::Ack => "acked",
            Self::Nack { .. } => "nacked",
            Self::Reject => "rejected",
        }
    }
}

/// A boxed future of a settlement.
pub type SettleFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MessagingError>> + Send + 'a>>;

/// How a broker settles one delivery.
pub trait Settle: Send + Sync {
    /// Sends the settlement to the broker.
    fn settle(&self, settlement: Settlement) -> SettleFuture<'_>;
}

/// A received message, to be settled once.
pub struct Delivery {
    /// Where it was consumed from (the queue).
    pub source: String,
    /// The exchange it was published to (RabbitMQ; `""` for the default exchange).
    pub exchange: String,
    /// The routing key it was published with.
    pub routing_key: String,
    /// The message key, if it was published with one.
    pub key: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Headers.
    pub headers: Headers,
    /// The body's media type.
    pub content_type: Option<String>,
    /// The message id.
    pub message_id: Option<String>,
    /// The correlation id.
    pub correlation_id: Option<String>,
    /// Where an answer should go.
    pub reply_to: Option<String>,
    /// Whether the broker delivered it before (to this or another consumer).
    pub redelivered: bool,
    /// Its partition, on brokers with partitioned logs (Kafka).
    pub partition: Option<i32>,
    /// Its offset in the partition (Kafka).
    pub offset: Option<i64>,
    /// When it was produced, in milliseconds since the epoch, when the broker says.
    pub timestamp_ms: Option<i64>,
    settler: Box<dyn Settle>,
    settled: AtomicBool,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Delivery")
            .field("source", &self.source)
            .field("routing_key", &self.routing_key)
            .field("key", &self.key)
            .field("headers", &self.headers)
            .field("redelivered", &self.redelivered)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The header that counts the times a message was retried (`retry`).
pub const RETRIES_HEADER: &str = "x-cello-retries";

impl Delivery {
    /// A delivery that `settler` settles; the broker modules build these.
    pub fn new(source: String, body: Vec<u8>, settler: Box<dyn Settle>) -> Self {
        Self {
            source,
            exchange: String::new(),
            routing_key: String::new(),
            key: None,
            body,
            headers: Headers::new(),
            content_type: None,
            message_id: None,
            correlation_id: None,
            reply_to: None,
            redelivered: false,
            partition: None,
            offset: None,
            timestamp_ms: None,
            settler,
            settled: AtomicBool::new(false),
        }
    }

    /// How many times it was retried (its `x-cello-retries` header; 0 without it).
    pub fn retries(&self) -> u32 {
        match self.headers.get(RETRIES_HEADER) {
            Some(HeaderValue::Int(count)) => u32::try_from(*count).unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether it was acked, nacked or rejected already.
    pub fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// Settles it; a second settlement fails with `AlreadySettled` and sends nothing.
    pub async fn settle(&self, settlement: Settlement) -> Result<(), MessagingError> {
        if self.settled.swap(true, Ordering::AcqRel) {
            return Err(MessagingError::AlreadySettled(settlement.name()));
        }
        self.settler.settle(settlement).await
    }

    /// Acknowledges it.
    pub async fn ack(&self) -> Result<(), MessagingError> {
        self.settle(Settlement::Ack).await
    }

    /// Gives it back: to the queue when `requeue`, else to the dead letter.
    pub async fn nack(&self, requeue: bool) -> Result<(), MessagingError> {
        self.settle(Settlement::Nack { requeue }).await
    }

    /// Refuses it: to the dead letter.
    pub async fn reject(&self) -> Result<(), MessagingError> {
        self.settle(Settlement::Reject).await
    }

    /// A copy to publish again to where it came from, with the same properties.
    pub fn to_outgoing(&self) -> Outgoing {
        Outgoing {
            destination: self.source.clone(),
            exchange: String::new(),
            key: self.key.clone(),
            body: self.body.clone(),
            headers: self.headers.clone(),
            content_type: self.content_type.clone(),
            message_id: self.message_id.clone(),
            correlation_id: self.correlation_id.clone(),
            reply_to: self.reply_to.clone(),
        }
    }
}
