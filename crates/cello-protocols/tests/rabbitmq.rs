//! Against the RabbitMQ on 127.0.0.1:5672 (guest/guest; `AMQP_URL` overrides it). Each
//! test uses queues of its own name, deleted at the end.

use std::process::Command;
use std::time::Duration;

use cello_protocols::messaging::rabbitmq::{
    BindingSpec, Declaration, ExchangeKind, ExchangeSpec, QueueSpec, RabbitBroker, RabbitConfig,
};
use cello_protocols::messaging::retry::{retry_or_dead_letter, RetryOutcome, RetryPolicy};
use cello_protocols::messaging::{
    Broker, Delivery, HeaderValue, MessagingError, Outgoing, Subscription,
};
use lapin::options::QueueDeleteOptions;

/// Generous: a slow machine still passes; nothing here measures time.
const DEADLINE: Duration = Duration::from_secs(60);

fn url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn unique(name: &str) -> String {
    format!("cello-test-{name}-{}", std::process::id())
}

async fn broker(name: &str) -> RabbitBroker {
    let mut config = RabbitConfig::new(url());
    config.connection_name = Some(unique(name));
    RabbitBroker::connect(config)
        .await
        .expect("RabbitMQ on 127.0.0.1:5672")
}

async fn queue(broker: &RabbitBroker, spec: QueueSpec) {
    broker.declare(Declaration::Queue(spec)).await.unwrap();
}

fn message(queue: &str, body: &str) -> Outgoing {
    Outgoing {
        destination: queue.to_owned(),
        body: body.as_bytes().to_vec(),
        ..Outgoing::default()
    }
}

async fn next(subscription: &impl Subscription) -> Delivery {
    tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .expect("a delivery within the deadline")
        .expect("the subscription is open")
}

/// Deletes test queues through a connection of its own.
async fn delete(queues: &[&str]) {
    let properties = lapin::ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let connection = lapin::Connection::connect(&url(), properties)
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    for queue in queues {
        channel
            .queue_delete(queue, QueueDeleteOptions::default())
            .await
            .ok();
    }
    connection.close(200, "done").await.ok();
}

