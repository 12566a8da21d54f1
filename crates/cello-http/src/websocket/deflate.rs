//! permessage-deflate (RFC 7692): negotiating the extension and compressing messages.
//!
//! Memory is the constraint that shapes this module. A zlib compressor with a 32 KiB
//! window holds about 256 KiB and a decompressor about 40 KiB; kept per connection,
//! 10,000 idle websockets would cost gigabytes. So by default the server announces
//! `server_no_context_takeover` (always allowed, RFC 7692 section 7.1.1.1) and
//! compresses every message on its own with one compressor per worker thread, reset
//! after each message; a connection whose client keeps its context gets its own
//! decompressor, created at its first compressed message. Messages are compressed and
//! decompressed whole (a compressed message is buffered, bounded by the maximum
//! message size, before it is inflated), so no zlib state is held across an await.

use std::cell::RefCell;
use std::fmt::Write as _;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::header::SEC_WEBSOCKET_EXTENSIONS;
use http::{HeaderMap, HeaderValue};

/// Server-side permessage-deflate settings.
#[derive(Clone, Debug)]
pub struct DeflateSettings {
    /// zlib level, 0 (store) to 9 (smallest).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 is per message).
    pub threshold: usize,
    /// Keep the compressor's history between messages (better ratios for streams of
    /// similar messages, about 256 KiB per connection). Off by default.
    pub context_takeover: bool,
    /// Largest LZ77 window the server compresses with, 9 to 15.
    pub max_window_bits: u8,
}

impl Default for DeflateSettings {
    fn default() -> Self {
        Self {
            level: 6,
            threshold: 128,
            context_takeover: false,
            max_window_bits: 15,
        }
    }
}

/// What the handshake agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 9 to 15.
    pub server_max_window_bits: u8,
}

#[derive(Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: bool,
}

/// Parses one `permessage-deflate` offer's parameters; `None` when the offer is
/// invalid (unknown or repeated parameter, bad value), which declines it.
fn parse_offer<'a>(params: impl Iterator<Item = &'a str>) -> Option<Offer> {
    let mut offer = Offer::default();
    let mut seen = [false; 4];
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param.trim(), None),
        };
        let bits = |value: Option<&str>| -> Option<u8> {
            let value = value?;
            // 1*DIGIT in 8..15, without leading zeros.
            if value.starts_with('0') {
                return None;
            }
            value.parse().ok().filter(|b| (8..=15).contains(b))
        };
        let slot = match name {
            "server_no_context_takeover" if value.is_none() => {
                offer.server_no_context_takeover = true;
                0
            }
            "client_no_context_takeover" if value.is_none() => {
                offer.client_no_context_takeover = true;
                1
            }
            "server_max_window_bits" => {
                offer.server_max_window_bits = Some(bits(value)?);
                2
            }
            "client_max_window_bits" => {
                if value.is_some() {
                    bits(value)?;
                }
                offer.client_max_window_bits = true;
                3
            }
            _ => return None,
        };
        if std::mem::replace(&mut seen[slot], true) {
            return None;
        }
    }
    Some(offer)
}

/// Picks the first acceptable `permessage-deflate` offer of the handshake and
/// returns what was agreed with the `Sec-WebSocket-Extensions` answer, or `None`
/// (no compression) when there is none.
pub(crate) fn negotiate(
    headers: &HeaderMap,
    settings: &DeflateSettings,
) -> Option<(DeflateParams, HeaderValue)> {
    let ours = settings.max_window_bits.clamp(9, 15);
    let offers = headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for offer in offers {
        let mut parts = offer.split(';');
        if parts.next().map(str::trim) != Some("permessage-deflate") {
            continue;
        }
        let Some(offer) = parse_offer(parts) else {
            continue;
        };
        let window = match offer.server_max_window_bits {
            // zlib cannot produce raw deflate with a 256-byte window: decline, and
            // let a later offer (or no compression) win.
            Some(8) => continue,
            Some(asked) => asked.min(ours),
            None => ours,
        };
        let params = DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover
                || !settings.context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover,
            server_max_window_bits: window,
        };
        let mut answer = String::from("permessage-deflate");
        if params.server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        if offer.server_max_window_bits.is_some() {
            let _ = write!(answer, "; server_max_window_bits={window}");
        }
        // client_max_window_bits is left out: we inflate with the largest window, so
        // whatever the client uses is fine.
        let _ = offer.client_max_window_bits;
        let value = HeaderValue::from_str(&answer).ok()?;
        return Some((params, value));
    }
    None
}

