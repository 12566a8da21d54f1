//! Which precompressed sibling to look for: the codings `Accept-Encoding` accepts,
//! best first (by q-value; br, then zstd, then gzip on ties).

use http::header::ACCEPT_ENCODING;
use http::HeaderMap;

/// A coding with a precompressed sibling file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Brotli,
    Zstd,
    Gzip,
}

impl Coding {
    /// In order of preference on equal q-values: brotli and zstd files are smaller.
    const ALL: [Coding; 3] = [Coding::Brotli, Coding::Zstd, Coding::Gzip];

    /// The `Content-Encoding` token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Zstd => "zstd",
            Self::Gzip => "gzip",
        }
    }

    /// The sibling's suffix: `app.js.br`.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Zstd => "zst",
            Self::Gzip => "gz",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|coding| name.eq_ignore_ascii_case(coding.token()))
            .or_else(|| name.eq_ignore_ascii_case("x-gzip").then_some(Self::Gzip))
    }
}

/// The codings `headers` accept (q > 0), best first.
pub(crate) fn accepted(headers: &HeaderMap) -> Vec<Coding> {
    // q-values in thousandths; `None`: not named.
    let mut named: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let mut q = Some(1000);
            for parameter in parts {
                if let Some((key, value)) = parameter.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("q") {
                        q = qvalue(value.trim());
                    }
                }
            }
            let Some(q) = q else {
                continue; // a malformed q-value: the item is ignored
            };
            if name == "*" {
                star = Some(q);
            } else if let Some(coding) = Coding::named(name) {
                let slot = &mut named[coding as usize];
                *slot = Some(slot.map_or(q, |seen| seen.max(q)));
            }
        }
    }
    let mut ranked: Vec<(u16, Coding)> = Coding::ALL
        .into_iter()
        .filter_map(|coding| {
            let q = named[coding as usize].or(star)?;
            (q > 0).then_some((q, coding))
        })
        .collect();
    // Stable: equal q-values keep the order of preference.
    ranked.sort_by_key(|(q, _)| std::cmp::Reverse(*q));
    ranked.into_iter().map(|(_, coding)| coding).collect()
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = fraction.as_bytes();
    let thousandths = (0..3).fold(0u16, |total, index| {
        total * 10 + digits.get(index).map_or(0, |digit| u16::from(digit - b'0'))
    });
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use Coding::*;

    fn of(value: &'static str) -> Vec<Coding> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(value));
        accepted(&headers)
    }

    #[test]
    fn preference_q_values_and_star() {
        assert_eq!(of("gzip, deflate, br, zstd"), vec![Brotli, Zstd, Gzip]);
        assert_eq!(of("gzip;q=1, br;q=0.5"), vec![Gzip, Brotli]);
        assert_eq!(of("br;q=0, gzip"), vec![Gzip]);
        assert_eq!(of("*"), vec![Brotli, Zstd, Gzip]);
        assert_eq!(of("*;q=0.1, gzip;q=0.2"), vec![Gzip, Brotli, Zstd]);
        assert_eq!(of("*;q=0, x-gzip"), vec![Gzip]);
        assert_eq!(of("identity"), vec![]);
        assert_eq!(of("gzip;q=2, br;q=0.x, zstd;q=0.001"), vec![Zstd]);
        assert_eq!(of("BR"), vec![Brotli]);
        assert!(accepted(&HeaderMap::new()).is_empty());
    }
}
