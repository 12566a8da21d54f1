//! SQS's JSON protocol over HTTP/1.1: `POST /` with `X-Amz-Target: AmazonSQS.<Action>`
//! and a JSON body, signed with SigV4; errors come back as `{"__type", "message"}`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::config::{Credentials, SqsConfig};
use super::sigv4;
use crate::messaging::MessagingError;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// What SQS answered with instead of a result.
#[derive(Debug, Clone, thiserror::Error)]
#[error("SQS answered {status} {code}: {message}")]
pub struct SqsError {
    /// The HTTP status.
    pub status: u16,
    /// The error's code without its namespace (`QueueDoesNotExist`).
    pub code: String,
    /// SQS's message.
    pub message: String,
}

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// SQS could not be reached, or did not answer in time: worth trying again.
    Transport(String),
    /// SQS answered with an error.
    Service(SqsError),
}

impl CallError {
    /// As a messaging error for `operation`.
    pub fn into_messaging(self, operation: String) -> MessagingError {
        match self {
            Self::Transport(reason) => MessagingError::broker(operation, TransportError(reason)),
            Self::Service(error) => MessagingError::broker(operation, error),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

/// A signed SQS JSON client.
pub struct Api {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: String,
    host: String,
    region: String,
    credentials: Credentials,
    request_timeout: Duration,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Api")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// A client for `config`'s endpoint.
    pub fn new(config: &SqsConfig) -> Result<Self, MessagingError> {
        config.validate()?;
        let credentials = config.resolve_credentials()?;
        let endpoint = config.endpoint();
        let uri: http::Uri = endpoint.parse().map_err(|_| {
            MessagingError::Config(format!("endpoint_url {endpoint:?} is not a URL"))
        })?;
        let host = uri
            .authority()
            .map(|authority| authority.as_str().to_owned())
            .ok_or_else(|| {
                MessagingError::Config(format!("endpoint_url {endpoint:?} names no host"))
            })?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| {
                MessagingError::Config(format!("no TLS root certificates on this machine: {error}"))
            })?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            client,
            endpoint,
            host,
            region: config.region.clone(),
            credentials,
            request_timeout: config.request_timeout,
        })
    }

    /// host[:port] of the endpoint.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Calls `action` with `input`; `wait` is added to the request timeout (long polls).
    pub async fn call(
        &self,
        action: &str,
        input: &Value,
        wait: Duration,
    ) -> Result<Value, CallError> {
        let body =
            serde_json::to_vec(input).map_err(|error| CallError::Transport(error.to_string()))?;
        let target = format!("AmazonSQS.{action}");
        let signed = sigv4::sign(
            &self.credentials,
            &self.region,
            &self.host,
            CONTENT_TYPE,
            &target,
            &body,
            &sigv4::amz_date_now(),
        );
        let mut request = http::Request::post(format!("{}/", self.endpoint))
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("x-amz-target", &target)
            .header("x-amz-date", &signed.amz_date)
            .header(http::header::AUTHORIZATION, &signed.authorization);
        if let Some(token) = &self.credentials.session_token {
            request = request.header("x-amz-security-token", token);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| CallError::Transport(error.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| CallError::Transport(format!("{error:?}")))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|error| CallError::Transport(error.to_string()))?
                .to_bytes();
            Ok::<_, CallError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.request_timeout + wait, exchange)
            .await
            .map_err(|_| {
                CallError::Transport(format!(
                    "no answer from {} within {:?}",
                    self.host,
                    self.request_timeout + wait
                ))
            })??;
        let value: Value = if bytes.is_empty() {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                CallError::Transport(format!(
                    "{} answered {status} with a body that is not JSON (is it an SQS endpoint?)",
                    self.host
                ))
            })?
        };
        if status.is_success() {
            return Ok(value);
        }
        if status.is_server_error() && status != http::StatusCode::NOT_IMPLEMENTED {
            return Err(CallError::Transport(format!(
                "{} answered {status}",
                self.host
            )));
        }
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let code = text("__type").unwrap_or_else(|| status.as_str().to_owned());
        let code = code.rsplit('#').next().unwrap_or(&code).to_owned();
        let message = text("message")
            .or_else(|| text("Message"))
            .unwrap_or_default();
        Err(CallError::Service(SqsError {
            status: status.as_u16(),
            code,
            message,
        }))
    }
}