/// Why a compressed message could not be inflated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    TooBig,
    Corrupt,
}

/// The tail RFC 7692 section 7.2.2 has the receiver put back before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

thread_local! {
    // Compressors shared by the connections of this worker thread that do not keep
    // context, keyed by (window bits, level); decompressors by nothing (they always
    // use the largest window).
    static SHARED_COMPRESSORS: RefCell<Vec<(u8, u32, Compress)>> = const { RefCell::new(Vec::new()) };
    static SHARED_DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// One connection's compression state.
pub(crate) struct Codec {
    params: DeflateParams,
    level: u32,
    threshold: usize,
    compressor: Option<Compress>,
    decompressor: Option<Decompress>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

fn new_compressor(bits: u8, level: u32) -> Compress {
    Compress::new_with_window_bits(Compression::new(level.min(9)), false, bits)
}

fn new_decompressor() -> Decompress {
    Decompress::new_with_window_bits(false, 15)
}

impl Codec {
    pub(crate) fn new(params: DeflateParams, settings: &DeflateSettings) -> Self {
        Self {
            params,
            level: settings.level,
            threshold: settings.threshold,
            compressor: None,
            decompressor: None,
        }
    }

    /// Compresses `payload` when it is worth it: `Some(compressed)` to send with
    /// RSV1 set, `None` to send the message as it is.
    pub(crate) fn compress(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        if payload.len() < self.threshold {
            return None;
        }
        let (bits, level) = (self.params.server_max_window_bits, self.level);
        if self.params.server_no_context_takeover {
            SHARED_COMPRESSORS.with(|shared| {
                let mut shared = shared.borrow_mut();
                let index = match shared
                    .iter()
                    .position(|(b, l, _)| (*b, *l) == (bits, level))
                {
                    Some(index) => index,
                    None => {
                        shared.push((bits, level, new_compressor(bits, level)));
                        shared.len() - 1
                    }
                };
                let compressor = &mut shared[index].2;
                let compressed = deflate_message(compressor, payload);
                compressor.reset();
                compressed
            })
        } else {
            let compressor = self
                .compressor
                .get_or_insert_with(|| new_compressor(bits, level));
            deflate_message(compressor, payload)
        }
    }

    /// Inflates a whole compressed message (without its tail), refusing to produce
    /// more than `max` bytes.
    pub(crate) fn decompress(
        &mut self,
        compressed: &[u8],
        max: usize,
    ) -> Result<Vec<u8>, InflateError> {
        if self.params.client_no_context_takeover {
            SHARED_DECOMPRESSOR.with(|shared| {
                let mut shared = shared.borrow_mut();
                let decompressor = shared.get_or_insert_with(new_decompressor);
                let result = inflate_message(decompressor, compressed, max);
                decompressor.reset(false);
                result
            })
        } else {
            let decompressor = self.decompressor.get_or_insert_with(new_decompressor);
            inflate_message(decompressor, compressed, max)
        }
    }
}

/// Deflates one message with a sync flush and strips the flush's empty stored block
/// (RFC 7692 section 7.2.1). `None` if zlib fails, and the message goes uncompressed.
fn deflate_message(compressor: &mut Compress, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    let start = compressor.total_in();
    loop {
        let consumed = usize::try_from(compressor.total_in() - start).ok()?;
        compressor
            .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync)
            .ok()?;
        let consumed = usize::try_from(compressor.total_in() - start).ok()?;
        // Done when every byte went in and the flush fitted (room was left over).
        if consumed == payload.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(1024));
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    Some(out)
}

fn inflate_message(
    decompressor: &mut Decompress,
    compressed: &[u8],
    max: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity((compressed.len() * 3).max(64).min(max + 1));
    for input in [compressed, &TAIL[..]] {
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                // Grow, but never past the limit plus the one byte that proves it was
                // crossed: `reserve` may double the capacity (and zlib fills whatever
                // capacity there is), `reserve_exact` allocates what is asked.
                let room = out
                    .capacity()
                    .max(1024)
                    .min(max.saturating_sub(out.len()) + 1);
                out.reserve_exact(room);
            }
            let (in_before, out_before) = (decompressor.total_in(), out.len());
            let status = decompressor
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Corrupt)?;
            consumed += usize::try_from(decompressor.total_in() - in_before)
                .map_err(|_| InflateError::Corrupt)?;
            debug_assert!(
                out.len() <= max.saturating_add(1),
                "inflated past the limit"
            );
            if out.len() > max {
                return Err(InflateError::TooBig);
            }
            if status == Status::StreamEnd {
                // The message ended with a final block (BFINAL): the stream is over,
                // and the next message starts a new one. Whatever follows is ignored.
                decompressor.reset(false);
                return Ok(out);
            }
            if consumed == input.len() && out.len() < out.capacity() {
                break;
            }
            if consumed < input.len()
                && decompressor.total_in() == in_before
                && out.len() == out_before
            {
                return Err(InflateError::Corrupt);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(value: &str) -> Option<(DeflateParams, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_str(value).unwrap(),
        );
        negotiate(&headers, &DeflateSettings::default())
            .map(|(params, answer)| (params, answer.to_str().unwrap().to_owned()))
    }

    #[test]
    fn accepts_a_browser_offer() {
        let (params, answer) = offer("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(answer, "permessage-deflate; server_no_context_takeover");
        assert!(params.server_no_context_takeover);
        assert!(!params.client_no_context_takeover);
        assert_eq!(params.server_max_window_bits, 15);
    }

    #[test]
    fn honours_the_parameters_of_an_offer() {
        let (params, answer) =
            offer("permessage-deflate; client_no_context_takeover; server_max_window_bits=\"10\"")
                .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(params.server_max_window_bits, 10);
        assert!(params.client_no_context_takeover);
    }

    #[test]
    fn declines_invalid_offers_and_takes_the_next() {
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=8",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(offer(bad), None, "{bad}");
        }
        let (params, _) =
            offer("permessage-deflate; server_max_window_bits=8, permessage-deflate").unwrap();
        assert_eq!(params.server_max_window_bits, 15);
    }

    fn codec(server_no_context: bool, client_no_context: bool, bits: u8) -> Codec {
        let params = DeflateParams {
            server_no_context_takeover: server_no_context,
            client_no_context_takeover: client_no_context,
            server_max_window_bits: bits,
        };
        Codec::new(
            params,
            &DeflateSettings {
                threshold: 0,
                ..DeflateSettings::default()
            },
        )
    }

    #[test]
    fn round_trips_with_and_without_context() {
        let text: Vec<u8> =
            br#"{"user": "ada", "message": "hello hello hello", "n": 12345}"#.repeat(200);
        for (server_nc, client_nc, bits) in [
            (true, true, 15),
            (false, false, 15),
            (true, false, 9),
            (false, true, 12),
        ] {
            // The server's own output fed back through a receiver of the same kind.
            let mut sender = codec(server_nc, client_nc, bits);
            let mut receiver = codec(client_nc, server_nc, 15);
            for round in 0..5 {
                let message = &text[..text.len() - round * 7];
                let compressed = sender.compress(message).unwrap();
                assert!(compressed.len() < message.len() / 4);
                let back = receiver.decompress(&compressed, 1 << 20).unwrap();
                assert_eq!(back, message);
            }
        }
    }

    #[test]
    fn empty_and_incompressible_messages_round_trip() {
        let mut sender = codec(true, true, 15);
        let mut receiver = codec(true, true, 15);
        let noise: Vec<u8> = (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for message in [&b""[..], &noise] {
            let compressed = sender.compress(message).unwrap();
            assert_eq!(receiver.decompress(&compressed, 1 << 20).unwrap(), message);
        }
    }

    #[test]
    fn inflating_stops_at_the_limit() {
        let mut sender = codec(true, true, 15);
        let zeros = vec![0u8; 1 << 20];
        let bomb = sender.compress(&zeros).unwrap();
        assert!(bomb.len() < 2048);
        let mut receiver = codec(true, true, 15);
        assert_eq!(
            receiver.decompress(&bomb, 64 * 1024),
            Err(InflateError::TooBig)
        );
        // The shared decompressor is usable again afterwards.
        assert_eq!(receiver.decompress(&bomb, 1 << 20).unwrap().len(), 1 << 20);
    }

    #[test]
    fn garbage_is_refused() {
        let mut receiver = codec(true, true, 15);
        assert_eq!(
            receiver.decompress(&[0xff, 0xff, 0xff, 0xff, 0x00], 1 << 20),
            Err(InflateError::Corrupt)
        );
    }
}
