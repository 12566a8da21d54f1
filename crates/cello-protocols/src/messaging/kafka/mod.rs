//! Kafka through librdkafka (rdkafka, built from its bundled source).
//!
//! `KafkaBroker::connect` opens an idempotent producer (acks from all in-sync replicas)
//! and checks that the brokers answer; `publish` resolves on the delivery report. Each
//! subscription is a member of a consumer group that commits processed offsets only:
//! librdkafka's automatic offset store is off, and a record's offset is stored once it
//! and every earlier record of its partition were settled. Before partitions move to
//! another member, what was processed is committed; records in flight on them are read
//! again by the new owner (at least once).

mod config;
mod consumer;
mod convert;
mod offsets;

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;

pub use config::KafkaConfig;
pub use consumer::KafkaSubscription;
use consumer::{GroupConsumer, GroupContext, GroupState, Member};

use super::{Broker, MessagingError, Outgoing};

/// The producer half, shared by the broker and the settlers that publish copies.
#[derive(Clone)]
pub(crate) struct Producer {
    producer: FutureProducer,
    timeout: Duration,
}

impl Producer {
    pub(crate) async fn publish(&self, message: Outgoing) -> Result<(), MessagingError> {
        if !message.exchange.is_empty() {
            return Err(MessagingError::Config(format!(
                "Kafka has no exchanges (asked for {:?}): publish to a topic",
                message.exchange
            )));
        }
        let headers = convert::record_headers(&message);
        let mut record = FutureRecord::to(&message.destination)
            .payload(&message.body)
            .headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key);
        }
        match self
            .producer
            .send(record, Timeout::After(self.timeout))
            .await
        {
            Ok(_) => Ok(()),
            Err((error, _)) => Err(MessagingError::broker(
                format!("publishing to topic {:?}", message.destination),
                error,
            )),
        }
    }
}

/// What a subscription reads and where its rejected records go.
#[derive(Debug, Clone, Default)]
pub struct KafkaSubscribeSpec {
    /// The topic.
    pub topic: String,
    /// The consumer group (None: the config's `group_id`).
    pub group: Option<String>,
    /// The topic rejected records are copied to (None: they are skipped).
    pub dead_letter: Option<String>,
}

struct Inner {
    config: KafkaConfig,
    producer: Producer,
    admin: AdminClient<DefaultClientContext>,
    members: Mutex<Vec<Weak<Member>>>,
}

/// A worker's Kafka client: one producer, and a consumer per subscription.
#[derive(Clone)]
pub struct KafkaBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaBroker")
            .field("brokers", &self.inner.config.brokers)
            .finish_non_exhaustive()
    }
}

fn create_error(config: &KafkaConfig, error: impl std::fmt::Display) -> MessagingError {
    MessagingError::Connect {
        address: config.address(),
        reason: error.to_string(),
    }
}

impl KafkaBroker {
    /// Opens the producer and waits (up to `connection_timeout`) for the brokers' metadata.
    pub async fn connect(config: KafkaConfig) -> Result<Self, MessagingError> {
        config.validate()?;
        let producer: FutureProducer = config
            .producer()
            .create()
            .map_err(|error| create_error(&config, error))?;
        let admin: AdminClient<DefaultClientContext> = config
            .admin()
            .create()
            .map_err(|error| create_error(&config, error))?;
        let probe = producer.clone();
        let timeout = config.connection_timeout;
        let metadata = tokio::task::spawn_blocking(move || {
            probe.client().fetch_metadata(None, timeout).map(drop)
        })
        .await
        .map_err(|error| create_error(&config, error))?;
        metadata.map_err(|error| create_error(&config, error))?;
        let producer = Producer {
            producer,
            timeout: config.publish_timeout,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                producer,
                admin,
                members: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.inner.config
    }

    /// `host:port,...` of the bootstrap brokers.
    pub fn address(&self) -> String {
        self.inner.config.address()
    }

    /// Creates `topic` with `partitions` (None: the config's `topic_partitions`) unless it
    /// exists.
    pub async fn declare_topic(
        &self,
        topic: &str,
        partitions: Option<i32>,
    ) -> Result<(), MessagingError> {
        let config = &self.inner.config;
        let new = NewTopic::new(
            topic,
            partitions.unwrap_or(config.topic_partitions),
            TopicReplication::Fixed(config.replication_factor),
        );
        let options = AdminOptions::new().operation_timeout(Some(config.connection_timeout));
        let results = self
            .inner
            .admin
            .create_topics([&new], &options)
            .await
            .map_err(|error| MessagingError::broker(format!("creating topic {topic:?}"), error))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(MessagingError::broker(
                        format!("creating topic {name:?}"),
                        rdkafka::error::KafkaError::AdminOp(code),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Joins `spec.group` (or the config's) as a member reading `spec.topic`.
    pub async fn subscribe_to(
        &self,
        spec: KafkaSubscribeSpec,
    ) -> Result<KafkaSubscription, MessagingError> {
        let config = &self.inner.config;
        let group = spec.group.unwrap_or_else(|| config.group_id.clone());
        if group.is_empty() || spec.topic.is_empty() {
            return Err(MessagingError::Config(
                "a Kafka subscription needs a topic and a consumer group".to_owned(),
            ));
        }
        let state = Arc::new(GroupState::default());
        let context = GroupContext {
            state: Arc::clone(&state),
            topic: spec.topic.clone(),
        };
        let consumer: GroupConsumer = config
            .consumer(&group)
            .create_with_context(context)
            .map_err(|error| create_error(config, error))?;
        consumer.subscribe(&[&spec.topic]).map_err(|error| {
            MessagingError::broker(format!("subscribing to topic {:?}", spec.topic), error)
        })?;
        let consumer = Arc::new(consumer);
        let member = Arc::new(Member {
            topic: spec.topic,
            group,
            auto_commit: config.auto_commit,
            state,
            consumer: Mutex::new(Some(Arc::clone(&consumer))),
            stopped: tokio::sync::watch::channel(false).0,
            pump: Mutex::new(None),
        });
        {
            let mut members = self
                .inner
                .members
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            members.retain(|member| member.strong_count() > 0);
            members.push(Arc::downgrade(&member));
        }
        Ok(KafkaSubscription::open(
            member,
            consumer,
            self.inner.producer.clone(),
            spec.dead_letter,
            config.buffer,
        ))
    }
}

impl Broker for KafkaBroker {
    type Subscription = KafkaSubscription;

    async fn publish(&self, message: Outgoing) -> Result<(), MessagingError> {
        self.inner.producer.publish(message).await
    }

    async fn subscribe(&self, source: &str) -> Result<KafkaSubscription, MessagingError> {
        self.subscribe_to(KafkaSubscribeSpec {
            topic: source.to_owned(),
            ..KafkaSubscribeSpec::default()
        })
        .await
    }

    /// Commits and leaves every group this broker's subscriptions joined, and waits for
    /// the producer's queued messages (up to the publish timeout).
    async fn close(&self) -> Result<(), MessagingError> {
        let members: Vec<Arc<Member>> = self
            .inner
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .filter_map(|member| member.upgrade())
            .collect();
        for member in &members {
            member.stop().await;
        }
        let producer = self.inner.producer.clone();
        tokio::task::spawn_blocking(move || {
            for member in members {
                member.close_blocking();
            }
            producer.producer.flush(producer.timeout)
        })
        .await
        .map_err(|error| MessagingError::broker("closing the Kafka client", error))?
        .map_err(|error| MessagingError::broker("flushing queued messages", error))
    }
}
