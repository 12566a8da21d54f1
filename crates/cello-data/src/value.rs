//! [`Value`]: one column value or statement parameter, owned, backend-neutral.
//!
//! Rows hold these instead of driver rows, so a row outlives its connection, crosses
//! threads, and encodes to JSON without any other representation in between.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use uuid::Uuid;

/// A column value or a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// MySQL's `BIGINT UNSIGNED` above `i64::MAX`.
    UInt(u64),
    Float(f64),
    /// An exact decimal in its text form (`"12.50"`, `"1E+30"`): PostgreSQL `NUMERIC`,
    /// MySQL `DECIMAL`, and integers too large for 64 bits.
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    /// `json` / `jsonb` columns, and dict parameters.
    Json(serde_json::Value),
    Date(NaiveDate),
    Time(NaiveTime),
    /// A timestamp without time zone.
    Timestamp(NaiveDateTime),
    /// A timestamp with time zone (read back in UTC).
    TimestampTz(DateTime<FixedOffset>),
    Interval(TimeDelta),
    Uuid(Uuid),
    /// PostgreSQL arrays; list parameters (JSON text on SQLite and MySQL).
    Array(Vec<Value>),
}

impl Value {
    /// Appends the JSON form: numbers as numbers (decimals with their exact digits),
    /// dates and times as ISO 8601 strings, UUIDs hyphenated, bytes as base64, intervals
    /// as ISO 8601 durations (`"P1DT30S"`), arrays as arrays. Non-finite floats (which
    /// JSON cannot hold) become `null`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(flag) => out.extend_from_slice(if *flag { b"true" } else { b"false" }),
            Self::Int(number) => {
                out.extend_from_slice(itoa::Buffer::new().format(*number).as_bytes());
            }
            Self::UInt(number) => {
                out.extend_from_slice(itoa::Buffer::new().format(*number).as_bytes());
            }
            Self::Float(number) if number.is_finite() => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(*number).as_bytes());
            }
            Self::Float(_) => out.extend_from_slice(b"null"),
            Self::Decimal(text) if decimal_is_json_number(text) => {
                out.extend_from_slice(text.as_bytes());
            }
            Self::Decimal(_) => out.extend_from_slice(b"null"),
            Self::Text(text) => write_string(out, text),
            Self::Bytes(bytes) => write_string(out, &data_encoding::BASE64.encode(bytes)),
            Self::Json(value) => {
                // serde_json writes into a Vec without failing.
                let _ = serde_json::to_writer(&mut *out, value);
            }
            Self::Date(date) => write_string(out, &date.format("%Y-%m-%d").to_string()),
            Self::Time(time) => write_string(out, &iso_time(time)),
            Self::Timestamp(stamp) => write_string(out, &iso_naive(stamp)),
            Self::TimestampTz(stamp) => write_string(out, &iso_aware(stamp)),
            Self::Interval(delta) => write_string(out, &iso_duration(*delta)),
            Self::Uuid(uuid) => write_string(out, &uuid.hyphenated().to_string()),
            Self::Array(items) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
        }
    }

    /// The JSON text of a dict or list parameter stored where JSON is text (SQLite, MySQL).
    pub(crate) fn to_json_value(&self) -> serde_json::Value {
        let mut out = Vec::new();
        self.write_json(&mut out);
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    }
}

/// `NaN`, `Infinity` and the like are decimals but not JSON numbers.
fn decimal_is_json_number(text: &str) -> bool {
    text.bytes().any(|byte| byte.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'-' | b'+' | b'.' | b'e' | b'E'))
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

/// `HH:MM:SS[.ffffff]`, as Python's `time.isoformat()`.
pub fn iso_time(time: &NaiveTime) -> String {
    if time.format("%f").to_string() == "000000000" {
        time.format("%H:%M:%S").to_string()
    } else {
        time.format("%H:%M:%S%.6f").to_string()
    }
}

fn iso_naive(stamp: &NaiveDateTime) -> String {
    format!(
        "{}T{}",
        stamp.date().format("%Y-%m-%d"),
        iso_time(&stamp.time())
    )
}

fn iso_aware(stamp: &DateTime<FixedOffset>) -> String {
    format!("{}{}", iso_naive(&stamp.naive_local()), stamp.offset())
}

/// ISO 8601 duration: `P{days}DT{seconds}S`, negative as a leading `-`.
fn iso_duration(delta: TimeDelta) -> String {
    let negative = delta < TimeDelta::zero();
    let delta = delta.abs();
    let days = delta.num_days();
    let rest = delta - TimeDelta::days(days);
    let seconds = rest.num_seconds();
    let micros = rest.subsec_nanos() / 1000;
    let mut text = String::from(if negative { "-P" } else { "P" });
    if days != 0 {
        text.push_str(&format!("{days}D"));
    }
    if seconds != 0 || micros != 0 || days == 0 {
        text.push('T');
        if micros == 0 {
            text.push_str(&format!("{seconds}S"));
        } else {
            text.push_str(&format!("{seconds}.{micros:06}S"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: &Value) -> String {
        let mut out = Vec::new();
        value.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scalars_encode_to_json() {
        assert_eq!(json(&Value::Null), "null");
        assert_eq!(json(&Value::Int(-7)), "-7");
        assert_eq!(json(&Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(json(&Value::Float(1.5)), "1.5");
        assert_eq!(json(&Value::Float(f64::NAN)), "null");
        assert_eq!(json(&Value::Decimal("12.50".into())), "12.50");
        assert_eq!(json(&Value::Decimal("NaN".into())), "null");
        assert_eq!(json(&Value::Text("a\"b\n".into())), r#""a\"b\n""#);
        assert_eq!(json(&Value::Bytes(b"hi".to_vec())), r#""aGk=""#);
    }

    #[test]
    fn times_encode_as_python_isoformat() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let time = NaiveTime::from_hms_micro_opt(13, 5, 9, 250).unwrap();
        assert_eq!(json(&Value::Date(date)), r#""2024-02-29""#);
        assert_eq!(json(&Value::Time(time)), r#""13:05:09.000250""#);
        let stamp = date.and_time(NaiveTime::from_hms_opt(1, 2, 3).unwrap());
        assert_eq!(json(&Value::Timestamp(stamp)), r#""2024-02-29T01:02:03""#);
        let aware = stamp.and_utc().fixed_offset();
        assert_eq!(
            json(&Value::TimestampTz(aware)),
            r#""2024-02-29T01:02:03+00:00""#
        );
        assert_eq!(
            json(&Value::Interval(TimeDelta::seconds(86_430))),
            r#""P1DT30S""#
        );
        assert_eq!(
            json(&Value::Interval(TimeDelta::milliseconds(-1500))),
            r#""-PT1.500000S""#
        );
    }

    #[test]
    fn arrays_and_json_nest() {
        let value = Value::Array(vec![
            Value::Int(1),
            Value::Null,
            Value::Json(serde_json::json!({"a": [1]})),
        ]);
        assert_eq!(json(&value), r#"[1,null,{"a":[1]}]"#);
    }
}
