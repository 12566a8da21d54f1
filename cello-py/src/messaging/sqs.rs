//! `SqsBroker` and `SqsSubscription`: handles on cello-protocols' SQS client, each call a
//! task on the worker's Tokio runtime that resolves an asyncio future.

use std::sync::Arc;
use std::time::Duration;

use cello_protocols::messaging::sqs::{
    Credentials, SqsBroker, SqsConfig, SqsQueueSpec, SqsSubscription,
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

/// A worker's SQS client (`cello.messaging.Sqs` wraps it).
#[pyclass(name = "SqsBroker", module = "cello._cello", frozen)]
pub struct PySqsBroker {
    pub(super) broker: SqsBroker,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PySqsBroker {
    /// Checks that SQS answers, then resolves `future` with the client.
    #[staticmethod]
    #[pyo3(signature = (driver, future, region, endpoint_url, queue_url, access_key_id, secret_access_key, session_token, max_messages, wait_time_secs, visibility_timeout_secs))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        driver: &Bound<'_, PyDriver>,
        future: Py<PyAny>,
        region: String,
        endpoint_url: Option<String>,
        queue_url: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        max_messages: u8,
        wait_time_secs: f64,
        visibility_timeout_secs: f64,
    ) -> PyResult<()> {
        let mut config = SqsConfig::new(region);
        config.endpoint_url = endpoint_url;
        config.queue_url = queue_url;
        config.credentials = match (access_key_id, secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token,
            }),
            (None, None) => None,
            _ => {
                return Err(crate::errors::invalid(
                    "give both aws_access_key_id and aws_secret_access_key, or neither",
                ))
            }
        };
        config.max_messages = max_messages;
        config.wait_time = seconds(wait_time_secs, "wait_time_secs")?;
        config.visibility_timeout = seconds(visibility_timeout_secs, "visibility_timeout_secs")?;
        config
            .validate()
            .map_err(|error| crate::errors::invalid(error.to_string()))?;
        let handle = driver.clone().unbind();
        let driver = driver.clone().unbind();
        resolve(
            &handle,
            future,
            SqsBroker::connect(config),
            move |py, broker| Ok(Py::new(py, PySqsBroker { broker, driver })?.into_any()),
        )
    }

    /// host[:port] of the endpoint.
    #[getter]
    fn address(&self) -> String {
        self.broker.address()
    }

    /// Creates the queue (and its dead letter) unless it exists; resolves with its URL.
    #[pyo3(signature = (future, name, dead_letter_queue=None))]
    fn declare_queue(
        &self,
        future: Py<PyAny>,
        name: String,
        dead_letter_queue: Option<String>,
    ) -> PyResult<()> {
        let broker = self.broker.clone();
        let spec = SqsQueueSpec {
            name,
            dead_letter: dead_letter_queue,
        };
        resolve(
            &self.driver,
            future,
            async move { broker.declare(spec).await },
            |py, url| Ok(url.into_pyobject(py)?.into_any().unbind()),
        )
    }

    /// Sends a message to `queue` (a name or a URL); resolves once SQS accepted it.
    #[pyo3(signature = (future, queue, body, headers=None, key=None, content_type=None, message_id=None, correlation_id=None, reply_to=None))]
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        future: Py<PyAny>,
        queue: String,
        body: Vec<u8>,
        headers: Option<&Bound<'_, PyDict>>,
        key: Option<String>,
        content_type: Option<String>,
        message_id: Option<String>,
        correlation_id: Option<String>,
        reply_to: Option<String>,
    ) -> PyResult<()> {
        let message = outgoing(
            queue,
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

    /// Long-polls a queue; resolves with an `SqsSubscription`.
    fn subscribe(&self, future: Py<PyAny>, queue: String) -> PyResult<()> {
        let broker = self.broker.clone();
        let driver = Python::attach(|py| self.driver.clone_ref(py));
        resolve(
            &self.driver,
            future,
            async move { broker.subscribe(&queue).await },
            move |py, subscription| {
                let subscription = PySqsSubscription {
                    subscription: Arc::new(subscription),
                    driver,
                };
                Ok(Py::new(py, subscription)?.into_any())
            },
        )
    }

    /// Nothing to close (requests are independent); resolves at once.
    fn close(&self, future: Py<PyAny>) -> PyResult<()> {
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move { broker.close().await })
    }
}

/// The messages of one SQS queue.
#[pyclass(name = "SqsSubscription", module = "cello._cello", frozen)]
pub struct PySqsSubscription {
    subscription: Arc<SqsSubscription>,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PySqsSubscription {
    /// Resolves with the next `Delivery`, or None once stopped.
    fn next(&self, future: Py<PyAny>) -> PyResult<()> {
        next_delivery(&self.subscription, &self.driver, future)
    }

    /// Resolves with a list of up to `max` deliveries (waiting for the first only), or []
    /// once stopped.
    fn next_batch(&self, future: Py<PyAny>, max: usize) -> PyResult<()> {
        next_deliveries(&self.subscription, &self.driver, future, max)
    }

    /// Stops polling: messages received but not handed out become visible again.
    fn stop(&self, future: Py<PyAny>) -> PyResult<()> {
        let subscription = Arc::clone(&self.subscription);
        resolve_none(
            &self.driver,
            future,
            async move { subscription.stop().await },
        )
    }
}
