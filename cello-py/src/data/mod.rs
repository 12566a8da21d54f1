//! The binding of cello-data: pools, transactions and rows as Python classes, their
//! futures resolved on the worker's loop, and the error mapping. No data logic here.

// Parameter conversion is the SQL half's; a redis-only build uses the value conversion.
#[cfg_attr(not(feature = "_sql"), allow(dead_code))]
mod convert;
#[cfg(feature = "_sql")]
mod database;
mod errors;
#[cfg(feature = "_sql")]
mod patterns;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "_sql")]
mod row;
mod tasks;

use pyo3::prelude::*;

#[cfg(feature = "_sql")]
pub use row::PyRow;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(feature = "_sql")]
    {
        m.add_class::<database::PyDatabase>()?;
        m.add_class::<database::PyTransaction>()?;
        m.add_class::<database::PyRowStream>()?;
        m.add_class::<row::PyRow>()?;
        m.add_class::<patterns::PyEventStore>()?;
        m.add_class::<patterns::PySagaStore>()?;
    }
    #[cfg(feature = "redis")]
    {
        m.add_class::<redis::PyRedis>()?;
        m.add_class::<redis::PySubscription>()?;
    }
    Ok(())
}
