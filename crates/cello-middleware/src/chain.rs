//! The chain: built once at start-up, frozen, run for every request.
//!
//! Each layer has a `before` step (it may answer the request itself: a preflight, a
//! 429) and an `after` step that sees every response the layers inside it produced,
//! the handler's or an inner layer's. A response made by a layer still passes through
//! the layers outside it, so CORS and security headers are on a 429 or a 404 too.
//! Only layers whose `before` ran get their `after`.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;

use cello_http::{ConnInfo, Handler, Request, Response};
use http::{HeaderValue, Method};

use crate::auth::Auth;
use crate::cache::{Cache, Lookup};
use crate::circuit_breaker::{CircuitBreaker, Ticket};
use crate::compression::{Compression, Negotiated};
use crate::cors::Cors;
use crate::csrf::Csrf;
use crate::etag::{Etag, Preconditions};
use crate::rate_limit::{RateLimit, Verdict};
use crate::request_id::RequestId;
use crate::security_headers::SecurityHeaders;
use crate::session::{Session, SessionHandle};
use crate::static_files::StaticFiles;

/// What one request carries from the `before` steps to the `after` steps.
#[derive(Debug)]
pub struct Exchange {
    /// The request's method.
    pub method: Method,
    /// Whether the request arrived over TLS (HSTS is sent only then).
    pub secure: bool,
    /// The client's address; `None` for requests that came through no socket (an
    /// in-process test client).
    pub peer: Option<SocketAddr>,
    /// The route template the request matched, when the caller knows it before the
    /// chain runs (rate limits keyed by route).
    pub route: Option<Box<str>>,
    pub(crate) cors_origin: Option<HeaderValue>,
    pub(crate) request_id: Option<HeaderValue>,
    pub(crate) compression: Option<Negotiated>,
    pub(crate) rate_limit: Option<Verdict>,
    /// The ETag layer: the preconditions of a GET or HEAD (boxed: most requests have none).
    pub(crate) preconditions: Option<Box<Preconditions>>,
    /// The response cache: looked up, to be stored.
    pub(crate) cache: Option<Lookup>,
    /// The circuit breaker: the request it let through, to be counted.
    pub(crate) circuit_breaker: Option<Ticket>,
    /// The session layer: the request's session, saved in `after` if it changed.
    pub(crate) session: Option<SessionHandle>,
    /// The CSRF layer: the `Set-Cookie` of a token issued to this request.
    pub(crate) csrf_cookie: Option<HeaderValue>,
}

impl Exchange {
    /// The exchange of `request` arriving on `conn`.
    pub fn new(request: &Request, conn: Option<ConnInfo>) -> Self {
        Self {
            method: request.method().clone(),
            secure: conn.is_some_and(|c| c.secure),
            peer: conn.map(|c| c.peer),
            route: None,
            cors_origin: None,
            request_id: None,
            compression: None,
            rate_limit: None,
            preconditions: None,
            cache: None,
            circuit_breaker: None,
            session: None,
            csrf_cookie: None,
        }
    }
}

/// One built-in middleware, configured. The order of the chain is fixed by
/// [`Layer::rank`], not by the order of registration (docs/middleware.md).
#[derive(Debug)]
#[non_exhaustive]
pub enum Layer {
    RequestId(RequestId),
    Cors(Cors),
    SecurityHeaders(SecurityHeaders),
    RateLimit(RateLimit),
    StaticFiles(StaticFiles),
    Auth(Auth),
    Session(Session),
    Csrf(Csrf),
    Cache(Cache),
    CircuitBreaker(CircuitBreaker),
    Compression(Compression),
    Etag(Etag),
}

impl Layer {
    /// Outermost first: request id → CORS → security headers → rate limit → ... →
    /// compression. Gaps leave room for the layers still to come (auth, session, CSRF,
    /// cache, circuit breaker, ETag).
    pub fn rank(&self) -> u16 {
        match self {
            Self::RequestId(_) => 10,
            Self::Cors(_) => 20,
            Self::SecurityHeaders(_) => 30,
            Self::RateLimit(_) => 40,
            Self::StaticFiles(_) => 45,
            Self::Auth(_) => 50,
            Self::Session(_) => 60,
            Self::Csrf(_) => 70,
            Self::Cache(_) => 80,
            Self::CircuitBreaker(_) => 90,
            Self::Compression(_) => 100,
            Self::Etag(_) => 110,
        }
    }

