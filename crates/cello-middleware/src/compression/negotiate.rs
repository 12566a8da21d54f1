//! Choosing a content coding from `Accept-Encoding` (RFC 9110, 12.5.3).

use http::HeaderValue;

/// A content coding this layer produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Brotli,
    Zstd,
    Gzip,
}

impl Coding {
    /// The server's order of preference, for ties between equal q-values: smallest
    /// output first. The 16 KiB JSON page of `benches/chain.rs` at the default levels
    /// comes out at 1,276 bytes with brotli, 1,690 with zstd, 1,793 with gzip.
    pub(crate) const PREFERENCE: [Self; 3] = [Self::Brotli, Self::Zstd, Self::Gzip];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Zstd => "zstd",
            Self::Gzip => "gzip",
        }
    }

    fn named(self, token: &str) -> bool {
        token.eq_ignore_ascii_case(self.token())
            // "x-gzip" is the old name; RFC 9110 asks recipients to treat it as gzip.
            || (self == Self::Gzip && token.eq_ignore_ascii_case("x-gzip"))
    }
}

/// q-values in thousandths: `q=0.5` is 500, no q-value is 1000.
type Quality = u16;

/// What one request accepts, as far as the codings we know go.
#[derive(Default)]
struct Accepted {
    /// Indexed like [`Coding::PREFERENCE`]; `None` when the coding is not named.
    codings: [Option<Quality>; 3],
    identity: Option<Quality>,
    any: Option<Quality>,
}

/// The coding to use for a request whose `Accept-Encoding` values are `values`, among
/// the codings for which `enabled` is true; `None` means identity (no coding).
///
/// - A coding named with `q=0`, or not named while `*` has `q=0` (or is absent), is
///   not acceptable. The first entry for a name counts; an entry with a malformed
///   q-value is ignored.
/// - The highest q-value wins; ties go to the server's preference (br > zstd > gzip).
/// - `identity` (named, or covered by `*`) wins only with a q-value above the best
///   coding's.
/// - No header, or nothing acceptable (`identity;q=0` included), is identity: an
///   uncompressed answer is more useful than a 406.
pub(crate) fn negotiate<'a>(
    values: impl Iterator<Item = &'a HeaderValue>,
    enabled: impl Fn(Coding) -> bool,
) -> Option<Coding> {
    let mut accepted = Accepted::default();
    for value in values {
        // A value that is not visible ASCII cannot name a coding we know.
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            if let Some((token, quality)) = parse_item(item) {
                accepted.record(token, quality);
            }
        }
    }
    let mut best: Option<(Coding, Quality)> = None;
    for (index, coding) in Coding::PREFERENCE.into_iter().enumerate() {
        if !enabled(coding) {
            continue;
        }
        let quality = accepted.codings[index].or(accepted.any).unwrap_or(0);
        // Strictly greater: on a tie the coding met first (preferred) stays.
        if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
            best = Some((coding, quality));
        }
    }
    let (coding, quality) = best?;
    let identity = accepted.identity.or(accepted.any).unwrap_or(0);
    (quality >= identity).then_some(coding)
}

impl Accepted {
    fn record(&mut self, token: &str, quality: Quality) {
        let slot = if token == "*" {
            &mut self.any
        } else if token.eq_ignore_ascii_case("identity") {
            &mut self.identity
        } else if let Some(index) = Coding::PREFERENCE.iter().position(|c| c.named(token)) {
            &mut self.codings[index]
        } else {
            return; // deflate, compress, ...: codings we do not produce
        };
        slot.get_or_insert(quality);
    }
}

/// `coding[;q=value][;...]` → the coding and its quality; `None` for an empty item or
/// a malformed q-value.
fn parse_item(item: &str) -> Option<(&str, Quality)> {
    let mut parts = item.split(';');
    let token = parts.next()?.trim();
    if token.is_empty() {
        return None;
    }
    let mut quality = 1000;
    for parameter in parts {
        let (name, value) = parameter.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            quality = parse_quality(value.trim())?;
        }
    }
    Some((token, quality))
}

/// `0`, `0.5`, `0.125`, `1`, `1.000`: at most three decimals, at most 1.
fn parse_quality(text: &str) -> Option<Quality> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut quality: Quality = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut scale = 100;
    for digit in fraction.bytes() {
        quality += Quality::from(digit - b'0') * scale;
        scale /= 10;
    }
    (quality <= 1000).then_some(quality)
}
