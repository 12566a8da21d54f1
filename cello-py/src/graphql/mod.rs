//! The binding of cello-protocols' GraphQL engine: the schema description read from
//! Python, Python resolvers behind the engine's `Host` trait, executions settled into
//! asyncio futures of the worker's loop. No GraphQL logic here.

mod convert;
mod describe;
mod engine;
mod host;
mod project;
mod stream;
mod subscription;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<engine::PyGraphQLEngine>()?;
    m.add_class::<stream::PyGraphQLStream>()?;
    Ok(())
}
