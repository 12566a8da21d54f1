//! `RabbitBroker` and `RabbitSubscription`: handles on cello-protocols' RabbitMQ broker,
//! each call a task on the worker's Tokio runtime that resolves an asyncio future.

use std::sync::Arc;
use std::time::Duration;

use cello_protocols::messaging::rabbitmq::{
    BindingSpec, Declaration, ExchangeKind, ExchangeSpec, QueueSpec, RabbitBroker, RabbitConfig,
    RabbitSubscription,
};
use cello_protocols::messaging::{Broker, Subscription};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::delivery::{headers, outgoing};
use super::tasks::{next_deliveries, next_delivery, resolve, resolve_none};
use crate::driver::PyDriver;

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            crate::errors::invalid(format!("{name} must be a positive number of seconds"))
        })
}

/// A worker's RabbitMQ connection (`cello.messaging.RabbitMQ` wraps it).
#[pyclass(name = "RabbitBroker", module = "cello._cello", frozen)]
pub struct PyRabbitBroker {
    pub(super) broker: RabbitBroker,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyRabbitBroker {
    /// Connects on the worker's runtime and resolves `future` with the broker.
    #[staticmethod]
    #[pyo3(signature = (driver, future, url, vhost, prefetch_count, heartbeat, connection_timeout_secs, publish_timeout_secs, connection_name))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        driver: &Bound<'_, PyDriver>,
        future: Py<PyAny>,
        url: String,
        vhost: String,
        prefetch_count: u16,
        heartbeat: u16,
        connection_timeout_secs: f64,
        publish_timeout_secs: f64,
        connection_name: Option<String>,
    ) -> PyResult<()> {
        let mut config = RabbitConfig::new(url);
        config.vhost = vhost;
        config.prefetch_count = prefetch_count;
        config.heartbeat = heartbeat;
        config.connection_timeout = seconds(connection_timeout_secs, "connection_timeout_secs")?;
        config.publish_timeout = seconds(publish_timeout_secs, "publish_timeout_secs")?;
        config.connection_name = connection_name;
        let handle = driver.clone().unbind();
        let driver = driver.clone().unbind();
        resolve(
            &handle,
            future,
            RabbitBroker::connect(config),
            move |py, broker| Ok(Py::new(py, PyRabbitBroker { broker, driver })?.into_any()),
        )
    }

    /// host:port of the broker.
    #[getter]
    fn address(&self) -> String {
        self.broker.address()
    }

    /// Whether the connection is up now (false while it reconnects).
    #[getter]
    fn connected(&self) -> bool {
        self.broker.is_connected()
    }

    /// Declares a queue (and its dead-letter queue), again after every reconnection.
    #[pyo3(signature = (future, name, durable, auto_delete, dead_letter_queue, arguments))]
    fn declare_queue(
        &self,
        future: Py<PyAny>,
        name: String,
        durable: bool,
        auto_delete: bool,
        dead_letter_queue: Option<String>,
        arguments: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let spec = QueueSpec {
            name,
            durable,
            auto_delete,
            dead_letter_queue,
            arguments: headers(arguments)?,
        };
        self.declare(future, Declaration::Queue(spec))
    }

    /// Declares an exchange (`direct`, `fanout`, `topic` or `headers`).
    fn declare_exchange(
        &self,
        future: Py<PyAny>,
        name: String,
        kind: &str,
        durable: bool,
    ) -> PyResult<()> {
        let kind = ExchangeKind::parse(kind).ok_or_else(|| {
            crate::errors::invalid(format!(
                "unknown exchange type {kind:?}; use direct, fanout, topic or headers"
            ))
        })?;
        self.declare(
            future,
            Declaration::Exchange(ExchangeSpec {
                name,
                kind,
                durable,
            }),
        )
    }

    /// Binds a queue to an exchange with a routing key (a pattern on a topic exchange).
    fn bind(
        &self,
        future: Py<PyAny>,
        queue: String,
        exchange: String,
        routing_key: String,
    ) -> PyResult<()> {
        self.declare(
            future,
            Declaration::Binding(BindingSpec {
                queue,
                exchange,
                routing_key,
            }),
        )
    }

    /// Publishes; resolves once the broker confirmed the message.
    #[pyo3(signature = (future, exchange, routing_key, body, headers=None, key=None, content_type=None, message_id=None, correlation_id=None, reply_to=None))]
    #[allow(clippy::too_many_arguments)]
    fn publish(
        &self,
        future: Py<PyAny>,
        exchange: String,
        routing_key: String,
        body: Vec<u8>,
        headers: Option<&Bound<'_, PyDict>>,
        key: Option<String>,
        content_type: Option<String>,
        message_id: Option<String>,
        correlation_id: Option<String>,
        reply_to: Option<String>,
    ) -> PyResult<()> {
        let message = outgoing(
            routing_key,
            exchange,
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

    /// Consumes a queue; resolves with a `RabbitSubscription`.
    fn subscribe(&self, future: Py<PyAny>, queue: String) -> PyResult<()> {
        let broker = self.broker.clone();
        let driver = Python::attach(|py| self.driver.clone_ref(py));
        resolve(
            &self.driver,
            future,
            async move { broker.subscribe(&queue).await },
            move |py, subscription| {
                let subscription = PyRabbitSubscription {
                    subscription: Arc::new(subscription),
                    driver,
                };
                Ok(Py::new(py, subscription)?.into_any())
            },
        )
    }

    /// Closes the connection: unsettled deliveries go back to their queues.
    fn close(&self, future: Py<PyAny>) -> PyResult<()> {
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move { broker.close().await })
    }
}

impl PyRabbitBroker {
    fn declare(&self, future: Py<PyAny>, declaration: Declaration) -> PyResult<()> {
        let broker = self.broker.clone();
        resolve_none(&self.driver, future, async move {
            broker.declare(declaration).await
        })
    }
}

/// The deliveries of one queue.
#[pyclass(name = "RabbitSubscription", module = "cello._cello", frozen)]
pub struct PyRabbitSubscription {
    subscription: Arc<RabbitSubscription>,
    driver: Py<PyDriver>,
}

#[pymethods]
impl PyRabbitSubscription {
    /// Resolves with the next `Delivery`, or None once stopped.
    fn next(&self, future: Py<PyAny>) -> PyResult<()> {
        next_delivery(&self.subscription, &self.driver, future)
    }

    /// Resolves with a list of up to `max` deliveries (waiting for the first only), or []
    /// once stopped.
    fn next_batch(&self, future: Py<PyAny>, max: usize) -> PyResult<()> {
        next_deliveries(&self.subscription, &self.driver, future, max)
    }

    /// Stops consuming: deliveries not handed out yet go back to the queue.
    fn stop(&self, future: Py<PyAny>) -> PyResult<()> {
        let subscription = Arc::clone(&self.subscription);
        resolve_none(
            &self.driver,
            future,
            async move { subscription.stop().await },
        )
    }
}
