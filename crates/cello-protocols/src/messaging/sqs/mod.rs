//! Amazon SQS (and SQS-compatible servers: LocalStack, moto, ElasticMQ) over its JSON
//! protocol, signed with SigV4, on the caller's Tokio runtime.
//!
//! A subscription long-polls its queue and hands messages out one by one; settling
//! deletes a message (ack), makes it visible again at once (nack with requeue), or moves
//! it to the queue's dead letter (reject): the queue Cello declared as its dead letter,
//! or the target of the queue's own redrive policy. Without either a rejected message is
//! deleted, as RabbitMQ drops what it cannot dead-letter. A message received and not
//! settled comes back after the queue's visibility timeout, whatever happened to the
//! worker that held it.

mod api;
mod config;
mod consumer;
mod convert;
mod sigv4;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use api::SqsError;
pub use config::{Credentials, SqsConfig};
pub use consumer::SqsSubscription;
pub use convert::KEY_ATTRIBUTE;
pub use sigv4::{amz_date, sign};

use api::{Api, CallError};

use super::{Broker, MessagingError, Outgoing};

/// A queue to declare (`CreateQueue`, which leaves an existing queue as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqsQueueSpec {
    /// The queue's name; a `.fifo` name makes a FIFO queue (with content-based
    /// deduplication).
    pub name: String,
    /// A queue that receives what a subscriber rejects; declared too.
    pub dead_letter: Option<String>,
}

pub(crate) struct Shared {
    api: Api,
    config: SqsConfig,
    urls: Mutex<HashMap<String, String>>,
    dead_letters: Mutex<HashMap<String, String>>,
}

impl Shared {
    pub(crate) async fn call(
        &self,
        action: &str,
        input: &Value,
        wait: Duration,
    ) -> Result<Value, CallError> {
        self.api.call(action, input, wait).await
    }

    /// Calls `action`, trying again while SQS cannot be reached, for `publish_timeout`.
    async fn call_patiently(&self, action: &str, input: &Value) -> Result<Value, CallError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            match self.api.call(action, input, Duration::ZERO).await {
                Err(CallError::Transport(reason)) => {
                    if started.elapsed() >= self.config.publish_timeout {
                        return Err(CallError::Transport(reason));
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                outcome => return outcome,
            }
        }
    }

    /// The URL of `queue` (a name, or a URL already).
    pub(crate) async fn queue_url(&self, queue: &str) -> Result<String, MessagingError> {
        if queue.starts_with("http://") || queue.starts_with("https://") {
            return Ok(queue.to_owned());
        }
        if let Some(url) = self
            .urls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(queue)
        {
            return Ok(url.clone());
        }
        let answer = self
            .call_patiently("GetQueueUrl", &json!({"QueueName": queue}))
            .await
            .map_err(|error| match error {
                CallError::Service(error)
                    if error.code.contains("NonExistentQueue")
                        || error.code.contains("QueueDoesNotExist") =>
                {
                    MessagingError::Config(format!(
                        "SQS has no queue named {queue:?}: create it, or declare it with \
                         declare_queue (subscribers declare theirs)"
                    ))
                }
                error => error.into_messaging(format!("looking up queue {queue:?}")),
            })?;
        let url = answer
            .get("QueueUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                MessagingError::Config(format!(
                    "GetQueueUrl({queue:?}) answered without a QueueUrl"
                ))
            })?
            .to_owned();
        self.remember(queue, &url);
        Ok(url)
    }

    fn remember(&self, queue: &str, url: &str) {
        self.urls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(queue.to_owned(), url.to_owned());
    }

    /// Where rejected messages of `queue_url` go: the dead letter declared with it, or
    /// the target of the queue's redrive policy.
    pub(crate) async fn dead_letter_of(
        &self,
        queue_url: &str,
    ) -> Result<Option<String>, MessagingError> {
        if let Some(url) = self
            .dead_letters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(queue_url)
        {
            return Ok(Some(url.clone()));
        }
        let answer = self
            .call_patiently(
                "GetQueueAttributes",
                &json!({"QueueUrl": queue_url, "AttributeNames": ["RedrivePolicy"]}),
            )
            .await
            .map_err(|error| {
                error.into_messaging(format!("reading the attributes of {queue_url:?}"))
            })?;
        let Some(policy) = answer
            .pointer("/Attributes/RedrivePolicy")
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let target = serde_json::from_str::<Value>(policy)
            .ok()
            .and_then(|policy| {
                policy
                    .get("deadLetterTargetArn")?
                    .as_str()
                    .map(str::to_owned)
            });
        let Some(name) = target.as_deref().and_then(|arn| arn.rsplit(':').next()) else {
            return Ok(None);
        };
        self.queue_url(name).await.map(Some)
    }
}

