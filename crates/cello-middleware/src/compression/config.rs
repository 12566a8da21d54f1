//! Options of the compression layer, checked once at start-up.

use crate::error::ConfigError;

/// Options of the compression layer. [`CompressionConfig::default`] enables all three
/// codings at levels meant for content made per request.
#[derive(Clone, Debug)]
pub struct CompressionConfig {
    /// Bodies smaller than this many bytes are sent as they are (default 1024): below
    /// about a kilobyte a response fits in a packet or two either way, and the coding's
    /// own framing eats most of the saving. `0` compresses every non-empty body.
    pub min_size: usize,
    /// Whether gzip may be used (every client supports it).
    pub gzip: bool,
    /// Whether brotli (`br`) may be used (every current browser, over HTTPS).
    pub brotli: bool,
    /// Whether zstd may be used (Chrome and Firefox; fewer other clients).
    pub zstd: bool,
    /// gzip level, 1 (fastest) to 9 (smallest); default 6, zlib's own default.
    pub gzip_level: u32,
    /// brotli quality, 0 (fastest) to 11 (smallest); default 4. Qualities 10 and 11 are
    /// meant for files compressed once ahead of time: per request they cost far more
    /// than they save.
    pub brotli_level: u32,
    /// zstd level, 1 (fastest) to 19 (smallest); default 3, zstd's own default.
    pub zstd_level: i32,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        Self {
            min_size: 1024,
            gzip: true,
            brotli: true,
            zstd: true,
            gzip_level: 6,
            brotli_level: 4,
            zstd_level: 3,
        }
    }
}

/// The highest zstd level accepted. Levels 20–22 use windows of 32–128 MiB, and
/// browsers refuse zstd windows over 8 MiB (RFC 9659, "Window Sizing for Zstandard
/// Content Encoding").
pub(crate) const ZSTD_MAX_LEVEL: i32 = 19;

impl CompressionConfig {
    /// Checks that the options can work; every message says what to change.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.gzip || self.brotli || self.zstd) {
            return Err(ConfigError::invalid(
                "compression: gzip, brotli and zstd are all switched off, so nothing would \
                 ever be compressed: switch at least one on, or do not enable compression",
            ));
        }
        if !(1..=9).contains(&self.gzip_level) {
            return Err(ConfigError::invalid(format!(
                "compression gzip_level={} is out of range: use 1 (fastest) to 9 (smallest); \
                 the default is 6 (to send gzip unchanged, switch gzip off instead)",
                self.gzip_level
            )));
        }
        if self.brotli_level > 11 {
            return Err(ConfigError::invalid(format!(
                "compression brotli_level={} is out of range: use 0 (fastest) to 11 \
                 (smallest); the default is 4, and above 6 is slow for content made per request",
                self.brotli_level
            )));
        }
        if !(1..=ZSTD_MAX_LEVEL).contains(&self.zstd_level) {
            return Err(ConfigError::invalid(format!(
                "compression zstd_level={} is out of range: use 1 (fastest) to \
                 {ZSTD_MAX_LEVEL}; the default is 3 (levels 20-22 need windows larger than \
                 the 8 MiB browsers accept)",
                self.zstd_level
            )));
        }
        Ok(())
    }
}
