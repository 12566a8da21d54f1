//! The binding of cello-data: pools, transactions and rows as Python classes, their
//! futures resolved on the worker's loop, and the error mapping. No data logic here.

mod convert;
mod database;
mod errors;
mod row;

use pyo3::prelude::*;

pub use row::PyRow;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::PyDatabase>()?;
    m.add_class::<database::PyTransaction>()?;
    m.add_class::<database::PyRowStream>()?;
    m.add_class::<row::PyRow>()?;
    Ok(())
}
