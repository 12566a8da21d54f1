//! Response compression (gzip, brotli, zstd), chosen from `Accept-Encoding`.
//! STUB: negotiation and encoding arrive in the next commit.

use cello_http::{Request, Response};

use crate::chain::Exchange;
use crate::error::ConfigError;

/// Options of the compression layer.
#[derive(Clone, Debug)]
pub struct CompressionConfig {
    /// Bodies smaller than this many bytes are sent as they are.
    pub min_size: usize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self { min_size: 1024 }
    }
}

/// What `before` learnt from the request's `Accept-Encoding`.
#[derive(Debug)]
pub(crate) struct Negotiated;

/// The compression layer.
#[derive(Debug)]
pub struct Compression {
    #[allow(dead_code)]
    config: CompressionConfig,
}

impl Compression {
    /// Validates `config`.
    pub fn new(config: CompressionConfig) -> Result<Self, ConfigError> {
        Ok(Self { config })
    }

    pub(crate) fn before(
        &self,
        _request: &mut Request,
        _exchange: &mut Exchange,
    ) -> Option<Response> {
        None
    }

    pub(crate) fn after(&self, _exchange: &mut Exchange, _response: &mut Response) {}
}
