//! Base36 (multibase `k`, lower case) decoding in word-sized steps.
//!
//! Every Kaichi name is printed as a base36 CIDv1 (`k51…`, 62 digits), and
//! joining a group of 100,000 members parses 100,000 of them. The generic
//! multibase decoder converts one digit at a time over a byte array
//! (quadratic in bytes, ~0.6 µs a name); this one folds six digits at a
//! time into 32-bit limbs (~10x fewer steps). Same result as the multibase
//! crate's `Base36Lower` for every input (property-tested): each leading
//! `0` digit is a leading zero byte, the rest is the big-endian number.

/// Digits accepted (longer input is left to the generic decoder).
pub(crate) const MAX_DIGITS: usize = 128;

/// 36^6, the largest power of 36 below 2^32.
const CHUNK: u64 = 36u64.pow(6);

/// The bytes `digits` (lower-case base36, no multibase prefix) encode, or
/// `None` if a character is not a lower-case base36 digit or there are
/// more than [`MAX_DIGITS`].
pub(crate) fn decode_lower(digits: &[u8]) -> Option<Vec<u8>> {
    if digits.len() > MAX_DIGITS {
        return None;
    }
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    // Little-endian limbs of 32 bits; 128 digits need at most 21.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 6 + 1);
    for chunk in digits[zeros..].chunks(6) {
        let mut value = 0u64;
        let mut scale = 1u64;
        for &d in chunk {
            value = value * 36 + u64::from(digit(d)?);
            scale *= 36;
        }
        // scale ≤ CHUNK < 2^32 and value < scale, so the products below
        // stay under 2^64: limb * scale + carry < 2^32 * 2^32.
        debug_assert!(scale <= CHUNK);
        let mut carry = value;
        for limb in &mut limbs {
            let wide = u64::from(*limb) * scale + carry;
            *limb = wide as u32;
            carry = wide >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    let mut out = vec![0u8; zeros];
    let mut number = Vec::with_capacity(limbs.len() * 4);
    for limb in limbs.iter().rev() {
        number.extend_from_slice(&limb.to_be_bytes());
    }
    let first = number.iter().position(|&b| b != 0).unwrap_or(number.len());
    out.extend_from_slice(&number[first..]);
    Some(out)
}

fn digit(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'z' => Some(d - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cid::multibase::Base;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        assert_eq!(decode_lower(b""), Some(vec![]));
        assert_eq!(decode_lower(b"0"), Some(vec![0]));
        assert_eq!(decode_lower(b"00"), Some(vec![0, 0]));
        assert_eq!(decode_lower(b"z"), Some(vec![35]));
        assert_eq!(decode_lower(b"73"), Some(vec![0xff]));
        assert_eq!(decode_lower(b"74"), Some(vec![1, 0]));
        assert_eq!(decode_lower(b"0074"), Some(vec![0, 0, 1, 0]));
        assert_eq!(decode_lower(b"A"), None);
        assert_eq!(decode_lower(b"-"), None);
        assert_eq!(decode_lower(&[b'1'; MAX_DIGITS + 1]), None);
    }

    proptest! {
        /// Whatever the multibase crate decodes, this decodes alike.
        #[test]
        fn decodes_what_multibase_encodes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let text = Base::Base36Lower.encode(&bytes);
            if text.len() <= MAX_DIGITS {
                prop_assert_eq!(decode_lower(text.as_bytes()), Some(bytes));
            }
        }

        /// Any digit string: same answer as the multibase crate.
        #[test]
        fn agrees_with_multibase_on_any_digits(text in "[0-9a-z]{0,128}") {
            prop_assert_eq!(decode_lower(text.as_bytes()), Base::Base36Lower.decode(&text).ok());
        }

        /// Anything else is refused, never a panic.
        #[test]
        fn refuses_other_characters(text in ".{0,130}") {
            let ours = decode_lower(text.as_bytes());
            if text.len() <= MAX_DIGITS && text.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()) {
                prop_assert!(ours.is_some());
            } else {
                prop_assert!(ours.is_none());
            }
        }
    }
}
