//! RabbitMQ (AMQP 0-9-1) through lapin, on the caller's Tokio runtime.
//!
//! `RabbitBroker::connect` opens the connection (failing fast when the broker cannot be
//! reached) and starts a supervisor that reconnects after a loss. Declarations made
//! through the broker are recorded and made again on each new connection before the
//! consumers come back. Publishes wait for the broker's confirm and are `mandatory`: a
//! message no queue would receive is an error, not a silent drop.

mod config;
mod consumer;
mod convert;
mod link;

use std::sync::Arc;
use std::time::Instant;

use lapin::options::BasicPublishOptions;
use lapin::publisher_confirm::Confirmation;

pub use config::{BindingSpec, Declaration, ExchangeKind, ExchangeSpec, QueueSpec, RabbitConfig};
pub use consumer::RabbitSubscription;
pub use convert::KEY_HEADER;
use link::{Shared, State};

use super::{Broker, MessagingError, Outgoing};

/// A connection to RabbitMQ that stays up.
#[derive(Clone)]
pub struct RabbitBroker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RabbitBroker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RabbitBroker")
            .field("address", &self.shared.address())
            .finish_non_exhaustive()
    }
}

impl RabbitBroker {
    /// Connects; call it inside a Tokio runtime, which then runs the connection.
    pub async fn connect(config: RabbitConfig) -> Result<Self, MessagingError> {
        let shared = Arc::new(Shared::new(config)?);
        let (link, events) = shared.open().await?;
        shared.state.send_replace(State::Up(Arc::clone(&link)));
        tokio::spawn(link::supervise(Arc::clone(&shared), link, events));
        Ok(Self { shared })
    }

    /// host:port of the broker.
    pub fn address(&self) -> String {
        self.shared.address()
    }

    /// Whether the connection is up now (false while reconnecting).
    pub fn is_connected(&self) -> bool {
        match &*self.shared.state.borrow() {
            State::Up(link) => link.connection.status().connected(),
            _ => false,
        }
    }

    /// Declares an exchange, a queue (with its dead-letter queue) or a binding, now and
    /// after every reconnection.
    pub async fn declare(&self, declaration: Declaration) -> Result<(), MessagingError> {
        let link = self.shared.link().await.ok_or(MessagingError::Closed)?;
        self.shared.declare(&link, declaration).await
    }

    async fn publish_once(
        &self,
        message: &Outgoing,
    ) -> Result<Confirmation, (bool, MessagingError)> {
        let link = self
            .shared
            .link()
            .await
            .ok_or((false, MessagingError::Closed))?;
        let channel = link.publisher().await.map_err(|error| (true, error))?;
        let outcome = async {
            channel
                .basic_publish(
                    &message.exchange,
                    &message.destination,
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    &message.body,
                    convert::properties(message),
                )
                .await?
                .await
        }
        .await;
        outcome.map_err(|error| {
            // A refusal on a live connection is final; a broken connection is retried.
            let retry = !link.connection.status().connected();
            let operation = format!(
                "publishing to exchange {:?} with routing key {:?}",
                message.exchange, message.destination
            );
            (retry, MessagingError::broker(operation, error))
        })
    }
}

impl Broker for RabbitBroker {
    type Subscription = RabbitSubscription;

    async fn publish(&self, message: Outgoing) -> Result<(), MessagingError> {
        let started = Instant::now();
        let timeout = self.shared.config.publish_timeout;
        loop {
            match self.publish_once(&message).await {
                Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => return Ok(()),
                Ok(Confirmation::Ack(Some(_))) => {
                    return Err(MessagingError::Config(format!(
                    "no queue receives messages published to exchange {:?} with routing key {:?}: \
                         declare the queue (or a binding) first",
                    message.exchange, message.destination
                )))
                }
                Ok(Confirmation::Nack(_)) => {
                    return Err(MessagingError::NotConfirmed {
                        destination: message.destination,
                    })
                }
                Err((true, _)) if started.elapsed() < timeout => {
                    tokio::time::sleep(self.shared.config.reconnect_delay).await;
                }
                Err((true, _)) => {
                    return Err(MessagingError::Unavailable {
                        destination: message.destination,
                        seconds: timeout.as_secs_f64(),
                    })
                }
                Err((false, error)) => return Err(error),
            }
        }
    }

    async fn subscribe(&self, source: &str) -> Result<RabbitSubscription, MessagingError> {
        let link = self.shared.link().await.ok_or(MessagingError::Closed)?;
        RabbitSubscription::open(Arc::clone(&self.shared), link, source.to_owned()).await
    }

    async fn close(&self) -> Result<(), MessagingError> {
        let previous = self.shared.state.send_replace(State::Closed);
        if let State::Up(link) = previous {
            link.connection
                .close(200, "closed")
                .await
                .map_err(|error| MessagingError::broker("closing the connection", error))?;
        }
        Ok(())
    }
}
