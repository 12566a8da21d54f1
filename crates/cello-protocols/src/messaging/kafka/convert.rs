//! Messages to and from Kafka records. Kafka has no message properties, so the ones the
//! other brokers carry travel as headers, under the names FastStream uses:
//! `content-type`, `message_id`, `correlation_id`, `reply_to`. Header values are bytes on
//! the wire: text, numbers and booleans go as their text, and come back as text (bytes
//! when not UTF-8); the retry count comes back as an integer.

use rdkafka::message::{Header, Headers as _, OwnedHeaders, OwnedMessage};
use rdkafka::Message as _;

use crate::messaging::message::RETRIES_HEADER;
use crate::messaging::{HeaderValue, Headers, Outgoing};

const CONTENT_TYPE: &str = "content-type";
const MESSAGE_ID: &str = "message_id";
const CORRELATION_ID: &str = "correlation_id";
const REPLY_TO: &str = "reply_to";

fn value_bytes(value: &HeaderValue) -> Vec<u8> {
    match value {
        HeaderValue::Str(text) => text.as_bytes().to_vec(),
        HeaderValue::Int(number) => number.to_string().into_bytes(),
        HeaderValue::Float(number) => number.to_string().into_bytes(),
        HeaderValue::Bool(flag) => flag.to_string().into_bytes(),
        HeaderValue::Bytes(bytes) => bytes.clone(),
    }
}

/// The record headers of `message`: its headers, then its properties.
pub(crate) fn record_headers(message: &Outgoing) -> OwnedHeaders {
    let properties = [
        (CONTENT_TYPE, &message.content_type),
        (MESSAGE_ID, &message.message_id),
        (CORRELATION_ID, &message.correlation_id),
        (REPLY_TO, &message.reply_to),
    ];
    let mut headers = OwnedHeaders::new_with_capacity(message.headers.len() + 4);
    for (name, value) in &message.headers {
        let bytes = value_bytes(value);
        headers = headers.insert(Header {
            key: name,
            value: Some(&bytes),
        });
    }
    for (name, value) in properties {
        if let Some(value) = value {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
    }
    headers
}

/// What a record carries, with the properties taken out of its headers.
#[derive(Debug, Default)]
pub(crate) struct Received {
    pub key: Option<String>,
    pub body: Vec<u8>,
    pub headers: Headers,
    pub content_type: Option<String>,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub reply_to: Option<String>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
}

pub(crate) fn received(record: &OwnedMessage) -> Received {
    let mut received = Received {
        key: record
            .key()
            .map(|key| String::from_utf8_lossy(key).into_owned()),
        body: record.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        partition: record.partition(),
        offset: record.offset(),
        timestamp_ms: record.timestamp().to_millis(),
        ..Received::default()
    };
    if let Some(headers) = record.headers() {
        for header in headers.iter() {
            let bytes = header.value.unwrap_or_default();
            let text = std::str::from_utf8(bytes).ok().map(str::to_owned);
            let slot = match header.key {
                CONTENT_TYPE => Some(&mut received.content_type),
                MESSAGE_ID => Some(&mut received.message_id),
                CORRELATION_ID => Some(&mut received.correlation_id),
                REPLY_TO => Some(&mut received.reply_to),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = text;
                continue;
            }
            let value = match text {
                Some(text) if header.key == RETRIES_HEADER => text
                    .parse()
                    .map_or(HeaderValue::Str(text), HeaderValue::Int),
                Some(text) => HeaderValue::Str(text),
                None => HeaderValue::Bytes(bytes.to_vec()),
            };
            received.headers.insert(header.key.to_owned(), value);
        }
    }
    received
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Timestamp;

    use super::*;

    #[test]
    fn properties_and_headers_survive_a_round_trip() {
        let mut outgoing = Outgoing {
            destination: "orders".to_owned(),
            key: Some("customer-7".to_owned()),
            body: b"{}".to_vec(),
            content_type: Some("application/json".to_owned()),
            correlation_id: Some("c-1".to_owned()),
            ..Outgoing::default()
        };
        outgoing
            .headers
            .insert(RETRIES_HEADER.to_owned(), HeaderValue::Int(2));
        outgoing
            .headers
            .insert("raw".to_owned(), HeaderValue::Bytes(vec![0xff, 0]));
        outgoing
            .headers
            .insert("flag".to_owned(), HeaderValue::Bool(true));
        let record = OwnedMessage::new(
            Some(outgoing.body.clone()),
            outgoing.key.clone().map(String::into_bytes),
            "orders".to_owned(),
            Timestamp::CreateTime(1_700_000_000_000),
            3,
            42,
            Some(record_headers(&outgoing)),
        );
        let got = received(&record);
        assert_eq!(got.key.as_deref(), Some("customer-7"));
        assert_eq!(got.content_type.as_deref(), Some("application/json"));
        assert_eq!(got.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(got.message_id, None);
        assert_eq!((got.partition, got.offset), (3, 42));
        assert_eq!(got.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(got.headers.get(RETRIES_HEADER), Some(&HeaderValue::Int(2)));
        assert_eq!(
            got.headers.get("raw"),
            Some(&HeaderValue::Bytes(vec![0xff, 0]))
        );
        assert_eq!(
            got.headers.get("flag"),
            Some(&HeaderValue::Str("true".to_owned()))
        );
        assert!(!got.headers.contains_key(CONTENT_TYPE));
    }
}
