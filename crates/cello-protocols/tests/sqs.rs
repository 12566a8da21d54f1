//! Against an SQS-compatible server at `CELLO_SQS_ENDPOINT` (moto: `moto_server -p 4566`).
//! Without the variable each test says so and returns: not part of `make test` yet.

use std::time::Duration;

use cello_protocols::messaging::sqs::{SqsBroker, SqsConfig, SqsQueueSpec};
use cello_protocols::messaging::{Broker, HeaderValue, Outgoing, Subscription};

const DEADLINE: Duration = Duration::from_secs(60);

fn endpoint() -> Option<String> {
    let endpoint = std::env::var("CELLO_SQS_ENDPOINT").ok();
    if endpoint.is_none() {
        eprintln!("SKIPPED: set CELLO_SQS_ENDPOINT to an SQS-compatible server (moto_server)");
    }
    endpoint
}

async fn broker(endpoint: String) -> SqsBroker {
    broker_with(endpoint, |_| {}).await
}

async fn broker_with(endpoint: String, adjust: impl FnOnce(&mut SqsConfig)) -> SqsBroker {
    let mut config = SqsConfig::new("us-east-1");
    config.endpoint_url = Some(endpoint);
    config.wait_time = Duration::from_secs(1);
    adjust(&mut config);
    SqsBroker::connect(config).await.expect("the SQS server")
}

fn unique(name: &str) -> String {
    format!("cello-test-{name}-{}", std::process::id())
}

#[tokio::test(flavor = "current_thread")]
async fn publish_receive_ack_and_dead_letter() {
    let Some(endpoint) = endpoint() else { return };
    let broker = broker(endpoint).await;
    let queue = unique("orders");
    let dead = unique("orders-dead");
    broker
        .declare(SqsQueueSpec {
            name: queue.clone(),
            dead_letter: Some(dead.clone()),
        })
        .await
        .unwrap();
    let mut headers = cello_protocols::messaging::Headers::new();
    headers.insert("n".into(), HeaderValue::Int(3));
    for body in ["one", "two"] {
        broker
            .publish(Outgoing {
                destination: queue.clone(),
                body: body.as_bytes().to_vec(),
                headers: headers.clone(),
                key: Some("k".into()),
                ..Outgoing::default()
            })
            .await
            .unwrap();
    }
    let subscription = broker.subscribe(&queue).await.unwrap();
    let first = tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    let mut bodies = vec![first.body.clone(), second.body.clone()];
    bodies.sort();
    assert_eq!(bodies, vec![b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(first.headers.get("n"), Some(&HeaderValue::Int(3)));
    assert_eq!(first.key.as_deref(), Some("k"));
    first.ack().await.unwrap();
    second.reject().await.unwrap();
    subscription.stop().await.unwrap();

    let dead_subscription = broker.subscribe(&dead).await.unwrap();
    let moved = tokio::time::timeout(DEADLINE, dead_subscription.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.body, second.body);
    moved.ack().await.unwrap();
    dead_subscription.stop().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_nacked_message_comes_back_at_once() {
    let Some(endpoint) = endpoint() else { return };
    let broker = broker(endpoint).await;
    let queue = unique("requeue");
    broker
        .declare(SqsQueueSpec {
            name: queue.clone(),
            dead_letter: None,
        })
        .await
        .unwrap();
    broker
        .publish(Outgoing {
            destination: queue.clone(),
            body: vec![0, 1, 2],
            ..Outgoing::default()
        })
        .await
        .unwrap();
    let subscription = broker.subscribe(&queue).await.unwrap();
    let first = tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.body, vec![0, 1, 2]);
    assert!(!first.redelivered);
    first.nack(true).await.unwrap();
    let again = tokio::time::timeout(DEADLINE, subscription.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.body, vec![0, 1, 2]);
    assert!(again.redelivered);
    again.ack().await.unwrap();
    subscription.stop().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn an_unreachable_endpoint_fails_fast_with_its_address() {
    let mut config = SqsConfig::new("us-east-1");
    config.endpoint_url = Some("http://127.0.0.1:9".to_owned());
    let error = SqsBroker::connect(config)
        .await
        .expect_err("nothing listens on port 9");
    assert!(error.to_string().contains("127.0.0.1:9"), "{error}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_message_being_handled_stays_hidden_past_its_visibility_timeout() {
    let Some(endpoint) = endpoint() else { return };
    let broker = broker_with(endpoint, |config| {
        config.visibility_timeout = Duration::from_secs(4);
    })
    .await;
    let queue = unique("held");
    broker
        .declare(SqsQueueSpec {
            name: queue.clone(),
            dead_letter: None,
        })
        .await
        .unwrap();
    broker
        .publish(Outgoing {
            destination: queue.clone(),
            body: b"held".to_vec(),
            ..Outgoing::default()
        })
        .await
        .unwrap();
    let first = broker.subscribe(&queue).await.unwrap();
    let held = tokio::time::timeout(DEADLINE, first.next())
        .await
        .unwrap()
        .unwrap();
    // Another consumer polls for two and a half visibility timeouts: the message is
    // extended every half timeout while it is held, so it never reappears.
    let other = broker.subscribe(&queue).await.unwrap();
    let stolen = tokio::time::timeout(Duration::from_secs(10), other.next()).await;
    assert!(stolen.is_err(), "the held message was delivered again");
    held.ack().await.unwrap();
    first.stop().await.unwrap();
    other.stop().await.unwrap();
}
