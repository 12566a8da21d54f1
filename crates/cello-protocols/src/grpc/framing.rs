//! The gRPC length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian
//! length, then the message.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a frame could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("received message larger than max ({size} vs. {max})")]
    TooLarge { size: usize, max: usize },
    #[error("compressed messages are not supported (no grpc-encoding is negotiated)")]
    Compressed,
    #[error("invalid compressed flag {0}")]
    BadFlag(u8),
}

/// Takes every complete message off the front of `buffer`; a partial one stays.
pub fn decode_frames(buffer: &mut BytesMut, max: usize) -> Result<Vec<Bytes>, FrameError> {
    let mut out = Vec::new();
    loop {
        if buffer.len() < 5 {
            return Ok(out);
        }
        let flag = buffer[0];
        let size = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
        match flag {
            0 => {}
            1 => return Err(FrameError::Compressed),
            other => return Err(FrameError::BadFlag(other)),
        }
        if size > max {
            return Err(FrameError::TooLarge { size, max });
        }
        if buffer.len() < 5 + size {
            buffer.reserve(5 + size - buffer.len());
            return Ok(out);
        }
        buffer.advance(5);
        out.push(buffer.split_to(size).freeze());
    }
}

/// One uncompressed frame around `message`.
pub fn encode_frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
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
}
