//! Subscriptions: a pump task per queue long-polls `ReceiveMessage` and hands messages to
//! `next` through a channel as deep as one receive; settling talks to SQS directly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

use super::api::CallError;
use super::convert::{self, Received};
use super::Shared;
use crate::messaging::message::SettleFuture;
use crate::messaging::{Delivery, MessagingError, Outgoing, Settle, Settlement, Subscription};

/// Settles one received message by its receipt handle.
struct SqsSettler {
    shared: Arc<Shared>,
    queue_url: String,
    receipt_handle: String,
    dead_letter: Option<String>,
    copy: Outgoing,
    /// Set once settled; dropped with the delivery. `keep_hidden` watches it.
    settled: Arc<AtomicBool>,
}

/// While the handler runs, the message's visibility timeout is extended every half
/// timeout, so that SQS does not hand it to another consumer meanwhile; it stops once
/// the message is settled or its delivery dropped.
fn keep_hidden(
    shared: Arc<Shared>,
    queue_url: String,
    receipt_handle: String,
    settled: Weak<AtomicBool>,
    timeout: Duration,
) {
    if timeout < Duration::from_secs(2) {
        return;
    }
    tokio::spawn(async move {
        let input = json!({
            "QueueUrl": queue_url,
            "ReceiptHandle": receipt_handle,
            "VisibilityTimeout": timeout.as_secs(),
        });
        loop {
            tokio::time::sleep(timeout / 2).await;
            match settled.upgrade() {
                Some(flag) if !flag.load(Ordering::Acquire) => {}
                _ => return,
            }
            if let Err(error) = shared
                .call("ChangeMessageVisibility", &input, Duration::ZERO)
                .await
            {
                let reason = match error {
                    CallError::Transport(reason) => reason,
                    CallError::Service(error) => error.to_string(),
                };
                tracing::warn!(queue = %queue_url, %reason, "extending a message's visibility failed");
                return;
            }
        }
    });
}

impl SqsSettler {
    async fn delete(&self) -> Result<(), MessagingError> {
        let input = json!({"QueueUrl": self.queue_url, "ReceiptHandle": self.receipt_handle});
        self.shared
            .call("DeleteMessage", &input, Duration::ZERO)
            .await
            .map(drop)
            .map_err(|error| error.into_messaging("deleting (acking) a message".to_owned()))
    }

    async fn release(&self) -> Result<(), MessagingError> {
        let input = json!({
            "QueueUrl": self.queue_url,
            "ReceiptHandle": self.receipt_handle,
            "VisibilityTimeout": 0,
        });
        self.shared
            .call("ChangeMessageVisibility", &input, Duration::ZERO)
            .await
            .map(drop)
            .map_err(|error| error.into_messaging("giving a message back to its queue".to_owned()))
    }

    async fn dead_letter(&self) -> Result<(), MessagingError> {
        let Some(dead_letter) = &self.dead_letter else {
            tracing::warn!(queue = %self.queue_url, "a rejected message was deleted: its queue has no dead letter");
            return self.delete().await;
        };
        let mut copy = self.copy.clone();
        copy.destination.clone_from(dead_letter);
        let input = convert::send_input(dead_letter, &copy)?;
        self.shared
            .call("SendMessage", &input, Duration::ZERO)
            .await
            .map_err(|error| {
                error.into_messaging(format!(
                    "moving a message to its dead letter {dead_letter:?}"
                ))
            })?;
        // Only once the copy is in the dead letter does the original go.
        self.delete().await
    }
}

impl Settle for SqsSettler {
    fn settle(&self, settlement: Settlement) -> SettleFuture<'_> {
        self.settled.store(true, Ordering::Release);
        Box::pin(async move {
            match settlement {
                Settlement::Ack => self.delete().await,
                Settlement::Nack { requeue: true } => self.release().await,
                Settlement::Nack { requeue: false } | Settlement::Reject => {
                    self.dead_letter().await
                }
            }
        })
    }
}

/// Deliveries from one queue (`SqsBroker::subscribe`).
pub struct SqsSubscription {
    queue_url: String,
    deliveries: Mutex<mpsc::Receiver<Delivery>>,
    stopped: watch::Sender<bool>,
    pump: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqsSubscription {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqsSubscription")
            .field("queue_url", &self.queue_url)
            .finish_non_exhaustive()
    }
}

struct Pump {
    shared: Arc<Shared>,
    source: String,
    queue_url: String,
    dead_letter: Option<String>,
    sender: mpsc::Sender<Delivery>,
    stopped: watch::Receiver<bool>,
}

