//! A WebSocket echo load generator for the benchmarks: `connections` clients each
//! send a message, wait for its echo, and repeat for `seconds`; prints messages/s.
//!
//! `cargo run --release -p cello-http --example ws_load -- --url ws://127.0.0.1:8000/ws --connections 100 --seconds 10 --size 32`
//!
//! With `--hold N`, it instead opens N idle connections, prints `open=<count>` once
//! they are open, keeps them for `--seconds`, then closes them (memory benchmarks).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug)]
struct Options {
    url: String,
    connections: usize,
    seconds: f64,
    size: usize,
    hold: usize,
}

fn options() -> Options {
    let mut options = Options {
        url: "ws://127.0.0.1:8000/ws".into(),
        connections: 100,
        seconds: 10.0,
        size: 32,
        hold: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => options.url = value,
            "--connections" => {
                options.connections = value.parse().expect("--connections: a number");
            }
            "--seconds" => options.seconds = value.parse().expect("--seconds: a number"),
            "--size" => options.size = value.parse().expect("--size: a number"),
            "--hold" => options.hold = value.parse().expect("--hold: a number"),
            other => panic!("unknown argument {other}; use --url --connections --seconds --size"),
        }
    }
    options
}

async fn client(url: String, payload: String, until: Instant) -> Result<(u64, u64), String> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .map_err(|error| error.to_string())?;
    let (mut messages, mut errors) = (0u64, 0u64);
    while Instant::now() < until {
        if socket.send(Message::text(payload.clone())).await.is_err() {
            errors += 1;
            break;
        }
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.len() == payload.len() => messages += 1,
            Some(Ok(_)) => errors += 1,
            _ => {
                errors += 1;
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    Ok((messages, errors))
}

async fn hold(options: &Options) {
    let mut sockets = Vec::with_capacity(options.hold);
    let mut failed = 0usize;
    for _ in 0..options.hold {
        match tokio_tungstenite::connect_async(options.url.as_str()).await {
            Ok((socket, _)) => sockets.push(socket),
            Err(_) => failed += 1,
        }
    }
    println!("open={} failed={failed}", sockets.len());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::time::sleep(Duration::from_secs_f64(options.seconds)).await;
    drop(sockets);
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    if options.hold > 0 {
        runtime.block_on(hold(&options));
        return;
    }
    let payload = "x".repeat(options.size);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(options.seconds);
    let results = runtime.block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let tasks: Vec<_> = (0..options.connections)
                    .map(|_| {
                        tokio::task::spawn_local(client(
                            options.url.clone(),
                            payload.clone(),
                            until,
                        ))
                    })
                    .collect();
                let mut results = Vec::new();
                for task in tasks {
                    results.push(task.await.unwrap_or_else(|error| Err(error.to_string())));
                }
                results
            })
            .await
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut messages, mut errors, mut failed) = (0u64, 0u64, 0usize);
    for result in results {
        match result {
            Ok((ok, bad)) => {
                messages += ok;
                errors += bad;
            }
            Err(_) => failed += 1,
        }
    }
    // One line the harness parses.
    println!(
        "messages={messages} errors={errors} failed_connections={failed} seconds={elapsed:.3} messages_per_second={:.1}",
        messages as f64 / elapsed
    );
}
