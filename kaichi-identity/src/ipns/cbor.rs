//! The strict DAG-CBOR subset IPNS record data uses.
//!
//! The encoder writes the five standard fields in canonical order. The
//! decoder accepts exactly DAG-CBOR: definite lengths, minimal integer and
//! length encodings, text map keys in canonical (length, then bytewise)
//! order with no duplicates, UTF-8 text, tag 42 only, 64-bit floats only,
//! and no trailing bytes. Unknown keys (the spec's extensible data) are
//! checked the same way and skipped.

/// Deepest nesting accepted inside unknown values.
const MAX_DEPTH: usize = 16;

/// IPNS record data was not valid DAG-CBOR of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The input ended inside an item.
    #[error("truncated DAG-CBOR at byte {0}")]
    Truncated(usize),
    /// Bytes remain after the top-level map.
    #[error("{0} trailing bytes after the DAG-CBOR map")]
    TrailingBytes(usize),
    /// The top-level item is not a map.
    #[error("IPNS data must be a DAG-CBOR map")]
    NotAMap,
    /// Something DAG-CBOR forbids (indefinite length, non-minimal integer,
    /// undefined, half or single floats, a tag other than 42, ...).
    #[error("not DAG-CBOR at byte {offset}: {reason}")]
    NotDagCbor {
        /// Where.
        offset: usize,
        /// What.
        reason: &'static str,
    },
    /// Map keys out of canonical order, or repeated.
    #[error("map keys are not in canonical order or repeat at byte {0}")]
    KeyOrder(usize),
    /// Nested deeper than allowed.
    #[error("DAG-CBOR nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A standard field has the wrong CBOR type.
    #[error("field {0} has the wrong type")]
    WrongType(&'static str),
    /// A required field is missing.
    #[error("required field {0} is missing")]
    MissingField(&'static str),
}

/// The standard fields of IPNS record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordData {
    pub(crate) value: Vec<u8>,
    pub(crate) validity: Vec<u8>,
    pub(crate) validity_type: u64,
    pub(crate) sequence: u64,
    pub(crate) ttl: u64,
}

