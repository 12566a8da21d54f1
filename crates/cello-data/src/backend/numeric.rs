//! PostgreSQL `NUMERIC` in its binary form, to and from decimal text, keeping the display
//! scale: `1.50` stays `1.50` (sqlx's `BigDecimal` codec rounds the scale up to whole
//! base-10000 digits, so `1.5` would come back `1.5000`).
//!
//! The form: `ndigits`, `weight` (of the first digit, in base-10000 places), `sign`
//! (0 positive, 0x4000 negative, 0xC000 NaN, 0xD000 +inf, 0xF000 -inf), `dscale`
//! (decimal digits after the point), then `ndigits` base-10000 digits, all big-endian i16.

const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const POSITIVE_INFINITY: u16 = 0xD000;
const NEGATIVE_INFINITY: u16 = 0xF000;

/// The decimal text of a binary `NUMERIC`.
pub fn to_text(bytes: &[u8]) -> Result<String, String> {
    let word = |index: usize| -> Result<u16, String> {
        bytes
            .get(index * 2..index * 2 + 2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .ok_or_else(|| "truncated NUMERIC".to_owned())
    };
    let ndigits = usize::from(word(0)?);
    #[allow(clippy::cast_possible_wrap)]
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        NAN => return Ok("NaN".into()),
        POSITIVE_INFINITY => return Ok("Infinity".into()),
        NEGATIVE_INFINITY => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits = (0..ndigits)
        .map(|index| word(4 + index))
        .collect::<Result<Vec<_>, _>>()?;
    let digit = |position: i32| -> u16 {
        usize::try_from(position)
            .ok()
            .and_then(|index| digits.get(index))
            .copied()
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == NEGATIVE {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for position in 0..=weight {
            if position == 0 {
                text.push_str(&digit(position).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(position)));
            }
        }
    }
    if dscale > 0 {
        text.push('.');
        let mut fraction = String::with_capacity(dscale + 4);
        let mut position = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(dscale);
        text.push_str(&fraction);
    }
    Ok(text)
}

/// The binary `NUMERIC` of decimal text (`-12.50`, `1E+30`, `NaN`, `Infinity`).
pub fn from_text(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let special = match text.to_ascii_lowercase().as_str() {
        "nan" => Some(NAN),
        "infinity" | "+infinity" | "inf" => Some(POSITIVE_INFINITY),
        "-infinity" | "-inf" => Some(NEGATIVE_INFINITY),
        _ => None,
    };
    if let Some(sign) = special {
        return Ok(words(&[0, 0, sign, 0]));
    }
    let invalid = || format!("{text:?} is not a decimal number");
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            &unsigned[..at],
            unsigned[at + 1..].parse::<i64>().map_err(|_| invalid())?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|byte| byte.is_ascii_digit())
    {
        return Err(invalid());
    }
    // All digits, and where the decimal point falls among them.
    let all: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes())
        .map(|byte| byte - b'0')
        .collect();
    let point = i64::try_from(whole.len()).map_err(|_| invalid())? + exponent;
    let scale = (i64::try_from(all.len()).map_err(|_| invalid())? - point).max(0);
    let dscale = u16::try_from(scale).map_err(|_| invalid())?;
    // Decimal digit at position p (0 = first digit after the point, negative before it).
    let at = |position: i64| -> u16 {
        let index = point + position;
        usize::try_from(index)
            .ok()
            .and_then(|index| all.get(index))
            .map_or(0, |digit| u16::from(*digit))
    };
    // Base-10000 groups aligned on the point: group g covers positions 4g .. 4g+3.
    let first_group = (-point).div_euclid(4);
    let last_group = (scale - 1).div_euclid(4).max(first_group);
    let mut groups: Vec<(i64, u16)> = (first_group..=last_group)
        .map(|group| {
            let base = group * 4;
            (
                group,
                at(base) * 1000 + at(base + 1) * 100 + at(base + 2) * 10 + at(base + 3),
            )
        })
        .collect();
    while groups.first().is_some_and(|(_, value)| *value == 0) {
        groups.remove(0);
    }
    while groups.last().is_some_and(|(_, value)| *value == 0) {
        groups.pop();
    }
    let Some(&(first, _)) = groups.first() else {
        return Ok(words(&[0, 0, 0, dscale]));
    };
    // Group -1 is the last before the point, which has weight 0.
    let weight = i16::try_from(-first - 1).map_err(|_| invalid())?;
    let ndigits = u16::try_from(groups.len()).map_err(|_| invalid())?;
    #[allow(clippy::cast_sign_loss)]
    let mut header = vec![
        ndigits,
        weight as u16,
        if negative { NEGATIVE } else { 0 },
        dscale,
    ];
    header.extend(groups.iter().map(|(_, value)| *value));
    Ok(words(&header))
}

fn words(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_be_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_round_trip_with_their_scale() {
        for text in [
            "0",
            "1.5",
            "1.50",
            "-12.3400",
            "123456789012345678901234567890.000001",
            "0.0001",
            "10000",
            "0.00",
        ] {
            assert_eq!(to_text(&from_text(text).unwrap()).unwrap(), text, "{text}");
        }
        assert_eq!(to_text(&from_text("1E+5").unwrap()).unwrap(), "100000");
        assert_eq!(to_text(&from_text("1.25e-3").unwrap()).unwrap(), "0.00125");
        assert_eq!(to_text(&from_text("NaN").unwrap()).unwrap(), "NaN");
        assert!(from_text("1.2.3").is_err() && from_text("").is_err() && from_text("x").is_err());
    }
}
