//! Path parameters of a match: percent-decoded, converted, borrowed from the request path
//! whenever no decoding was needed.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::pattern::Converter;

/// The value of one path parameter, after percent-decoding and conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue<'p> {
    /// `{name}` or `{name:str}`.
    Str(Cow<'p, str>),
    /// `{name:int}`.
    Int(i64),
    /// `{name:float}`; always finite.
    Float(f64),
    /// `{name:uuid}`: canonical lowercase hyphenated text.
    Uuid(Cow<'p, str>),
    /// `{*name}` or `{name:path}`: the rest of the path, may contain '/'.
    Path(Cow<'p, str>),
}

impl ParamValue<'_> {
    /// The text of a `Str`, `Uuid` or `Path` value; `None` for numbers.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(text) | Self::Uuid(text) | Self::Path(text) => Some(text),
            Self::Int(_) | Self::Float(_) => None,
        }
    }
}

/// Decodes and converts one captured segment; `None` means the request is a 404.
pub(crate) fn convert(converter: Converter, raw: &str) -> Option<ParamValue<'_>> {
    let text = percent_decode(raw)?;
    Some(match converter {
        Converter::Str => ParamValue::Str(text),
        Converter::Path => ParamValue::Path(text),
        Converter::Int => ParamValue::Int(parse_int(&text)?),
        Converter::Float => ParamValue::Float(text.parse::<f64>().ok().filter(|n| n.is_finite())?),
        Converter::Uuid => ParamValue::Uuid(canonical_uuid(text)?),
    })
}

/// Borrows when there is nothing to decode, which is the common case.
fn percent_decode(raw: &str) -> Option<Cow<'_, str>> {
    if raw.as_bytes().contains(&b'%') {
        percent_decode_str(raw).decode_utf8().ok()
    } else {
        Some(Cow::Borrowed(raw))
    }
}

/// `str::parse::<i64>` also accepts a leading '+', which `{id:int}` does not.
fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn canonical_uuid(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if !well_formed {
        return None;
    }
    if bytes.iter().any(u8::is_ascii_uppercase) {
        Some(Cow::Owned(text.to_ascii_lowercase()))
    } else {
        Some(text)
    }
}

const INLINE: usize = 4;

type Entry<'r, 'p> = (&'r str, ParamValue<'p>);

/// The parameters of a match, in path order. Up to four live inline, without a heap
/// allocation; more spill into a `Vec`.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<'r, 'p> {
    inline: [Option<Entry<'r, 'p>>; INLINE],
    spill: Vec<Entry<'r, 'p>>,
    len: usize,
}

impl<'r, 'p> Params<'r, 'p> {
    pub(crate) fn new() -> Self {
        Self {
            inline: [None, None, None, None],
            spill: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, name: &'r str, value: ParamValue<'p>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some((name, value)),
            None => self.spill.push((name, value)),
        }
        self.len += 1;
    }

    /// How many parameters the route captured.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a route without parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of the parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&ParamValue<'p>> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// `(name, value)` pairs in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&'r str, &ParamValue<'p>)> {
        let inline = self.inline.iter().flatten();
        inline
            .chain(&self.spill)
            .map(|(name, value)| (*name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_accepts_sign_and_rejects_plus_overflow_and_junk() {
        assert_eq!(convert(Converter::Int, "-42"), Some(ParamValue::Int(-42)));
        assert_eq!(
            convert(Converter::Int, "9223372036854775807"),
            Some(ParamValue::Int(i64::MAX))
        );
        for bad in ["+1", "-", "", "1.0", "9223372036854775808", "1a", "%2D1x"] {
            assert_eq!(convert(Converter::Int, bad), None, "{bad}");
        }
    }

    #[test]
    fn float_rejects_non_finite() {
        assert_eq!(
            convert(Converter::Float, "1.5e3"),
            Some(ParamValue::Float(1500.0))
        );
        for bad in ["inf", "-inf", "NaN", "infinity", "1e999", "x"] {
            assert_eq!(convert(Converter::Float, bad), None, "{bad}");
        }
    }

    #[test]
    fn uuid_is_lowercased_and_borrowed_when_already_lowercase() {
        let lower = "0f8e3c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
        assert!(matches!(
            convert(Converter::Uuid, lower),
            Some(ParamValue::Uuid(Cow::Borrowed(_)))
        ));
        let upper = lower.to_ascii_uppercase();
        assert_eq!(
            convert(Converter::Uuid, &upper),
            Some(ParamValue::Uuid(lower.into()))
        );
        for bad in [
            "0f8e3c1a2b4d4e6f8a9b0c1d2e3f4a5b",
            "0f8e3c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5g",
        ] {
            assert_eq!(convert(Converter::Uuid, bad), None, "{bad}");
        }
    }

    #[test]
    fn decoding_borrows_without_percent_and_rejects_invalid_utf8() {
        assert!(matches!(
            convert(Converter::Str, "plain"),
            Some(ParamValue::Str(Cow::Borrowed("plain")))
        ));
        assert_eq!(
            convert(Converter::Str, "a%2Fb"),
            Some(ParamValue::Str("a/b".into()))
        );
        assert_eq!(convert(Converter::Str, "%FF"), None);
    }

    #[test]
    fn params_spill_past_four_and_keep_order() {
        let mut params = Params::new();
        let names = ["a", "b", "c", "d", "e", "f"];
        for (i, name) in names.iter().enumerate() {
            params.push(name, ParamValue::Int(i as i64));
        }
        assert_eq!(params.len(), 6);
        assert_eq!(params.get("f"), Some(&ParamValue::Int(5)));
        let seen: Vec<&str> = params.iter().map(|(name, _)| name).collect();
        assert_eq!(seen, names);
    }
}
