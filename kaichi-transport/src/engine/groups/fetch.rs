//! What groups ask of one peer over `/kaichi/blocks`: a group's log from an
//! epoch on, from a member who was there or a relay that held it (catch-up;
//! Bitswap fetches blocks by CID, not a log by epoch). A request whose peer
//! cannot be dialled is sent again once after a DHT lookup of the peer's
//! addresses. Also serving the log to members, and invitations received:
//! their Welcome and tree are fetched over Bitswap (`blocks.rs`).

use kaichi_groups::welcome::{shard_for, welcome_for};
use kaichi_groups::{GroupId, KeyPackageRef, RatchetTree};
use kaichi_identity::{IdentityPublic, IpnsName};
use kaichi_privatelog::BlockCid;
use kaichi_privatelog::store::BlockStore as _;
use libp2p::request_response::OutboundFailure;
use libp2p::{Multiaddr, PeerId};

use super::blocks::{GroupBlocksFor, Wanted};
use super::now_ms;
use crate::engine::Engine;
use crate::exchange::{BlockRequest, BlockResponse, MAX_RESPONSE_BYTES};
use crate::notification::GroupInvitation;
use crate::rejection::Rejection;
use crate::welcome_index::WelcomeIndex;

/// Most DHT lookups of peers' addresses for group requests in flight.
const MAX_PEER_LOOKUPS: usize = 64;

/// What waits for an identity's document to learn its device keys.
pub(crate) enum DeviceRetry {
    /// Apply the group's log again.
    Drain(GroupId),
    /// Join again from a Welcome and tree kept in the block store.
    Join {
        inviter: PeerId,
        group: GroupId,
        welcome: BlockCid,
        /// The tree's root (a raw block or a chunked blob's manifest).
        tree: Box<cid::Cid>,
    },
}

/// A block request made for groups, kept to resend it once after a DHT
/// lookup of the peer's addresses when the first dial fails.
pub(crate) struct GroupRequest {
    peer: PeerId,
    request: BlockRequest,
    retried: bool,
}

impl Engine {
    /// Sends a group block request to `peer`.
    pub(super) fn group_request(&mut self, peer: PeerId, request: BlockRequest) {
        self.send_group_request(GroupRequest {
            peer,
            request,
            retried: false,
        });
    }

    fn send_group_request(&mut self, r: GroupRequest) {
        let id = self
            .swarm
            .behaviour_mut()
            .blocks
            .send_request(&r.peer, r.request.clone());
        self.groups.fetches.insert(id, r);
    }

    /// A DHT lookup for a peer's addresses finished: resend the request.
    pub(crate) fn group_lookup_done(
        &mut self,
        query: libp2p::kad::QueryId,
        found: Vec<libp2p::kad::PeerInfo>,
    ) {
        let Some(mut r) = self.groups.lookups.remove(&query) else {
            return;
        };
        for info in found {
            for addr in info.addrs {
                self.swarm.add_peer_address(info.peer_id, addr);
            }
        }
        r.retried = true;
        self.send_group_request(r);
    }

    /// Whether a DHT query is one of ours.
    pub(crate) fn is_group_lookup(&self, query: &libp2p::kad::QueryId) -> bool {
        self.groups.lookups.contains_key(query)
    }

    /// A peer subscribed to one of our group topics: catch up from it.
    pub(crate) fn group_peer_subscribed(&mut self, id: GroupId, peer: PeerId) {
        let Some(epoch) = self.groups.session.group(&id).map(|g| g.epoch()) else {
            return;
        };
        let request = BlockRequest {
            group: id.as_bytes().to_vec(),
            since_epoch: epoch,
            ..Default::default()
        };
        self.group_request(peer, request);
    }

    /// Serves a group's log to a member.
    pub(crate) fn serve_group_log(
        &mut self,
        peer: &PeerId,
        request: &BlockRequest,
    ) -> Vec<Vec<u8>> {
        let Ok(id) = GroupId::from_slice(&request.group) else {
            return Vec::new();
        };
        // Read with room for large messages, each then sent by reference.
        let logged = self
            .groups
            .session
            .log_for(
                &id,
                &IpnsName::from_peer_id(*peer),
                request.since_epoch,
                kaichi_groups::MAX_MESSAGE_BYTES,
            )
            .unwrap_or_else(|e| {
                tracing::warn!(group = %id, %e, "could not read the group's log");
                Vec::new()
            });
        let mut out = Vec::new();
        let mut size = 0;
        for message in logged {
            let Some(message) = self.inline_or_reference(message) else {
                break;
            };
            size += message.len();
            if size > MAX_RESPONSE_BYTES / 2 {
                break;
            }
            out.push(message);
        }
        out
    }

    /// An invitation arrived (its sender's document verified): fetch the
    /// Welcome and tree from the inviter.
    pub(crate) fn invitation(
        &mut self,
        inviter: &IdentityPublic,
        inv: &GroupInvitation,
    ) -> Result<(), Rejection> {
        let group = GroupId::from_slice(&inv.group).map_err(|_| Rejection::BadInvitation)?;
        let blob = |bytes: &[u8]| {
            cid::Cid::try_from(bytes)
                .ok()
                .filter(|c| kaichi_privatelog::blob::kind(c).is_ok())
                .ok_or(Rejection::BadInvitation)
        };
        let (welcome, tree) = (blob(&inv.welcome)?, blob(&inv.ratchet_tree)?);
        if self.groups.session.group(&group).is_some() {
            return Ok(());
        }
        let peer = *inviter.ipns_name().peer_id();
        for addr in inv.addresses.iter().take(16) {
            if let Ok(a) = Multiaddr::try_from(addr.clone()) {
                self.swarm.add_peer_address(peer, a);
            }
        }
        let then = if inv.split_welcome {
            GroupBlocksFor::SplitInvitation {
                inviter: peer,
                group,
                tree,
            }
        } else {
            GroupBlocksFor::Invitation {
                inviter: peer,
                group,
                tree,
            }
        };
        // The tree is decoded chunk by chunk as it arrives.
        self.fetch_group_blocks(
            peer,
            &[Wanted::Bytes(welcome), Wanted::Tree(tree)],
            kaichi_groups::MAX_TREE_BYTES,
            then,
        );
        Ok(())
    }

