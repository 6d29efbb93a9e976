//! Small encoding helpers shared by the modules of this crate.

use std::fmt::Write as _;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parses exactly `N` bytes of lower- or upper-case hex.
pub(crate) fn parse_hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digits = s.as_bytes();
    if digits.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = (pair.first().copied().map(char::from)?).to_digit(16)?;
        let lo = (pair.get(1).copied().map(char::from)?).to_digit(16)?;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&bytes), "0001abff");
        assert_eq!(parse_hex_array::<4>("0001ABff"), Some(bytes));
        assert_eq!(parse_hex_array::<4>("0001abf"), None);
        assert_eq!(parse_hex_array::<4>("0001abfg"), None);
        assert_eq!(parse_hex_array::<2>("é1"), None);
    }
}
