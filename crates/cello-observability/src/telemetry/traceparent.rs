//! The W3C `traceparent` of a server span, written on every traced response: hex
//! digits without `fmt` or a loop, into a buffer shared by the values of a thread.

use http::HeaderValue;

use crate::TraceIds;

pub(super) static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

/// `value`'s 16 lower-case hex digits, most significant first, without a loop or a
/// table: each nibble spread into a byte of its own, then eight turned into digits
/// at once.
fn hex16(value: u64) -> [u8; 16] {
    let spread = |half: u32| -> u64 {
        // Nibble i of `half` into byte i, then the bytes reversed: the most
        // significant nibble comes first in memory (`to_le_bytes`).
        let mut x = u64::from(half);
        x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
        x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
        x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        x.swap_bytes()
    };
    let digits = |nibbles: u64| -> [u8; 8] {
        // '0' + n, and 39 more for n ≥ 10 ('a' is '0' + 49).
        let letters = ((nibbles + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
        (nibbles + 0x3030_3030_3030_3030 + letters * 39).to_le_bytes()
    };
    let [a, b, c, d, e, f, g, h] = digits(spread((value >> 32) as u32));
    let [i, j, k, l, m, n, o, p] = digits(spread(value as u32));
    [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p]
}

/// `00-<trace id>-<span id>-<flags>` (W3C trace context), written without `fmt`: it
/// is on every traced response.
fn traceparent(ids: &TraceIds) -> [u8; 55] {
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
    out[3..19].copy_from_slice(&hex16((ids.trace_id >> 64) as u64));
    out[19..35].copy_from_slice(&hex16(ids.trace_id as u64));
    out[36..52].copy_from_slice(&hex16(ids.span_id));
    if ids.sampled {
        out[54] = b'1';
    }
    out
}

thread_local! {
    /// Where `traceparent` values are written: one allocation for about a thousand
    /// responses instead of one each (the values share it, counted).
    static VALUES: std::cell::RefCell<bytes::BytesMut> =
        std::cell::RefCell::new(bytes::BytesMut::new());
}

/// The `traceparent` header value of `ids`.
pub(super) fn traceparent_value(ids: &TraceIds) -> HeaderValue {
    let text = traceparent(ids);
    let value = VALUES.with(|values| {
        let mut values = values.borrow_mut();
        if values.capacity() < text.len() {
            *values = bytes::BytesMut::with_capacity(64 * 1024);
        }
        values.extend_from_slice(&text);
        values.split().freeze()
    });
    // SAFETY: `traceparent` writes only ASCII digits, `a`-`f` and `-`, all visible
    // ASCII, which is what a header value may hold (this skips re-checking 55 bytes
    // on every traced response).
    unsafe { HeaderValue::from_maybe_shared_unchecked(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex16_is_lower_hex() {
        for value in [
            0,
            1,
            0x0123_4567_89ab_cdef,
            u64::MAX,
            0xa5a5_5a5a_0f0f_f0f0,
            1 << 63,
        ] {
            assert_eq!(
                hex16(value),
                format!("{value:016x}").as_bytes(),
                "{value:x}"
            );
        }
        let mut value = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            value = value.rotate_left(7).wrapping_mul(0x2545_f491_4f6c_dd1d);
            assert_eq!(hex16(value), format!("{value:016x}").as_bytes());
        }
    }

    #[test]
    fn traceparent_is_the_w3c_format() {
        let ids = TraceIds {
            trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id: 0x00f0_67aa_0ba9_02b7,
            sampled: true,
        };
        assert_eq!(
            &traceparent(&ids),
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let unsampled = TraceIds {
            trace_id: 1,
            span_id: u64::MAX,
            sampled: false,
        };
        assert_eq!(
            &traceparent(&unsampled),
            b"00-00000000000000000000000000000001-ffffffffffffffff-00"
        );
    }
}
