//! RFC 6455 framing: frame headers, masking, close codes.
//!
//! The server side only: frames it receives must be masked, frames it sends are not.

use bytes::{BufMut, BytesMut};

/// Frame opcodes (RFC 6455 section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    pub(crate) fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A received frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub fin: bool,
    /// RSV1: "this message is compressed" once permessage-deflate is negotiated.
    pub rsv1: bool,
    pub opcode: OpCode,
    pub mask: [u8; 4],
    pub len: u64,
}

/// Why a frame header is refused; each maps to close code 1002.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    ReservedBits,
    ReservedOpcode(u8),
    Unmasked,
    FragmentedControl,
    ControlTooLong,
    LengthOverflow,
}

impl HeaderError {
    pub(crate) fn reason(self) -> String {
        match self {
            Self::ReservedBits => "reserved bits set without a negotiated extension".into(),
            Self::ReservedOpcode(op) => format!("reserved opcode {op:#x}"),
            Self::Unmasked => "client frames must be masked".into(),
            Self::FragmentedControl => "control frames must not be fragmented".into(),
            Self::ControlTooLong => "control frame payload longer than 125 bytes".into(),
            Self::LengthOverflow => "frame length has its most significant bit set".into(),
        }
    }
}

/// Parses a frame header at the start of `buf`: `Ok(None)` when more bytes are
/// needed, else the header and its length in bytes. `rsv1_allowed` is whether
/// permessage-deflate was negotiated (whether RSV1 is legal on this frame is the
/// message layer's business).
pub(crate) fn parse_header(
    buf: &[u8],
    rsv1_allowed: bool,
) -> Result<Option<(Header, usize)>, HeaderError> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    let fin = first & 0x80 != 0;
    let rsv1 = first & 0x40 != 0;
    if first & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
        return Err(HeaderError::ReservedBits);
    }
    let opcode =
        OpCode::from_bits(first & 0x0F).ok_or(HeaderError::ReservedOpcode(first & 0x0F))?;
    if second & 0x80 == 0 {
        return Err(HeaderError::Unmasked);
    }
    let (len, mut at) = match second & 0x7F {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut eight = [0u8; 8];
            eight.copy_from_slice(bytes);
            let len = u64::from_be_bytes(eight);
            if len >> 63 != 0 {
                return Err(HeaderError::LengthOverflow);
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    if opcode.is_control() {
        if !fin {
            return Err(HeaderError::FragmentedControl);
        }
        if len > 125 {
            return Err(HeaderError::ControlTooLong);
        }
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    at += 4;
    Ok(Some((
        Header {
            fin,
            rsv1,
            opcode,
            mask,
            len,
        },
        at,
    )))
}

/// Unmasks `data` in place; `offset` is the position of `data[0]` in the payload.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], offset: u64) {
    // Rotate the key so that it lines up with data[0], then XOR eight bytes at a time.
    let shift = (offset % 4) as usize;
    let key = [
        mask[shift],
        mask[(shift + 1) % 4],
        mask[(shift + 2) % 4],
        mask[(shift + 3) % 4],
    ];
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let value = u64::from_ne_bytes(word) ^ wide;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i % 4];
    }
}

/// Appends an unmasked frame header for a payload of `len` bytes.
pub(crate) fn write_header(dst: &mut BytesMut, opcode: OpCode, rsv1: bool, len: usize) {
    dst.put_u8(0x80 | if rsv1 { 0x40 } else { 0 } | opcode.bits());
    if len < 126 {
        dst.put_u8(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        dst.put_u8(126);
        dst.put_u16(short);
    } else {
        dst.put_u8(127);
        dst.put_u64(len as u64);
    }
}

/// Whether a peer may send `code` in a close frame (RFC 6455 section 7.4, and the
/// IANA registry: 1012-1014 were added after the RFC).
pub(crate) fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(first: u8, payload_len_byte: u8, extra: &[u8]) -> Vec<u8> {
        let mut frame = vec![first, 0x80 | payload_len_byte];
        frame.extend_from_slice(extra);
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame
    }

    #[test]
    fn parses_short_medium_and_long_lengths() {
        let (header, at) = parse_header(&masked(0x81, 5, &[]), false).unwrap().unwrap();
        assert_eq!(
            (header.opcode, header.len, header.fin, at),
            (OpCode::Text, 5, true, 6)
        );
        let (header, at) = parse_header(&masked(0x02, 126, &[0x01, 0x00]), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            (header.opcode, header.len, header.fin, at),
            (OpCode::Binary, 256, false, 8)
        );
        let long = 70_000u64.to_be_bytes();
        let (header, at) = parse_header(&masked(0x82, 127, &long), false)
            .unwrap()
            .unwrap();
        assert_eq!((header.len, at), (70_000, 14));
        assert_eq!(header.mask, [1, 2, 3, 4]);
    }

    #[test]
    fn waits_for_a_whole_header() {
        let frame = masked(0x82, 127, &70_000u64.to_be_bytes());
        for cut in 0..frame.len() {
            assert_eq!(parse_header(&frame[..cut], false), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn refuses_what_rfc_6455_forbids() {
        let cases: [(Vec<u8>, HeaderError); 6] = [
            (masked(0xC1, 1, &[]), HeaderError::ReservedBits),
            (masked(0xA1, 1, &[]), HeaderError::ReservedBits),
            (masked(0x83, 1, &[]), HeaderError::ReservedOpcode(3)),
            (vec![0x81, 0x01, b'a'], HeaderError::Unmasked),
            (masked(0x09, 1, &[]), HeaderError::FragmentedControl),
            (masked(0x89, 126, &[0, 126]), HeaderError::ControlTooLong),
        ];
        for (frame, expected) in cases {
            assert_eq!(parse_header(&frame, false), Err(expected), "{frame:?}");
        }
        let huge = (1u64 << 63).to_be_bytes();
        assert_eq!(
            parse_header(&masked(0x82, 127, &huge), false),
            Err(HeaderError::LengthOverflow)
        );
        assert!(parse_header(&masked(0xC1, 1, &[]), true).unwrap().is_some());
    }

    #[test]
    fn unmasking_in_pieces_matches_unmasking_at_once() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let plain: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut whole = plain.clone();
        unmask(&mut whole, mask, 0);
        for (i, byte) in whole.iter().enumerate() {
            assert_eq!(*byte, plain[i] ^ mask[i % 4]);
        }
        let mut pieces = plain;
        let mut offset = 0;
        for size in [1usize, 3, 7, 8, 9, 100, 872] {
            let end = (offset + size).min(pieces.len());
            unmask(&mut pieces[offset..end], mask, offset as u64);
            offset = end;
        }
        assert_eq!(pieces, whole);
    }

    #[test]
    fn writes_minimal_lengths() {
        for (len, expected_header) in [
            (0usize, 2usize),
            (125, 2),
            (126, 4),
            (65_535, 4),
            (65_536, 10),
        ] {
            let mut out = BytesMut::new();
            write_header(&mut out, OpCode::Binary, false, len);
            assert_eq!(out.len(), expected_header, "len {len}");
            assert_eq!(out[0], 0x82);
        }
        let mut out = BytesMut::new();
        write_header(&mut out, OpCode::Text, true, 3);
        assert_eq!(&out[..], &[0xC1, 3]);
    }

    #[test]
    fn close_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(is_valid_close_code(code), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }
}
