//! The binding of cello-protocols' messaging: the RabbitMQ, SQS and Kafka brokers, its subscriptions and
//! deliveries as Python classes, their futures resolved on the worker's loop, and the
//! error mapping. The delivery semantics (retries, dead letters) are the crate's.

mod delivery;
mod errors;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(feature = "rabbitmq")]
mod rabbitmq;
#[cfg(feature = "sqs")]
mod sqs;
mod tasks;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(feature = "rabbitmq")]
    {
        m.add_class::<rabbitmq::PyRabbitBroker>()?;
        m.add_class::<rabbitmq::PyRabbitSubscription>()?;
    }
    #[cfg(feature = "kafka")]
    {
        m.add_class::<kafka::PyKafkaBroker>()?;
        m.add_class::<kafka::PyKafkaSubscription>()?;
    }
    #[cfg(feature = "sqs")]
    {
        m.add_class::<sqs::PySqsBroker>()?;
        m.add_class::<sqs::PySqsSubscription>()?;
    }
    m.add_class::<delivery::PyDelivery>()?;
    Ok(())
}
