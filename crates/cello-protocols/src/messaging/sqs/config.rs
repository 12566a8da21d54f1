//! How to reach SQS: the endpoint, the region, the credentials, and how to poll.

use std::time::Duration;

use crate::messaging::MessagingError;

/// AWS credentials for signing requests (Signature Version 4).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Option<Self> {
        let access_key_id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
        let secret_access_key = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
        Some(Self {
            access_key_id,
            secret_access_key,
            session_token: std::env::var("AWS_SESSION_TOKEN")
                .ok()
                .filter(|token| !token.is_empty()),
        })
    }
}

/// How to reach SQS and consume from it.
#[derive(Debug, Clone)]
pub struct SqsConfig {
    /// The AWS region (`us-east-1`); part of every signature.
    pub region: String,
    /// The endpoint, `http(s)://host[:port]`; None: `https://sqs.<region>.amazonaws.com`.
    /// LocalStack and moto listen on their own (`http://localhost:4566`).
    pub endpoint_url: Option<String>,
    /// The credentials; None: from the environment, or `test`/`test` with an
    /// `endpoint_url` (what local SQS servers accept).
    pub credentials: Option<Credentials>,
    /// The queue checked at connect time (a URL), if any.
    pub queue_url: Option<String>,
    /// Messages one `ReceiveMessage` asks for (1 to 10).
    pub max_messages: u8,
    /// Long polling: how long one `ReceiveMessage` waits for a message (0 to 20 s).
    pub wait_time: Duration,
    /// How long a received message stays invisible to other consumers before SQS
    /// delivers it again (unless it is deleted, or its visibility is changed).
    pub visibility_timeout: Duration,
    /// How long one request (other than a long poll's wait) may take.
    pub request_timeout: Duration,
    /// How long `publish` retries a request that could not reach SQS.
    pub publish_timeout: Duration,
}

impl SqsConfig {
    /// Defaults (those of `cello.SqsConfig`) for `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            endpoint_url: None,
            credentials: None,
            queue_url: None,
            max_messages: 10,
            wait_time: Duration::from_secs(20),
            visibility_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            publish_timeout: Duration::from_secs(30),
        }
    }

    /// The endpoint requests go to, without a trailing slash.
    pub fn endpoint(&self) -> String {
        match &self.endpoint_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://sqs.{}.amazonaws.com", self.region),
        }
    }

    /// The credentials to sign with, or a `Config` error that says where to put them.
    pub fn resolve_credentials(&self) -> Result<Credentials, MessagingError> {
        if let Some(credentials) = &self.credentials {
            return Ok(credentials.clone());
        }
        if let Some(credentials) = Credentials::from_env() {
            return Ok(credentials);
        }
        if self.endpoint_url.is_some() {
            return Ok(Credentials {
                access_key_id: "test".to_owned(),
                secret_access_key: "test".to_owned(),
                session_token: None,
            });
        }
        Err(MessagingError::Config(
            "SQS needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and \
             AWS_SESSION_TOKEN for temporary ones), or pass them in the config"
                .to_owned(),
        ))
    }

    /// Checks the values SQS would refuse.
    pub fn validate(&self) -> Result<(), MessagingError> {
        if self.region.is_empty() {
            return Err(MessagingError::Config(
                "SqsConfig needs a region (us-east-1)".to_owned(),
            ));
        }
        if !(1..=10).contains(&self.max_messages) {
            return Err(MessagingError::Config(format!(
                "max_messages must be between 1 and 10 (SQS's limit), got {}",
                self.max_messages
            )));
        }
        if self.wait_time > Duration::from_secs(20) {
            return Err(MessagingError::Config(format!(
                "wait_time_secs must be between 0 and 20 (SQS's limit), got {}",
                self.wait_time.as_secs()
            )));
        }
        if self.visibility_timeout > Duration::from_secs(12 * 60 * 60) {
            return Err(MessagingError::Config(
                "visibility_timeout_secs must be at most 43200 (12 hours, SQS's limit)".to_owned(),
            ));
        }
        let endpoint = self.endpoint();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(MessagingError::Config(format!(
                "endpoint_url must start with http:// or https://, got {endpoint:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_follows_the_region() {
        let config = SqsConfig::new("eu-west-1");
        assert_eq!(config.endpoint(), "https://sqs.eu-west-1.amazonaws.com");
        let mut local = SqsConfig::new("us-east-1");
        local.endpoint_url = Some("http://localhost:4566/".to_owned());
        assert_eq!(local.endpoint(), "http://localhost:4566");
        assert_eq!(
            local.resolve_credentials().map(|c| c.access_key_id).ok(),
            std::env::var("AWS_ACCESS_KEY_ID")
                .ok()
                .filter(|_| std::env::var("AWS_SECRET_ACCESS_KEY").is_ok())
                .or(Some("test".to_owned()))
        );
    }

    #[test]
    fn limits_are_checked() {
        let mut config = SqsConfig::new("us-east-1");
        config.max_messages = 11;
        assert!(config.validate().is_err());
        config.max_messages = 10;
        config.wait_time = Duration::from_secs(21);
        assert!(config.validate().is_err());
        config.wait_time = Duration::from_secs(20);
        assert!(config.validate().is_ok());
    }
}
