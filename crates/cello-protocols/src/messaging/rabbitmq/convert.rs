//! Between the abstraction's messages and lapin's properties and field tables.

use lapin::message::Delivery as AmqpDelivery;
use lapin::types::{AMQPValue, ByteArray, FieldTable, LongString, ShortString};
use lapin::BasicProperties;

use crate::messaging::{Delivery, HeaderValue, Headers, Outgoing, Settle};

/// The header that carries `Outgoing::key` (AMQP has no message key).
pub const KEY_HEADER: &str = "x-cello-key";
/// AMQP delivery mode 2: the broker writes the message to disk on a durable queue.
const PERSISTENT: u8 = 2;

pub fn header_value(value: &AMQPValue) -> HeaderValue {
    match value {
        AMQPValue::Boolean(value) => HeaderValue::Bool(*value),
        AMQPValue::ShortShortInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::ShortShortUInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::ShortInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::ShortUInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::LongInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::LongUInt(value) => HeaderValue::Int(i64::from(*value)),
        AMQPValue::LongLongInt(value) => HeaderValue::Int(*value),
        AMQPValue::Timestamp(value) => HeaderValue::Int(i64::try_from(*value).unwrap_or(i64::MAX)),
        AMQPValue::Float(value) => HeaderValue::Float(f64::from(*value)),
        AMQPValue::Double(value) => HeaderValue::Float(*value),
        AMQPValue::ShortString(value) => HeaderValue::Str(value.as_str().to_owned()),
        AMQPValue::LongString(value) => {
            HeaderValue::Str(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ByteArray(value) => HeaderValue::Bytes(value.as_slice().to_vec()),
        // Nested tables and arrays (RabbitMQ's `x-death`) are kept readable, not typed.
        other => HeaderValue::Str(format!("{other:?}")),
    }
}

pub fn amqp_value(value: &HeaderValue) -> AMQPValue {
    match value {
        HeaderValue::Str(text) => AMQPValue::LongString(LongString::from(text.as_str())),
        HeaderValue::Int(number) => AMQPValue::LongLongInt(*number),
        HeaderValue::Float(number) => AMQPValue::Double(*number),
        HeaderValue::Bool(flag) => AMQPValue::Boolean(*flag),
        HeaderValue::Bytes(bytes) => AMQPValue::ByteArray(ByteArray::from(bytes.clone())),
    }
}

pub fn field_table(headers: &Headers) -> FieldTable {
    let mut table = FieldTable::default();
    for (name, value) in headers {
        table.insert(ShortString::from(name.as_str()), amqp_value(value));
    }
    table
}

pub fn properties(message: &Outgoing) -> BasicProperties {
    let mut headers = field_table(&message.headers);
    if let Some(key) = &message.key {
        headers.insert(
            KEY_HEADER.into(),
            AMQPValue::LongString(key.as_str().into()),
        );
    }
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_headers(headers);
    if let Some(content_type) = &message.content_type {
        properties = properties.with_content_type(content_type.as_str().into());
    }
    if let Some(id) = &message.message_id {
        properties = properties.with_message_id(id.as_str().into());
    }
    if let Some(id) = &message.correlation_id {
        properties = properties.with_correlation_id(id.as_str().into());
    }
    if let Some(reply_to) = &message.reply_to {
        properties = properties.with_reply_to(reply_to.as_str().into());
    }
    properties
}

fn text(value: Option<&ShortString>) -> Option<String> {
    value.map(|value| value.as_str().to_owned())
}

pub fn delivery(queue: &str, amqp: AmqpDelivery, settler: Box<dyn Settle>) -> Delivery {
    let AmqpDelivery {
        exchange,
        routing_key,
        redelivered,
        properties,
        data,
        ..
    } = amqp;
    let mut delivery = Delivery::new(queue.to_owned(), data, settler);
    if let Some(table) = properties.headers() {
        for (name, value) in table.inner() {
            delivery
                .headers
                .insert(name.as_str().to_owned(), header_value(value));
        }
    }
    delivery.key = match delivery.headers.remove(KEY_HEADER) {
        Some(HeaderValue::Str(key)) => Some(key),
        _ => None,
    };
    delivery.exchange = exchange.as_str().to_owned();
    delivery.routing_key = routing_key.as_str().to_owned();
    delivery.redelivered = redelivered;
    delivery.content_type = text(properties.content_type().as_ref());
    delivery.message_id = text(properties.message_id().as_ref());
    delivery.correlation_id = text(properties.correlation_id().as_ref());
    delivery.reply_to = text(properties.reply_to().as_ref());
    delivery
}
