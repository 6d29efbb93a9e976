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
//!
//! Kaichi patch 17: when a decrypted PrivateMessage's content is decoded
//! (`decode_sharing`), the ciphertexts are not copied out of it: they
//! share its plaintext buffer (8 MB of fresh pages less per such commit).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Debug};
use core::ops::Range;
use zeroize::Zeroizing;

use mls_rs_codec::iter::mls_decode_split_on_collection;
use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
use mls_rs_core::crypto::HpkeCiphertext;

/// A decrypted message's plaintext, shared by the ciphertext lists decoded
/// from it.
pub(crate) type Plaintext = Arc<Zeroizing<Vec<u8>>>;

/// Where a list's encoding is.
#[derive(Clone)]
enum Encoded {
    /// Its own buffer.
    Owned(Vec<u8>),
    /// A range of a decrypted message's plaintext.
    Shared(Plaintext, Range<usize>),
}

impl Default for Encoded {
    fn default() -> Self {
        Self::Owned(Vec::new())
    }
}

impl Encoded {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Owned(bytes) => bytes,
            // The range was found inside this buffer.
            Self::Shared(buffer, range) => buffer.get(range.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    /// The plaintext being decoded by `decode_sharing` on this thread.
    static DECODING: core::cell::RefCell<Option<Plaintext>> = const { core::cell::RefCell::new(None) };
}

/// Runs `decode` (which reads from `plaintext`) so that the ciphertext lists
/// it reads share `plaintext` instead of copying their bytes out of it.
pub(crate) fn decode_sharing<T>(plaintext: &Plaintext, decode: impl FnOnce() -> T) -> T {
    #[cfg(feature = "std")]
    {
        struct Restore(Option<Plaintext>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0.take();
                DECODING.with(|d| *d.borrow_mut() = previous);
            }
        }
        let _restore = Restore(DECODING.with(|d| d.borrow_mut().replace(plaintext.clone())));
        decode()
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = plaintext;
        decode()
    }
}

/// `bytes` shared with the plaintext being decoded when it lies inside it
/// (it was read from it), copied otherwise.
fn keep(bytes: &[u8]) -> Encoded {
    #[cfg(feature = "std")]
    {
        let shared = DECODING.with(|d| {
            let plaintext = d.borrow().clone()?;
            // Addresses compared, never dereferenced: a slice inside the
            // buffer's allocation can only have been borrowed from it.
            let base = plaintext.as_ptr() as usize;
            let start = (bytes.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(bytes.len())?;
            (!bytes.is_empty() && end <= plaintext.len())
                .then(|| Encoded::Shared(plaintext, start..end))
        });
        if let Some(shared) = shared {
            debug_assert_eq!(shared.as_slice(), bytes);
            return shared;
        }
    }
    Encoded::Owned(bytes.to_vec())
}

/// The ciphertexts of the path secret of an update path node, one per
/// node of the resolution of its copath child.
#[derive(Clone, Default)]
pub struct PathCiphertexts {
    /// The encoded ciphertexts, without the list's length.
    bytes: Encoded,
    /// How many.
    count: usize,
}

impl PartialEq for PathCiphertexts {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.bytes.as_slice() == other.bytes.as_slice()
    }
}

impl Eq for PathCiphertexts {}

impl PathCiphertexts {
    /// The list of `ciphertexts`.
    pub fn new(ciphertexts: &[HpkeCiphertext]) -> Result<Self, mls_rs_codec::Error> {
        let mut bytes = Vec::new();
        for ciphertext in ciphertexts {
            ciphertext.mls_encode(&mut bytes)?;
        }
        Ok(Self {
            bytes: Encoded::Owned(bytes),
            count: ciphertexts.len(),
        })
    }

    /// Whether the encoding shares a decrypted message's plaintext.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.bytes, Encoded::Shared(..))
    }

    /// The ciphertext at `index` (those before it skipped, not decoded).
    pub fn get(&self, index: usize) -> Option<HpkeCiphertext> {
        let mut reader = self.bytes.as_slice();
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
    #[cfg_attr(not(any(debug_assertions, feature = "serde")), allow(dead_code))]
    pub fn iter(&self) -> impl Iterator<Item = HpkeCiphertext> + '_ {
        let mut reader = self.bytes.as_slice();
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
            .field("bytes", &self.bytes.as_slice().len())
            .field("shared", &self.is_shared())
            .finish()
    }
}

impl MlsSize for PathCiphertexts {
    fn mls_encoded_len(&self) -> usize {
        mls_rs_codec::byte_vec::mls_encoded_len(&self.bytes.as_slice())
    }
}

impl MlsEncode for PathCiphertexts {
    fn mls_encode(&self, writer: &mut Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        mls_rs_codec::byte_vec::mls_encode(&self.bytes.as_slice(), writer)
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
            bytes: keep(list),
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