/// A client of SQS; cheap to clone.
#[derive(Clone)]
pub struct SqsBroker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SqsBroker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SqsBroker")
            .field("endpoint", &self.shared.api.host())
            .finish_non_exhaustive()
    }
}

impl SqsBroker {
    /// Checks that SQS answers (and that `queue_url`, when set, exists), failing with
    /// `Connect` when it cannot be reached within the request timeout.
    pub async fn connect(config: SqsConfig) -> Result<Self, MessagingError> {
        let api = Api::new(&config)?;
        let probe = match &config.queue_url {
            Some(url) => (
                "GetQueueAttributes",
                json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
            ),
            None => ("ListQueues", json!({"MaxResults": 1})),
        };
        if let Err(error) = api.call(probe.0, &probe.1, Duration::ZERO).await {
            let reason = match error {
                CallError::Transport(reason) => reason,
                CallError::Service(error) => error.to_string(),
            };
            return Err(MessagingError::Connect {
                address: api.host().to_owned(),
                reason,
            });
        }
        Ok(Self {
            shared: Arc::new(Shared {
                api,
                config,
                urls: Mutex::new(HashMap::new()),
                dead_letters: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// host[:port] of the endpoint.
    pub fn address(&self) -> String {
        self.shared.api.host().to_owned()
    }

    /// The URL of `queue` (a name or a URL).
    pub async fn queue_url(&self, queue: &str) -> Result<String, MessagingError> {
        self.shared.queue_url(queue).await
    }

    async fn create(&self, name: &str) -> Result<String, MessagingError> {
        let mut input = json!({"QueueName": name});
        if name.ends_with(".fifo") {
            input["Attributes"] = json!({"FifoQueue": "true", "ContentBasedDeduplication": "true"});
        }
        let answer = self
            .shared
            .call_patiently("CreateQueue", &input)
            .await
            .map_err(|error| error.into_messaging(format!("declaring queue {name:?}")))?;
        let url = answer
            .get("QueueUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                MessagingError::Config(format!("CreateQueue({name:?}) answered without a QueueUrl"))
            })?
            .to_owned();
        self.shared.remember(name, &url);
        Ok(url)
    }

    /// Declares a queue (and its dead letter); returns its URL.
    pub async fn declare(&self, spec: SqsQueueSpec) -> Result<String, MessagingError> {
        let url = self.create(&spec.name).await?;
        if let Some(dead_letter) = &spec.dead_letter {
            let dead_url = self.create(dead_letter).await?;
            self.shared
                .dead_letters
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(url.clone(), dead_url);
        }
        Ok(url)
    }
}

impl Broker for SqsBroker {
    type Subscription = SqsSubscription;

    async fn publish(&self, message: Outgoing) -> Result<(), MessagingError> {
        let url = self.shared.queue_url(&message.destination).await?;
        let input = convert::send_input(&url, &message)?;
        match self.shared.call_patiently("SendMessage", &input).await {
            Ok(_) => Ok(()),
            Err(CallError::Transport(_)) => Err(MessagingError::Unavailable {
                destination: message.destination,
                seconds: self.shared.config.publish_timeout.as_secs_f64(),
            }),
            Err(error) => {
                Err(error.into_messaging(format!("sending a message to {:?}", message.destination)))
            }
        }
    }

    async fn subscribe(&self, source: &str) -> Result<SqsSubscription, MessagingError> {
        let url = self.shared.queue_url(source).await?;
        let dead_letter = self.shared.dead_letter_of(&url).await?;
        Ok(SqsSubscription::open(
            Arc::clone(&self.shared),
            source.to_owned(),
            url,
            dead_letter,
        ))
    }

    async fn close(&self) -> Result<(), MessagingError> {
        Ok(())
    }
}

impl Shared {
    pub(crate) fn config(&self) -> &SqsConfig {
        &self.config
    }
}
