//! Group chats over the network: a gossipsub topic per group for MLS
//! messages, applied through the member's [`GroupSession`] (which logs,
//! orders and applies them, and commits as the sequencer); Welcomes sent to
//! the invitee's inbox sealed like DMs, with the Welcome and ratchet tree as
//! blocks fetched by CID; KeyPackages fetched by the CID an identity
//! document references.
//!
//! This module holds the node's group state, the commands and the outputs
//! of the session; `invite.rs` invites and delivers Welcomes, `blocks.rs`
//! fetches KeyPackages, Welcomes and trees over Bitswap, `fetch.rs` asks
//! members and relays for a group's log.

mod blocks;
mod fetch;
mod invite;
pub(crate) mod reference;
mod tree_stream;

pub(super) use fetch::{DeviceRetry, GroupRequest};
pub(super) use invite::PendingWelcome;

use std::collections::HashMap;

use kaichi_groups::session::AnyGroup;
use kaichi_groups::{Candidate, GroupId, GroupRef, GroupSession, SessionOutput};
use kaichi_identity::IpnsName;
use libp2p::gossipsub::{IdentTopic, MessageAcceptance, TopicHash};
use libp2p::request_response::OutboundRequestId;

use super::Engine;
use crate::node::{GroupCommand, GroupSummary, NodeError, NodeEvent};
use crate::peer::Peer;

/// The gossipsub topic of a group.
pub fn group_topic(id: &GroupId) -> IdentTopic {
    IdentTopic::new(format!("{GROUP_TOPIC_PREFIX}{id}"))
}

const GROUP_TOPIC_PREFIX: &str = "/kaichi/group/1/";

/// The rules a node applies: the group metadata's (admins; a token gate
/// with balances from the configured source), as offline commands do.
pub(crate) type NodePolicy = kaichi_groups::StandardPolicy;

/// The group state the node task keeps.
pub(super) struct Groups {
    /// The member's groups, database and policy.
    pub(super) session: GroupSession<NodePolicy>,
    /// KeyPackage references from verified identity documents.
    key_packages: HashMap<IpnsName, Vec<Vec<u8>>>,
    /// Block requests made for groups.
    pub(super) fetches: HashMap<OutboundRequestId, GroupRequest>,
    /// DHT lookups of a peer's addresses, with the request to resend.
    lookups: HashMap<libp2p::kad::QueryId, GroupRequest>,
    /// KeyPackages, Welcomes and trees wanted over Bitswap.
    blocks: blocks::GroupBlocks<beetswap::QueryId, blocks::GroupBlocksFor>,
}

impl Groups {
    pub(super) fn new(mut session: GroupSession<NodePolicy>) -> Self {
        session.set_auto_commit(true);
        Self {
            session,
            key_packages: HashMap::new(),
            fetches: HashMap::new(),
            lookups: HashMap::new(),
            blocks: blocks::GroupBlocks::new(),
        }
    }
}

fn summary(g: &AnyGroup<NodePolicy>) -> GroupSummary {
    GroupSummary {
        engine: g.engine(),
        id: g.id(),
        name: g.metadata().name.clone(),
        description: g.metadata().description.clone(),
        epoch: g.epoch(),
        members: g.member_names(),
        sequencer: g.metadata().sequencer,
        token_gate: g.metadata().token_gate,
    }
}

fn now_ms() -> u64 {
    super::now().unix_nanos() / 1_000_000
}

impl Engine {
    /// Subscribes to the topics of every group loaded at start.
    pub(super) fn subscribe_groups(&mut self) {
        let ids: Vec<GroupId> = self.groups.session.groups().map(AnyGroup::id).collect();
        for id in ids {
            self.subscribe_group(id);
        }
    }

