//! CARv1 (Content Addressable aRchive) export and import, the format
//! `ipfs dag export` writes and `ipfs dag import` reads.
//!
//! Layout: `varint(len) || DAG-CBOR {"roots": [CID...], "version": 1}`, then
//! for each block `varint(len) || CID bytes || block bytes`. Reading checks
//! every block against its CID (sha2-256 and identity multihashes).

use cid::Cid;
use sha2::{Digest, Sha256};

/// Largest CAR header accepted.
pub const MAX_CAR_HEADER_BYTES: u64 = 64 * 1024;
/// Largest block section accepted (IPFS's 2 MiB block limit plus the CID).
pub const MAX_CAR_SECTION_BYTES: u64 = 2 * 1024 * 1024 + 128;
/// Most roots accepted in a header.
pub const MAX_CAR_ROOTS: usize = 1024;

const IDENTITY: u64 = 0x00;
const SHA2_256: u64 = 0x12;

/// A CAR file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CarError {
    /// The input ended inside a header or section.
    #[error("truncated CAR at byte {0}")]
    Truncated(usize),
    /// A varint is malformed or too large.
    #[error("bad varint at byte {0}")]
    BadVarint(usize),
    /// The header is not `{"roots": [...], "version": 1}`.
    #[error("bad CAR header: {0}")]
    BadHeader(&'static str),
    /// A CARv2 or other version.
    #[error("unsupported CAR version {0} (only CARv1)")]
    UnsupportedVersion(u64),
    /// A header or section exceeds its limit.
    #[error("CAR section at byte {offset} is {len} bytes (max {max})")]
    TooLarge {
        /// Where.
        offset: usize,
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A section's CID does not parse.
    #[error("bad CID in section at byte {0}")]
    BadCid(usize),
    /// A block uses a hash this reader cannot check.
    #[error("block {cid} uses unsupported multihash {code:#x}")]
    UnsupportedHash {
        /// The block.
        cid: Cid,
        /// The multihash code.
        code: u64,
    },
    /// A block's bytes do not match its CID.
    #[error("block {0} does not match its CID")]
    HashMismatch(Cid),
}

/// The contents of a CARv1 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarFile {
    /// The root CIDs.
    pub roots: Vec<Cid>,
    /// Every block, in file order, each checked against its CID.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Writes a CARv1 file.
pub fn write_car<'a>(roots: &[Cid], blocks: impl IntoIterator<Item = (Cid, &'a [u8])>) -> Vec<u8> {
    let mut header = Vec::with_capacity(32 + roots.len() * 40);
    header.push(0xa2); // map(2)
    cbor_text(&mut header, "roots");
    cbor_head(&mut header, 4, roots.len() as u64);
    for root in roots {
        let bytes = root.to_bytes();
        header.extend_from_slice(&[0xd8, 0x2a]); // tag(42)
        cbor_head(&mut header, 2, bytes.len() as u64 + 1);
        header.push(0x00); // multibase identity prefix
        header.extend_from_slice(&bytes);
    }
    cbor_text(&mut header, "version");
    header.push(0x01);

    let mut out = Vec::new();
    varint(&mut out, header.len() as u64);
    out.extend_from_slice(&header);
    for (cid, data) in blocks {
        let c = cid.to_bytes();
        varint(&mut out, (c.len() + data.len()) as u64);
        out.extend_from_slice(&c);
        out.extend_from_slice(data);
    }
    out
}

/// Reads a CARv1 file and checks every block against its CID.
pub fn read_car(input: &[u8]) -> Result<CarFile, CarError> {
    let mut pos = 0;
    let header_len = read_varint(input, &mut pos)?;
    if header_len > MAX_CAR_HEADER_BYTES {
        return Err(CarError::TooLarge {
            offset: 0,
            len: header_len,
            max: MAX_CAR_HEADER_BYTES,
        });
    }
    let header = take(input, &mut pos, header_len)?;
    let roots = parse_header(header)?;
    let mut blocks = Vec::new();
    while pos < input.len() {
        let start = pos;
        let len = read_varint(input, &mut pos)?;
        if len > MAX_CAR_SECTION_BYTES {
            return Err(CarError::TooLarge {
                offset: start,
                len,
                max: MAX_CAR_SECTION_BYTES,
            });
        }
        let section = take(input, &mut pos, len)?;
        let mut reader = std::io::Cursor::new(section);
        let cid = Cid::read_bytes(&mut reader).map_err(|_| CarError::BadCid(start))?;
        let at = usize::try_from(reader.position()).map_err(|_| CarError::BadCid(start))?;
        let data = section.get(at..).ok_or(CarError::BadCid(start))?;
        check_block(&cid, data)?;
        blocks.push((cid, data.to_vec()));
    }
    Ok(CarFile { roots, blocks })
}

fn check_block(cid: &Cid, data: &[u8]) -> Result<(), CarError> {
    let mh = cid.hash();
    let ok = match mh.code() {
        SHA2_256 => mh.digest() == Sha256::digest(data).as_slice(),
        IDENTITY => mh.digest() == data,
        code => return Err(CarError::UnsupportedHash { cid: *cid, code }),
    };
    if ok {
        Ok(())
    } else {
        Err(CarError::HashMismatch(*cid))
    }
}

