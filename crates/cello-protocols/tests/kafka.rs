//! Against a Kafka-protocol broker at `CELLO_KAFKA_BROKERS` (`make test` starts tansu on
//! 127.0.0.1:9092: scripts/services.sh). Without the variable each test says so and
//! returns.

use std::collections::BTreeSet;
use std::time::Duration;

use cello_protocols::messaging::kafka::{KafkaBroker, KafkaConfig, KafkaSubscribeSpec};
use cello_protocols::messaging::{Broker, Delivery, HeaderValue, Outgoing, Subscription};

const DEADLINE: Duration = Duration::from_secs(60);

fn brokers() -> Option<Vec<String>> {
    let brokers = std::env::var("CELLO_KAFKA_BROKERS").ok();
    if brokers.is_none() {
        eprintln!("SKIPPED: set CELLO_KAFKA_BROKERS to a Kafka-protocol broker (tansu)");
    }
    brokers.map(|list| list.split(',').map(str::to_owned).collect())
}

async fn broker(brokers: Vec<String>) -> KafkaBroker {
    let mut config = KafkaConfig::new(brokers);
    config.session_timeout = Duration::from_secs(6);
    KafkaBroker::connect(config)
        .await
        .expect("the Kafka broker")
}

fn unique(name: &str) -> String {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("cello-test-{name}-{}-{n}-{nanos}", std::process::id())
}

fn message(topic: &str, key: &str, body: &str) -> Outgoing {
    Outgoing {
        destination: topic.to_owned(),
        key: Some(key.to_owned()),
        body: body.as_bytes().to_vec(),
        ..Outgoing::default()
    }
}

async fn next(subscription: &impl Subscription) -> Delivery {
    tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .expect("a record within the deadline")
        .expect("the subscription is open")
}

fn body(delivery: &Delivery) -> &str {
    std::str::from_utf8(&delivery.body).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn publish_consume_and_commit_only_what_was_processed() {
    let Some(brokers) = brokers() else { return };
    let broker = broker(brokers).await;
    let topic = unique("orders");
    broker.declare_topic(&topic, Some(1)).await.unwrap();
    broker.declare_topic(&topic, Some(1)).await.unwrap(); // exists: fine
    for n in 1..=3 {
        let mut outgoing = message(&topic, "customer-7", &format!("order-{n}"));
        outgoing
            .headers
            .insert("n".into(), HeaderValue::Str(n.to_string()));
        outgoing.content_type = Some("text/plain".into());
        broker.publish(outgoing).await.unwrap();
    }
    let group = unique("group");
    let spec = KafkaSubscribeSpec {
        topic: topic.clone(),
        group: Some(group.clone()),
        dead_letter: None,
    };
    let subscription = broker.subscribe_to(spec.clone()).await.unwrap();
    let first = next(&subscription).await;
    assert_eq!(body(&first), "order-1");
    assert_eq!(first.key.as_deref(), Some("customer-7"));
    assert_eq!(first.content_type.as_deref(), Some("text/plain"));
    assert_eq!(first.headers.get("n"), Some(&HeaderValue::Str("1".into())));
    assert_eq!((first.partition, first.offset), (Some(0), Some(0)));
    let second = next(&subscription).await;
    let third = next(&subscription).await;
    // The third is processed, the second is not: only the first may be committed.
    third.ack().await.unwrap();
    first.ack().await.unwrap();
    assert_eq!(subscription.pending(), 1);
    subscription.close().await.unwrap();
    drop(second);

    let again = broker.subscribe_to(spec).await.unwrap();
    let redelivered = next(&again).await;
    assert_eq!(body(&redelivered), "order-2");
    assert_eq!(body(&next(&again).await), "order-3");
    again.close().await.unwrap();
    broker.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn rejects_go_to_the_dead_letter_topic_and_requeues_to_the_end() {
    let Some(brokers) = brokers() else { return };
    let broker = broker(brokers).await;
    let topic = unique("jobs");
    let dead = format!("{topic}.dead");
    broker.declare_topic(&topic, Some(1)).await.unwrap();
    broker.declare_topic(&dead, Some(1)).await.unwrap();
    for name in ["bad", "later", "fine"] {
        broker.publish(message(&topic, name, name)).await.unwrap();
    }
    let subscription = broker
        .subscribe_to(KafkaSubscribeSpec {
            topic: topic.clone(),
            group: Some(unique("group")),
            dead_letter: Some(dead.clone()),
        })
        .await
        .unwrap();
    let bad = next(&subscription).await;
    bad.reject().await.unwrap();
    assert!(bad.ack().await.is_err(), "settled once");
    next(&subscription).await.nack(true).await.unwrap();
    next(&subscription).await.ack().await.unwrap();
    let requeued = next(&subscription).await;
    assert_eq!(body(&requeued), "later");
    assert_eq!(requeued.offset, Some(3));
    requeued.ack().await.unwrap();

    let dead_letters = broker.subscribe(&dead).await.unwrap();
    let copy = next(&dead_letters).await;
    assert_eq!(body(&copy), "bad");
    assert_eq!(copy.key.as_deref(), Some("bad"));
    copy.ack().await.unwrap();
    subscription.close().await.unwrap();
    broker.close().await.unwrap();
}

async fn wait_for_assignment(
    subscription: &cello_protocols::messaging::kafka::KafkaSubscription,
    mut ready: impl FnMut(&[i32]) -> bool,
) -> Vec<i32> {
    let start = std::time::Instant::now();
    loop {
        let assignment = subscription.assignment();
        if ready(&assignment) {
            return assignment;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "assignment stuck at {assignment:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_group_splits_partitions_and_takes_over_when_a_member_leaves() {
    let Some(brokers) = brokers() else { return };
    let broker = broker(brokers).await;
    let topic = unique("split");
    broker.declare_topic(&topic, Some(4)).await.unwrap();
    let spec = KafkaSubscribeSpec {
        topic: topic.clone(),
        group: Some(unique("group")),
        dead_letter: None,
    };
    let first = broker.subscribe_to(spec.clone()).await.unwrap();
    let second = broker.subscribe_to(spec).await.unwrap();
    // The pumps keep polling (rebalances are served while reading): each gets some.
    let split = |got: &[i32]| !got.is_empty() && got.len() < 4;
    let (a, b) = tokio::join!(
        wait_for_assignment(&first, split),
        wait_for_assignment(&second, split)
    );
    let all: BTreeSet<i32> = a.iter().chain(&b).copied().collect();
    assert_eq!(all, (0..4).collect(), "{a:?} and {b:?} cover the topic");
    second.close().await.unwrap();
    let took_over = wait_for_assignment(&first, |got| got.len() == 4).await;
    assert_eq!(took_over, vec![0, 1, 2, 3]);
    first.close().await.unwrap();
    broker.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_broker_is_a_connect_error() {
    let mut config = KafkaConfig::new(vec!["127.0.0.1:1".to_owned()]);
    config.connection_timeout = Duration::from_millis(500);
    let error = KafkaBroker::connect(config).await.unwrap_err();
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
}
