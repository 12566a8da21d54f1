//! Messaging: one broker abstraction (`Broker`, `Subscription`, `Delivery`) and its
//! implementations, one module per broker with parallel file names.
//!
//! A broker publishes `Outgoing` messages (with the broker's confirmation before the
//! future resolves), and a subscription yields `Delivery` values that the caller settles
//! once: `ack`, `nack` (requeue or not) or `reject` (to the dead letter). `retry` builds
//! retries with a backoff and a retry count on top of these, for any broker.

mod error;
mod message;
pub mod retry;

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;
#[cfg(feature = "sqs")]
pub mod sqs;

use std::future::Future;

use tokio::sync::mpsc;

pub use error::MessagingError;
pub use message::{Delivery, HeaderValue, Headers, Outgoing, Settle, Settlement};

/// What every broker does.
pub trait Broker: Send + Sync {
    /// The stream of deliveries `subscribe` returns.
    type Subscription: Subscription;

    /// Publishes one message; resolves once the broker has confirmed it.
    fn publish(&self, message: Outgoing)
        -> impl Future<Output = Result<(), MessagingError>> + Send;

    /// Starts consuming `source` (a queue, a topic): deliveries arrive on the subscription
    /// until it is stopped or the broker is closed, across reconnections.
    fn subscribe(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Self::Subscription, MessagingError>> + Send;

    /// Closes the connection: deliveries not settled yet go back to their queue.
    fn close(&self) -> impl Future<Output = Result<(), MessagingError>> + Send;
}

/// Deliveries of one subscription; `stop` may be called while a `next` is waiting.
pub trait Subscription: Send + Sync {
    /// The next delivery, or None once the subscription is stopped or the broker closed.
    fn next(&self) -> impl Future<Output = Option<Delivery>> + Send;

    /// Up to `max` deliveries: waits for the first like `next`, then takes those that
    /// arrived already without waiting; empty once stopped or closed. One wake-up for a
    /// burst instead of one per message.
    fn next_batch(&self, max: usize) -> impl Future<Output = Vec<Delivery>> + Send;

    /// Stops taking deliveries; those received and not handed out by `next` yet go back
    /// to the queue. Deliveries already handed out can still be settled.
    fn stop(&self) -> impl Future<Output = Result<(), MessagingError>> + Send;
}

/// `first`, then what `receiver` holds already, up to `max` in all.
pub(crate) fn batch(
    first: Option<Delivery>,
    receiver: &mut mpsc::Receiver<Delivery>,
    max: usize,
) -> Vec<Delivery> {
    let Some(first) = first else {
        return Vec::new();
    };
    let mut batch = Vec::with_capacity(max.clamp(1, 64));
    batch.push(first);
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(delivery) => batch.push(delivery),
            Err(_) => break,
        }
    }
    batch
}