impl RecordData {
    /// Canonical DAG-CBOR: keys TTL, Value, Sequence, Validity, ValidityType.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.value.len() + self.validity.len());
        head(&mut out, 5, 5);
        text(&mut out, "TTL");
        head(&mut out, 0, self.ttl);
        text(&mut out, "Value");
        head(&mut out, 2, self.value.len() as u64);
        out.extend_from_slice(&self.value);
        text(&mut out, "Sequence");
        head(&mut out, 0, self.sequence);
        text(&mut out, "Validity");
        head(&mut out, 2, self.validity.len() as u64);
        out.extend_from_slice(&self.validity);
        text(&mut out, "ValidityType");
        head(&mut out, 0, self.validity_type);
        out
    }

    /// Strictly decodes IPNS record data.
    pub(crate) fn decode(input: &[u8]) -> Result<Self, CborError> {
        let mut r = Reader { input, pos: 0 };
        let (major, entries) = r.head()?;
        if major != 5 {
            return Err(CborError::NotAMap);
        }
        let mut value = None;
        let mut validity = None;
        let mut validity_type = None;
        let mut sequence = None;
        let mut ttl = None;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..entries {
            let key_at = r.pos;
            let key = r.text()?;
            if let Some(prev) = previous {
                let ordered = prev.len() < key.len() || (prev.len() == key.len() && prev < key);
                if !ordered {
                    return Err(CborError::KeyOrder(key_at));
                }
            }
            previous = Some(key);
            match key {
                b"Value" => value = Some(r.bytes("Value")?.to_vec()),
                b"Validity" => validity = Some(r.bytes("Validity")?.to_vec()),
                b"ValidityType" => validity_type = Some(r.uint("ValidityType")?),
                b"Sequence" => sequence = Some(r.uint("Sequence")?),
                b"TTL" => ttl = Some(r.uint("TTL")?),
                _ => r.skip(0)?,
            }
        }
        if r.pos != input.len() {
            return Err(CborError::TrailingBytes(input.len() - r.pos));
        }
        Ok(Self {
            value: value.ok_or(CborError::MissingField("Value"))?,
            validity: validity.ok_or(CborError::MissingField("Validity"))?,
            validity_type: validity_type.ok_or(CborError::MissingField("ValidityType"))?,
            sequence: sequence.ok_or(CborError::MissingField("Sequence"))?,
            ttl: ttl.unwrap_or(0),
        })
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or(CborError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let n = usize::try_from(n).map_err(|_| CborError::Truncated(self.pos))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or(CborError::Truncated(self.pos))?;
        let s = self
            .input
            .get(self.pos..end)
            .ok_or(CborError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads an item head: (major type, argument), enforcing minimal form.
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let at = self.pos;
        let b = self.byte()?;
        let (major, info) = (b >> 5, b & 0x1f);
        let not = |reason| CborError::NotDagCbor { offset: at, reason };
        let n = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = u64::from(self.byte()?);
                if v < 24 && major != 7 {
                    return Err(not("non-minimal integer or length"));
                }
                v
            }
            25 => {
                let v = u64::from(u16::from_be_bytes(self.array()?));
                if v <= 0xff && major != 7 {
                    return Err(not("non-minimal integer or length"));
                }
                v
            }
            26 => {
                let v = u64::from(u32::from_be_bytes(self.array()?));
                if v <= 0xffff && major != 7 {
                    return Err(not("non-minimal integer or length"));
                }
                v
            }
            27 => {
                let v = u64::from_be_bytes(self.array()?);
                if v <= 0xffff_ffff && major != 7 {
                    return Err(not("non-minimal integer or length"));
                }
                v
            }
            31 => return Err(not("indefinite length")),
            _ => return Err(not("reserved additional information")),
        };
        Ok((major, n))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let s = self.take(N as u64)?;
        <[u8; N]>::try_from(s).map_err(|_| CborError::Truncated(self.pos))
    }

    fn text(&mut self) -> Result<&'a [u8], CborError> {
        let at = self.pos;
        let (major, n) = self.head()?;
        if major != 3 {
            return Err(CborError::NotDagCbor {
                offset: at,
                reason: "map keys must be text",
            });
        }
        let s = self.take(n)?;
        std::str::from_utf8(s).map_err(|_| CborError::NotDagCbor {
            offset: at,
            reason: "text is not UTF-8",
        })?;
        Ok(s)
    }

    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], CborError> {
        let (major, n) = self.head()?;
        if major != 2 {
            return Err(CborError::WrongType(field));
        }
        self.take(n)
    }

    fn uint(&mut self, field: &'static str) -> Result<u64, CborError> {
        let (major, n) = self.head()?;
        if major != 0 {
            return Err(CborError::WrongType(field));
        }
        Ok(n)
    }

    /// Checks and skips one DAG-CBOR item.
    fn skip(&mut self, depth: usize) -> Result<(), CborError> {
        if depth >= MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let at = self.pos;
        let not = |reason| CborError::NotDagCbor { offset: at, reason };
        let first = *self
            .input
            .get(self.pos)
            .ok_or(CborError::Truncated(self.pos))?;
        let (major, n) = self.head()?;
        match major {
            0 | 1 => Ok(()),
            2 => self.take(n).map(drop),
            3 => {
                let s = self.take(n)?;
                std::str::from_utf8(s)
                    .map(drop)
                    .map_err(|_| not("text is not UTF-8"))
            }
            4 => {
                self.bounded(n)?;
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            5 => {
                self.bounded(n.saturating_mul(2))?;
                let mut previous: Option<&[u8]> = None;
                for _ in 0..n {
                    let key_at = self.pos;
                    let key = self.text()?;
                    if let Some(prev) = previous {
                        let ordered =
                            prev.len() < key.len() || (prev.len() == key.len() && prev < key);
                        if !ordered {
                            return Err(CborError::KeyOrder(key_at));
                        }
                    }
                    previous = Some(key);
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
            6 => {
                if n != 42 {
                    return Err(not("only tag 42 (CID) is allowed"));
                }
                let (m, len) = self.head()?;
                let cid = self.take(len)?;
                if m != 2 || cid.first() != Some(&0) {
                    return Err(not("tag 42 must wrap 0x00-prefixed CID bytes"));
                }
                Ok(())
            }
            _ => match first & 0x1f {
                20..=22 => Ok(()),
                27 => {
                    let f = f64::from_bits(n);
                    if f.is_finite() {
                        Ok(())
                    } else {
                        Err(not("NaN and infinities are not DAG-CBOR"))
                    }
                }
                _ => Err(not("only false, true, null and 64-bit floats are allowed")),
            },
        }
    }

    /// Rejects a container claiming more items than bytes remain.
    fn bounded(&self, items: u64) -> Result<(), CborError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if items > remaining {
            return Err(CborError::Truncated(self.input.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> RecordData {
        RecordData {
            value: b"/ipfs/bafkqaaa".to_vec(),
            validity: b"2030-01-01T00:00:00.000000000Z".to_vec(),
            validity_type: 0,
            sequence: 7,
            ttl: 300_000_000_000,
        }
    }

    #[test]
    fn canonical_key_order() {
        let enc = sample().encode();
        let pos = |k: &str| {
            enc.windows(k.len())
                .position(|w| w == k.as_bytes())
                .unwrap()
        };
        assert!(pos("TTL") < pos("Value"));
        assert!(pos("Value") < pos("Sequence"));
        assert!(pos("Sequence") < pos("Validity"));
        assert!(pos("Validity") < pos("ValidityType"));
        assert_eq!(RecordData::decode(&enc).unwrap(), sample());
    }

    #[test]
    fn rejects_non_canonical_forms() {
        let enc = sample().encode();
        // Trailing byte.
        let mut t = enc.clone();
        t.push(0);
        assert_eq!(RecordData::decode(&t), Err(CborError::TrailingBytes(1)));
        // Non-minimal sequence (7 encoded with a one-byte argument).
        let seq_at = enc.windows(9).position(|w| w == b"Sequence\x07").unwrap() + 8;
        let mut nm = enc.clone();
        nm.splice(seq_at..seq_at + 1, [0x18, 0x07]);
        assert!(matches!(
            RecordData::decode(&nm),
            Err(CborError::NotDagCbor { .. })
        ));
        // Indefinite-length map.
        let mut ind = enc.clone();
        ind[0] = 0xbf;
        assert!(matches!(
            RecordData::decode(&ind),
            Err(CborError::NotDagCbor { .. })
        ));
        // Not a map.
        assert_eq!(RecordData::decode(&[0x80]), Err(CborError::NotAMap));
        // Truncation anywhere is an error, never a panic.
        for i in 0..enc.len() {
            assert!(RecordData::decode(&enc[..i]).is_err());
        }
    }

    #[test]
    fn extra_keys_are_checked_and_skipped() {
        // {"TTL":0,"Value":h'',"Sequence":0,"Validity":h'',"ValidityType":0,"ZZZZZZZZZZZZZ":[1,{"a":null}]}
        let mut enc = RecordData {
            value: vec![],
            validity: vec![],
            validity_type: 0,
            sequence: 0,
            ttl: 0,
        }
        .encode();
        enc[0] = 0xa6;
        text(&mut enc, "ZZZZZZZZZZZZZ");
        enc.extend_from_slice(&[0x82, 0x01, 0xa1, 0x61, b'a', 0xf6]);
        assert!(RecordData::decode(&enc).is_ok());
        // A shorter key after longer ones is out of canonical order.
        let mut short = enc[..enc.len() - 6 - 14].to_vec();
        text(&mut short, "A");
        short.push(0xf6);
        assert!(matches!(
            RecordData::decode(&short),
            Err(CborError::KeyOrder(_))
        ));
        // Undefined (0xf7) is not DAG-CBOR.
        let mut undef = enc[..enc.len() - 6].to_vec();
        undef.push(0xf7);
        assert!(matches!(
            RecordData::decode(&undef),
            Err(CborError::NotDagCbor { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(value in proptest::collection::vec(any::<u8>(), 0..300),
                       validity in proptest::collection::vec(any::<u8>(), 0..64),
                       sequence in any::<u64>(), ttl in any::<u64>()) {
            let d = RecordData { value, validity, validity_type: 0, sequence, ttl };
            prop_assert_eq!(RecordData::decode(&d.encode()).unwrap(), d);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = RecordData::decode(&bytes);
        }
    }
}
