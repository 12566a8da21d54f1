//! The three encoders behind one interface: a whole body at once, or a stream chunk by
//! chunk with a flush after each, so that every chunk sent can be decoded on arrival.

use std::io::{self, Write};

use bytes::Bytes;

use super::config::CompressionConfig;
use super::negotiate::Coding;

/// brotli's window for streams, as a power of two (1 MiB). A stream's encoder lives
/// as long as the response, so it is kept smaller than brotli's default (4 MiB): an
/// event stream can stay open for hours.
const BROTLI_STREAM_WINDOW_BITS: u32 = 20;
/// The largest window used for a whole body (brotli's default, 4 MiB); smaller bodies
/// get the smallest window that holds them.
const BROTLI_MAX_WINDOW_BITS: u32 = 22;
const BROTLI_MIN_WINDOW_BITS: u32 = 10;
/// brotli's internal output buffer.
const BROTLI_BUFFER: usize = 4096;

/// A streaming encoder writing into a `Vec` that is emptied after every chunk.
pub(crate) enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    // Boxed: brotli's state is several kilobytes, the other two are a few words.
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    /// An encoder for a stream of unknown length.
    pub(crate) fn stream(coding: Coding, config: &CompressionConfig) -> io::Result<Self> {
        Ok(match coding {
            Coding::Gzip => Self::Gzip(gzip(Vec::new(), config)),
            Coding::Brotli => Self::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                config.brotli_level,
                BROTLI_STREAM_WINDOW_BITS,
            ))),
            Coding::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(
                Vec::new(),
                config.zstd_level,
            )?),
        })
    }

    /// Encodes `chunk` and flushes (gzip's sync flush, brotli's and zstd's flush), so
    /// that a client can decode everything sent so far; returns the bytes to send.
    pub(crate) fn chunk(&mut self, chunk: &[u8]) -> io::Result<Bytes> {
        let output = match self {
            Self::Gzip(encoder) => {
                encoder.write_all(chunk)?;
                encoder.flush()?;
                encoder.get_mut()
            }
            Self::Brotli(encoder) => {
                encoder.write_all(chunk)?;
                encoder.flush()?;
                encoder.get_mut()
            }
            Self::Zstd(encoder) => {
                encoder.write_all(chunk)?;
                encoder.flush()?;
                encoder.get_mut()
            }
        };
        // The encoders only append to their output, so taking what is there is safe.
        Ok(Bytes::from(std::mem::take(output)))
    }

    /// Ends the stream; returns its last bytes (gzip's trailer, the end markers).
    pub(crate) fn finish(self) -> io::Result<Bytes> {
        let output = match self {
            Self::Gzip(encoder) => encoder.finish()?,
            // brotli's `into_inner` finishes the stream; writing into a Vec cannot fail.
            Self::Brotli(encoder) => encoder.into_inner(),
            Self::Zstd(encoder) => encoder.finish()?,
        };
        Ok(Bytes::from(output))
    }
}

/// Compresses a whole body in one go.
pub(crate) fn compress(
    coding: Coding,
    config: &CompressionConfig,
    body: &[u8],
) -> io::Result<Bytes> {
    let output = match coding {
        Coding::Gzip => {
            let mut encoder = gzip(Vec::with_capacity(body.len() / 4), config);
            encoder.write_all(body)?;
            encoder.finish()?
        }
        Coding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: config.brotli_level as i32,
                lgwin: window_bits(body.len()) as i32,
                size_hint: body.len(),
                ..brotli::enc::BrotliEncoderParams::default()
            };
            let mut encoder = brotli::CompressorWriter::with_params(
                Vec::with_capacity(body.len() / 4),
                BROTLI_BUFFER,
                &params,
            );
            encoder.write_all(body)?;
            encoder.into_inner()
        }
        // The one-shot API records the length in the frame and sizes the window to
        // the body.
        Coding::Zstd => zstd::bulk::compress(body, config.zstd_level)?,
    };
    Ok(Bytes::from(output))
}

fn gzip(output: Vec<u8>, config: &CompressionConfig) -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(output, flate2::Compression::new(config.gzip_level))
}

/// The smallest brotli window that holds `length` bytes (a window of `2^bits` holds
/// `2^bits - 16`), within brotli's bounds and our maximum.
fn window_bits(length: usize) -> u32 {
    let needed = (length + 16).next_power_of_two().trailing_zeros();
    needed.clamp(BROTLI_MIN_WINDOW_BITS, BROTLI_MAX_WINDOW_BITS)
}
