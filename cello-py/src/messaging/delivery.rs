//! `Delivery`: one received message, settled once (ack, nack, reject) or handed to the
//! crate's retry policy.

use std::sync::Arc;
use std::time::Duration;

use cello_protocols::messaging::retry::{retry_or_dead_letter, RetryOutcome, RetryPolicy};
use cello_protocols::messaging::{Delivery, HeaderValue, Headers, Outgoing, Settlement};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

#[cfg(feature = "kafka")]
use super::kafka::PyKafkaBroker;
#[cfg(feature = "rabbitmq")]
use super::rabbitmq::PyRabbitBroker;
#[cfg(feature = "sqs")]
use super::sqs::PySqsBroker;
use super::tasks::{resolve, resolve_none};
use crate::driver::PyDriver;

/// A received message (`cello.messaging.Message` wraps it).
#[pyclass(name = "Delivery", module = "cello._cello", frozen)]
pub struct PyDelivery {
    delivery: Arc<Delivery>,
    driver: Py<PyDriver>,
}

impl PyDelivery {
    pub fn new(delivery: Delivery, driver: Py<PyDriver>) -> Self {
        Self {
            delivery: Arc::new(delivery),
            driver,
        }
    }
}

pub fn headers_to_python<'py>(py: Python<'py>, headers: &Headers) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in headers {
        match value {
            HeaderValue::Str(text) => dict.set_item(name, text)?,
            HeaderValue::Int(number) => dict.set_item(name, number)?,
            HeaderValue::Float(number) => dict.set_item(name, number)?,
            HeaderValue::Bool(flag) => dict.set_item(name, flag)?,
            HeaderValue::Bytes(bytes) => dict.set_item(name, PyBytes::new(py, bytes))?,
        }
    }
    Ok(dict)
}

fn header(name: &str, value: &Bound<'_, PyAny>) -> PyResult<HeaderValue> {
    // bool before int: Python's bool is an int.
    if value.is_instance_of::<PyBool>() {
        Ok(HeaderValue::Bool(value.extract()?))
    } else if value.is_instance_of::<PyInt>() {
        Ok(HeaderValue::Int(value.extract()?))
    } else if value.is_instance_of::<PyFloat>() {
        Ok(HeaderValue::Float(value.extract()?))
    } else if value.is_instance_of::<PyString>() {
        Ok(HeaderValue::Str(value.extract()?))
    } else if let Ok(bytes) = value.cast::<PyBytes>() {
        Ok(HeaderValue::Bytes(bytes.as_bytes().to_vec()))
    } else {
        Err(PyTypeError::new_err(format!(
            "header {name:?} is a {}; headers take str, int, float, bool or bytes values",
            value.get_type().name()?
        )))
    }
}

