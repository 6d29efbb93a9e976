//! The commands a [`Node`](super::Node) handle sends its task.

use kaichi_groups::GroupRef;
use kaichi_groups::storage::StoredGroupMessage;
use kaichi_identity::IdentityPublic;
use kaichi_privatelog::{EntryCid, MessageBody, Page};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use super::{GroupSummary, NodeError};
use crate::peer::Peer;
use crate::rejection::Rejection;

/// Where a command's answer goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

pub(crate) enum GroupCommand {
    Create {
        new: kaichi_groups::NewGroup,
        engine: Option<kaichi_groups::GroupEngine>,
        reply: Reply<GroupSummary>,
    },
    Invite {
        group: GroupRef,
        member: Peer,
        reply: Reply<u64>,
    },
    AddMembers {
        group: GroupRef,
        key_packages: Vec<Vec<u8>>,
        reply: Reply<u64>,
    },
    FindTokenGroups {
        mint: kaichi_identity::WalletAddress,
        reply: Reply<Vec<super::TokenGroupInfo>>,
    },
    RequestJoin {
        group: kaichi_groups::GroupId,
        sequencer: Peer,
        reply: Reply<()>,
    },
    Send {
        group: GroupRef,
        text: String,
        reply: Reply<()>,
    },
    Read {
        group: GroupRef,
        limit: usize,
        reply: Reply<Vec<StoredGroupMessage>>,
    },
    List {
        reply: Reply<Vec<GroupSummary>>,
    },
    Remove {
        group: GroupRef,
        member: Peer,
        reply: Reply<u64>,
    },
    Leave {
        group: GroupRef,
        reply: Reply<()>,
    },
    Admin {
        group: GroupRef,
        member: Peer,
        admin: bool,
        reply: Reply<u64>,
    },
    Update {
        group: GroupRef,
        reply: Reply<u64>,
    },
}

pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
    Root(oneshot::Sender<Option<kaichi_privatelog::RootCid>>),
    Status(oneshot::Sender<super::NodeStatus>),
    Dial(Multiaddr, Reply<()>),
    Connect(Multiaddr, Reply<PeerId>),
    AddContact(Vec<u8>, Reply<IdentityPublic>),
    SetDocument(Vec<u8>, Reply<()>),
    Send {
        to: Peer,
        body: MessageBody,
        reply: Reply<EntryCid>,
    },
    Read {
        peer: Peer,
        limit: usize,
        reply: Reply<Page>,
    },
    Group(GroupCommand),
    GetBlock {
        cid: cid::Cid,
        reply: Reply<Vec<u8>>,
    },
    Resolve {
        name: kaichi_identity::IpnsName,
        reply: Reply<kaichi_identity::ipns::IpnsRecord>,
    },
    Attachment {
        message: EntryCid,
        index: usize,
        reply: Reply<kaichi_privatelog::Attachment>,
    },
    Sync {
        peer: Peer,
        reply: Reply<super::SyncReport>,
    },
    Rejections(oneshot::Sender<std::collections::BTreeMap<Rejection, u64>>),
    DevicesSeen(oneshot::Sender<Vec<super::DeviceSeen>>),
    Requests(Reply<Vec<IdentityPublic>>),
    AcceptRequest(Peer, Reply<IdentityPublic>),
    Block(Peer, Reply<kaichi_identity::WalletAddress>),
    Unblock(kaichi_identity::WalletAddress, Reply<()>),
    Shutdown,
}
