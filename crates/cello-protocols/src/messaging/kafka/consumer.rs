//! Subscriptions: one consumer-group member per subscription. A pump task reads records
//! into a channel `max_poll_records` deep; a record's offset is stored for commit only
//! once it and every earlier offset of its partition were settled (`Offsets`).
//!
//! Kafka cannot requeue or dead-letter one record, so those settlements publish a copy
//! (to the topic again, or to the dead-letter topic) and then count the record as
//! processed; a failed copy leaves the record unprocessed, to be read again.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::convert::{self, Received};
use super::offsets::Offsets;
use super::Producer;
use crate::messaging::message::SettleFuture;
use crate::messaging::{Delivery, MessagingError, Outgoing, Settle, Settlement, Subscription};

/// What the rebalance callback shares with the subscription.
#[derive(Debug, Default)]
pub(crate) struct GroupState {
    offsets: Mutex<Offsets>,
    assigned: Mutex<BTreeSet<i32>>,
}

impl GroupState {
    fn offsets(&self) -> std::sync::MutexGuard<'_, Offsets> {
        self.offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn assigned(&self) -> std::sync::MutexGuard<'_, BTreeSet<i32>> {
        self.assigned.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The consumer's context: commits what was processed before partitions go elsewhere.
pub(crate) struct GroupContext {
    pub(crate) state: Arc<GroupState>,
    pub(crate) topic: String,
}

impl ClientContext for GroupContext {}

fn partitions(list: &TopicPartitionList) -> Vec<i32> {
    list.elements()
        .iter()
        .map(|element| element.partition())
        .collect()
}

fn nothing_to_commit(error: &KafkaError) -> bool {
    matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::NoOffset))
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                // The new owner starts at the committed offset: commit what was processed.
                // Not a synchronous commit: this runs inside `recv`, on the worker's event
                // loop thread, and a coordinator that went away would hold it for the
                // socket timeout. The commit request goes out ahead of the rejoin.
                if let Err(error) = consumer.commit_consumer_state(CommitMode::Async) {
                    if !nothing_to_commit(&error) {
                        tracing::warn!(topic = %self.topic, %error, "committing before a rebalance failed");
                    }
                }
                let gone = partitions(list);
                tracing::info!(topic = %self.topic, partitions = ?gone, "partitions revoked");
                self.state.offsets().revoke(gone.iter().copied());
                let mut assigned = self.state.assigned();
                for partition in gone {
                    assigned.remove(&partition);
                }
            }
            Rebalance::Assign(list) => {
                let got = partitions(list);
                tracing::info!(topic = %self.topic, partitions = ?got, "partitions assigned");
                self.state.assigned().extend(got);
            }
            Rebalance::Error(error) => {
                tracing::warn!(topic = %self.topic, %error, "rebalance failed");
            }
        }
    }
}

pub(crate) type GroupConsumer = StreamConsumer<GroupContext>;

/// A subscription's consumer and its bookkeeping, shared with its deliveries' settlers.
pub(crate) struct Member {
    pub(crate) topic: String,
    pub(crate) group: String,
    pub(crate) auto_commit: bool,
    pub(crate) state: Arc<GroupState>,
    /// None once closed: settlements after that store nothing (the records are read again).
    pub(crate) consumer: Mutex<Option<Arc<GroupConsumer>>>,
    pub(crate) stopped: watch::Sender<bool>,
    pub(crate) pump: Mutex<Option<JoinHandle<()>>>,
}

impl Member {
    fn consumer(&self) -> Option<Arc<GroupConsumer>> {
        self.consumer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts `offset` as processed, and stores the commit point when it moved.
    fn processed(&self, partition: i32, offset: i64) {
        let Some(point) = self.state.offsets().done(partition, offset) else {
            return;
        };
        let Some(consumer) = self.consumer() else {
            return;
        };
        let mut list = TopicPartitionList::new();
        if list
            .add_partition_offset(&self.topic, partition, Offset::Offset(point))
            .is_err()
        {
            return;
        }
        if let Err(error) = consumer.store_offsets(&list) {
            // The partition was revoked meanwhile: its new owner reads the record again.
            tracing::debug!(topic = %self.topic, partition, %error, "offset not stored");
            return;
        }
        if !self.auto_commit {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Async) {
                tracing::warn!(topic = %self.topic, %error, "committing an offset failed");
            }
        }
    }

    /// Stops the pump and waits for it to let go of the consumer.
    pub(crate) async fn stop(&self) {
        self.stopped.send_replace(true);
        let pump = self
            .pump
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(pump) = pump {
            pump.await.ok();
        }
    }

    /// Commits what was processed and leaves the group (blocking: librdkafka's close).
    pub(crate) fn close_blocking(&self) {
        let consumer = self
            .consumer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(consumer) = consumer {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                if !nothing_to_commit(&error) {
                    tracing::warn!(topic = %self.topic, %error, "the last commit failed");
                }
            }
            // The last reference: dropping it leaves the group.
            drop(consumer);
        }
    }
}

/// Settles one record.
struct KafkaSettler {
    member: Arc<Member>,
    producer: Producer,
    partition: i32,
    offset: i64,
    dead_letter: Option<String>,
    copy: Outgoing,
}

impl KafkaSettler {
    async fn copy_to(&self, topic: &str) -> Result<(), MessagingError> {
        let mut copy = self.copy.clone();
        topic.clone_into(&mut copy.destination);
        self.producer.publish(copy).await
    }
}