    fn subscribe_group(&mut self, id: GroupId) {
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&group_topic(&id))
        {
            tracing::warn!(group = %id, %e, "could not subscribe to a group topic");
        }
    }

    /// Records the KeyPackage references of a verified document.
    pub(super) fn remember_key_packages(&mut self, name: IpnsName, refs: &[Vec<u8>]) {
        if self.groups.key_packages.len() >= super::MAX_CACHED_DOCUMENTS {
            self.groups.key_packages.clear();
        }
        self.groups.key_packages.insert(name, refs.to_vec());
    }

    pub(super) fn group_command(&mut self, command: GroupCommand) {
        match command {
            GroupCommand::Create { new, engine, reply } => {
                let _ = reply.send(self.create_group(new, engine));
            }
            GroupCommand::Invite {
                group,
                member,
                reply,
            } => self.invite(&group, &member, reply),
            GroupCommand::FindTokenGroups { mint, reply } => self.find_token_groups(mint, reply),
            GroupCommand::AddMembers {
                group,
                key_packages,
                reply,
            } => {
                let candidates: Vec<Candidate> =
                    key_packages.into_iter().map(Candidate::new).collect();
                let _ = reply.send(self.change_group(&group, |s, id| s.add(id, &candidates)));
            }
            GroupCommand::RequestJoin {
                group,
                sequencer,
                reply,
            } => self.request_join(group, sequencer, reply),
            GroupCommand::Send { group, text, reply } => {
                let result = self
                    .find_group(&group)
                    .and_then(|id| Ok(self.groups.session.send(id, text.as_bytes(), now_ms())?));
                self.pump_groups();
                let _ = reply.send(result);
            }
            GroupCommand::Read {
                group,
                limit,
                reply,
            } => {
                let r = self
                    .find_group(&group)
                    .and_then(|id| Ok(self.groups.session.messages(&id, limit)?));
                let _ = reply.send(r);
            }
            GroupCommand::List { reply } => {
                let mut list: Vec<GroupSummary> =
                    self.groups.session.groups().map(summary).collect();
                list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                let _ = reply.send(Ok(list));
            }
            GroupCommand::Remove {
                group,
                member,
                reply,
            } => {
                let result = self
                    .member_name(&member)
                    .and_then(|name| self.change_group(&group, |s, id| s.remove(id, &[name])));
                let _ = reply.send(result);
            }
            GroupCommand::Leave { group, reply } => {
                let _ = reply.send(self.change_group(&group, |s, id| s.leave(id)).map(|_| ()));
            }
            GroupCommand::Admin {
                group,
                member,
                admin,
                reply,
            } => {
                let result = self.member_name(&member).and_then(|name| {
                    self.change_group(&group, |s, id| s.set_admin(id, name, admin))
                });
                let _ = reply.send(result);
            }
            GroupCommand::Update { group, reply } => {
                let _ = reply.send(self.change_group(&group, |s, id| s.update(id)));
            }
        }
    }

    /// A group by id or unique name.
    pub(super) fn find_group(&self, which: &GroupRef) -> Result<GroupId, NodeError> {
        Ok(self
            .groups
            .session
            .find(which.clone())
            .map_err(kaichi_groups::SessionError::from)?)
    }

    /// Runs one of this member's changes to a group and delivers its output.
    fn change_group(
        &mut self,
        which: &GroupRef,
        change: impl FnOnce(
            &mut GroupSession<NodePolicy>,
            GroupId,
        ) -> Result<u64, kaichi_groups::SessionError>,
    ) -> Result<u64, NodeError> {
        let id = self.find_group(which)?;
        let result = change(&mut self.groups.session, id);
        self.pump_groups();
        Ok(result?)
    }

    fn create_group(
        &mut self,
        new: kaichi_groups::NewGroup,
        engine: Option<kaichi_groups::GroupEngine>,
    ) -> Result<GroupSummary, NodeError> {
        let engine = engine.unwrap_or(self.groups.session.engine());
        let gated = new.token_gate.is_some();
        let id = self.groups.session.create_with(new, engine)?;
        self.subscribe_group(id);
        if gated {
            // Holders who know only the mint find this node in the DHT.
            self.provide_token_groups();
        }
        self.groups
            .session
            .group(&id)
            .map(summary)
            .ok_or(NodeError::Group(kaichi_groups::SessionError::NotLoaded(id)))
    }

    /// A member by IPNS name, or a contact by wallet.
    fn member_name(&mut self, member: &Peer) -> Result<IpnsName, NodeError> {
        match member {
            Peer::Name(n) => Ok(*n),
            Peer::Wallet(_) => Ok(self.find_contact(member)?.peer.ipns_name()),
        }
    }

    /// Acts on everything the group session output.
    pub(super) fn pump_groups(&mut self) {
        while let Some(output) = self.groups.session.poll_output() {
            match output {
                SessionOutput::Publish { group, message } => {
                    // Too large for gossip: a reference to it as a blob.
                    if let Some(message) = self.inline_or_reference(message) {
                        self.publish(group_topic(&group).hash(), message);
                    }
                }
                SessionOutput::Welcome {
                    group,
                    welcome,
                    ratchet_tree,
                    to,
                } => match self.store_welcome(group, &welcome, &ratchet_tree) {
                    Ok(pending) => {
                        // Relays keep them for a new member who comes
                        // online after we are gone.
                        self.pin_blobs_at_relays(pending.blobs());
                        self.deliver_welcome(&pending, &to);
                    }
                    Err(e) => tracing::warn!(%group, %e, "could not store a Welcome"),
                },
                SessionOutput::Message {
                    group, from, text, ..
                } => self.emit(NodeEvent::GroupMessage {
                    group,
                    from,
                    text: String::from_utf8_lossy(&text).into_owned(),
                }),
                SessionOutput::Changed {
                    group,
                    epoch,
                    added,
                    removed,
                } => self.emit(NodeEvent::GroupChanged {
                    group,
                    epoch,
                    added,
                    removed,
                }),
                SessionOutput::Joined { group, name } => {
                    self.subscribe_group(group);
                    self.emit(NodeEvent::GroupJoined { group, name });
                }
                SessionOutput::Removed { group } => {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .unsubscribe(&group_topic(&group));
                    self.emit(NodeEvent::GroupRemoved { group });
                }
                SessionOutput::Refused { group, error } => {
                    tracing::debug!(%group, %error, "group message refused");
                }
                SessionOutput::NotCommitted { group, error } => {
                    tracing::debug!(%group, %error, "could not commit proposals");
                }
                SessionOutput::NeedDocument { group, name } => {
                    // A device key we do not know yet: the message stays
                    // pending while the identity's document is looked up.
                    if self.lookup_for_devices(name, DeviceRetry::Drain(group)) {
                        tracing::debug!(%group, %name, "unknown device key: looking up the document");
                    }
                }
                other => tracing::debug!(?other, "group output not acted on"),
            }
        }
    }

    /// Applies whatever can be applied of a group's log, and delivers the outputs.
    pub(super) fn drain_group(&mut self, id: GroupId) {
        if let Err(e) = self.groups.session.drain(id, now_ms()) {
            tracing::warn!(group = %id, %e, "applying the group's log failed");
        }
        self.pump_groups();
    }

    /// Whether a topic is a group topic, and which group.
    pub(super) fn group_of_topic(&self, topic: &TopicHash) -> Option<GroupId> {
        topic
            .as_str()
            .strip_prefix(GROUP_TOPIC_PREFIX)
            .and_then(|hex| hex.parse().ok())
            .filter(|id| self.groups.session.group(id).is_some())
    }

    /// A message on one of our group topics.
    pub(super) fn group_gossip(
        &mut self,
        id: GroupId,
        source: Option<libp2p::PeerId>,
        data: &[u8],
    ) -> MessageAcceptance {
        if reference::is_reference(data) {
            return self.group_reference(Some(id), source, data);
        }
        match self.groups.session.receive(Some(id), data) {
            Ok((_, new)) => {
                if new {
                    self.drain_group(id);
                }
                MessageAcceptance::Accept
            }
            Err(kaichi_groups::session::ReceiveError::Database(e)) => {
                tracing::warn!(group = %id, %e, "could not log a group message");
                MessageAcceptance::Ignore
            }
            Err(e) => {
                tracing::debug!(group = %id, %e, "group message rejected");
                MessageAcceptance::Reject
            }
        }
    }
}
