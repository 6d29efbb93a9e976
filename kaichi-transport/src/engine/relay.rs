//! Relay/store mode: follow the inbox topics of connected peers, hold their
//! sealed notifications, hand them to the inbox's owner on reconnect.

use std::collections::VecDeque;

use kaichi_identity::IpnsName;
use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, TopicHash};

use super::{Engine, inbox_topic};

/// A group's MLS messages a relay holds (ciphertext; bounded per group and
/// by the relay retention).
#[derive(Default)]
pub(super) struct HeldGroupLog {
    messages: VecDeque<HeldGroupMessage>,
}

struct HeldGroupMessage {
    at: std::time::Instant,
    epoch: u64,
    kind: kaichi_groups::MessageKind,
    bytes: Vec<u8>,
}

impl Engine {
    /// Relay: follows an inbox topic a connected peer subscribed to.
    pub(super) fn follow(&mut self, topic: TopicHash) {
        if topic.as_str().starts_with("/kaichi/group/1/") {
            self.follow_group(topic);
            return;
        }
        let is_inbox = topic.as_str().starts_with("/kaichi/inbox/1/");
        let own = topic == inbox_topic(&self.keys.ipns().name()).hash();
        if !is_inbox
            || own
            || self.mailboxes.contains_key(&topic)
            || self.mailboxes.len() >= self.config.relay_max_inboxes
        {
            return;
        }
        let ident = IdentTopic::new(topic.as_str());
        if self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&ident)
            .is_ok()
        {
            self.mailboxes.insert(topic, VecDeque::new());
        }
    }

    /// Relay: keeps a sealed notification for an offline recipient.
    pub(super) fn hold(&mut self, topic: TopicHash, data: Vec<u8>) {
        let retention = self.config.relay_retention;
        let max = self.config.relay_max_per_inbox;
        if let Some(queue) = self.mailboxes.get_mut(&topic) {
            let now = std::time::Instant::now();
            while queue
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > retention)
            {
                queue.pop_front();
            }
            if queue.len() >= max {
                queue.pop_front();
            }
            queue.push_back((now, data));
        }
    }

    /// Relay: the notifications held for `peer`'s inbox (its PeerId is its
    /// IPNS name, so only the owner gets them), emptying the mailbox.
    pub(super) fn drain_mailbox(&mut self, peer: &PeerId) -> Vec<Vec<u8>> {
        let topic = inbox_topic(&IpnsName::from_peer_id(*peer)).hash();
        let retention = self.config.relay_retention;
        self.mailboxes
            .get_mut(&topic)
            .map(|q| {
                let now = std::time::Instant::now();
                q.drain(..)
                    .filter(|(t, _)| now.duration_since(*t) <= retention)
                    .map(|(_, n)| n)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Relay: forwards a group topic a connected peer subscribed to (the
    /// messages are MLS ciphertext; the relay keeps none of them).
    fn follow_group(&mut self, topic: TopicHash) {
        if self.followed_groups.contains_key(&topic)
            || self.followed_groups.len() >= self.config.relay_max_inboxes
        {
            return;
        }
        let ident = IdentTopic::new(topic.as_str());
        if self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&ident)
            .is_ok()
        {
            self.followed_groups.insert(topic, HeldGroupLog::default());
        }
    }

    /// Relay: holds a group message (by its clear header: group, epoch,
    /// kind) for members who were away; refuses what is not one.
    pub(super) fn hold_group_message(
        &mut self,
        topic: &TopicHash,
        data: Vec<u8>,
    ) -> libp2p::gossipsub::MessageAcceptance {
        use libp2p::gossipsub::MessageAcceptance;
        let Ok(info) = kaichi_groups::message_info(&data) else {
            return MessageAcceptance::Reject;
        };
        if !topic.as_str().ends_with(&info.group.to_string()) {
            return MessageAcceptance::Reject;
        }
        let (max, retention) = (self.config.relay_max_per_inbox, self.config.relay_retention);
        if let Some(log) = self.followed_groups.get_mut(topic) {
            let now = std::time::Instant::now();
            log.messages
                .retain(|m| now.duration_since(m.at) <= retention);
            if log.messages.len() >= max {
                log.messages.pop_front();
            }
            log.messages.push_back(HeldGroupMessage {
                at: now,
                epoch: info.epoch,
                kind: info.kind,
                bytes: data,
            });
        }
        MessageAcceptance::Accept
    }

    /// Relay: the held messages of a group from `since_epoch` on, in the
    /// order they apply (anyone may ask: the topic is open to anyone too).
    pub(super) fn held_group_log(&self, group: &[u8], since_epoch: u64) -> Vec<Vec<u8>> {
        let Ok(id) = kaichi_groups::GroupId::from_slice(group) else {
            return Vec::new();
        };
        let topic = crate::engine::group_topic(&id).hash();
        let Some(log) = self.followed_groups.get(&topic) else {
            return Vec::new();
        };
        let mut held: Vec<&HeldGroupMessage> = log
            .messages
            .iter()
            .filter(|m| m.epoch >= since_epoch)
            .collect();
        held.sort_by_key(|m| (m.epoch, m.kind));
        let mut out = Vec::new();
        let mut size = 0;
        for m in held {
            size += m.bytes.len();
            if size > crate::exchange::MAX_RESPONSE_BYTES / 2 {
                break;
            }
            out.push(m.bytes.clone());
        }
        out
    }

    /// Asks every connected relay to pin one of our new entry blocks, so it
    /// can be fetched while we are offline (fire and forget).
    pub(super) fn pin_at_relays(&mut self, block: &[u8]) {
        let relays: Vec<PeerId> = self.relays.iter().copied().collect();
        for relay in relays {
            let request = crate::exchange::BlockRequest {
                pin: vec![block.to_vec()],
                ..Default::default()
            };
            self.swarm
                .behaviour_mut()
                .blocks
                .send_request(&relay, request);
        }
    }

    /// Relay: pins blocks a peer asks for: each must be a well-formed,
    /// correctly signed entry (its CID is recomputed from its bytes); at
    /// most [`super::MAX_PINNED_PER_PEER`] per peer.
    pub(super) fn pin(&mut self, peer: &PeerId, blocks: &[Vec<u8>]) {
        use kaichi_privatelog::store::BlockStore as _;
        if !self.pinned_by.contains_key(peer)
            && self.pinned_by.len() >= self.config.relay_max_inboxes
        {
            return;
        }
        let mut size = 0;
        for block in blocks {
            size += block.len();
            let count = self.pinned_by.get(peer).copied().unwrap_or(0);
            if size > crate::exchange::MAX_PIN_BYTES || count >= super::MAX_PINNED_PER_PEER {
                return;
            }
            let Ok(entry) = kaichi_privatelog::Entry::decode_and_verify(block, None) else {
                continue;
            };
            let cid = entry.cid().to_cid();
            if self.store.put(&cid, block).is_ok() && self.store.pin(&cid).is_ok() {
                *self.pinned_by.entry(*peer).or_default() += 1;
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .start_providing(super::provider_key(&entry.cid()))
                {
                    tracing::debug!(%e, "could not provide a pinned block");
                }
            }
        }
    }
}
