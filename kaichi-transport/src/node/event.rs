//! What a node reports: [`NodeEvent`]s and [`GroupSummary`]s.

use kaichi_groups::GroupId;
use kaichi_identity::{IpnsName, WalletAddress};
use kaichi_privatelog::{ConversationId, EntryCid, MessageBody};
use libp2p::{Multiaddr, PeerId};

use crate::rejection::Rejection;

/// When this node last heard from another device of its identity: an
/// entry that device signed arrived and verified (self-sync).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceSeen {
    /// The device's signing key; `None` for the identity's own key (the
    /// primary wallet's node).
    pub signing_key: Option<kaichi_identity::IpnsPublicKey>,
    /// When.
    pub at: kaichi_identity::Timestamp,
}

/// What the node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// Listening on an address.
    Listening(Multiaddr),
    /// This identity's document changed while the node runs (handed over
    /// with [`crate::Node::set_identity_document`], or a newer one taken
    /// from another device of the identity): the signed bytes, to keep and
    /// start from next time.
    IdentityDocument(Vec<u8>),
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
    /// Someone not a contact wrote first (or invited this identity to a
    /// group): their conversation is a message request until accepted
    /// ([`crate::Node::accept_request`], or writing to them); their messages
    /// are kept and reported as usual, their invitations wait.
    MessageRequest {
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
    /// The contact acknowledged storing entries this identity wrote in
    /// their conversation (a delivery receipt; each entry is reported once).
    Delivered {
        /// The conversation.
        conversation: ConversationId,
        /// The entries now delivered.
        entries: Vec<EntryCid>,
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
    /// A token-holder group's sequencer refused our join request.
    JoinRefused {
        /// The group.
        group: GroupId,
        /// The sequencer.
        by: IpnsName,
        /// Why.
        reason: JoinRefused,
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

/// Why a token-holder group's sequencer refused a join request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinRefused {
    /// The wallet holds too little of the group's token (base units).
    #[error("holds {held}, needs {needed}")]
    InsufficientBalance {
        /// What it holds.
        held: u64,
        /// What the group asks for.
        needed: u64,
    },
    /// The sequencer could not read the balance (its RPC failed): try again.
    #[error("the sequencer could not read the balance; try again later")]
    BalanceUnavailable,
    /// The group takes no join requests (not token-gated, or the peer
    /// asked is not its sequencer).
    #[error("the group takes no join requests from here")]
    NotOpen,
    /// The sequencer has no such group.
    #[error("the sequencer has no such group")]
    UnknownGroup,
    /// Too many requests from this identity: wait a little.
    #[error("too many requests; wait a little")]
    TooManyRequests,
    /// Already a member.
    #[error("already a member")]
    AlreadyMember,
    /// The group's rules refuse it (its KeyPackage or credential, say).
    #[error("refused by the group's rules")]
    Policy,
    /// A reason this version does not know.
    #[error("refused (reason {0})")]
    Other(u32),
}

impl JoinRefused {
    /// The wire code and the amounts (`JoinRefusal`).
    pub(crate) fn to_wire(self) -> (u32, u64, u64) {
        match self {
            Self::InsufficientBalance { held, needed } => (1, held, needed),
            Self::BalanceUnavailable => (2, 0, 0),
            Self::NotOpen => (3, 0, 0),
            Self::UnknownGroup => (4, 0, 0),
            Self::TooManyRequests => (5, 0, 0),
            Self::AlreadyMember => (6, 0, 0),
            Self::Policy => (7, 0, 0),
            Self::Other(code) => (code, 0, 0),
        }
    }

    /// From the wire code and amounts.
    pub(crate) fn from_wire(code: u32, held: u64, needed: u64) -> Self {
        match code {
            1 => Self::InsufficientBalance { held, needed },
            2 => Self::BalanceUnavailable,
            3 => Self::NotOpen,
            4 => Self::UnknownGroup,
            5 => Self::TooManyRequests,
            6 => Self::AlreadyMember,
            7 => Self::Policy,
            other => Self::Other(other),
        }
    }
}

/// A token-holder group found by its mint ([`crate::Node::find_token_groups`]):
/// announced by its sequencer over an authenticated connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGroupInfo {
    /// The group.
    pub group: GroupId,
    /// Its name, as the sequencer announces it.
    pub name: String,
    /// Its sequencer (the peer that answered).
    pub sequencer: IpnsName,
    /// The mint it is gated on.
    pub mint: WalletAddress,
    /// The least balance, in base units.
    pub minimum: u64,
}
