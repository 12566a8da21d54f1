//! Entries as bytes, for a store shared by processes: status, times, tags, headers,
//! then the body as it is, with no escaping and no text encoding.
//!
//! ```text
//! "C1"  status:u16  stored_ms:u64  expires_ms:u64          (big-endian)
//! tags:u16     { length:u16 bytes }*
//! headers:u16  { name_length:u16 name  value_length:u32 value }*
//! body: the rest
//! ```
//!
//! Times are milliseconds since the Unix epoch, so that any worker computes the same
//! `Age`. Anything that does not parse (another version, another program's value under
//! the key) is treated as no entry.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::entry::CachedResponse;

const MAGIC: &[u8; 2] = b"C1";

pub(crate) fn encode(entry: &CachedResponse) -> Vec<u8> {
    let headers: usize = entry
        .headers
        .iter()
        .map(|(name, value)| 6 + name.as_str().len() + value.len())
        .sum();
    let mut out = Vec::with_capacity(24 + headers + entry.body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&entry.status.as_u16().to_be_bytes());
    let stored = millis(entry.stored_wall);
    out.extend_from_slice(&stored.to_be_bytes());
    out.extend_from_slice(&stored.saturating_add(millis(entry.ttl())).to_be_bytes());
    // The counts and lengths fit: tags and header names are short, header values
    // are bounded by the server's header limits, and entries by `max_entry_size`.
    let tags: Vec<&[u8]> = entry
        .tags
        .iter()
        .map(|tag| tag.as_bytes())
        .filter(|tag| tag.len() <= usize::from(u16::MAX))
        .take(usize::from(u16::MAX))
        .collect();
    out.extend_from_slice(&u16_of(tags.len()).to_be_bytes());
    for tag in tags {
        out.extend_from_slice(&u16_of(tag.len()).to_be_bytes());
        out.extend_from_slice(tag);
    }
    let count = entry.headers.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&u16_of(count).to_be_bytes());
    for (name, value) in entry.headers.iter().take(count) {
        out.extend_from_slice(&u16_of(name.as_str().len()).to_be_bytes());
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(&entry.body);
    out
}

/// The entry in `bytes`, with its times on this process's clock: `now` is the same
/// moment as `wall` (since the Unix epoch). `None` when it does not parse or has
/// expired.
pub(crate) fn decode(bytes: &Bytes, now: Instant, wall: Duration) -> Option<CachedResponse> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(2)? != MAGIC {
        return None;
    }
    let status = StatusCode::from_u16(reader.u16()?).ok()?;
    let stored = Duration::from_millis(reader.u64()?);
    let expires = Duration::from_millis(reader.u64()?);
    let left = expires.checked_sub(wall).filter(|left| !left.is_zero())?;
    let mut tags = Vec::new();
    for _ in 0..reader.u16()? {
        let length = usize::from(reader.u16()?);
        tags.push(std::str::from_utf8(reader.take(length)?).ok()?.into());
    }
    let mut headers = HeaderMap::new();
    for _ in 0..reader.u16()? {
        let length = usize::from(reader.u16()?);
        let name = HeaderName::from_bytes(reader.take(length)?).ok()?;
        let length = usize::try_from(reader.u32()?).ok()?;
        let value = HeaderValue::from_bytes(reader.take(length)?).ok()?;
        headers.append(name, value);
    }
    let body = bytes.slice(reader.at..);
    // Stored in the future (clocks of two hosts apart): as if stored now.
    let age = wall.saturating_sub(stored);
    Some(CachedResponse {
        status,
        headers,
        body,
        stored_at: now.checked_sub(age).unwrap_or(now),
        expires_at: now + left,
        stored_wall: stored,
        tags: tags.into_boxed_slice(),
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn u16_of(length: usize) -> u16 {
    u16::try_from(length).unwrap_or(u16::MAX)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(length)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(now: Instant, wall: Duration) -> CachedResponse {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/html"));
        headers.append("link", HeaderValue::from_static("</a>; rel=preload"));
        headers.append("link", HeaderValue::from_static("</b>; rel=preload"));
        CachedResponse::new(
            StatusCode::OK,
            &headers,
            Bytes::from_static(b"\x1f\x8b binary \xff body"),
            (now, wall),
            Duration::from_secs(60),
            vec!["users".into(), "user:7".into()].into_boxed_slice(),
        )
    }

    #[test]
    fn entries_round_trip_with_their_age() {
        let now = Instant::now();
        let wall = Duration::from_secs(1_800_000_000);
        let bytes = Bytes::from(encode(&entry(now, wall)));
        assert_eq!(&bytes[..2], b"C1");
        let later = now + Duration::from_secs(3);
        let decoded = decode(&bytes, later, wall + Duration::from_secs(3)).unwrap();
        assert_eq!(decoded.status, StatusCode::OK);
        assert_eq!(decoded.headers.get_all("link").iter().count(), 2);
        assert_eq!(decoded.headers["content-type"], "text/html");
        assert_eq!(&decoded.body[..], b"\x1f\x8b binary \xff body");
        let tags: Vec<&str> = decoded.tags.iter().map(|tag| &**tag).collect();
        assert_eq!(tags, ["users", "user:7"]);
        assert_eq!(later - decoded.stored_at, Duration::from_secs(3));
        assert_eq!(decoded.expires_at - later, Duration::from_secs(57));
    }

    #[test]
    fn expired_truncated_or_foreign_values_are_no_entry() {
        let now = Instant::now();
        let wall = Duration::from_secs(1_800_000_000);
        let bytes = Bytes::from(encode(&entry(now, wall)));
        assert!(decode(&bytes, now, wall + Duration::from_secs(60)).is_none());
        let header_end = bytes.len() - b"\x1f\x8b binary \xff body".len();
        for cut in [1, 10, 25, header_end - 1] {
            assert!(
                decode(&bytes.slice(..cut), now, wall).is_none(),
                "cut at {cut}"
            );
        }
        assert!(decode(&Bytes::from_static(b"{\"json\":1}"), now, wall).is_none());
    }
}