fn take<'a>(input: &'a [u8], pos: &mut usize, len: u64) -> Result<&'a [u8], CarError> {
    let len = usize::try_from(len).map_err(|_| CarError::Truncated(*pos))?;
    let end = pos.checked_add(len).ok_or(CarError::Truncated(*pos))?;
    let s = input.get(*pos..end).ok_or(CarError::Truncated(*pos))?;
    *pos = end;
    Ok(s)
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_varint(input: &[u8], pos: &mut usize) -> Result<u64, CarError> {
    let start = *pos;
    let mut n: u64 = 0;
    for shift in (0..63).step_by(7) {
        let b = *input.get(*pos).ok_or(CarError::Truncated(*pos))?;
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err(CarError::BadVarint(start))
}

fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
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

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads a CBOR head: (major, argument).
fn read_head(h: &[u8], pos: &mut usize) -> Result<(u8, u64), CarError> {
    let bad = CarError::BadHeader("malformed CBOR");
    let b = *h.get(*pos).ok_or(CarError::BadHeader("truncated"))?;
    *pos += 1;
    let (major, info) = (b >> 5, b & 0x1f);
    let n = match info {
        0..=23 => u64::from(info),
        24..=27 => {
            let len = 1usize << (info - 24);
            let bytes = h
                .get(*pos..)
                .and_then(|r| r.get(..len))
                .ok_or(bad.clone())?;
            *pos += len;
            bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b))
        }
        _ => return Err(bad),
    };
    Ok((major, n))
}

/// `len` bytes of `h` from `pos`, or a header error (never an overflow).
fn slice(h: &[u8], pos: usize, len: u64) -> Result<&[u8], CarError> {
    let len = usize::try_from(len).map_err(|_| CarError::BadHeader("truncated"))?;
    h.get(pos..)
        .and_then(|r| r.get(..len))
        .ok_or(CarError::BadHeader("truncated"))
}

fn parse_header(h: &[u8]) -> Result<Vec<Cid>, CarError> {
    let mut pos = 0;
    let (major, entries) = read_head(h, &mut pos)?;
    if major != 5 || entries != 2 {
        return Err(CarError::BadHeader("expected a map of roots and version"));
    }
    let mut roots = None;
    let mut version = None;
    for _ in 0..2 {
        let (m, len) = read_head(h, &mut pos)?;
        if m != 3 {
            return Err(CarError::BadHeader("map keys must be text"));
        }
        let key = slice(h, pos, len)?;
        pos += key.len();
        match key {
            b"version" => {
                let (m, v) = read_head(h, &mut pos)?;
                if m != 0 {
                    return Err(CarError::BadHeader("version must be an integer"));
                }
                version = Some(v);
            }
            b"roots" => {
                let (m, n) = read_head(h, &mut pos)?;
                if m != 4 || n > MAX_CAR_ROOTS as u64 {
                    return Err(CarError::BadHeader("roots must be an array of CIDs"));
                }
                let mut list = Vec::new();
                for _ in 0..n {
                    let (m, tag) = read_head(h, &mut pos)?;
                    let (bm, blen) = read_head(h, &mut pos)?;
                    if m != 6 || tag != 42 || bm != 2 {
                        return Err(CarError::BadHeader("roots must be tag-42 CIDs"));
                    }
                    let bytes = slice(h, pos, blen)?;
                    pos += bytes.len();
                    let (prefix, cid) = bytes
                        .split_first()
                        .ok_or(CarError::BadHeader("empty CID"))?;
                    if *prefix != 0 {
                        return Err(CarError::BadHeader("CID bytes must start with 0x00"));
                    }
                    list.push(Cid::try_from(cid).map_err(|_| CarError::BadHeader("bad root CID"))?);
                }
                roots = Some(list);
            }
            _ => return Err(CarError::BadHeader("unknown header key")),
        }
    }
    if pos != h.len() {
        return Err(CarError::BadHeader("trailing bytes"));
    }
    match version {
        Some(1) => {}
        Some(v) => return Err(CarError::UnsupportedVersion(v)),
        None => return Err(CarError::BadHeader("missing version")),
    }
    roots.ok_or(CarError::BadHeader("missing roots"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EntryCid;

    #[test]
    fn round_trip_and_tamper() {
        let blocks: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 100 * usize::from(i)]).collect();
        let cids: Vec<Cid> = blocks.iter().map(|b| EntryCid::of(b).to_cid()).collect();
        let car = write_car(
            &cids[3..],
            cids.iter().copied().zip(blocks.iter().map(Vec::as_slice)),
        );
        let back = read_car(&car).unwrap();
        assert_eq!(back.roots, cids[3..].to_vec());
        assert_eq!(back.blocks.len(), 5);
        // Any truncation is an error, never a panic.
        for cut in 0..car.len() {
            let _ = read_car(&car[..cut]);
        }
        let mut bad = car.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(read_car(&bad), Err(CarError::HashMismatch(_))));
    }

    /// The header bytes match what go-car and @ipld/car write for one root.
    /// Found by the car_read fuzz target: a key length near usize::MAX
    /// overflowed the slice bound.
    #[test]
    fn huge_header_lengths_are_errors() {
        let mut car = vec![0x0a, 0xa2, 0x7b];
        car.extend_from_slice(&[0xff; 8]);
        assert!(read_car(&car).is_err());
    }

    #[test]
    fn header_layout() {
        let cid = EntryCid::of(b"x").to_cid();
        let car = write_car(&[cid], []);
        // varint(len) a2 65 "roots" 81 d8 2a 58 25 00 <36-byte cid> 67 "version" 01
        assert_eq!(car[0] as usize, car.len() - 1);
        assert_eq!(&car[1..8], &[0xa2, 0x65, b'r', b'o', b'o', b't', b's']);
        assert_eq!(&car[8..13], &[0x81, 0xd8, 0x2a, 0x58, 0x25]);
        assert_eq!(&car[car.len() - 9..], b"\x67version\x01");
    }
}