pub fn headers(values: Option<&Bound<'_, PyDict>>) -> PyResult<Headers> {
    let mut headers = Headers::new();
    if let Some(values) = values {
        for (name, value) in values.iter() {
            let name: String = name.extract()?;
            let value = header(&name, &value)?;
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

/// A message to publish, from the arguments every broker's `publish` takes.
#[allow(clippy::too_many_arguments)]
pub fn outgoing(
    destination: String,
    exchange: String,
    body: Vec<u8>,
    headers: Option<&Bound<'_, PyDict>>,
    key: Option<String>,
    content_type: Option<String>,
    message_id: Option<String>,
    correlation_id: Option<String>,
    reply_to: Option<String>,
) -> PyResult<Outgoing> {
    Ok(Outgoing {
        destination,
        exchange,
        key,
        body,
        headers: self::headers(headers)?,
        content_type,
        message_id,
        correlation_id,
        reply_to,
    })
}

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| crate::errors::invalid(format!("{name} must be a positive number of seconds")))
}

#[pymethods]
impl PyDelivery {
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.delivery.body)
    }

    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        headers_to_python(py, &self.delivery.headers)
    }

    #[getter]
    fn source(&self) -> &str {
        &self.delivery.source
    }

    #[getter]
    fn exchange(&self) -> &str {
        &self.delivery.exchange
    }

    #[getter]
    fn routing_key(&self) -> &str {
        &self.delivery.routing_key
    }

    #[getter]
    fn key(&self) -> Option<&str> {
        self.delivery.key.as_deref()
    }

    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.delivery.content_type.as_deref()
    }

    #[getter]
    fn message_id(&self) -> Option<&str> {
        self.delivery.message_id.as_deref()
    }

    #[getter]
    fn correlation_id(&self) -> Option<&str> {
        self.delivery.correlation_id.as_deref()
    }

    #[getter]
    fn reply_to(&self) -> Option<&str> {
        self.delivery.reply_to.as_deref()
    }

    #[getter]
    fn redelivered(&self) -> bool {
        self.delivery.redelivered
    }

    /// Its partition (Kafka), else None.
    #[getter]
    fn partition(&self) -> Option<i32> {
        self.delivery.partition
    }

    /// Its offset in the partition (Kafka), else None.
    #[getter]
    fn offset(&self) -> Option<i64> {
        self.delivery.offset
    }

    /// When it was produced, in milliseconds since the epoch, when the broker says.
    #[getter]
    fn timestamp_ms(&self) -> Option<i64> {
        self.delivery.timestamp_ms
    }

    #[getter]
    fn retries(&self) -> u32 {
        self.delivery.retries()
    }

    #[getter]
    fn settled(&self) -> bool {
        self.delivery.is_settled()
    }

    /// Settles it: `"ack"`, `"requeue"` (nack back to the queue), `"nack"` (nack to the
    /// dead letter) or `"reject"` (to the dead letter).
    fn settle(&self, future: Py<PyAny>, action: &str) -> PyResult<()> {
        let settlement = match action {
            "ack" => Settlement::Ack,
            "requeue" => Settlement::Nack { requeue: true },
            "nack" => Settlement::Nack { requeue: false },
            "reject" => Settlement::Reject,
            _ => {
                return Err(crate::errors::invalid(format!(
                    "unknown settlement {action:?}; use ack, requeue, nack or reject"
                )))
            }
        };
        let delivery = Arc::clone(&self.delivery);
        resolve_none(&self.driver, future, async move {
            delivery.settle(settlement).await
        })
    }

    /// Publishes it again with its retry count one higher after the backoff, then acks
    /// it; after `max_retries` retries rejects it to the dead letter. Resolves with
    /// `"retried"` or `"dead_lettered"`.
    #[pyo3(signature = (future, broker, max_retries, initial_delay_secs, multiplier, max_delay_secs))]
    fn retry(
        &self,
        future: Py<PyAny>,
        broker: &Bound<'_, PyAny>,
        max_retries: u32,
        initial_delay_secs: f64,
        multiplier: f64,
        max_delay_secs: f64,
    ) -> PyResult<()> {
        let policy = RetryPolicy {
            max_retries,
            initial_delay: seconds(initial_delay_secs, "retry_delay")?,
            multiplier,
            max_delay: seconds(max_delay_secs, "max_retry_delay")?,
        };
        let delivery = Arc::clone(&self.delivery);
        let done = |py: Python<'_>, outcome: RetryOutcome| {
            let name = match outcome {
                RetryOutcome::Retried(_) => "retried",
                RetryOutcome::DeadLettered(_) => "dead_lettered",
            };
            Ok(name.into_pyobject(py)?.into_any().unbind())
        };
        #[cfg(feature = "rabbitmq")]
        if let Ok(rabbit) = broker.cast::<PyRabbitBroker>() {
            let broker = rabbit.get().broker.clone();
            return resolve(
                &self.driver,
                future,
                async move { retry_or_dead_letter(&broker, &delivery, &policy).await },
                done,
            );
        }
        #[cfg(feature = "kafka")]
        if let Ok(kafka) = broker.cast::<PyKafkaBroker>() {
            let broker = kafka.get().broker.clone();
            return resolve(
                &self.driver,
                future,
                async move { retry_or_dead_letter(&broker, &delivery, &policy).await },
                done,
            );
        }
        #[cfg(feature = "sqs")]
        if let Ok(sqs) = broker.cast::<PySqsBroker>() {
            let broker = sqs.get().broker.clone();
            return resolve(
                &self.driver,
                future,
                async move { retry_or_dead_letter(&broker, &delivery, &policy).await },
                done,
            );
        }
        let _ = (future, delivery, done);
        Err(PyTypeError::new_err(format!(
            "retry() takes the broker the message came from, got {}",
            broker.get_type().name()?
        )))
    }
}