impl Pump {
    fn delivery(&self, received: Received) -> Delivery {
        let copy = Outgoing {
            destination: self.source.clone(),
            exchange: String::new(),
            key: received.key.clone(),
            body: received.body.clone(),
            headers: received.headers.clone(),
            content_type: received.content_type.clone(),
            message_id: received.message_id.clone(),
            correlation_id: received.correlation_id.clone(),
            reply_to: received.reply_to.clone(),
        };
        let settled = Arc::new(AtomicBool::new(false));
        keep_hidden(
            Arc::clone(&self.shared),
            self.queue_url.clone(),
            received.receipt_handle.clone(),
            Arc::downgrade(&settled),
            self.shared.config().visibility_timeout,
        );
        let settler = SqsSettler {
            shared: Arc::clone(&self.shared),
            queue_url: self.queue_url.clone(),
            receipt_handle: received.receipt_handle,
            dead_letter: self.dead_letter.clone(),
            copy,
            settled,
        };
        let mut delivery = Delivery::new(self.source.clone(), received.body, Box::new(settler));
        delivery.routing_key.clone_from(&self.source);
        delivery.key = received.key;
        delivery.headers = received.headers;
        delivery.content_type = received.content_type;
        delivery.message_id = received.message_id;
        delivery.correlation_id = received.correlation_id;
        delivery.reply_to = received.reply_to;
        delivery.redelivered = received.receive_count > 1;
        delivery
    }

    async fn run(mut self) {
        let config = self.shared.config().clone();
        let input = json!({
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": config.max_messages,
            "WaitTimeSeconds": config.wait_time.as_secs(),
            "VisibilityTimeout": config.visibility_timeout.as_secs(),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
            "AttributeNames": ["ApproximateReceiveCount"],
        });
        let mut delay = Duration::from_millis(100);
        loop {
            // Room for a whole receive first, so what is received can always be handed on.
            let reserved = tokio::select! {
                permits = self.sender.reserve_many(usize::from(config.max_messages)) => permits,
                _ = self.stopped.wait_for(|stopped| *stopped) => return,
            };
            let Ok(permits) = reserved else {
                return;
            };
            let answer = tokio::select! {
                answer = self.shared.call("ReceiveMessage", &input, config.wait_time) => answer,
                _ = self.stopped.wait_for(|stopped| *stopped) => return,
            };
            match answer {
                Ok(answer) => {
                    delay = Duration::from_millis(100);
                    let messages = answer
                        .get("Messages")
                        .and_then(|m| m.as_array())
                        .cloned()
                        .unwrap_or_default();
                    for (permit, message) in permits.zip(messages.iter()) {
                        match convert::received(message) {
                            Some(received) => permit.send(self.delivery(received)),
                            None => {
                                tracing::warn!(queue = %self.queue_url, "SQS sent a message without a receipt handle");
                            }
                        }
                    }
                }
                Err(error) => {
                    let reason = match error {
                        CallError::Transport(reason) => reason,
                        CallError::Service(error) => error.to_string(),
                    };
                    tracing::warn!(queue = %self.queue_url, %reason, "receiving from SQS failed; trying again");
                    drop(permits);
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {},
                        _ = self.stopped.wait_for(|stopped| *stopped) => return,
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

impl SqsSubscription {
    pub(crate) fn open(
        shared: Arc<Shared>,
        source: String,
        queue_url: String,
        dead_letter: Option<String>,
    ) -> Self {
        let capacity = usize::from(shared.config().max_messages);
        let (sender, receiver) = mpsc::channel(capacity);
        let (stopped, watching) = watch::channel(false);
        let pump = Pump {
            shared,
            source,
            queue_url: queue_url.clone(),
            dead_letter,
            sender,
            stopped: watching,
        };
        let handle = tokio::spawn(pump.run());
        Self {
            queue_url,
            deliveries: Mutex::new(receiver),
            stopped,
            pump: std::sync::Mutex::new(Some(handle)),
        }
    }
}

impl Subscription for SqsSubscription {
    async fn next(&self) -> Option<Delivery> {
        self.next_batch(1).await.pop()
    }

    async fn next_batch(&self, max: usize) -> Vec<Delivery> {
        let mut stopped = self.stopped.subscribe();
        if *stopped.borrow() {
            return Vec::new();
        }
        let mut deliveries = self.deliveries.lock().await;
        let first = tokio::select! {
            delivery = deliveries.recv() => delivery,
            _ = stopped.wait_for(|stopped| *stopped) => None,
        };
        crate::messaging::batch(first, &mut deliveries, max)
    }

    async fn stop(&self) -> Result<(), MessagingError> {
        self.stopped.send_replace(true);
        let pump = self
            .pump
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(pump) = pump {
            pump.await.ok();
        }
        // What was received and not handed out goes back to the queue now, not after
        // the visibility timeout.
        let mut deliveries = self.deliveries.lock().await;
        let mut first_error = None;
        while let Ok(delivery) = deliveries.try_recv() {
            if let Err(error) = delivery.nack(true).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
