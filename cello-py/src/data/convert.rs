//! Python values ↔ [`Value`]: statement parameters in, column values out.

use cello_data::Value;
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike,
};
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

/// The standard-library types parameters and values are made of, imported once.
struct Types {
    datetime: Py<PyType>,
    date: Py<PyType>,
    time: Py<PyType>,
    timedelta: Py<PyType>,
    timezone: Py<PyType>,
    utc: Py<PyAny>,
    decimal: Py<PyType>,
    uuid: Py<PyType>,
    enum_type: Py<PyType>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let datetime = py.import("datetime")?;
        let class = |module: &Bound<'_, PyModule>, name: &str| -> PyResult<Py<PyType>> {
            Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(Types {
            datetime: class(&datetime, "datetime")?,
            date: class(&datetime, "date")?,
            time: class(&datetime, "time")?,
            timedelta: class(&datetime, "timedelta")?,
            timezone: class(&datetime, "timezone")?,
            utc: datetime.getattr("timezone")?.getattr("utc")?.unbind(),
            decimal: class(&py.import("decimal")?, "Decimal")?,
            uuid: class(&py.import("uuid")?, "UUID")?,
            enum_type: class(&py.import("enum")?, "Enum")?,
        })
    })
}

/// The parameters of one statement.
pub fn params(values: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    if let Ok(tuple) = values.cast::<PyTuple>() {
        return tuple
            .iter()
            .enumerate()
            .map(|(index, item)| param(&item, index + 1))
            .collect();
    }
    if let Ok(list) = values.cast::<PyList>() {
        return list
            .iter()
            .enumerate()
            .map(|(index, item)| param(&item, index + 1))
            .collect();
    }
    values
        .try_iter()?
        .enumerate()
        .map(|(index, item)| param(&item?, index + 1))
        .collect()
}

/// One parameter (number `index`, for messages).
pub fn param(value: &Bound<'_, PyAny>, index: usize) -> PyResult<Value> {
    let py = value.py();
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(text) = value.cast_exact::<PyString>() {
        return Ok(Value::Text(text.to_str()?.to_owned()));
    }
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if let Ok(int) = value.cast::<PyInt>() {
        if let Ok(number) = int.extract::<i64>() {
            return Ok(Value::Int(number));
        }
        if let Ok(number) = int.extract::<u64>() {
            return Ok(Value::UInt(number));
        }
        return Ok(Value::Decimal(int.str()?.to_str()?.to_owned()));
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Ok(Value::Float(float.value()));
    }
    let types = types(py)?;
    if value.is_instance(types.enum_type.bind(py))? {
        return param(&value.getattr(intern!(py, "value"))?, index);
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Value::Text(text.to_str()?.to_owned()));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Value::Bytes(bytes.as_bytes().to_vec()));
    }
    if let Ok(bytes) = value.cast::<PyByteArray>() {
        return Ok(Value::Bytes(bytes.to_vec()));
    }
    if value.is_instance(types.datetime.bind(py))? {
        return datetime_param(value, index);
    }
    if value.is_instance(types.date.bind(py))? {
        return Ok(Value::Date(date_of(value, index)?));
    }
    if value.is_instance(types.time.bind(py))? {
        return Ok(Value::Time(time_of(value, index)?));
    }
    if value.is_instance(types.timedelta.bind(py))? {
        let days: i64 = value.getattr(intern!(py, "days"))?.extract()?;
        let seconds: i64 = value.getattr(intern!(py, "seconds"))?.extract()?;
        let micros: i64 = value.getattr(intern!(py, "microseconds"))?.extract()?;
        return Ok(Value::Interval(
            TimeDelta::days(days) + TimeDelta::seconds(seconds) + TimeDelta::microseconds(micros),
        ));
    }
    if value.is_instance(types.decimal.bind(py))? {
        return Ok(Value::Decimal(value.str()?.to_str()?.to_owned()));
    }
    if value.is_instance(types.uuid.bind(py))? {
        let bytes = value.getattr(intern!(py, "bytes"))?;
        let bytes: [u8; 16] = bytes
            .cast::<PyBytes>()?
            .as_bytes()
            .try_into()
            .map_err(|_| bad(value, index))?;
        return Ok(Value::Uuid(uuid::Uuid::from_bytes(bytes)));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        return Ok(Value::Json(json_of(dict.as_any())?));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        return Ok(Value::Array(
            value
                .try_iter()?
                .map(|item| param(&item?, index))
                .collect::<PyResult<_>>()?,
        ));
    }
    Err(bad(value, index))
}

fn bad(value: &Bound<'_, PyAny>, index: usize) -> PyErr {
    let name = value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_default();
    PyTypeError::new_err(format!(
        "parameter {index}: cannot send a {name} to the database; use None, bool, int, float, str, \
         bytes, Decimal, datetime, date, time, timedelta, UUID, dict (JSON) or list"
    ))
}

