// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

//! Kaichi patch: an update path node's ciphertexts, kept encoded.
//!
//! A commit's update path carries one HPKE ciphertext for each node of the
//! resolution of each copath node: right after a large group is created,
//! every member but the committer (100,000 ciphertexts, 8 MB, at 100,000
//! members). A receiver decrypts one of them, yet decoding made two
//! allocations for each, verifying the commit's signature encoded them all
//! again, and dropping them freed them one by one. They are now kept as
//! their encoding (checked to be a well-formed list as it is read, exactly
//! as the list was decoded before) and decoded one at a time when asked
//! for. The encoding is the list's.

use alloc::vec::Vec;
use core::fmt::{self, Debug};

use mls_rs_codec::iter::mls_decode_split_on_collection;
use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
use mls_rs_core::crypto::HpkeCiphertext;

/// The ciphertexts of the path secret of an update path node, one per
/// node of the resolution of its copath child.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PathCiphertexts {
    /// The encoded ciphertexts, without the list's length.
    bytes: Vec<u8>,
    /// How many.
    count: usize,
}

impl PathCiphertexts {
    /// The list of `ciphertexts`.
    pub fn new(ciphertexts: &[HpkeCiphertext]) -> Result<Self, mls_rs_codec::Error> {
        let mut bytes = Vec::new();
        for ciphertext in ciphertexts {
            ciphertext.mls_encode(&mut bytes)?;
        }
        Ok(Self {
            bytes,
            count: ciphertexts.len(),
        })
    }

    /// The ciphertext at `index` (those before it skipped, not decoded).
    pub fn get(&self, index: usize) -> Option<HpkeCiphertext> {
        let mut reader = &self.bytes[..];
        for _ in 0..index.checked_mul(2)? {
            let (_, rest) = mls_decode_split_on_collection(&mut reader).ok()?;
            reader = rest;
        }
        if reader.is_empty() {
            return None;
        }
        HpkeCiphertext::mls_decode(&mut reader).ok()
    }

    /// Every ciphertext in order.
    pub fn iter(&self) -> impl Iterator<Item = HpkeCiphertext> + '_ {
        let mut reader = &self.bytes[..];
        core::iter::from_fn(move || {
            if reader.is_empty() {
                return None;
            }
            HpkeCiphertext::mls_decode(&mut reader).ok()
        })
    }
}

impl TryFrom<&[HpkeCiphertext]> for PathCiphertexts {
    type Error = mls_rs_codec::Error;

    fn try_from(ciphertexts: &[HpkeCiphertext]) -> Result<Self, Self::Error> {
        Self::new(ciphertexts)
    }
}

impl Debug for PathCiphertexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathCiphertexts")
            .field("count", &self.count)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl MlsSize for PathCiphertexts {
    fn mls_encoded_len(&self) -> usize {
        mls_rs_codec::byte_vec::mls_encoded_len(&self.bytes)
    }
}

impl MlsEncode for PathCiphertexts {
    fn mls_encode(&self, writer: &mut Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        mls_rs_codec::byte_vec::mls_encode(&self.bytes, writer)
    }
}

impl MlsDecode for PathCiphertexts {
    /// Reads what `Vec<HpkeCiphertext>` reads, refusing what it refuses,
    /// without decoding the ciphertexts: each is two vectors of bytes. With
    /// debug assertions on (tests, fuzzing), every list read is also decoded
    /// as `Vec<HpkeCiphertext>` and the two must agree.
    fn mls_decode(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        #[cfg(debug_assertions)]
        let start = *reader;
        let read = Self::read(reader);
        #[cfg(debug_assertions)]
        {
            let mut check = start;
            match (&read, Vec::<HpkeCiphertext>::mls_decode(&mut check)) {
                (Ok(read), Ok(list)) => debug_assert!(
                    read.count == list.len()
                        && read.iter().eq(list.iter().cloned())
                        && [0, list.len() / 2, list.len().saturating_sub(1), list.len()]
                            .into_iter()
                            .all(|i| read.get(i).as_ref() == list.get(i))
                        && check.len() == reader.len(),
                    "PathCiphertexts read a list differently"
                ),
                (Err(_), Err(_)) => {}
                (read, list) => debug_assert!(
                    false,
                    "PathCiphertexts {} a list that Vec<HpkeCiphertext> {}",
                    if read.is_ok() { "accepted" } else { "refused" },
                    if list.is_ok() { "accepts" } else { "refuses" },
                ),
            }
        }
        read
    }
}

impl PathCiphertexts {
    fn read(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        let (list, rest) = mls_decode_split_on_collection(reader)?;
        let mut items = list;
        let mut count = 0;
        while !items.is_empty() {
            for _ in 0..2 {
                let (_, after) = mls_decode_split_on_collection(&mut items)?;
                items = after;
            }
            count += 1;
        }
        *reader = rest;
        Ok(Self {
            bytes: list.to_vec(),
            count,
        })
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for PathCiphertexts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for PathCiphertexts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ciphertexts = Vec::<HpkeCiphertext>::deserialize(deserializer)?;
        Self::new(&ciphertexts).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for PathCiphertexts {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let ciphertexts = Vec::<HpkeCiphertext>::arbitrary(u)?;
        Self::new(&ciphertexts).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}
