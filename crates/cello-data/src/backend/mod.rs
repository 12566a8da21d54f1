//! One module per driver, with the same two functions in each: `bind` (a [`Value`] onto
//! a query) and `decode` (a driver row's column into a [`Value`]), plus the connect
//! options. The pool code is generic over the [`Backend`] trait they implement.

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
mod numeric;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

use sqlx::{Column, Row as _};

use crate::config::BackendKind;
use crate::error::DataError;
use crate::row::{Columns, Row};
use crate::value::Value;

/// A query of backend `DB` with its arguments.
pub type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// What the generic pool code needs from a driver.
pub trait Backend: sqlx::Database {
    const KIND: BackendKind;

    /// Whether `bind` needs the parameter types the server inferred.
    const NEEDS_PARAMETER_TYPES: bool = false;

    /// Binds parameter number `index` (from 1, for messages), whose type the server
    /// inferred as `expected` when the backend asks for it.
    fn bind<'q>(
        query: Query<'q, Self>,
        value: Value,
        index: usize,
        expected: Option<&str>,
    ) -> Result<Query<'q, Self>, DataError>;

    /// The rows a statement affected.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Decodes column `index` of `row`.
    fn decode(row: &Self::Row, index: usize) -> Result<Value, DataError>;
}

/// Binds every parameter in order.
pub(crate) fn bind_all<'q, DB: Backend>(
    mut query: Query<'q, DB>,
    params: Vec<Value>,
    types: Option<&[Box<str>]>,
) -> Result<Query<'q, DB>, DataError> {
    if let Some(types) = types {
        if types.len() != params.len() {
            return Err(DataError::Parameter {
                index: params.len(),
                message: format!(
                    "the statement takes {} parameters, {} were given",
                    types.len(),
                    params.len()
                ),
            });
        }
    }
    for (index, value) in params.into_iter().enumerate() {
        let expected = types.and_then(|types| types.get(index)).map(|name| &**name);
        query = DB::bind(query, value, index + 1, expected)?;
    }
    Ok(query)
}

/// The column names of `row`'s result.
pub(crate) fn columns_of<DB: Backend>(row: &DB::Row) -> Arc<Columns> {
    Arc::new(Columns::new(
        row.columns()
            .iter()
            .map(|column| column.name().into())
            .collect(),
    ))
}

/// Decodes a whole row against the result's shared column list.
pub(crate) fn decode_row<DB: Backend>(
    row: &DB::Row,
    columns: &Arc<Columns>,
) -> Result<Row, DataError> {
    let values = (0..columns.len())
        .map(|index| DB::decode(row, index))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row::new(Arc::clone(columns), values))
}

/// Decodes rows; the column list is built once, from the first.
pub(crate) fn decode_rows<DB: Backend>(rows: &[DB::Row]) -> Result<Vec<Row>, DataError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns = columns_of::<DB>(first);
    rows.iter()
        .map(|row| decode_row::<DB>(row, &columns))
        .collect()
}

/// A decode failure of column `index`, naming it.
pub(crate) fn decode_error<R: sqlx::Row>(
    row: &R,
    index: usize,
    error: impl std::fmt::Display,
) -> DataError {
    let column = row
        .columns()
        .get(index)
        .map_or_else(|| index.to_string(), |column| column.name().to_owned());
    DataError::Decode {
        column,
        message: error.to_string(),
    }
}
