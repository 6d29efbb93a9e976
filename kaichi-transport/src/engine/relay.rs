//! Relay/store mode: follow the inbox topics of connected peers, hold their
//! sealed notifications, hand them to the inbox's owner on reconnect.

use std::collections::VecDeque;

use kaichi_identity::IpnsName;
use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, TopicHash};

use super::{Engine, inbox_topic};

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
        if self.followed_groups.contains(&topic)
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
            self.followed_groups.insert(topic);
        }
    }
}
