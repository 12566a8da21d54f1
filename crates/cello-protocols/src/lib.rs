//! Cello's protocols, one module per protocol, each behind its cargo feature; no Python
//! here (`cello-py` binds them).
//!
//! - `graphql` (feature `graphql`): a schema described at runtime, executed by
//!   async-graphql; the Python binding plugs resolvers in through [`graphql::Host`].
//! - `messaging` (feature `rabbitmq`): one broker abstraction — publish, subscribe,
//!   ack/nack/reject, retries to a dead letter, close — and its RabbitMQ implementation.

#[cfg(feature = "graphql")]
pub mod graphql;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "_messaging")]
pub mod messaging;
