//! Replacing this identity's document while the node runs (a device was
//! approved or revoked): stored and pinned, linked from the root, its
//! grants applied (a revoked device's entries refused, its group leaves
//! removed where this node sequences), and published at once.

use kaichi_identity::document::verify_document;
use kaichi_privatelog::BlockCid;

use super::{Engine, now};
use crate::node::NodeError;

impl Engine {
    /// Makes `document` this identity's document: it must verify, be this
    /// identity's, be newer than the current one (by
    /// [`kaichi_identity::document::DocumentVersion`]: a document a device
    /// approved counts from its authority) and (on a device's node) still
    /// grant this device. Nothing changes otherwise. The handles' copy is
    /// replaced with it.
    pub(super) fn set_own_document(&mut self, document: Vec<u8>) -> Result<(), NodeError> {
        let at = now();
        let new = verify_document(&document, at)?.for_name(&self.keys.ipns().name())?;
        if let Ok(current) = verify_document(&self.document, at)
            && !new.supersedes(&current)
        {
            return Err(NodeError::StaleDocument {
                given: new.created_at(),
                current: current.created_at(),
            });
        }
        if let Some(key) = &self.config.device_signing_key
            && !new.is_authorised_signer(&key.public())
        {
            return Err(NodeError::DeviceNotGranted);
        }
        let cid = BlockCid::of(&document);
        {
            use kaichi_privatelog::store::BlockStore as _;
            self.store
                .put(&cid.to_cid(), &document)
                .and_then(|()| self.store.pin(&cid.to_cid()))
                .map_err(|e| NodeError::Blocks(Box::new(e)))?;
        }
        let old = BlockCid::of(&self.document);
        *self
            .shared_document
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = document.as_slice().into();
        self.document = document;
        if old != cid {
            use kaichi_privatelog::store::BlockStore as _;
            if let Err(e) = self.store.unpin(&old.to_cid()) {
                tracing::warn!(%e, "the previous identity document stays pinned");
            }
        }
        self.has_devices |= !new.devices().is_empty();
        self.groups.session.devices_mut().remember_own(&new);
        // Revoked devices: refused in conversations, removed from the
        // groups this node sequences.
        self.remember_devices(new);
        self.root.set_document(cid);
        self.publish_identity();
        self.emit(crate::node::NodeEvent::IdentityDocument(
            self.document.clone(),
        ));
        tracing::info!(document = %cid, "published a new identity document");
        Ok(())
    }
}

impl Engine {
    /// A verified document of this identity arrived from another device
    /// (with its notifications): a newer one than this node's (a device
    /// approved or revoked elsewhere) becomes this node's own, as if it was
    /// handed over with [`crate::Node::set_identity_document`].
    pub(super) fn newer_own_document(
        &mut self,
        doc: &kaichi_identity::document::VerifiedDocument,
        bytes: &[u8],
    ) {
        if doc.public().ipns_name() != self.keys.ipns().name() {
            return;
        }
        let newer =
            verify_document(&self.document, now()).map_or(true, |current| doc.supersedes(&current));
        if newer && let Err(e) = self.set_own_document(bytes.to_vec()) {
            tracing::debug!(%e, "a newer document of this identity was not taken");
        }
    }
}
