//! Messages to and from SQS's JSON shapes. Headers and the message's properties travel
//! as message attributes (SQS carries at most 10); a body that SQS cannot carry as text
//! (not UTF-8, characters XML forbids, or empty) is sent base64-encoded and marked.

use data_encoding::BASE64 as STANDARD;
use serde_json::{json, Map, Value};

use crate::messaging::{HeaderValue, Headers, MessagingError, Outgoing};

/// The attribute that carries the message key.
pub const KEY_ATTRIBUTE: &str = "x-cello-key";
const BODY_ATTRIBUTE: &str = "x-cello-body";
const CONTENT_TYPE_ATTRIBUTE: &str = "x-cello-content-type";
const MESSAGE_ID_ATTRIBUTE: &str = "x-cello-message-id";
const CORRELATION_ID_ATTRIBUTE: &str = "x-cello-correlation-id";
const REPLY_TO_ATTRIBUTE: &str = "x-cello-reply-to";
const PROPERTIES: [&str; 6] = [
    KEY_ATTRIBUTE,
    BODY_ATTRIBUTE,
    CONTENT_TYPE_ATTRIBUTE,
    MESSAGE_ID_ATTRIBUTE,
    CORRELATION_ID_ATTRIBUTE,
    REPLY_TO_ATTRIBUTE,
];
/// SQS's limit on message attributes.
pub const MAX_ATTRIBUTES: usize = 10;

fn sqs_text(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    (!text.is_empty() && text.chars().all(allowed)).then_some(text)
}

fn attribute(value: &HeaderValue) -> Value {
    match value {
        HeaderValue::Str(text) => json!({"DataType": "String", "StringValue": text}),
        HeaderValue::Int(number) => {
            json!({"DataType": "Number", "StringValue": number.to_string()})
        }
        HeaderValue::Float(number) => {
            json!({"DataType": "Number.float", "StringValue": number.to_string()})
        }
        HeaderValue::Bool(flag) => {
            json!({"DataType": "String.bool", "StringValue": flag.to_string()})
        }
        HeaderValue::Bytes(bytes) => {
            json!({"DataType": "Binary", "BinaryValue": STANDARD.encode(bytes)})
        }
    }
}

fn header(value: &Value) -> Option<HeaderValue> {
    let kind = value.get("DataType")?.as_str()?;
    if kind.starts_with("Binary") {
        let encoded = value.get("BinaryValue")?.as_str()?;
        return STANDARD
            .decode(encoded.as_bytes())
            .ok()
            .map(HeaderValue::Bytes);
    }
    let text = value.get("StringValue")?.as_str()?;
    Some(if kind == "Number.float" {
        HeaderValue::Float(text.parse().ok()?)
    } else if kind.starts_with("Number") {
        match text.parse::<i64>() {
            Ok(number) => HeaderValue::Int(number),
            Err(_) => HeaderValue::Float(text.parse().ok()?),
        }
    } else if kind == "String.bool" {
        HeaderValue::Bool(text == "true")
    } else {
        HeaderValue::Str(text.to_owned())
    })
}

/// The `SendMessage` input for `message` to `queue_url`.
pub fn send_input(queue_url: &str, message: &Outgoing) -> Result<Value, MessagingError> {
    let mut attributes = Map::new();
    for (name, value) in &message.headers {
        if PROPERTIES.contains(&name.as_str()) {
            continue;
        }
        attributes.insert(name.clone(), attribute(value));
    }
    let text = sqs_text(&message.body);
    let body = match text {
        Some(text) => text.to_owned(),
        None => {
            attributes.insert(
                BODY_ATTRIBUTE.to_owned(),
                attribute(&HeaderValue::Str("base64".into())),
            );
            // SQS refuses an empty body: one space stands for it, the marker says so.
            let encoded = STANDARD.encode(&message.body);
            if encoded.is_empty() {
                " ".to_owned()
            } else {
                encoded
            }
        }
    };
    let properties = [
        (KEY_ATTRIBUTE, &message.key),
        (CONTENT_TYPE_ATTRIBUTE, &message.content_type),
        (MESSAGE_ID_ATTRIBUTE, &message.message_id),
        (CORRELATION_ID_ATTRIBUTE, &message.correlation_id),
        (REPLY_TO_ATTRIBUTE, &message.reply_to),
    ];
    for (name, value) in properties {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), attribute(&HeaderValue::Str(value.clone())));
        }
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(MessagingError::Config(format!(
            "SQS carries at most {MAX_ATTRIBUTES} message attributes, and this message needs {} \
             (its headers, plus one each for a key, content type, message id, correlation id and \
             reply-to that are set): send fewer headers, or put them in the body",
            attributes.len()
        )));
    }
    let mut input = json!({"QueueUrl": queue_url, "MessageBody": body});
    if !attributes.is_empty() {
        input["MessageAttributes"] = Value::Object(attributes);
    }
    if queue_url.ends_with(".fifo") {
        // FIFO queues order by group: the key is the group (one group without a key).
        input["MessageGroupId"] = json!(message.key.as_deref().unwrap_or("cello"));
        if let Some(id) = &message.message_id {
            input["MessageDeduplicationId"] = json!(id);
        }
    }
    Ok(input)
}

