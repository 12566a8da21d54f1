//! Subscriptions: a pump task per queue consumes on its own channel with the prefetch,
//! and consumes again on the new connection after a reconnection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use lapin::acker::Acker;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::Channel;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::convert::delivery;
use super::link::{Link, Shared};
use crate::messaging::message::SettleFuture;
use crate::messaging::{Delivery, MessagingError, Settle, Settlement, Subscription};

/// Settles a delivery on the channel it came on, which it keeps open: lapin closes a
/// channel when its last handle goes, and a delivery handed out outlives its pump.
struct RabbitSettler {
    acker: Acker,
    _channel: Channel,
}

impl Settle for RabbitSettler {
    fn settle(&self, settlement: Settlement) -> SettleFuture<'_> {
        Box::pin(async move {
            let result = match settlement {
                Settlement::Ack => self.acker.ack(BasicAckOptions::default()).await,
                Settlement::Nack { requeue } => {
                    self.acker
                        .nack(BasicNackOptions {
                            requeue,
                            multiple: false,
                        })
                        .await
                }
                Settlement::Reject => {
                    self.acker
                        .reject(BasicRejectOptions { requeue: false })
                        .await
                }
            };
            result.map(|_| ()).map_err(|error| {
                MessagingError::broker(
                    "settling a message (its connection broke: the broker delivers it again)",
                    error,
                )
            })
        })
    }
}

/// Deliveries from one queue (`RabbitBroker::subscribe`).
pub struct RabbitSubscription {
    receiver: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    stop: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    pump: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl RabbitSubscription {
    /// Consumes `queue`: fails now when it cannot (no such queue, no permission), and
    /// goes on consuming across reconnections after that.
    pub(super) async fn open(
        shared: Arc<Shared>,
        link: Arc<Link>,
        queue: String,
    ) -> Result<Self, MessagingError> {
        let tag = consumer_tag();
        let first = open_consumer(&shared, &link, &queue, &tag)
            .await
            .map_err(|error| MessagingError::broker(format!("consuming queue {queue:?}"), error))?;
        let capacity = usize::from(shared.config.prefetch_count.max(1));
        let (sender, receiver) = mpsc::channel(capacity);
        let (stop, stopped) = oneshot::channel();
        let pump = tokio::spawn(pump(shared, link, queue, (tag, first), sender, stopped));
        Ok(Self {
            receiver: tokio::sync::Mutex::new(receiver),
            stop: std::sync::Mutex::new(Some(stop)),
            pump: std::sync::Mutex::new(Some(pump)),
        })
    }
}

impl Subscription for RabbitSubscription {
    async fn next(&self) -> Option<Delivery> {
        self.receiver.lock().await.recv().await
    }

    async fn next_batch(&self, max: usize) -> Vec<Delivery> {
        let mut receiver = self.receiver.lock().await;
        let first = receiver.recv().await;
        crate::messaging::batch(first, &mut receiver, max)
    }

    async fn stop(&self) -> Result<(), MessagingError> {
        if let Some(stop) = take(&self.stop) {
            stop.send(()).ok();
        }
        if let Some(pump) = take(&self.pump) {
            pump.await.ok();
        }
        // The pump has ended, so a waiting `next` returns and frees the receiver. What was
        // received but never handed out goes back to the queue now, not when the channel
        // closes.
        let mut receiver = self.receiver.lock().await;
        receiver.close();
        while let Some(delivery) = receiver.recv().await {
            delivery.nack(true).await.ok();
        }
        Ok(())
    }
}

/// Requeues what the broker sent before a cancel and the pump had not taken yet: on a
/// channel that stays open (for the deliveries handed out), the broker would otherwise
/// hold these until it closes. After the cancel-ok, lapin ends the stream once its
/// buffer is empty.
async fn give_back(consumer: &mut lapin::Consumer) {
    let requeue = BasicNackOptions {
        requeue: true,
        multiple: false,
    };
    while let Some(Ok(amqp)) = consumer.next().await {
        amqp.acker.nack(requeue).await.ok();
    }
}

fn take<T>(slot: &std::sync::Mutex<Option<T>>) -> Option<T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

fn consumer_tag() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "cello-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn open_consumer(
    shared: &Shared,
    link: &Link,
    queue: &str,
    tag: &str,
) -> Result<(Channel, lapin::Consumer), lapin::Error> {
    let channel = link.connection.create_channel().await?;
    channel
        .basic_qos(shared.config.prefetch_count, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            queue,
            tag,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((channel, consumer))
}

async fn pump(
    shared: Arc<Shared>,
    mut link: Arc<Link>,
    queue: String,
    first: (String, (Channel, lapin::Consumer)),
    sender: mpsc::Sender<Delivery>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut delay = shared.config.reconnect_delay;
    let (mut tag, first) = first;
    let mut opened = Ok(first);
    loop {
        match opened {
            Ok((channel, mut consumer)) => {
                delay = shared.config.reconnect_delay;
                loop {
                    tokio::select! {
                        item = consumer.next() => match item {
                            Some(Ok(amqp)) => {
                                let settler = Box::new(RabbitSettler {
                                    acker: amqp.acker.clone(),
                                    _channel: channel.clone(),
                                });
                                if sender.send(delivery(&queue, amqp, settler)).await.is_err() {
                                    return;
                                }
                            }
                            Some(Err(error)) => {
                                tracing::warn!("consuming {queue:?} stopped: {error}");
                                break;
                            }
                            None => break,
                        },
                        _ = &mut stopped => {
                            // The channel stays open: deliveries handed out can still be
                            // settled; close() ends it.
                            // Only after a cancel-ok does the stream end.
                            if channel.basic_cancel(&tag, BasicCancelOptions::default()).await.is_ok() {
                                give_back(&mut consumer).await;
                            }
                            return;
                        }
                    }
                }
            }
            Err(error) => tracing::warn!("cannot consume {queue:?}: {error}"),
        }
        if shared.is_closed() {
            return;
        }
        // A channel closed on a live connection (the queue was deleted) is retried after
        // a wait; a broken connection waits for the supervisor's new link.
        if link.connection.status().connected() {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = &mut stopped => return,
            }
            delay = (delay * 2).min(shared.config.max_reconnect_delay);
        } else {
            tokio::select! {
                next = shared.link() => match next {
                    Some(next) => link = next,
                    None => return,
                },
                _ = &mut stopped => return,
            }
        }
        tag = consumer_tag();
        opened = open_consumer(&shared, &link, &queue, &tag).await;
    }
}
