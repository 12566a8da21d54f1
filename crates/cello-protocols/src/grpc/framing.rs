//! The gRPC length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian
//! length, then the message; gzip for messages sent with the compressed flag set.

use std::io::Read;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a frame could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("received message larger than max ({size} vs. {max})")]
    TooLarge { size: usize, max: usize },
    #[error("a compressed message arrived, but the call's grpc-encoding is identity")]
    Compressed,
    #[error("invalid compressed flag {0}")]
    BadFlag(u8),
    #[error("the message does not inflate as gzip: {0}")]
    Corrupt(String),
}

/// A message coding of `grpc-encoding`: what Cello reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// The coding named by a `grpc-encoding` value; `None` for one Cello does not know.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "identity" | "" => Some(Self::Identity),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
        }
    }
}

/// Splits a request body into messages as its chunks arrive, inflating compressed ones
/// up to the size limit (a gzip bomb stops at `max` bytes).
#[derive(Debug)]
pub struct Decoder {
    buffer: BytesMut,
    max: usize,
    encoding: Encoding,
}

impl Decoder {
    pub fn new(max: usize, encoding: Encoding) -> Self {
        Self {
            buffer: BytesMut::new(),
            max,
            encoding,
        }
    }

    /// Adds a chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Whether bytes of an incomplete message are waiting (at the end of the body,
    /// that is a truncated message).
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Whether `next_message` has something to say: a whole frame, or a header that
    /// it refuses.
    pub fn has_message(&self) -> bool {
        self.header().is_some_and(|(flag, size)| {
            flag > 1 || size > self.max || self.buffer.len() >= 5 + size
        })
    }

    /// The flag and length of the frame at the front, once its 5 bytes are there.
    fn header(&self) -> Option<(u8, usize)> {
        let head: [u8; 5] = self.buffer.get(..5)?.try_into().ok()?;
        Some((
            head[0],
            u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize,
        ))
    }

    /// The next complete message, if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some((flag, size)) = self.header() else {
            return Ok(None);
        };
        if flag > 1 {
            return Err(FrameError::BadFlag(flag));
        }
        if flag == 1 && self.encoding == Encoding::Identity {
            return Err(FrameError::Compressed);
        }
        if size > self.max && flag == 0 {
            return Err(FrameError::TooLarge {
                size,
                max: self.max,
            });
        }
        if self.buffer.len() < 5 + size {
            // A compressed frame's own size is bounded too: it cannot be larger than
            // what it inflates to by more than gzip's overhead.
            if flag == 1 && size > self.max.saturating_mul(2).saturating_add(1024) {
                return Err(FrameError::TooLarge {
                    size,
                    max: self.max,
                });
            }
            self.buffer.reserve(5 + size - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(5);
        let message = self.buffer.split_to(size).freeze();
        if flag == 0 {
            return Ok(Some(message));
        }
        inflate(&message, self.max).map(Some)
    }
}

fn inflate(message: &[u8], max: usize) -> Result<Bytes, FrameError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(message)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|error| FrameError::Corrupt(error.to_string()))?;
    if out.len() > max {
        return Err(FrameError::TooLarge {
            size: out.len(),
            max,
        });
    }
    Ok(Bytes::from(out))
}

/// Takes every complete uncompressed message off the front of `buffer`; a partial one
/// stays.
pub fn decode_frames(buffer: &mut BytesMut, max: usize) -> Result<Vec<Bytes>, FrameError> {
    let mut decoder = Decoder {
        buffer: std::mem::take(buffer),
        max,
        encoding: Encoding::Identity,
    };
    let mut out = Vec::new();
    let result = loop {
        match decoder.next_message() {
            Ok(Some(message)) => out.push(message),
            Ok(None) => break Ok(out),
            Err(error) => break Err(error),
        }
    };
    *buffer = decoder.buffer;
    result
}

/// One frame around `message`, gzip-compressed when `encoding` says so.
pub fn encode_frame_with(message: &[u8], encoding: Encoding) -> Bytes {
    let (flag, payload) = match encoding {
        Encoding::Identity => (0, None),
        Encoding::Gzip => {
            use std::io::Write;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let compressed = encoder
                .write_all(message)
                .and_then(|()| encoder.finish())
                .ok();
            (u8::from(compressed.is_some()), compressed)
        }
    };
    let payload = payload.as_deref().unwrap_or(message);
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(flag);
    out.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    out.put_slice(payload);
    out.freeze()
}

/// One uncompressed frame around `message`.
pub fn encode_frame(message: &[u8]) -> Bytes {
    encode_frame_with(message, Encoding::Identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&encode_frame(b"hello"));
        buffer.extend_from_slice(&encode_frame(b""));
        let partial = encode_frame(b"world");
        buffer.extend_from_slice(&partial[..4]);
        let got = decode_frames(&mut buffer, 100).unwrap();
        assert_eq!(got, vec![Bytes::from_static(b"hello"), Bytes::new()]);
        buffer.extend_from_slice(&partial[4..]);
        assert_eq!(
            decode_frames(&mut buffer, 100).unwrap(),
            vec![Bytes::from_static(b"world")]
        );
        assert!(buffer.is_empty());
    }

    #[test]
    fn oversized_and_compressed_frames_are_refused() {
        let mut buffer = BytesMut::from(&encode_frame(&[0u8; 10])[..]);
        assert_eq!(
            decode_frames(&mut buffer, 5),
            Err(FrameError::TooLarge { size: 10, max: 5 })
        );
        let mut compressed = BytesMut::from(&[1u8, 0, 0, 0, 0][..]);
        assert_eq!(
            decode_frames(&mut compressed, 5),
            Err(FrameError::Compressed)
        );
    }

    #[test]
    fn gzip_messages_inflate_and_a_bomb_stops_at_the_limit() {
        let mut decoder = Decoder::new(1000, Encoding::Gzip);
        let frame = encode_frame_with(b"a gzipped message", Encoding::Gzip);
        assert_eq!(frame[0], 1);
        decoder.push(&frame);
        decoder.push(&encode_frame(b"plain"));
        assert_eq!(
            decoder.next_message().unwrap().as_deref(),
            Some(&b"a gzipped message"[..])
        );
        assert_eq!(
            decoder.next_message().unwrap().as_deref(),
            Some(&b"plain"[..])
        );
        assert!(!decoder.has_partial());

        let bomb = encode_frame_with(&vec![0u8; 1_000_000], Encoding::Gzip);
        assert!(bomb.len() < 10_000);
        let mut decoder = Decoder::new(1000, Encoding::Gzip);
        decoder.push(&bomb);
        assert_eq!(
            decoder.next_message(),
            Err(FrameError::TooLarge {
                size: 1001,
                max: 1000
            })
        );
        let mut decoder = Decoder::new(1000, Encoding::Gzip);
        decoder.push(&[1, 0, 0, 0, 3, 1, 2, 3]);
        assert!(matches!(
            decoder.next_message(),
            Err(FrameError::Corrupt(_))
        ));
    }
}
