//! The last-resort KeyPackage a node publishes by reference in its
//! identity document, stored as a block the node serves.

use std::path::Path;

use kaichi_groups::session::published_key_package;
use kaichi_groups::{GroupDatabase, GroupEngine, MemberSigner};
use kaichi_identity::IdentityKeys;
use kaichi_privatelog::BlockCid;
use kaichi_privatelog::store::{BlockStore as _, SqliteStore};

use crate::error::NodeError;

/// The last-resort KeyPackage this identity publishes: the one recorded in
/// the group database at `groups` while it is still valid, else a new one
/// from the default engine (mls-rs; Welcomes naming it join through it).
/// It is stored as a block in `store` (so the node serves it); returns its
/// CID bytes for the identity document's KeyPackage list.
/// [`crate::Node::builder`] does this for you.
pub fn prepare_key_package(
    groups: &Path,
    store: &SqliteStore,
    keys: &IdentityKeys,
) -> Result<Vec<u8>, NodeError> {
    prepare_for(
        groups,
        store,
        &MemberSigner::identity(keys.ipns().clone()),
        GroupEngine::default(),
    )
}

/// [`prepare_key_package`] for a node that is a device of `keys`' identity
/// and signs its group leaves with `device` (see
/// [`crate::NodeConfigBuilder::device_signing_key`]).
pub fn prepare_device_key_package(
    groups: &Path,
    store: &SqliteStore,
    keys: &IdentityKeys,
    device: &kaichi_identity::IpnsKeypair,
) -> Result<Vec<u8>, NodeError> {
    prepare_for(
        groups,
        store,
        &MemberSigner::device(keys.ipns().name(), device.clone()),
        GroupEngine::default(),
    )
}

/// [`prepare_key_package`] from `engine`.
pub(crate) fn prepare_for(
    groups: &Path,
    store: &SqliteStore,
    me: &MemberSigner,
    engine: GroupEngine,
) -> Result<Vec<u8>, NodeError> {
    let kp = published_key_package(&GroupDatabase::open(groups)?, me, engine)?;
    let cid = BlockCid::of(&kp);
    store.put(&cid.to_cid(), &kp)?;
    store.pin(&cid.to_cid())?;
    Ok(cid.to_bytes().to_vec())
}
