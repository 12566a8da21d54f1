//! From the bytes of a connection to events: frames are parsed and unmasked as their
//! payloads arrive, fragments are put together into messages (inflated when
//! permessage-deflate is on), and a text message's UTF-8 is checked up to the last
//! complete character, so invalid text fails the connection (1007) at the first bad
//! byte even in the middle of a long frame.

use bytes::{Buf, Bytes, BytesMut};

use super::deflate::{Codec, InflateError};
use super::frame::{self, HeaderError, OpCode};

/// Read buffer of an idle connection; it grows for large frames and shrinks back.
const READ_BUFFER: usize = 8 * 1024;

/// What ends a connection, and the close code it gets.
#[derive(Debug)]
pub(crate) enum Failure {
    Protocol(String),
    InvalidUtf8,
    TooBig,
}

impl Failure {
    pub(crate) fn code(&self) -> u16 {
        match self {
            Self::Protocol(_) => 1002,
            Self::InvalidUtf8 => 1007,
            Self::TooBig => 1009,
        }
    }

    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Protocol(reason) => reason.clone(),
            Self::InvalidUtf8 => "invalid UTF-8 in a text message".into(),
            Self::TooBig => "message too big".into(),
        }
    }
}

impl From<HeaderError> for Failure {
    fn from(error: HeaderError) -> Self {
        Self::Protocol(error.reason())
    }
}

/// One complete thing the peer sent.
#[derive(Debug, PartialEq)]
pub(crate) enum Event {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong,
    /// The peer's close frame: code (1005 when it carried none) and reason.
    Close(u16, String),
}

struct FrameInProgress {
    header: frame::Header,
    read: u64,
}

struct MessageInProgress {
    text: bool,
    compressed: bool,
    data: BytesMut,
    /// How much of `data` is known to be valid UTF-8 (uncompressed text only).
    utf8_checked: usize,
}

/// Turns the bytes of a connection into events.
pub(crate) struct Reader {
    pub(crate) buf: BytesMut,
    frame: Option<FrameInProgress>,
    message: Option<MessageInProgress>,
    control: BytesMut,
    max_message_size: usize,
    codec: Option<Codec>,
}

/// Checks `data[*checked..]` for UTF-8; an incomplete character at the end is fine
/// unless the message is `complete`.
fn check_utf8(data: &[u8], checked: &mut usize, complete: bool) -> Result<(), Failure> {
    match std::str::from_utf8(&data[*checked..]) {
        Ok(_) => {
            *checked = data.len();
            Ok(())
        }
        Err(error) if error.error_len().is_none() && !complete => {
            *checked += error.valid_up_to();
            Ok(())
        }
        Err(_) => Err(Failure::InvalidUtf8),
    }
}

impl Reader {
    pub(crate) fn new(max_message_size: usize, codec: Option<Codec>) -> Self {
        Self {
            buf: BytesMut::with_capacity(READ_BUFFER),
            frame: None,
            message: None,
            control: BytesMut::new(),
            max_message_size,
            codec,
        }
    }

    /// Makes room to read into.
    pub(crate) fn prepare_read(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > 8 * READ_BUFFER {
            self.buf = BytesMut::with_capacity(READ_BUFFER);
        } else if self.buf.capacity() - self.buf.len() < READ_BUFFER / 2 {
            self.buf.reserve(READ_BUFFER);
        }
    }

    /// The next complete event in what has been read so far (`Ok(None)`: read more).
    pub(crate) fn next_event(&mut self) -> Result<Option<Event>, Failure> {
        loop {
            if self.frame.is_none() {
                let Some((header, size)) = frame::parse_header(&self.buf, self.codec.is_some())?
                else {
                    return Ok(None);
                };
                self.start_frame(header)?;
                self.buf.advance(size);
                self.frame = Some(FrameInProgress { header, read: 0 });
            }
            let Some(current) = self.frame.as_mut() else {
                continue;
            };
            let header = current.header;
            let remaining = header.len - current.read;
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            if take == 0 && remaining > 0 {
                return Ok(None);
            }
            let mut chunk = self.buf.split_to(take);
            frame::unmask(&mut chunk, header.mask, current.read);
            current.read += take as u64;
            let frame_done = current.read == header.len;
            if header.opcode.is_control() {
                self.control.extend_from_slice(&chunk);
            } else if let Some(message) = self.message.as_mut() {
                if message.data.is_empty() {
                    message.data = chunk;
                } else {
                    message.data.extend_from_slice(&chunk);
                }
                if message.text && !message.compressed {
                    check_utf8(&message.data, &mut message.utf8_checked, false)?;
                }
            }
            if !frame_done {
                return Ok(None);
            }
            self.frame = None;
            if header.opcode.is_control() {
                let payload = std::mem::take(&mut self.control).freeze();
                return self.control_event(header.opcode, payload).map(Some);
            }
            if header.fin {
                if let Some(message) = self.message.take() {
                    return self.finish_message(message).map(Some);
                }
            }
        }
    }

