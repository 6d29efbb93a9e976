//! Invitations: the invitee's KeyPackage fetched over Bitswap by the CID
//! its identity document lists, the add (a commit by the sequencer, a proposal by
//! another admin), and the Welcome stored as blocks and announced to each
//! new member's inbox, sealed to them.

use kaichi_groups::welcome::{split_welcome, welcome_secrets};
use kaichi_groups::{Candidate, GroupId, GroupRef};
use kaichi_identity::{IdentityPublic, IpnsName};
use kaichi_privatelog::BlockCid;
use kaichi_privatelog::store::BlockStore as _;
use zeroize::Zeroizing;

use super::blocks::{GroupBlocksFor, Wanted};
use crate::engine::{Engine, inbox_topic, random};
use crate::node::{NodeError, Reply};
use crate::notification::{GroupInvitation, Notification};
use crate::peer::Peer;
use crate::welcome_index::WelcomeIndex;

/// A Welcome stored as blocks, waiting to be announced to a new member.
#[derive(Debug, Clone)]
pub(crate) struct PendingWelcome {
    pub(crate) group: GroupId,
    /// The Welcome's blob, or a split Welcome's index (raw CIDs, or
    /// chunked blobs' manifests).
    welcome: cid::Cid,
    /// Whether `welcome` names a split Welcome's index.
    split: bool,
    tree: cid::Cid,
    /// Every blob to pin (for a split Welcome: index, header and shards).
    blobs: Vec<cid::Cid>,
}

impl PendingWelcome {
    /// Every blob a relay should keep for the new members.
    pub(crate) fn blobs(&self) -> &[cid::Cid] {
        &self.blobs
    }
}

impl Engine {
    /// Invites `member` to `which`: straight away when their KeyPackage
    /// references are known, after looking their document up otherwise.
    pub(super) fn invite(&mut self, which: &GroupRef, member: &Peer, reply: Reply<u64>) {
        match self.find_contact(member) {
            // A contact whose document we hold lists no KeyPackage (it came
            // from a file, say): look up the one its node published.
            Ok(contact)
                if self
                    .groups
                    .key_packages
                    .get(&contact.peer.ipns_name())
                    .is_none_or(|r| r.is_empty()) =>
            {
                self.lookup_for_invite(Peer::Wallet(contact.peer.wallet), which.clone(), reply);
            }
            Ok(_) => self.invite_known(which, member, reply),
            // Not a contact: find their document by wallet or IPNS name.
            Err(_) => self.lookup_for_invite(*member, which.clone(), reply),
        }
    }

    /// Invites a member whose KeyPackage references are known (or fails).
    pub(crate) fn invite_known(&mut self, which: &GroupRef, member: &Peer, reply: Reply<u64>) {
        let prepared = (|| {
            let id = self.find_group(which)?;
            let contact = self.find_contact(member)?;
            let name = contact.peer.ipns_name();
            let cid = self
                .groups
                .key_packages
                .get(&name)
                .and_then(|refs| refs.iter().find_map(|r| BlockCid::from_bytes(r).ok()))
                .ok_or(NodeError::NoKeyPackage(name))?;
            Ok((id, contact.peer, cid))
        })();
        let (group, member, cid) = match prepared {
            Ok(v) => v,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let peer = *member.ipns_name().peer_id();
        self.fetch_group_blocks(
            peer,
            &[Wanted::Bytes(cid.to_cid())],
            kaichi_groups::MAX_MESSAGE_BYTES,
            GroupBlocksFor::KeyPackage {
                group,
                member,
                reply,
            },
        );
    }

    /// The invitee's KeyPackage arrived: add them. The session outputs the
    /// commit and the Welcome (the sequencer) or the proposal (another
    /// admin; the sequencer's node delivers the Welcome when it commits).
    /// Returns the epoch afterwards.
    pub(super) fn finish_invite(
        &mut self,
        group: GroupId,
        member: &IdentityPublic,
        kp: Vec<u8>,
    ) -> Result<u64, NodeError> {
        let candidate = Candidate::new(kp).with_wallet(member.wallet);
        let result = self.groups.session.add(group, &[candidate]);
        self.pump_groups();
        Ok(result?)
    }

    /// Stores a Welcome and its ratchet tree as blocks this node serves
    /// over Bitswap: each one raw block, or raw chunks and a manifest when
    /// it is larger than a block may be (a big group's tree). A Welcome for
    /// more new members than the configuration says is split: its header,
    /// its shards and their index are stored instead.
    pub(super) fn store_welcome(
        &mut self,
        group: GroupId,
        welcome: &[u8],
        tree: &[u8],
    ) -> Result<PendingWelcome, NodeError> {
        let tree = self.store_blob(tree)?;
        let how = self.config.welcome_split;
        let split = welcome_secrets(welcome).is_ok_and(|n| n > how.above);
        if !split {
            let welcome = self.store_blob(welcome)?;
            return Ok(PendingWelcome {
                group,
                welcome,
                split,
                tree,
                blobs: vec![welcome, tree],
            });
        }
        let parts = split_welcome(welcome, how.per_shard)?;
        let header = self.store_blob(&parts.header)?;
        let mut shards = Vec::with_capacity(parts.shards.len());
        for shard in &parts.shards {
            shards.push((shard.first, self.store_blob(&shard.bytes)?));
        }
        let index = WelcomeIndex::new(header, shards)?;
        let root = self.store_blob(&index.encode())?;
        let mut blobs = vec![root, tree, header];
        blobs.extend_from_slice(index.shards());
        Ok(PendingWelcome {
            group,
            welcome: root,
            split,
            tree,
            blobs,
        })
    }

    /// Stores a public blob as blocks; returns its name.
    fn store_blob(&mut self, blob: &[u8]) -> Result<cid::Cid, NodeError> {
        let blocks = kaichi_privatelog::blob::split(blob)?;
        for (cid, block) in &blocks.blocks {
            self.store.put(cid, block)?;
        }
        Ok(blocks.root)
    }

    /// Sends `member` a sealed invitation to fetch a stored Welcome.
    pub(crate) fn send_invitation(&mut self, member: &IdentityPublic, w: &PendingWelcome) {
        let notification = Notification {
            sender_document: self.document.clone(),
            invitation: Some(GroupInvitation {
                group: w.group.as_bytes().to_vec(),
                welcome: w.welcome.to_bytes(),
                ratchet_tree: w.tree.to_bytes(),
                addresses: self.listen_addrs.iter().map(|a| a.to_vec()).collect(),
                split_welcome: w.split,
            }),
            ..Default::default()
        };
        let sealed = match random::<32>().and_then(|seed| {
            notification
                .seal(&member.dm, Zeroizing::new(seed))
                .map_err(Into::into)
        }) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::warn!(%e, "could not seal an invitation");
                return;
            }
        };
        self.publish(inbox_topic(&member.ipns_name()).hash(), sealed);
    }

    /// Announces a stored Welcome to each new member (looking up the
    /// documents of those it does not know).
    pub(super) fn deliver_welcome(&mut self, pending: &PendingWelcome, to: &[IpnsName]) {
        for name in to {
            match self.known_peer(name) {
                Some(peer) => self.send_invitation(&peer, pending),
                None => {
                    if !self.lookup_for_welcome(*name, pending.clone()) {
                        tracing::warn!(%name, "too many lookups: the Welcome is not delivered");
                    }
                }
            }
        }
    }
}