/// A received message's parts, before it becomes a `Delivery`.
#[derive(Debug, Default)]
pub struct Received {
    pub receipt_handle: String,
    pub body: Vec<u8>,
    pub headers: Headers,
    pub key: Option<String>,
    pub content_type: Option<String>,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub reply_to: Option<String>,
    pub receive_count: u32,
}

/// One entry of `ReceiveMessage`'s `Messages`.
pub fn received(message: &Value) -> Option<Received> {
    let receipt_handle = message.get("ReceiptHandle")?.as_str()?.to_owned();
    let text = message
        .get("Body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut headers = Headers::new();
    if let Some(Value::Object(attributes)) = message.get("MessageAttributes") {
        for (name, value) in attributes {
            if let Some(value) = header(value) {
                headers.insert(name.clone(), value);
            }
        }
    }
    let mut take = |name: &str| match headers.remove(name) {
        Some(HeaderValue::Str(text)) => Some(text),
        _ => None,
    };
    let encoded = take(BODY_ATTRIBUTE).is_some_and(|marker| marker == "base64");
    let body = if encoded {
        STANDARD.decode(text.trim().as_bytes()).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let key = take(KEY_ATTRIBUTE);
    let content_type = take(CONTENT_TYPE_ATTRIBUTE);
    let message_id = take(MESSAGE_ID_ATTRIBUTE).or_else(|| {
        message
            .get("MessageId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let correlation_id = take(CORRELATION_ID_ATTRIBUTE);
    let reply_to = take(REPLY_TO_ATTRIBUTE);
    let receive_count = message
        .pointer("/Attributes/ApproximateReceiveCount")
        .and_then(Value::as_str)
        .and_then(|count| count.parse().ok())
        .unwrap_or(1);
    Some(Received {
        receipt_handle,
        body,
        headers,
        key,
        content_type,
        message_id,
        correlation_id,
        reply_to,
        receive_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: &Outgoing) -> Received {
        let input = send_input("http://localhost/1/q", message).expect("input");
        let wire = json!({
            "ReceiptHandle": "r",
            "MessageId": "sqs-id",
            "Body": input["MessageBody"],
            "MessageAttributes": input.get("MessageAttributes").cloned().unwrap_or(json!({})),
            "Attributes": {"ApproximateReceiveCount": "2"},
        });
        received(&wire).expect("received")
    }

    #[test]
    fn headers_and_properties_survive() {
        let mut headers = Headers::new();
        headers.insert("a".into(), HeaderValue::Str("x".into()));
        headers.insert("n".into(), HeaderValue::Int(-7));
        headers.insert("f".into(), HeaderValue::Float(1.5));
        headers.insert("b".into(), HeaderValue::Bool(true));
        headers.insert("raw".into(), HeaderValue::Bytes(vec![0, 255]));
        let message = Outgoing {
            destination: "q".into(),
            key: Some("k".into()),
            body: b"{\"id\": 1}".to_vec(),
            headers: headers.clone(),
            content_type: Some("application/json".into()),
            correlation_id: Some("c".into()),
            ..Outgoing::default()
        };
        let got = round_trip(&message);
        assert_eq!(got.headers, headers);
        assert_eq!(got.body, message.body);
        assert_eq!(got.key.as_deref(), Some("k"));
        assert_eq!(got.content_type.as_deref(), Some("application/json"));
        assert_eq!(got.correlation_id.as_deref(), Some("c"));
        assert_eq!(got.message_id.as_deref(), Some("sqs-id"));
        assert_eq!(got.receive_count, 2);
    }

    #[test]
    fn bodies_sqs_cannot_carry_are_encoded() {
        for body in [vec![], vec![0, 159, 146, 150], b"nul\0".to_vec()] {
            let message = Outgoing {
                body: body.clone(),
                ..Outgoing::default()
            };
            assert_eq!(round_trip(&message).body, body);
        }
    }

    #[test]
    fn too_many_attributes_is_a_clear_error() {
        let mut message = Outgoing::default();
        for index in 0..11 {
            message
                .headers
                .insert(format!("h{index}"), HeaderValue::Int(index));
        }
        let error = send_input("u", &message).expect_err("eleven attributes");
        assert!(error.to_string().contains("at most 10"), "{error}");
    }

    #[test]
    fn fifo_queues_get_a_group() {
        let message = Outgoing {
            key: Some("customer-7".into()),
            body: b"x".to_vec(),
            ..Outgoing::default()
        };
        let input = send_input("http://h/1/q.fifo", &message).expect("input");
        assert_eq!(input["MessageGroupId"], "customer-7");
    }
}