    /// Checks a new frame against the message in progress and the size limit.
    fn start_frame(&mut self, header: frame::Header) -> Result<(), Failure> {
        let too_big = |so_far: usize| {
            usize::try_from(header.len).map_or(true, |len| {
                so_far.saturating_add(len) > self.max_message_size
            })
        };
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(Failure::Protocol(
                        "a new message started before the previous one was finished".into(),
                    ));
                }
                if too_big(0) {
                    return Err(Failure::TooBig);
                }
                self.message = Some(MessageInProgress {
                    text: header.opcode == OpCode::Text,
                    compressed: header.rsv1,
                    data: BytesMut::new(),
                    utf8_checked: 0,
                });
            }
            OpCode::Continuation => {
                let Some(message) = &self.message else {
                    return Err(Failure::Protocol(
                        "continuation frame without a message".into(),
                    ));
                };
                if header.rsv1 {
                    return Err(Failure::Protocol("RSV1 set on a continuation frame".into()));
                }
                if too_big(message.data.len()) {
                    return Err(Failure::TooBig);
                }
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                if header.rsv1 {
                    return Err(Failure::Protocol("RSV1 set on a control frame".into()));
                }
            }
        }
        Ok(())
    }

    fn finish_message(&mut self, message: MessageInProgress) -> Result<Event, Failure> {
        let data = if message.compressed {
            let codec = self.codec.as_mut().ok_or_else(|| {
                Failure::Protocol("compressed message without permessage-deflate".into())
            })?;
            let inflated = codec
                .decompress(&message.data, self.max_message_size)
                .map_err(|error| match error {
                    InflateError::TooBig => Failure::TooBig,
                    InflateError::Corrupt => {
                        Failure::Protocol("invalid deflate data in a compressed message".into())
                    }
                })?;
            BytesMut::from(&inflated[..])
        } else {
            message.data
        };
        if message.text {
            let mut checked = if message.compressed {
                0
            } else {
                message.utf8_checked
            };
            check_utf8(&data, &mut checked, true)?;
            // Checked above, so this cannot fail; stay total anyway.
            let text = String::from_utf8(data.to_vec()).map_err(|_| Failure::InvalidUtf8)?;
            Ok(Event::Text(text))
        } else {
            Ok(Event::Binary(data.freeze()))
        }
    }

    fn control_event(&self, opcode: OpCode, payload: Bytes) -> Result<Event, Failure> {
        match opcode {
            OpCode::Ping => Ok(Event::Ping(payload)),
            OpCode::Pong => Ok(Event::Pong),
            _ => match payload.len() {
                0 => Ok(Event::Close(1005, String::new())),
                1 => Err(Failure::Protocol(
                    "close frame with a one-byte payload".into(),
                )),
                _ => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    if !frame::is_valid_close_code(code) {
                        return Err(Failure::Protocol(format!("invalid close code {code}")));
                    }
                    let reason =
                        std::str::from_utf8(&payload[2..]).map_err(|_| Failure::InvalidUtf8)?;
                    Ok(Event::Close(code, reason.to_owned()))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut out = BytesMut::new();
        frame::write_header(&mut out, OpCode::Binary, false, payload.len());
        let mut bytes = out.to_vec();
        bytes[0] = first;
        bytes[1] |= 0x80;
        bytes.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        frame::unmask(&mut body, mask, 0);
        bytes.extend_from_slice(&body);
        bytes
    }

    fn feed(reader: &mut Reader, bytes: &[u8]) -> Vec<Result<Event, String>> {
        reader.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        loop {
            match reader.next_event() {
                Ok(Some(event)) => events.push(Ok(event)),
                Ok(None) => return events,
                Err(failure) => {
                    events.push(Err(format!("{} {}", failure.code(), failure.reason())));
                    return events;
                }
            }
        }
    }

    #[test]
    fn reassembles_fragments_around_control_frames() {
        let mut reader = Reader::new(1024, None);
        let mut bytes = client_frame(0x01, "héllo ".as_bytes());
        bytes.extend(client_frame(0x89, b"ping!"));
        bytes.extend(client_frame(0x80, b"world"));
        let events = feed(&mut reader, &bytes);
        assert_eq!(
            events,
            [
                Ok(Event::Ping(Bytes::from_static(b"ping!"))),
                Ok(Event::Text("héllo world".into()))
            ]
        );
    }

    #[test]
    fn byte_by_byte_gives_the_same_events() {
        let mut bytes = client_frame(0x82, &[7u8; 300]);
        bytes.extend(client_frame(0x88, &[0x03, 0xe8, b'o', b'k']));
        let mut reader = Reader::new(1024, None);
        let mut events = Vec::new();
        for byte in &bytes {
            events.extend(feed(&mut reader, &[*byte]));
        }
        assert_eq!(
            events,
            [
                Ok(Event::Binary(Bytes::from(vec![7u8; 300]))),
                Ok(Event::Close(1000, "ok".into()))
            ]
        );
    }

    #[test]
    fn invalid_utf8_fails_before_the_frame_ends() {
        let mut reader = Reader::new(1024, None);
        let frame = client_frame(0x81, b"abc\xff and more text after the bad byte");
        // Only the header and the first five payload bytes have arrived.
        let events = feed(&mut reader, &frame[..6 + 5]);
        assert_eq!(events, [Err("1007 invalid UTF-8 in a text message".into())]);
        // A character split across frames is fine.
        let mut reader = Reader::new(1024, None);
        let mut bytes = client_frame(0x01, &"é".as_bytes()[..1]);
        bytes.extend(client_frame(0x80, &"é".as_bytes()[1..]));
        assert_eq!(feed(&mut reader, &bytes), [Ok(Event::Text("é".into()))]);
    }

    #[test]
    fn protocol_errors() {
        let cases: [(Vec<u8>, &str); 6] = [
            (
                client_frame(0x80, b"x"),
                "1002 continuation frame without a message",
            ),
            (
                [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
                "1002 a new message started before the previous one was finished",
            ),
            (
                client_frame(0x88, &[0x03]),
                "1002 close frame with a one-byte payload",
            ),
            (
                client_frame(0x88, &[0x03, 0xed]),
                "1002 invalid close code 1005",
            ),
            (
                client_frame(0x88, &[0x03, 0xe8, 0xff]),
                "1007 invalid UTF-8 in a text message",
            ),
            (
                client_frame(0xC2, b"x"),
                "1002 reserved bits set without a negotiated extension",
            ),
        ];
        for (bytes, expected) in cases {
            let mut reader = Reader::new(1024, None);
            assert_eq!(
                feed(&mut reader, &bytes).pop(),
                Some(Err(expected.to_owned()))
            );
        }
    }

    #[test]
    fn size_limit_counts_the_whole_message() {
        let mut reader = Reader::new(100, None);
        let mut bytes = client_frame(0x02, &[1u8; 60]);
        bytes.extend(client_frame(0x80, &[1u8; 60]));
        assert_eq!(
            feed(&mut reader, &bytes),
            [Err("1009 message too big".into())]
        );
    }

    #[test]
    fn a_deflate_bomb_ends_in_1009_at_the_message_limit() {
        use super::super::deflate::{DeflateParams, DeflateSettings};
        let params = DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
        };
        let settings = DeflateSettings {
            threshold: 0,
            ..DeflateSettings::default()
        };
        // 16 MiB of zeros deflate to about 16 KiB: a thousandfold bomb.
        let bomb = Codec::new(params, &settings)
            .compress(&vec![0u8; 16 << 20])
            .unwrap();
        assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
        let mut reader = Reader::new(64 * 1024, Some(Codec::new(params, &settings)));
        // FIN + RSV1 + binary: one compressed message
        assert_eq!(
            feed(&mut reader, &client_frame(0xC2, &bomb)),
            [Err("1009 message too big".into())]
        );
        // under the limit, the same reader's codec inflates fine
        let small = Codec::new(params, &settings)
            .compress(&[7u8; 1000])
            .unwrap();
        let mut reader = Reader::new(64 * 1024, Some(Codec::new(params, &settings)));
        assert_eq!(
            feed(&mut reader, &client_frame(0xC2, &small)),
            [Ok(Event::Binary(Bytes::from(vec![7u8; 1000])))]
        );
    }
}
