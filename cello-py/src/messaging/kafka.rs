//! `KafkaBroker` and `KafkaSubscription`: handles on cello-protocols' Kafka client, each
//! call a task on the worker's Tokio runtime that resolves an asyncio future.

use std::sync::Arc;
use std::time::Duration;

use cello_protocols::messaging::kafka::{
    KafkaBroker, KafkaConfig, KafkaSubscribeSpec, KafkaSubscription,
};
use cello_protocols::messaging::{Broker, Subscription};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::delivery::outgoing;
use super::tasks::{next_deliveries, next_delivery, resolve, resolve_none};
use crate::driver::PyDriver;

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        crate::errors::invalid(format!("{name} must be a number of seconds, 0 or more"))
    })
}

/// A worker's Kafka client (`cello.messaging.Kafka` wraps it).
#[pyclass(name = "KafkaBroker", module = "cello._cello", frozen)]
pub struct PyKafkaBroker {
    pub(super) broker: KafkaBroker,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyKafkaBroker {
    /// Opens the producer, waits for the brokers' metadata, then resolves `future` with
    /// the client.
    #[staticmethod]
    #[pyo3(signature = (driver, future, brokers, group_id, client_id, auto_commit, auto_commit_interval_secs, session_timeout_secs, max_poll_records, connection_timeout_secs, publish_timeout_secs, topic_partitions, replication_factor, options))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        driver: &Bound<'_, PyDriver>,
        future: Py<PyAny>,
        brokers: Vec<String>,
        group_id: String,
        client_id: Option<String>,
        auto_commit: bool,
        auto_commit_interval_secs: f64,
        session_timeout_secs: f64,
        max_poll_records: usize,
        connection_timeout_secs: f64,
        publish_timeout_secs: f64,
        topic_partitions: i32,
        replication_factor: i32,
        options: Vec<(String, String)>,
    ) -> PyResult<()> {
        let mut config = KafkaConfig::new(brokers);
        config.group_id = group_id;
        config.client_id = client_id;
        config.auto_commit = auto_commit;
        config.auto_commit_interval =
            seconds(auto_commit_interval_secs, "auto_commit_interval_secs")?;
        config.session_timeout = seconds(session_timeout_secs, "session_timeout_ms")?;
        config.buffer = max_poll_records;
        config.connection_timeout = seconds(connection_timeout_secs, "connection_timeout_secs")?;
        config.publish_timeout = seconds(publish_timeout_secs, "publish_timeout_secs")?;
        config.topic_partitions = topic_partitions;
        config.replication_factor = replication_factor;
        config.options = options;
        config
            .validate()
            .map_err(|error| crate::errors::invalid(error.to_string()))?;
        let handle = driver.clone().unbind();
        let driver = driver.clone().unbind();
        resolve(
            &handle,
            future,
            KafkaBroker::connect(config),
            move |py, broker| Ok(Py::new(py, PyKafkaBroker { broker, driver })?.into_any()),
        )
    }

    /// host:port,... of the bootstrap brokers.
    #[getter]
    fn address(&self) -> String {
        self.broker.address()
    }

    /// Creates the topic unless it exists (`partitions` None: the config's).
    #[pyo3(signature = (future, topic, partitions=None))]
    fn declare_topic(
        &self,
        future: Py<PyAny>,
        topic: String,
        partitions: Option<i32>,
    ) -> PyResult<()> {
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move {
            broker.declare_topic(&topic, partitions).await
        })
    }

    /// Produces a record to `topic`; resolves on the brokers' acknowledgement.
    #[pyo3(signature = (future, topic, body, headers=None, key=None, content_type=None, message_id=None, correlation_id=None, reply_to=None))]
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        future: Py<PyAny>,
        topic: String,
        body: Vec<u8>,
        headers: Option<&Bound<'_, PyDict>>,
        key: Option<String>,
        content_type: Option<String>,
        message_id: Option<String>,
        correlation_id: Option<String>,
        reply_to: Option<String>,
    ) -> PyResult<()> {
        let message = outgoing(
            topic,
            String::new(),
            body,
            headers,
            key,
            content_type,
            message_id,
            correlation_id,
            reply_to,
        )?;
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move {
            broker.publish(message).await
        })
    }

    /// Joins `group` (None: the config's) reading `topic`; resolves with a
    /// `KafkaSubscription`.
    #[pyo3(signature = (future, topic, group=None, dead_letter=None))]
    fn subscribe(
        &self,
        future: Py<PyAny>,
        topic: String,
        group: Option<String>,
        dead_letter: Option<String>,
    ) -> PyResult<()> {
        let broker = self.broker.clone();
        let driver = Python::attach(|py| self.driver.clone_ref(py));
        let spec = KafkaSubscribeSpec {
            topic,
            group,
            dead_letter,
        };
        resolve(
            &self.driver,
            future,
            async move { broker.subscribe_to(spec).await },
            move |py, subscription| {
                let subscription = PyKafkaSubscription {
                    subscription: Arc::new(subscription),
                    driver,
                };
                Ok(Py::new(py, subscription)?.into_any())
            },
        )
    }

    /// Commits and leaves every group, flushes the producer.
    fn close(&self, future: Py<PyAny>) -> PyResult<()> {
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move { broker.close().await })
    }
}

/// One consumer-group member reading one topic.
#[pyclass(name = "KafkaSubscription", module = "cello._cello", frozen)]
pub struct PyKafkaSubscription {
    subscription: Arc<KafkaSubscription>,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyKafkaSubscription {
    /// Resolves with the next `Delivery`, or None once stopped.
    fn next(&self, future: Py<PyAny>) -> PyResult<()> {
        next_delivery(&self.subscription, &self.driver, future)
    }

    /// Resolves with a list of up to `max` deliveries (waiting for the first only), or []
    /// once stopped.
    fn next_batch(&self, future: Py<PyAny>, max: usize) -> PyResult<()> {
        next_deliveries(&self.subscription, &self.driver, future, max)
    }

    /// Stops reading; records read and not handed out are read again by the group.
    fn stop(&self, future: Py<PyAny>) -> PyResult<()> {
        let subscription = Arc::clone(&self.subscription);
        resolve_none(
            &self.driver,
            future,
            async move { subscription.stop().await },
        )
    }

    /// Stops, commits what was processed and leaves the group.
    fn close(&self, future: Py<PyAny>) -> PyResult<()> {
        let subscription = Arc::clone(&self.subscription);
        resolve_none(
            &self.driver,
            future,
            async move { subscription.close().await },
        )
    }

    #[getter]
    fn topic(&self) -> &str {
        self.subscription.topic()
    }

    #[getter]
    fn group(&self) -> &str {
        self.subscription.group()
    }

    /// The partitions this member holds now.
    #[getter]
    fn assignment(&self) -> Vec<i32> {
        self.subscription.assignment()
    }

    /// Records handed out and not settled yet.
    #[getter]
    fn pending(&self) -> usize {
        self.subscription.pending()
    }
}
