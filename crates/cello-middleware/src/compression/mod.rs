//! Response compression (gzip, brotli, zstd), chosen from `Accept-Encoding`, with
//! tower-http's behaviour.
//!
//! - `before` reads `Accept-Encoding` and picks a coding (br > zstd > gzip on equal
//!   q-values); `after` compresses the response, whichever layer or handler made it.
//! - Skipped, whatever the client accepts: HEAD requests, 1xx/204/206/304 answers,
//!   bodies already encoded, ranges, `Cache-Control: no-transform`, bodies under
//!   `min_size`, and media, archives, gRPC and problem+json (`skip.rs`).
//! - Every response that could have been compressed gets `Vary: Accept-Encoding`,
//!   compressed or not, so that caches keep one copy per coding.
//! - A compressed response loses `Accept-Ranges` (ranges would address the encoded
//!   bytes) and its strong `ETag` becomes weak (the bytes differ from the identity
//!   body's); `Content-Length` is the compressed length for in-memory bodies and
//!   absent for streams.
//! - In-memory bodies are compressed in one go, and sent as they are when that does
//!   not make them smaller; streams are compressed chunk by chunk with a flush after
//!   each, so that server-sent events still arrive one by one.

mod body;
mod config;
mod encoder;
mod negotiate;
mod skip;

use cello_http::{Request, Response, ResponseBody};
use http::header::{ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, ETAG};
use http::{HeaderMap, HeaderValue, Method};

use crate::chain::Exchange;
use crate::error::ConfigError;
use crate::vary::add_vary;
use body::CompressedBody;
pub use config::CompressionConfig;
use encoder::Encoder;
use negotiate::{negotiate, Coding};

/// What `before` learnt from the request's `Accept-Encoding`.
#[derive(Debug)]
pub(crate) struct Negotiated {
    /// `None`: the client accepts none of the enabled codings; send identity.
    coding: Option<Coding>,
}

/// The compression layer.
#[derive(Debug)]
pub struct Compression {
    config: CompressionConfig,
}

impl Compression {
    /// Validates `config`.
    pub fn new(config: &CompressionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config: config.clone(),
        })
    }

    fn enabled(&self, coding: Coding) -> bool {
        match coding {
            Coding::Gzip => self.config.gzip,
            Coding::Brotli => self.config.brotli,
            Coding::Zstd => self.config.zstd,
        }
    }

    pub(crate) fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let values = request.headers().get_all(ACCEPT_ENCODING).iter();
        exchange.compression = Some(Negotiated {
            coding: negotiate(values, |coding| self.enabled(coding)),
        });
        None
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let Some(negotiated) = exchange.compression.take() else {
            return;
        };
        if !skip::may_compress(response, self.config.min_size) {
            return;
        }
        add_vary(response.headers_mut(), "Accept-Encoding");
        // A HEAD answer describes the identity body (its length is the one a GET
        // without Accept-Encoding would get); it is never compressed.
        if exchange.method == Method::HEAD {
            return;
        }
        let Some(coding) = negotiated.coding else {
            return;
        };
        match std::mem::replace(response.body_mut(), ResponseBody::Empty) {
            ResponseBody::Stream(stream) => match Encoder::stream(coding, &self.config) {
                Ok(encoder) => {
                    *response.body_mut() =
                        ResponseBody::stream(CompressedBody::new(stream, encoder));
                    let headers = response.headers_mut();
                    headers.remove(CONTENT_LENGTH);
                    mark_encoded(headers, coding);
                }
                // zstd could not allocate its context: send the body as it is.
                Err(_) => *response.body_mut() = ResponseBody::Stream(stream),
            },
            body => {
                let identity = body.into_full().unwrap_or_default();
                match encoder::compress(coding, &self.config, &identity) {
                    // Random or already-compressed bytes can come out larger: then
                    // the identity body is the better answer.
                    Ok(encoded) if encoded.len() < identity.len() => {
                        let headers = response.headers_mut();
                        headers.insert(CONTENT_LENGTH, HeaderValue::from(encoded.len()));
                        mark_encoded(headers, coding);
                        *response.body_mut() = ResponseBody::full(encoded);
                    }
                    _ => *response.body_mut() = ResponseBody::full(identity),
                }
            }
        }
    }
}

/// The headers of a body now sent with `coding`.
fn mark_encoded(headers: &mut HeaderMap, coding: Coding) {
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
    // Ranges of the encoded bytes would not be ranges of the resource (tower-http
    // removes it too).
    headers.remove(ACCEPT_RANGES);
    weaken_etag(headers);
}

/// `"x"` → `W/"x"`: a strong tag promises the same bytes, and the encoded bytes
/// depend on the coding, its level and the encoder's version (nginx does the same).
fn weaken_etag(headers: &mut HeaderMap) {
    let Some(tag) = headers.get(ETAG) else {
        return;
    };
    if tag.as_bytes().starts_with(b"W/") {
        return;
    }
    let mut weak = Vec::with_capacity(tag.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(tag.as_bytes());
    if let Ok(weak) = HeaderValue::from_bytes(&weak) {
        headers.insert(ETAG, weak);
    }
}

#[cfg(test)]
mod tests;
