//! Cello's protocols, each behind a cargo feature; no Python here (`cello-py` binds them).
//!
//! - `messaging` (feature `rabbitmq`): one broker abstraction — publish, subscribe,
//!   ack/nack/reject, retries to a dead letter, close — and its RabbitMQ implementation.

#[cfg(feature = "_messaging")]
pub mod messaging;
