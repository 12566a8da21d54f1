//! The binding of cello-protocols' messaging: the RabbitMQ broker, its subscriptions and
//! deliveries as Python classes, their futures resolved on the worker's loop, and the
//! error mapping. The delivery semantics (retries, dead letters) are the crate's.

mod delivery;
mod errors;
mod rabbitmq;
mod tasks;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<rabbitmq::PyRabbitBroker>()?;
    m.add_class::<rabbitmq::PyRabbitSubscription>()?;
    m.add_class::<delivery::PyDelivery>()?;
    Ok(())
}
