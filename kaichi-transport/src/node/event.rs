//! What a node reports: [`NodeEvent`]s and [`GroupSummary`]s.

use kaichi_groups::GroupId;
use kaichi_identity::{IpnsName, WalletAddress};
use kaichi_privatelog::{ConversationId, EntryCid, MessageBody};
use libp2p::{Multiaddr, PeerId};

use crate::rejection::Rejection;

/// What the node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// Listening on an address.
    Listening(Multiaddr),
    /// AutoNAT's verdict changed: whether peers could dial this node back,
    /// and at which address.
    Reachability {
        /// The address peers reached, when public.
        public: Option<Multiaddr>,
    },
    /// The node became a DHT server (it answers queries and stores
    /// records) or a client (it only asks).
    DhtServer(bool),
    /// A connection to a peer opened.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// Someone new wrote to us; their identity document verified.
    ContactAdded {
        /// Their IPNS name.
        name: IpnsName,
        /// Their wallet.
        wallet: WalletAddress,
    },
    /// A text message arrived (decrypted and verified).
    MessageReceived {
        /// The conversation.
        conversation: ConversationId,
        /// The author.
        from: IpnsName,
        /// The entry.
        cid: EntryCid,
        /// The text.
        text: String,
    },
    /// A message changed the conversation without adding text: an edit, a
    /// deletion, a reaction or a read marker (decrypted and verified; the
    /// conversation's view already shows its effect).
    MessageChanged {
        /// The conversation.
        conversation: ConversationId,
        /// The author.
        from: IpnsName,
        /// The entry.
        cid: EntryCid,
        /// What it says.
        body: MessageBody,
    },
    /// This node joined a group (from an invitation).
    GroupJoined {
        /// The group.
        group: GroupId,
        /// Its name.
        name: String,
    },
    /// A group message arrived (decrypted and verified).
    GroupMessage {
        /// The group.
        group: GroupId,
        /// The sender.
        from: IpnsName,
        /// The text.
        text: String,
    },
    /// A group's membership or metadata changed (a commit applied).
    GroupChanged {
        /// The group.
        group: GroupId,
        /// The epoch it is at now.
        epoch: u64,
        /// Who joined.
        added: Vec<IpnsName>,
        /// Who left or was removed.
        removed: Vec<IpnsName>,
    },
    /// This node was removed from a group.
    GroupRemoved {
        /// The group.
        group: GroupId,
    },
    /// A notification or block was rejected and its sender penalised.
    Rejected {
        /// The peer that forwarded it.
        peer: PeerId,
        /// Why.
        reason: Rejection,
    },
}

/// A group as the node reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// Its id.
    pub id: GroupId,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The current epoch.
    pub epoch: u64,
    /// The members' identities.
    pub members: Vec<IpnsName>,
    /// The sequencer (`None` in a plain RFC 9420 group, where any member
    /// commits).
    pub sequencer: Option<IpnsName>,
    /// Set for a token-holder group.
    pub token_gate: Option<kaichi_groups::TokenGate>,
    /// The MLS engine holding this member's state of it.
    pub engine: kaichi_groups::GroupEngine,
}
