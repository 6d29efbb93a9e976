//! Group messages too large for gossip, by reference: a message larger
//! than [`MAX_INLINE`] (a commit adding hundreds of members, a long text)
//! is stored as a blob ([`kaichi_privatelog::blob`]: one raw block, or raw
//! chunks and a manifest) that the publisher serves over Bitswap, and what
//! goes on the group topic (and into served logs) is a small reference:
//! `"KREF"` then a protobuf [`GroupMessageRef`]. An `MLSMessage` starts
//! with its version (`0x0001`), so the two cannot be confused.
//!
//! Members fetch the blob from the publisher (or any peer holding it),
//! check it against its CID, and process the message as if it came
//! inline. Relays hold the reference like any group message, by the epoch
//! and kind it states.

use kaichi_privatelog::store::BlockStore as _;
use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;

use super::blocks::GroupBlocksFor;
use crate::engine::Engine;
pub(crate) use crate::group_ref::{GroupMessageRef, MAX_INLINE, is_reference, kind_code, parse};
use kaichi_groups::GroupId;

impl Engine {
    /// `message` as it goes on the group topic or into a served log: itself
    /// when small enough, else a reference to it stored as a blob this node
    /// serves (`None` when it cannot be stored or read).
    pub(crate) fn inline_or_reference(&mut self, message: Vec<u8>) -> Option<Vec<u8>> {
        if message.len() <= MAX_INLINE {
            return Some(message);
        }
        let info = match kaichi_groups::message_info(&message) {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(%e, "a large group message has no clear header");
                return None;
            }
        };
        let blocks = match kaichi_privatelog::blob::split(&message) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(%e, "could not split a large group message");
                return None;
            }
        };
        for (cid, block) in &blocks.blocks {
            if let Err(e) = self.store.put(cid, block) {
                tracing::warn!(%e, "could not store a large group message");
                return None;
            }
        }
        let r = GroupMessageRef {
            group: info.group.as_bytes().to_vec(),
            epoch: info.epoch,
            kind: kind_code(info.kind),
            blob: blocks.root.to_bytes(),
            size: message.len() as u64,
        };
        Some(r.to_bytes())
    }

    /// A reference arrived (on the group topic from `source`, or in a log
    /// `source` served): the message is fetched, then processed.
    pub(crate) fn group_reference(
        &mut self,
        expected: Option<GroupId>,
        source: Option<PeerId>,
        data: &[u8],
    ) -> MessageAcceptance {
        let r = match parse(data) {
            Ok(r) if expected.is_none_or(|g| g == r.group) => r,
            _ => return MessageAcceptance::Reject,
        };
        if self.groups.session.group(&r.group).is_none() {
            return MessageAcceptance::Ignore;
        }
        let Some(peer) = source else {
            return MessageAcceptance::Ignore;
        };
        self.fetch_group_blocks(
            peer,
            &[super::blocks::Wanted::Bytes(r.blob)],
            r.size,
            GroupBlocksFor::Message { group: r.group },
        );
        MessageAcceptance::Accept
    }

    /// A referenced message arrived: processed as if it came inline.
    pub(crate) fn referenced_message(&mut self, group: GroupId, message: &[u8]) {
        match self.groups.session.receive(Some(group), message) {
            Ok((_, true)) => self.drain_group(group),
            Ok((_, false)) => {}
            Err(e) => tracing::debug!(%group, %e, "a referenced group message was refused"),
        }
    }
}