    /// A split Welcome's index and the tree arrived: fetch the header and
    /// the shard that holds this member's entry.
    pub(super) fn split_invitation(
        &mut self,
        inviter: PeerId,
        group: GroupId,
        index: &[u8],
        tree: (cid::Cid, RatchetTree),
    ) {
        let index = match WelcomeIndex::decode(index) {
            Ok(index) => index,
            Err(e) => {
                tracing::debug!(%group, %e, "an invitation's Welcome index was refused");
                return;
            }
        };
        let Some(mine) = self.groups.session.published_key_package_ref() else {
            tracing::debug!(%group, "a split Welcome, but no published KeyPackage to find it by");
            return;
        };
        let Some(&at) = shard_for(index.firsts(), &[mine]).first() else {
            tracing::debug!(%group, "a split Welcome with no shard for this member");
            return;
        };
        self.fetch_group_blocks(
            inviter,
            &[
                Wanted::Bytes(index.header()),
                Wanted::Bytes(index.shards()[at]),
            ],
            kaichi_groups::MAX_MESSAGE_BYTES,
            GroupBlocksFor::InvitationShard {
                inviter,
                group,
                mine,
                tree,
            },
        );
    }

    /// A split Welcome's header and this member's shard arrived: join from
    /// the Welcome they make.
    pub(super) fn join_from_shard(
        &mut self,
        inviter: PeerId,
        group: GroupId,
        (header, shard): (&[u8], &[u8]),
        mine: KeyPackageRef,
        tree: (cid::Cid, &RatchetTree),
    ) {
        match welcome_for(header, shard, &[mine]) {
            Ok(welcome) => self.join_group(inviter, group, &welcome, tree),
            Err(e) => tracing::debug!(%group, %e, "no Welcome from a split Welcome's shard"),
        }
    }

    /// A block request made for groups failed: the first time the peer
    /// could not be dialled, look its addresses up in the DHT and try again.
    pub(crate) fn group_fetch_failed(&mut self, r: GroupRequest, error: OutboundFailure) {
        if !r.retried
            && matches!(error, OutboundFailure::DialFailure)
            && self.groups.lookups.len() < MAX_PEER_LOOKUPS
        {
            let query = self.swarm.behaviour_mut().kad.get_closest_peers(r.peer);
            self.groups.lookups.insert(query, r);
            return;
        }
        tracing::debug!(peer = %r.peer, %error, "a group log request failed");
    }

    /// A block response to a group request.
    pub(crate) fn group_response(&mut self, peer: PeerId, response: &BlockResponse) {
        let mut groups = std::collections::BTreeSet::new();
        for bytes in &response.group_messages {
            if super::reference::is_reference(bytes) {
                self.group_reference(None, Some(peer), bytes);
                continue;
            }
            match self.groups.session.receive(None, bytes) {
                Ok((id, _)) => {
                    groups.insert(id);
                }
                Err(e) => tracing::debug!(%e, "a logged group message was not kept"),
            }
        }
        for id in groups {
            self.drain_group(id);
        }
    }

    /// Joins from a Welcome and the group's tree (decoded as it arrived;
    /// `root` names it, to fetch it again should the join wait for a
    /// member's document).
    pub(super) fn join_group(
        &mut self,
        inviter: PeerId,
        expected: GroupId,
        welcome: &[u8],
        (root, tree): (cid::Cid, &RatchetTree),
    ) {
        let joined = self.groups.session.join_tree(welcome, tree, Some(expected));
        self.pump_groups();
        match joined {
            Ok(id) => self.group_peer_subscribed(id, inviter),
            Err(e) => {
                if let Some(name) = e.unbound()
                    && self.groups.session.wait_for_document(name, now_ms())
                        != kaichi_groups::session::DocumentWait::GiveUp
                {
                    // A member's device key we do not know: keep the Welcome
                    // (the tree's blocks are in the store already, Bitswap
                    // put them there), look the member's document up, and
                    // try again.
                    let w = BlockCid::of(welcome);
                    let kept = self.store.put(&w.to_cid(), welcome).is_ok();
                    let retry = DeviceRetry::Join {
                        inviter,
                        group: expected,
                        welcome: w,
                        tree: Box::new(root),
                    };
                    if kept && self.lookup_for_devices(name, retry) {
                        return;
                    }
                }
                tracing::debug!(%e, "could not join from an invitation");
            }
        }
    }

    /// An identity's document was looked up (found or not) for its device
    /// keys: try again what waited on it.
    pub(crate) fn retry_after_devices(&mut self, retry: DeviceRetry) {
        match retry {
            DeviceRetry::Drain(id) => self.drain_group(id),
            DeviceRetry::Join {
                inviter,
                group,
                welcome,
                tree,
            } => {
                // Both are at hand (or fetched again if they went): the
                // tree is decoded again as it is read.
                self.fetch_group_blocks(
                    inviter,
                    &[Wanted::Bytes(welcome.to_cid()), Wanted::Tree(*tree)],
                    kaichi_groups::MAX_TREE_BYTES,
                    GroupBlocksFor::Invitation {
                        inviter,
                        group,
                        tree: *tree,
                    },
                );
            }
        }
    }
}