#[tokio::test]
async fn round_trip_with_headers_key_and_properties() {
    let broker = broker("round-trip").await;
    let name = unique("round-trip");
    queue(&broker, QueueSpec::durable(name.as_str())).await;
    let subscription = broker.subscribe(&name).await.unwrap();
    let mut outgoing = message(&name, r#"{"id": 1}"#);
    outgoing.key = Some("customer-7".to_owned());
    outgoing.content_type = Some("application/json".to_owned());
    outgoing.message_id = Some("m-1".to_owned());
    outgoing
        .headers
        .insert("tries".to_owned(), HeaderValue::Int(3));
    outgoing
        .headers
        .insert("source".to_owned(), HeaderValue::Str("test".to_owned()));
    broker.publish(outgoing).await.unwrap();

    let delivery = next(&subscription).await;
    assert_eq!(delivery.body, br#"{"id": 1}"#);
    assert_eq!(delivery.source, name);
    assert_eq!(delivery.routing_key, name);
    assert_eq!(delivery.key.as_deref(), Some("customer-7"));
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    assert_eq!(delivery.message_id.as_deref(), Some("m-1"));
    assert_eq!(delivery.headers.get("tries"), Some(&HeaderValue::Int(3)));
    assert_eq!(
        delivery.headers.get("source"),
        Some(&HeaderValue::Str("test".to_owned()))
    );
    assert!(!delivery.redelivered);
    delivery.ack().await.unwrap();
    assert!(matches!(
        delivery.ack().await,
        Err(MessagingError::AlreadySettled(_))
    ));

    subscription.stop().await.unwrap();
    broker.close().await.unwrap();
    delete(&[&name]).await;
}

#[tokio::test]
async fn nack_requeues_and_reject_dead_letters() {
    let broker = broker("nack").await;
    let name = unique("nack");
    let dead = unique("nack-dead");
    let mut spec = QueueSpec::durable(name.as_str());
    spec.dead_letter_queue = Some(dead.clone());
    queue(&broker, spec).await;
    let subscription = broker.subscribe(&name).await.unwrap();
    broker.publish(message(&name, "once more")).await.unwrap();

    let first = next(&subscription).await;
    first.nack(true).await.unwrap();
    let again = next(&subscription).await;
    assert_eq!(again.body, b"once more");
    assert!(again.redelivered);
    again.reject().await.unwrap();

    let dead_letters = broker.subscribe(&dead).await.unwrap();
    let dead_lettered = next(&dead_letters).await;
    assert_eq!(dead_lettered.body, b"once more");
    assert!(dead_lettered.headers.contains_key("x-death"));
    dead_lettered.ack().await.unwrap();

    subscription.stop().await.unwrap();
    dead_letters.stop().await.unwrap();
    broker.close().await.unwrap();
    delete(&[&name, &dead]).await;
}

#[tokio::test]
async fn retries_count_up_then_dead_letter() {
    let broker = broker("retry").await;
    let name = unique("retry");
    let dead = unique("retry-dead");
    let mut spec = QueueSpec::durable(name.as_str());
    spec.dead_letter_queue = Some(dead.clone());
    queue(&broker, spec).await;
    let subscription = broker.subscribe(&name).await.unwrap();
    broker.publish(message(&name, "fails")).await.unwrap();
    let policy = RetryPolicy {
        max_retries: 2,
        initial_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };

    let mut outcomes = Vec::new();
    for expected in 0..=2 {
        let delivery = next(&subscription).await;
        assert_eq!(delivery.retries(), expected);
        outcomes.push(
            retry_or_dead_letter(&broker, &delivery, &policy)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes,
        [
            RetryOutcome::Retried(1),
            RetryOutcome::Retried(2),
            RetryOutcome::DeadLettered(2)
        ]
    );
    let dead_letters = broker.subscribe(&dead).await.unwrap();
    let dead_lettered = next(&dead_letters).await;
    assert_eq!(dead_lettered.body, b"fails");
    assert_eq!(dead_lettered.retries(), 2);
    dead_lettered.ack().await.unwrap();

    subscription.stop().await.unwrap();
    dead_letters.stop().await.unwrap();
    broker.close().await.unwrap();
    delete(&[&name, &dead]).await;
}

#[tokio::test]
async fn exchanges_route_by_key_and_refusals_are_errors() {
    let broker = broker("exchange").await;
    let name = unique("exchange");
    let exchange = unique("orders");
    broker
        .declare(Declaration::Exchange(ExchangeSpec {
            name: exchange.clone(),
            kind: ExchangeKind::Topic,
            durable: false,
        }))
        .await
        .unwrap();
    queue(&broker, QueueSpec::durable(name.as_str())).await;
    broker
        .declare(Declaration::Binding(BindingSpec {
            queue: name.clone(),
            exchange: exchange.clone(),
            routing_key: "orders.*".to_owned(),
        }))
        .await
        .unwrap();
    let subscription = broker.subscribe(&name).await.unwrap();
    let mut routed = message("orders.created", "routed");
    routed.exchange.clone_from(&exchange);
    broker.publish(routed).await.unwrap();
    let delivery = next(&subscription).await;
    assert_eq!(delivery.exchange, exchange);
    assert_eq!(delivery.routing_key, "orders.created");
    delivery.ack().await.unwrap();

    // Nothing bound for this key: mandatory publishing makes it an error, not a drop.
    let mut unroutable = message("invoices.created", "nowhere");
    unroutable.exchange.clone_from(&exchange);
    let error = broker.publish(unroutable).await.unwrap_err();
    assert!(error.to_string().contains("no queue receives"), "{error}");
    // A missing exchange closes the publishing channel; the next publish opens another.
    let mut missing = message("x", "lost");
    missing.exchange = unique("no-such-exchange");
    assert!(matches!(
        broker.publish(missing).await,
        Err(MessagingError::Broker { .. })
    ));
    broker
        .publish(message(&name, "still publishing"))
        .await
        .unwrap();
    let delivery = next(&subscription).await;
    assert_eq!(delivery.body, b"still publishing");
    delivery.ack().await.unwrap();
    // A queue that does not exist cannot be consumed.
    assert!(broker.subscribe(&unique("no-such-queue")).await.is_err());

    subscription.stop().await.unwrap();
    broker.close().await.unwrap();
    delete(&[&name]).await;
}

#[tokio::test]
async fn stop_gives_back_what_was_not_handed_out() {
    let broker = broker("stop").await;
    let name = unique("stop");
    queue(&broker, QueueSpec::durable(name.as_str())).await;
    let subscription = broker.subscribe(&name).await.unwrap();
    for index in 0..5 {
        broker
            .publish(message(&name, &index.to_string()))
            .await
            .unwrap();
    }
    let handed_out = next(&subscription).await;
    subscription.stop().await.unwrap();
    // Still settleable after the stop: the channel stays open until close().
    handed_out.ack().await.unwrap();

    let again = broker.subscribe(&name).await.unwrap();
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let delivery = next(&again).await;
        bodies.push(String::from_utf8(delivery.body.clone()).unwrap());
        delivery.ack().await.unwrap();
    }
    bodies.sort();
    assert_eq!(bodies, ["1", "2", "3", "4"]);
    again.stop().await.unwrap();
    broker.close().await.unwrap();
    delete(&[&name]).await;
}

#[tokio::test]
async fn stop_ends_a_waiting_next() {
    let broker = broker("stop-waiting").await;
    let name = unique("stop-waiting");
    queue(&broker, QueueSpec::durable(name.as_str())).await;
    let subscription = std::sync::Arc::new(broker.subscribe(&name).await.unwrap());
    let waiting = tokio::spawn({
        let subscription = std::sync::Arc::clone(&subscription);
        async move { subscription.next().await.is_none() }
    });
    tokio::task::yield_now().await;
    subscription.stop().await.unwrap();
    assert!(tokio::time::timeout(DEADLINE, waiting)
        .await
        .unwrap()
        .unwrap());
    broker.close().await.unwrap();
    delete(&[&name]).await;
}

#[tokio::test]
async fn an_unreachable_broker_fails_fast_with_its_address() {
    let mut config = RabbitConfig::new("amqp://guest:guest@127.0.0.1:1/%2f");
    config.connection_timeout = Duration::from_secs(10);
    let error = RabbitBroker::connect(config).await.unwrap_err();
    assert!(matches!(error, MessagingError::Connect { .. }), "{error}");
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    let error = RabbitBroker::connect(RabbitConfig::new("http://x"))
        .await
        .unwrap_err();
    assert!(matches!(error, MessagingError::Config(_)), "{error}");
}

/// Closes this test's connection from the broker's side, as an operator or a broker
/// restart would.
fn close_connection_named(name: &str) -> bool {
    let listed = Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl");
    let text = String::from_utf8_lossy(&listed.stdout);
    let Some(line) = text
        .lines()
        .find(|line| line.contains(&format!("\"{name}\"")))
    else {
        return false;
    };
    let pid = line.split_whitespace().next().unwrap();
    Command::new("rabbitmqctl")
        .args(["close_connection", pid, "cello test: forced close"])
        .status()
        .expect("rabbitmqctl")
        .success()
}

#[tokio::test]
async fn reconnects_and_restores_topology_and_consumers() {
    let name = unique("reconnect");
    let broker = broker("reconnect").await;
    // auto-delete: the queue goes with the connection, so it is there afterwards only if
    // the broker declared it again.
    let mut spec = QueueSpec::durable(name.as_str());
    spec.durable = false;
    spec.auto_delete = true;
    queue(&broker, spec).await;
    let subscription = broker.subscribe(&name).await.unwrap();
    broker.publish(message(&name, "before")).await.unwrap();
    next(&subscription).await.ack().await.unwrap();

    assert!(
        close_connection_named(&unique("reconnect")),
        "the test connection is listed"
    );
    // Published while the connection is down or coming back: publish waits for it.
    broker.publish(message(&name, "after")).await.unwrap();
    let delivery = next(&subscription).await;
    assert_eq!(delivery.body, b"after");
    delivery.ack().await.unwrap();
    assert!(broker.is_connected());

    subscription.stop().await.unwrap();
    broker.close().await.unwrap();
}
