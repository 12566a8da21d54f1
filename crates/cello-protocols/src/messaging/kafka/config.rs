//! `KafkaConfig`: the brokers, the consumer group and the timeouts, turned into
//! librdkafka's settings.

use std::time::Duration;

use rdkafka::ClientConfig;

use crate::messaging::MessagingError;

/// How a worker reaches Kafka.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// The bootstrap brokers, `host:port` each.
    pub brokers: Vec<String>,
    /// The client id the brokers log (`cello` when None).
    pub client_id: Option<String>,
    /// The consumer group of subscriptions that name none.
    pub group_id: String,
    /// true: processed offsets are committed in the background every
    /// `auto_commit_interval`; false: each processed offset is committed at once.
    /// Either way only offsets of processed messages are committed.
    pub auto_commit: bool,
    /// How often processed offsets are committed when `auto_commit`.
    pub auto_commit_interval: Duration,
    /// The group session timeout: a member silent this long loses its partitions.
    pub session_timeout: Duration,
    /// Messages a subscription holds fetched and not yet handed out.
    pub buffer: usize,
    /// How long connecting (the first metadata request) may take.
    pub connection_timeout: Duration,
    /// How long a publish may wait for the brokers' acknowledgement.
    pub publish_timeout: Duration,
    /// Partitions of the topics `declare_topic` creates.
    pub topic_partitions: i32,
    /// Replicas of the topics `declare_topic` creates.
    pub replication_factor: i32,
    /// Further librdkafka settings (`compression.type`, `security.protocol`...), applied
    /// last; they win over the fields above.
    pub options: Vec<(String, String)>,
}

impl KafkaConfig {
    /// The defaults for these brokers: group `cello`, auto commit every second.
    pub fn new(brokers: Vec<String>) -> Self {
        Self {
            brokers,
            client_id: None,
            group_id: "cello".to_owned(),
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(1),
            session_timeout: Duration::from_secs(30),
            buffer: 500,
            connection_timeout: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(30),
            topic_partitions: 1,
            replication_factor: 1,
            options: Vec::new(),
        }
    }

    /// Refuses what cannot work, with the field to fix.
    pub fn validate(&self) -> Result<(), MessagingError> {
        if self.brokers.is_empty() || self.brokers.iter().any(|broker| broker.trim().is_empty()) {
            return Err(MessagingError::Config(
                "KafkaConfig needs at least one broker, as host:port".to_owned(),
            ));
        }
        if self.group_id.is_empty() {
            return Err(MessagingError::Config(
                "the consumer group id must not be empty".to_owned(),
            ));
        }
        if self.buffer == 0 {
            return Err(MessagingError::Config(
                "max_poll_records must be at least 1".to_owned(),
            ));
        }
        if self.topic_partitions < 1 || self.replication_factor < 1 {
            return Err(MessagingError::Config(
                "topic_partitions and replication_factor must be at least 1".to_owned(),
            ));
        }
        for (name, timeout) in [
            ("connection_timeout_secs", self.connection_timeout),
            ("publish_timeout_secs", self.publish_timeout),
            ("session_timeout_ms", self.session_timeout),
        ] {
            if timeout.is_zero() {
                return Err(MessagingError::Config(format!(
                    "{name} must be more than 0"
                )));
            }
        }
        Ok(())
    }

    /// `host:port,...` of the brokers.
    pub fn address(&self) -> String {
        self.brokers.join(",")
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.address())
            .set("client.id", self.client_id.as_deref().unwrap_or("cello"))
            // Connection failures are reported through the calls that need the broker.
            .set("log_level", "3");
        config
    }

    fn finish(&self, mut config: ClientConfig) -> ClientConfig {
        for (name, value) in &self.options {
            config.set(name, value);
        }
        config
    }

    /// The producer's settings: acks from every in-sync replica, idempotent, no reorder.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .set("message.timeout.ms", millis(self.publish_timeout));
        self.finish(config)
    }

    /// A consumer's settings for `group`: offsets stored by the subscription only for
    /// processed messages, committed per `auto_commit`.
    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group)
            .set("enable.auto.offset.store", "false")
            .set(
                "enable.auto.commit",
                if self.auto_commit { "true" } else { "false" },
            )
            .set("auto.commit.interval.ms", millis(self.auto_commit_interval))
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", millis(self.session_timeout))
            .set(
                "heartbeat.interval.ms",
                millis((self.session_timeout / 10).max(Duration::from_millis(100))),
            )
            .set("enable.partition.eof", "false");
        self.finish(config)
    }

    /// The admin client's settings (topic creation).
    pub(crate) fn admin(&self) -> ClientConfig {
        let config = self.base();
        self.finish(config)
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().max(1).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_store_offsets_themselves() {
        let config = KafkaConfig::new(vec!["127.0.0.1:9092".to_owned()]);
        config.validate().unwrap();
        let consumer = config.consumer("orders");
        assert_eq!(consumer.get("group.id"), Some("orders"));
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("true"));
        assert_eq!(config.producer().get("acks"), Some("all"));
    }

    #[test]
    fn options_win_and_bad_configs_are_refused() {
        let mut config = KafkaConfig::new(vec!["a:1".to_owned(), "b:2".to_owned()]);
        config.options.push(("acks".to_owned(), "1".to_owned()));
        assert_eq!(config.producer().get("acks"), Some("1"));
        assert_eq!(config.address(), "a:1,b:2");
        config.brokers.clear();
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("broker"));
    }
}