pub(crate) fn json_of(value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let bytes = crate::json::encode(value)?;
    serde_json::from_slice(&bytes)
        .map_err(|error| PyTypeError::new_err(format!("not JSON: {error}")))
}

/// A JSON value as Python objects (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_python<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = serde_json::to_vec(value)
        .map_err(|error| PyTypeError::new_err(format!("not JSON: {error}")))?;
    crate::json::decode(py, &bytes)
}

fn date_of(value: &Bound<'_, PyAny>, index: usize) -> PyResult<NaiveDate> {
    let py = value.py();
    NaiveDate::from_ymd_opt(
        value.getattr(intern!(py, "year"))?.extract()?,
        value.getattr(intern!(py, "month"))?.extract()?,
        value.getattr(intern!(py, "day"))?.extract()?,
    )
    .ok_or_else(|| bad(value, index))
}

fn time_of(value: &Bound<'_, PyAny>, index: usize) -> PyResult<NaiveTime> {
    let py = value.py();
    NaiveTime::from_hms_micro_opt(
        value.getattr(intern!(py, "hour"))?.extract()?,
        value.getattr(intern!(py, "minute"))?.extract()?,
        value.getattr(intern!(py, "second"))?.extract()?,
        value.getattr(intern!(py, "microsecond"))?.extract()?,
    )
    .ok_or_else(|| bad(value, index))
}

fn datetime_param(value: &Bound<'_, PyAny>, index: usize) -> PyResult<Value> {
    let py = value.py();
    let naive = NaiveDateTime::new(date_of(value, index)?, time_of(value, index)?);
    let offset = value.call_method0(intern!(py, "utcoffset"))?;
    if offset.is_none() {
        return Ok(Value::Timestamp(naive));
    }
    let seconds: f64 = offset
        .call_method0(intern!(py, "total_seconds"))?
        .extract()?;
    #[allow(clippy::cast_possible_truncation)]
    let offset = FixedOffset::east_opt(seconds.round() as i32).ok_or_else(|| bad(value, index))?;
    let aware = naive
        .and_local_timezone(offset)
        .single()
        .ok_or_else(|| bad(value, index))?;
    Ok(Value::TimestampTz(aware))
}

/// A column value as a Python object.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(flag) => PyBool::new(py, *flag).to_owned().into_any(),
        Value::Int(number) => number.into_pyobject(py)?.into_any(),
        Value::UInt(number) => number.into_pyobject(py)?.into_any(),
        Value::Float(number) => PyFloat::new(py, *number).into_any(),
        Value::Text(text) => PyString::new(py, text).into_any(),
        Value::Bytes(bytes) => PyBytes::new(py, bytes).into_any(),
        Value::Decimal(text) => types(py)?.decimal.bind(py).call1((text.as_str(),))?,
        Value::Json(json) => {
            let bytes = serde_json::to_vec(json)
                .map_err(|error| PyTypeError::new_err(error.to_string()))?;
            crate::json::decode(py, &bytes)?
        }
        Value::Date(date) => {
            types(py)?
                .date
                .bind(py)
                .call1((date.year(), date.month(), date.day()))?
        }
        Value::Time(time) => types(py)?.time.bind(py).call1(time_parts(time))?,
        Value::Timestamp(stamp) => datetime(py, stamp, None)?,
        Value::TimestampTz(stamp) => datetime(py, &stamp.naive_local(), Some(stamp))?,
        Value::Interval(delta) => {
            let micros = delta.num_microseconds().unwrap_or(i64::MAX);
            types(py)?.timedelta.bind(py).call1((0, 0, micros))?
        }
        Value::Uuid(uuid) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "bytes"), PyBytes::new(py, uuid.as_bytes()))?;
            types(py)?.uuid.bind(py).call((), Some(&kwargs))?
        }
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
    })
}

fn time_parts(time: &NaiveTime) -> (u32, u32, u32, u32) {
    (
        time.hour(),
        time.minute(),
        time.second(),
        time.nanosecond() / 1000 % 1_000_000,
    )
}

fn datetime<'py>(
    py: Python<'py>,
    stamp: &NaiveDateTime,
    aware: Option<&DateTime<FixedOffset>>,
) -> PyResult<Bound<'py, PyAny>> {
    let types = types(py)?;
    let (hour, minute, second, micro) = time_parts(&stamp.time());
    let date = stamp.date();
    let tzinfo = match aware {
        None => py.None().into_bound(py),
        Some(aware) if aware.offset().local_minus_utc() == 0 => types.utc.bind(py).clone(),
        Some(aware) => {
            let offset = types
                .timedelta
                .bind(py)
                .call1((0, aware.offset().local_minus_utc()))?;
            types.timezone.bind(py).call1((offset,))?
        }
    };
    types.datetime.bind(py).call1((
        date.year(),
        date.month(),
        date.day(),
        hour,
        minute,
        second,
        micro,
        tzinfo,
    ))
}
