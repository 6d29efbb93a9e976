// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

//! Kaichi patch: copy-on-write tree nodes.
//!
//! A ratchet tree is cloned for every commit created or processed (the
//! provisional tree, the prior epoch's state). With the nodes behind
//! [`Shared`], that clone copies one pointer per node instead of every
//! leaf's keys, credential, capabilities and extensions; a node is copied
//! only when it is changed while shared ([`Arc::make_mut`]). The encoding is
//! the node's own: nothing on the wire or in storage changes.

use alloc::sync::Arc;
use core::fmt::{self, Debug};
use core::ops::{Deref, DerefMut};

use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};

/// A tree node's contents, shared between clones of the tree until changed.
#[derive(Clone, PartialEq, Eq)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    /// `value`, not shared yet.
    pub fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T: Clone> Shared<T> {
    /// The contents, copied only if another tree still shares them.
    pub fn into_inner(self) -> T {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    /// Copies the contents first if another tree shares them.
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: Debug> Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: MlsSize> MlsSize for Shared<T> {
    #[inline]
    fn mls_encoded_len(&self) -> usize {
        self.0.mls_encoded_len()
    }
}

impl<T: MlsEncode> MlsEncode for Shared<T> {
    #[inline]
    fn mls_encode(&self, writer: &mut alloc::vec::Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        self.0.mls_encode(writer)
    }
}

impl<T: MlsDecode> MlsDecode for Shared<T> {
    #[inline]
    fn mls_decode(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        T::mls_decode(reader).map(Shared::new)
    }
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Shared<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, T: arbitrary::Arbitrary<'a>> arbitrary::Arbitrary<'a> for Shared<T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        T::arbitrary(u).map(Shared::new)
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn a_change_to_a_clone_leaves_the_original_alone() {
        let a = Shared::new(alloc::vec![1u8, 2]);
        let mut b = a.clone();
        b.push(3);
        assert_eq!(*a, alloc::vec![1, 2]);
        assert_eq!(*b, alloc::vec![1, 2, 3]);
        assert_eq!(b.into_inner(), alloc::vec![1, 2, 3]);
    }
}
