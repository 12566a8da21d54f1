//! Retries with a backoff and a retry count, then the dead letter, for any broker.
//!
//! A failed delivery stays unacknowledged during its backoff (so a crash or a shutdown
//! meanwhile gives it back to the queue), is then published again to its source with its
//! `x-cello-retries` header one higher, and only after the broker confirmed the copy is
//! the original acked: a message is never lost between the two. After `max_retries`
//! retries it is rejected, which sends it to the queue's dead letter.

use std::time::Duration;

use super::message::RETRIES_HEADER;
use super::{Broker, Delivery, HeaderValue, MessagingError};

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first failure; 0: straight to the dead letter.
    pub max_retries: u32,
    /// The wait before the first retry.
    pub initial_delay: Duration,
    /// Each retry waits this much longer than the one before.
    pub multiplier: f64,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 is the first).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self
            .multiplier
            .max(1.0)
            .powi(i32::try_from(retry).unwrap_or(i32::MAX));
        let seconds = self.initial_delay.as_secs_f64() * factor;
        Duration::try_from_secs_f64(seconds)
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }
}

/// What `retry_or_dead_letter` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Published again with this retry count.
    Retried(u32),
    /// Rejected to the dead letter after this many retries.
    DeadLettered(u32),
}

/// Retries a failed delivery through `broker`, or dead-letters it after the last try.
pub async fn retry_or_dead_letter<B: Broker>(
    broker: &B,
    delivery: &Delivery,
    policy: &RetryPolicy,
) -> Result<RetryOutcome, MessagingError> {
    let retries = delivery.retries();
    if retries >= policy.max_retries {
        delivery.reject().await?;
        return Ok(RetryOutcome::DeadLettered(retries));
    }
    tokio::time::sleep(policy.delay(retries)).await;
    let mut copy = delivery.to_outgoing();
    copy.headers.insert(
        RETRIES_HEADER.to_owned(),
        HeaderValue::Int(i64::from(retries) + 1),
    );
    if let Err(error) = broker.publish(copy).await {
        // The copy may not exist: the original goes back to the queue instead.
        delivery.nack(true).await.ok();
        return Err(error);
    }
    delivery.ack().await?;
    Ok(RetryOutcome::Retried(retries + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_millis(500),
        };
        assert_eq!(policy.delay(0), Duration::from_millis(100));
        assert_eq!(policy.delay(1), Duration::from_millis(200));
        assert_eq!(policy.delay(2), Duration::from_millis(400));
        assert_eq!(policy.delay(3), Duration::from_millis(500));
        assert_eq!(policy.delay(u32::MAX), Duration::from_millis(500));
    }
}
