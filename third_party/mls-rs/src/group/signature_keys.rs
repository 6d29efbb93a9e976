// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

//! Kaichi patch: a prior epoch's signature keys, shared with its tree.
//!
//! Every commit keeps the epoch it ends (to read messages sent in it late)
//! with each leaf's signature key: at 100,000 members that was 100,000 keys
//! copied, each its own allocation, per commit. The keys are now the leaves
//! themselves, shared with the tree (a pointer each); once stored and read
//! back they are the keys. The encoding is the list of keys, as before.

use alloc::vec::Vec;
use core::fmt::{self, Debug};

use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};

use crate::crypto::SignaturePublicKey;
use crate::tree_kem::leaf_node::LeafNode;
use crate::tree_kem::node::{Node, NodeVec};
use crate::tree_kem::shared::Shared;

/// The signature key of each leaf of a prior epoch's tree (`None` for a
/// blank leaf).
#[derive(Clone)]
pub(crate) enum SignatureKeys {
    /// The keys, as read back from storage.
    Keys(Vec<Option<SignaturePublicKey>>),
    /// The leaves of the tree, whose keys these are.
    Leaves(Vec<Option<Shared<LeafNode>>>),
}

impl Default for SignatureKeys {
    fn default() -> Self {
        SignatureKeys::Keys(Vec::new())
    }
}

impl SignatureKeys {
    /// The keys of the leaves of `nodes`.
    pub(crate) fn of_leaves(nodes: &NodeVec) -> Self {
        SignatureKeys::Leaves(
            nodes
                .iter()
                .step_by(2)
                .map(|node| match node {
                    Some(Node::Leaf(leaf)) => Some(leaf.clone()),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The key of leaf `index`, if it is in the tree and not blank.
    pub(crate) fn get(&self, index: usize) -> Option<&SignaturePublicKey> {
        match self {
            SignatureKeys::Keys(keys) => keys.get(index)?.as_ref(),
            SignatureKeys::Leaves(leaves) => leaves
                .get(index)?
                .as_ref()
                .map(|leaf| &leaf.signing_identity.signature_key),
        }
    }

    /// How many leaves.
    pub(crate) fn len(&self) -> usize {
        match self {
            SignatureKeys::Keys(keys) => keys.len(),
            SignatureKeys::Leaves(leaves) => leaves.len(),
        }
    }

    /// Every leaf's key in order.
    fn iter(&self) -> impl Iterator<Item = Option<&SignaturePublicKey>> + Clone {
        (0..self.len()).map(|i| self.get(i))
    }
}

impl PartialEq for SignatureKeys {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Debug for SignatureKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl MlsSize for SignatureKeys {
    fn mls_encoded_len(&self) -> usize {
        mls_rs_codec::iter::mls_encoded_len(self.iter())
    }
}

impl MlsEncode for SignatureKeys {
    fn mls_encode(&self, writer: &mut Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        mls_rs_codec::iter::mls_encode(self.iter(), writer)
    }
}

impl MlsDecode for SignatureKeys {
    fn mls_decode(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        Vec::mls_decode(reader).map(SignatureKeys::Keys)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SignatureKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SignatureKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(SignatureKeys::Keys)
    }
}
