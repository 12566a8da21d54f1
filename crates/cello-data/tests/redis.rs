//! The Redis client against the local Redis (`CELLO_TEST_REDIS_URL`, by default
//! 127.0.0.1:6379, which `scripts/services.sh` starts).
#![cfg(feature = "redis")]

use cello_data::{RedisClient, RedisConfig, Value};

fn url() -> String {
    std::env::var("CELLO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|part| part.as_bytes().to_vec()).collect()
}

#[tokio::test]
async fn commands_pipelines_and_pubsub() {
    let redis = RedisClient::connect(RedisConfig::new(url())).await.unwrap();
    let key = format!("cello-data-test:{}", std::process::id());
    assert_eq!(
        redis.command(args(&["SET", &key, "1"])).await.unwrap(),
        Value::Text("OK".into())
    );
    assert_eq!(
        redis.command(args(&["INCRBY", &key, "4"])).await.unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        redis.command(args(&["GET", &key])).await.unwrap(),
        Value::Bytes(b"5".to_vec())
    );
    let replies = redis
        .pipeline(
            vec![
                args(&["INCR", &key]),
                args(&["GET", &key]),
                args(&["DEL", &key]),
            ],
            true,
        )
        .await
        .unwrap();
    assert_eq!(
        replies,
        vec![Value::Int(6), Value::Bytes(b"6".to_vec()), Value::Int(1)]
    );
    let error = redis.command(args(&["NOSUCHCOMMAND"])).await.unwrap_err();
    assert!(
        error.to_string().contains("redis at 127.0.0.1:6379"),
        "{error}"
    );

    let channel = format!("{key}:channel");
    let mut messages = redis
        .subscribe(vec![channel.clone()], vec![format!("{key}:p*")])
        .await
        .unwrap();
    assert_eq!(
        redis
            .command(args(&["PUBLISH", &channel, "hello"]))
            .await
            .unwrap(),
        Value::Int(1)
    );
    let message = messages.recv().await.unwrap();
    assert_eq!(
        (message.channel.as_str(), message.payload.as_slice()),
        (channel.as_str(), &b"hello"[..])
    );
    redis
        .command(args(&["PUBLISH", &format!("{key}:pattern"), "p"]))
        .await
        .unwrap();
    let message = messages.recv().await.unwrap();
    assert_eq!(message.pattern, Some(format!("{key}:p*")));
}

#[tokio::test]
async fn unreachable_redis_fails_at_connect_naming_the_address() {
    let mut config = RedisConfig::new("redis://127.0.0.1:1/0");
    config.connection_timeout = std::time::Duration::from_secs(2);
    let error = RedisClient::connect(config).await.unwrap_err();
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
}