impl Settle for KafkaSettler {
    fn settle(&self, settlement: Settlement) -> SettleFuture<'_> {
        Box::pin(async move {
            match settlement {
                Settlement::Ack => {}
                Settlement::Nack { requeue: true } => {
                    self.copy_to(&self.member.topic).await?;
                }
                Settlement::Nack { requeue: false } | Settlement::Reject => {
                    match &self.dead_letter {
                        Some(dead_letter) => self.copy_to(dead_letter).await?,
                        None => tracing::warn!(
                            topic = %self.member.topic,
                            offset = self.offset,
                            "a rejected record was skipped: its subscription has no dead-letter topic"
                        ),
                    }
                }
            }
            self.member.processed(self.partition, self.offset);
            Ok(())
        })
    }
}

/// The records of one topic for one consumer group (`KafkaBroker::subscribe_to`).
pub struct KafkaSubscription {
    pub(crate) member: Arc<Member>,
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
}

impl std::fmt::Debug for KafkaSubscription {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaSubscription")
            .field("topic", &self.member.topic)
            .field("group", &self.member.group)
            .finish_non_exhaustive()
    }
}

struct Pump {
    member: Arc<Member>,
    consumer: Arc<GroupConsumer>,
    producer: Producer,
    dead_letter: Option<String>,
    sender: mpsc::Sender<Delivery>,
    stopped: watch::Receiver<bool>,
}

impl Pump {
    fn delivery(&self, received: Received) -> Delivery {
        let copy = Outgoing {
            destination: self.member.topic.clone(),
            exchange: String::new(),
            key: received.key.clone(),
            body: received.body.clone(),
            headers: received.headers.clone(),
            content_type: received.content_type.clone(),
            message_id: received.message_id.clone(),
            correlation_id: received.correlation_id.clone(),
            reply_to: received.reply_to.clone(),
        };
        let settler = KafkaSettler {
            member: Arc::clone(&self.member),
            producer: self.producer.clone(),
            partition: received.partition,
            offset: received.offset,
            dead_letter: self.dead_letter.clone(),
            copy,
        };
        let mut delivery =
            Delivery::new(self.member.topic.clone(), received.body, Box::new(settler));
        delivery.routing_key.clone_from(&self.member.topic);
        delivery.key = received.key;
        delivery.headers = received.headers;
        delivery.content_type = received.content_type;
        delivery.message_id = received.message_id;
        delivery.correlation_id = received.correlation_id;
        delivery.reply_to = received.reply_to;
        delivery.partition = Some(received.partition);
        delivery.offset = Some(received.offset);
        delivery.timestamp_ms = received.timestamp_ms;
        delivery
    }

    async fn run(mut self) {
        let mut delay = Duration::from_millis(100);
        loop {
            // Room first, so a record read can always be handed on.
            let permit = tokio::select! {
                permit = self.sender.reserve() => permit,
                _ = self.stopped.wait_for(|stopped| *stopped) => return,
            };
            let Ok(permit) = permit else {
                return;
            };
            let record = tokio::select! {
                record = self.consumer.recv() => record.map(|record| record.detach()),
                _ = self.stopped.wait_for(|stopped| *stopped) => return,
            };
            match record {
                Ok(record) => {
                    delay = Duration::from_millis(100);
                    let received = convert::received(&record);
                    self.member
                        .state
                        .offsets()
                        .begin(received.partition, received.offset);
                    permit.send(self.delivery(received));
                }
                Err(error) => {
                    tracing::warn!(topic = %self.member.topic, %error, "reading from Kafka failed; trying again");
                    drop(permit);
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

impl KafkaSubscription {
    pub(crate) fn open(
        member: Arc<Member>,
        consumer: Arc<GroupConsumer>,
        producer: Producer,
        dead_letter: Option<String>,
        buffer: usize,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(buffer);
        let pump = Pump {
            member: Arc::clone(&member),
            consumer,
            producer,
            dead_letter,
            sender,
            stopped: member.stopped.subscribe(),
        };
        let handle = tokio::spawn(pump.run());
        *member.pump.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Self {
            member,
            deliveries: tokio::sync::Mutex::new(receiver),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.member.topic
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.member.group
    }

    /// The partitions this member holds now.
    pub fn assignment(&self) -> Vec<i32> {
        self.member.state.assigned().iter().copied().collect()
    }

    /// Records handed out and not settled yet.
    pub fn pending(&self) -> usize {
        self.member.state.offsets().pending()
    }

    /// Stops reading, commits what was processed and leaves the group; records not
    /// settled by then are read again by the group.
    pub async fn close(&self) -> Result<(), MessagingError> {
        self.stop().await?;
        let member = Arc::clone(&self.member);
        tokio::task::spawn_blocking(move || member.close_blocking())
            .await
            .map_err(|error| MessagingError::broker("leaving the consumer group", error))
    }
}

impl Subscription for KafkaSubscription {
    async fn next(&self) -> Option<Delivery> {
        self.next_batch(1).await.pop()
    }

    async fn next_batch(&self, max: usize) -> Vec<Delivery> {
        let mut stopped = self.member.stopped.subscribe();
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
        self.member.stop().await;
        // Read and not handed out: never settled, so never committed; the group reads
        // them again.
        let mut deliveries = self.deliveries.lock().await;
        while deliveries.try_recv().is_ok() {}
        Ok(())
    }
}
