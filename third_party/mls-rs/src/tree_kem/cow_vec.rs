// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

//! Kaichi patch: a vector whose clones share their elements by chunks.
//!
//! The tree hashes (one per node, 200,000 at 100,000 members) were cloned
//! with the ratchet tree for every commit created or processed, one
//! allocation per hash, and dropped with the prior epoch. A [`CowVec`] holds
//! its elements in shared chunks of [`CHUNK`]: cloning copies a pointer per
//! chunk, and changing an element copies its chunk only if another vector
//! still shares it. A commit changes the hashes on one path, so a few dozen
//! chunks. The encoding is the vector's.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Debug};
use core::ops::{Index, IndexMut};

use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};

/// Elements per shared chunk.
const CHUNK: usize = 256;

/// A vector whose clones share their elements until changed.
#[derive(Clone)]
pub(crate) struct CowVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> CowVec<T> {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many elements it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element at `index`.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// Every element in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }
}

impl<T: Clone> CowVec<T> {
    /// Makes the length `len`, dropping elements past it or filling with
    /// copies of `value`. Every chunk but the last is full.
    pub fn resize(&mut self, len: usize, value: T) {
        if len <= self.len {
            self.chunks.truncate(len.div_ceil(CHUNK));
            let full = self.chunks.len().saturating_sub(1) * CHUNK;
            if let Some(last) = self.chunks.last_mut() {
                if last.len() > len - full {
                    Arc::make_mut(last).truncate(len - full);
                }
            }
            self.len = len;
            return;
        }
        while self.len < len {
            let fill = (CHUNK - self.len % CHUNK).min(len - self.len);
            let values = core::iter::repeat_n(value.clone(), fill);
            match self.chunks.last_mut() {
                Some(last) if self.len % CHUNK != 0 => Arc::make_mut(last).extend(values),
                _ => {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    chunk.extend(values);
                    self.chunks.push(Arc::new(chunk));
                }
            }
            self.len += fill;
        }
    }
}

impl<T: Clone> From<Vec<T>> for CowVec<T> {
    fn from(elements: Vec<T>) -> Self {
        let len = elements.len();
        let chunks = elements
            .chunks(CHUNK)
            .map(|chunk| Arc::new(chunk.to_vec()))
            .collect();
        Self { chunks, len }
    }
}

impl<T> Index<usize> for CowVec<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<T: Clone> IndexMut<usize> for CowVec<T> {
    #[inline]
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut Arc::make_mut(&mut self.chunks[index / CHUNK])[index % CHUNK]
    }
}

impl<T: PartialEq> PartialEq for CowVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Debug> Debug for CowVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: MlsSize> MlsSize for CowVec<T> {
    fn mls_encoded_len(&self) -> usize {
        mls_rs_codec::iter::mls_encoded_len(self.iter())
    }
}

impl<T: MlsEncode> MlsEncode for CowVec<T> {
    fn mls_encode(&self, writer: &mut Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        mls_rs_codec::iter::mls_encode(self.iter(), writer)
    }
}

impl<T: MlsDecode + Clone> MlsDecode for CowVec<T> {
    fn mls_decode(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        Vec::<T>::mls_decode(reader).map(Self::from)
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for CowVec<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de> + Clone> serde::Deserialize<'de> for CowVec<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Self::from)
    }
}