    /// The layer's name in messages and docs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequestId(_) => "request id",
            Self::Cors(_) => "CORS",
            Self::SecurityHeaders(_) => "security headers",
            Self::RateLimit(_) => "rate limit",
            Self::StaticFiles(_) => "static files",
            Self::Auth(_) => "authentication",
            Self::Session(_) => "session",
            Self::Csrf(_) => "CSRF",
            Self::Cache(_) => "response cache",
            Self::CircuitBreaker(_) => "circuit breaker",
            Self::Compression(_) => "compression",
            Self::Etag(_) => "ETag",
        }
    }

    async fn before(&self, request: &mut Request, exchange: &mut Exchange) -> Option<Response> {
        match self {
            Self::RequestId(layer) => layer.before(request, exchange),
            Self::Cors(layer) => layer.before(request, exchange),
            Self::SecurityHeaders(_) => None,
            Self::RateLimit(layer) => layer.before(request, exchange).await,
            Self::StaticFiles(layer) => layer.before(request, exchange).await,
            Self::Auth(layer) => layer.before(request, exchange),
            Self::Session(layer) => layer.before(request, exchange).await,
            Self::Csrf(layer) => layer.before(request, exchange).await,
            Self::Cache(layer) => layer.before(request, exchange).await,
            Self::CircuitBreaker(layer) => layer.before(request, exchange),
            Self::Compression(layer) => layer.before(request, exchange),
            Self::Etag(layer) => layer.before(request, exchange),
        }
    }

    async fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        match self {
            Self::RequestId(layer) => layer.after(exchange, response),
            Self::Cors(layer) => layer.after(exchange, response),
            Self::SecurityHeaders(layer) => layer.after(exchange, response),
            Self::RateLimit(layer) => layer.after(exchange, response),
            // answers in `before` only; what the app answers is not its business
            Self::StaticFiles(_) => {}
            Self::Auth(_) => {}
            Self::Session(layer) => layer.after(exchange, response).await,
            Self::Csrf(layer) => layer.after(exchange, response),
            Self::Cache(layer) => layer.after(exchange, response).await,
            Self::CircuitBreaker(layer) => layer.after(exchange, response),
            Self::Compression(layer) => layer.after(exchange, response),
            Self::Etag(layer) => layer.after(exchange, response),
        }
    }
}

macro_rules! into_layer {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Layer {
            fn from(layer: $variant) -> Self {
                Self::$variant(layer)
            }
        }
    )*};
}
into_layer!(
    RequestId,
    Cors,
    SecurityHeaders,
    RateLimit,
    StaticFiles,
    Session,
    Csrf,
    Cache,
    CircuitBreaker,
    Compression,
    Etag
);

/// A frozen, non-empty list of layers in their fixed order.
#[derive(Debug)]
pub struct Chain {
    layers: Box<[Layer]>,
}

impl Chain {
    /// The chain of `layers`, sorted into their fixed order; `None` when there are
    /// none, so that callers keep the plain path (an empty chain costs nothing).
    ///
    /// A layer kind given twice is a configuration error: the second would silently
    /// override the first.
    pub fn new(layers: Vec<Layer>) -> Result<Option<Self>, crate::ConfigError> {
        let mut layers = layers;
        layers.sort_by_key(Layer::rank);
        if let Some(pair) = layers
            .windows(2)
            .find(|pair| pair[0].rank() == pair[1].rank())
        {
            return Err(crate::ConfigError::Duplicate(pair[0].name()));
        }
        Ok((!layers.is_empty()).then(|| Self {
            layers: layers.into_boxed_slice(),
        }))
    }

    /// The layers, outermost first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Runs `request` through the layers and `inner` (the handler).
    pub async fn run<F, Fut>(&self, request: Request, conn: Option<ConnInfo>, inner: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let mut exchange = Exchange::new(&request, conn);
        self.run_with(request, &mut exchange, inner).await
    }

    /// As [`Chain::run`], with an exchange the caller prepared (to set `route`).
    pub async fn run_with<F, Fut>(
        &self,
        mut request: Request,
        exchange: &mut Exchange,
        inner: F,
    ) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let mut entered = 0;
        let mut answer = None;
        for layer in self.layers.iter() {
            entered += 1;
            if let Some(response) = layer.before(&mut request, exchange).await {
                answer = Some(response);
                break;
            }
        }
        let mut response = match answer {
            Some(response) => response,
            None => inner(request).await,
        };
        for layer in self.layers[..entered].iter().rev() {
            layer.after(exchange, &mut response).await;
        }
        response
    }
}

/// A cello-http [`Handler`] wrapped in a chain: what a Rust program serves.
pub struct Layered<H> {
    chain: Option<Chain>,
    inner: Rc<H>,
}

impl<H> Layered<H> {
    /// `inner` behind `chain` (`None`: no middleware, the handler is called directly).
    pub fn new(chain: Option<Chain>, inner: H) -> Self {
        Self {
            chain,
            inner: Rc::new(inner),
        }
    }
}

impl<H: Handler> Handler for Layered<H> {
    async fn call(self: Rc<Self>, request: Request, conn: ConnInfo) -> Response {
        match &self.chain {
            Some(chain) => {
                let inner = self.inner.clone();
                chain
                    .run(request, Some(conn), |request| inner.call(request, conn))
                    .await
            }
            None => self.inner.clone().call(request, conn).await,
        }
    }
}
