//! Gossipsub events: notifications on this identity's inbox, group
//! messages, what a relay holds, and peers subscribing to topics.

use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};

use super::{Engine, groups, inbox_topic};
use crate::node::NodeEvent;
use crate::rejection::Rejection;

impl Engine {
    pub(super) fn gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                // Sent by its publisher itself, or forwarded by a peer
                // that could not check what we refuse (sealed content).
                let direct = message.source == Some(propagation_source);
                let acceptance = if message.topic == inbox_topic(&self.keys.ipns().name()).hash() {
                    self.own_notification(propagation_source, &message.data, direct)
                } else if let Some(id) = self.group_of_topic(&message.topic) {
                    self.group_gossip(id, message.source, &message.data)
                } else {
                    let now = std::time::Instant::now();
                    // A group message sent by reference: a relay holding
                    // it pins the message's blob too (fetched from the
                    // publisher), so members away can fetch it later.
                    let blob = groups::reference::is_reference(&message.data)
                        .then(|| groups::reference::parse(&message.data).ok())
                        .flatten()
                        .map(|r| r.blob);
                    let acceptance = self
                        .relay
                        .gossip(
                            &message.topic,
                            message.data,
                            (message.source, propagation_source),
                            now,
                        )
                        .unwrap_or(MessageAcceptance::Ignore);
                    for abuser in self.relay.take_abusers() {
                        tracing::info!(%abuser, "disconnecting a peer flooding inboxes");
                        *self.rejections.entry(Rejection::RateLimited).or_default() += 1;
                        let _ = self.swarm.disconnect_peer_id(abuser);
                    }
                    if let (MessageAcceptance::Accept, Some(blob), Some(source)) =
                        (&acceptance, blob, message.source)
                    {
                        self.walk_pins(source, vec![blob]);
                    }
                    acceptance
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                self.flush_pending();
                if let Some(id) = self.group_of_topic(&topic) {
                    self.group_peer_subscribed(id, peer_id);
                }
                self.resync(&topic);
                if topic == inbox_topic(&self.keys.ipns().name()).hash() {
                    // Another device of this identity (or a relay holding
                    // for one): tell it our groups.
                    self.own_device_online();
                }
                self.follow(topic);
            }
            _ => {}
        }
    }

    /// A notification on this identity's inbox. One refused is rejected
    /// (a gossipsub penalty) when its publisher sent it (`direct`); a peer
    /// that forwarded it (a relay) could not open it to check, so it is
    /// only ignored.
    fn own_notification(&mut self, from: PeerId, data: &[u8], direct: bool) -> MessageAcceptance {
        match self.notification(data) {
            Ok(()) => MessageAcceptance::Accept,
            Err(reason) => {
                self.rejected(from, reason);
                if direct {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                }
            }
        }
    }

    /// Counts a rejection and reports it.
    pub(super) fn rejected(&mut self, peer: PeerId, reason: Rejection) {
        *self.rejections.entry(reason).or_default() += 1;
        self.emit(NodeEvent::Rejected { peer, reason });
    }
}
