//! The `Node` API: start from a config, send and read direct messages,
//! subscribe to events, shut down.

use std::sync::Arc;

use kaichi_groups::GroupId;
use kaichi_groups::storage::StoredGroupMessage;
use kaichi_identity::document::verify_document;
use kaichi_identity::{IdentityKeys, IdentityPublic, IpnsName, Timestamp, WalletAddress};
use kaichi_privatelog::store::SqliteStore;
use kaichi_privatelog::{ConversationId, EntryCid, Page};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::NodeConfig;
use crate::engine::Engine;
pub(crate) use crate::error::NodeError;
use crate::rejection::Rejection;

/// Capacity of the command channel between handles and the node task.
const COMMAND_BUFFER: usize = 256;

/// What the node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// Listening on an address.
    Listening(Multiaddr),
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
    /// The sequencer.
    pub sequencer: IpnsName,
    /// Set for a token-holder group.
    pub token_gate: Option<kaichi_groups::TokenGate>,
}

pub(crate) enum GroupCommand {
    Create {
        new: kaichi_groups::NewGroup,
        reply: oneshot::Sender<Result<GroupSummary, NodeError>>,
    },
    Invite {
        group: String,
        member: String,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    Send {
        group: String,
        text: String,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    Read {
        group: String,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<StoredGroupMessage>, NodeError>>,
    },
    List {
        reply: oneshot::Sender<Result<Vec<GroupSummary>, NodeError>>,
    },
    Remove {
        group: String,
        member: String,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    Leave {
        group: String,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    Admin {
        group: String,
        member: String,
        admin: bool,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    Update {
        group: String,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
}

pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
    Dial(Multiaddr, oneshot::Sender<Result<(), NodeError>>),
    AddContact(Vec<u8>, oneshot::Sender<Result<IdentityPublic, NodeError>>),
    SendDm {
        to: String,
        text: String,
        reply: oneshot::Sender<Result<EntryCid, NodeError>>,
    },
    Read {
        peer: String,
        limit: usize,
        reply: oneshot::Sender<Result<Page, NodeError>>,
    },
    Group(GroupCommand),
    Rejections(oneshot::Sender<std::collections::BTreeMap<Rejection, u64>>),
    Shutdown,
}

/// A running Kaichi node. Cloning gives another handle to the same node.
#[derive(Debug, Clone)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    name: IpnsName,
    document: Arc<Vec<u8>>,
    task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Node {
    /// Starts a node for `keys`, publishing `document` (this identity's
    /// signed identity document) to the peers it writes to, storing in
    /// `store`. Returns the node and its event stream (bounded: events past
    /// the configured buffer are dropped rather than block the node).
    pub async fn start(
        config: NodeConfig,
        keys: IdentityKeys,
        document: Vec<u8>,
        store: Arc<SqliteStore>,
    ) -> Result<(Node, mpsc::Receiver<NodeEvent>), NodeError> {
        let now = Timestamp::from_system_time(std::time::SystemTime::now())?;
        verify_document(&document, now)?.for_name(&keys.ipns().name())?;
        let (events_tx, events_rx) = mpsc::channel(config.event_buffer);
        let (commands, commands_rx) = mpsc::channel(COMMAND_BUFFER);
        let name = keys.ipns().name();
        let engine = Engine::new(config, keys, document.clone(), store, events_tx)?;
        let peer_id = engine.peer_id();
        let task = tokio::spawn(engine.run(commands_rx));
        Ok((
            Node {
                commands,
                peer_id,
                name,
                document: Arc::new(document),
                task: Arc::new(std::sync::Mutex::new(Some(task))),
            },
            events_rx,
        ))
    }

    /// The node's PeerId (its identity's IPNS name as a PeerId).
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The identity's IPNS name.
    pub fn name(&self) -> IpnsName {
        self.name
    }

    /// This identity's signed identity document, as the node publishes it
    /// (hand it to someone out of band and they can add you as a contact).
    pub fn identity_document(&self) -> &[u8] {
        &self.document
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// The addresses the node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        self.ask(Command::ListenAddrs).await
    }

    /// The peers with at least one open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.ask(Command::ConnectedPeers).await
    }

    /// Dials a peer.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.ask(|tx| Command::Dial(addr, tx)).await?
    }

    /// Verifies a contact's identity document and records the conversation.
    pub async fn add_contact(&self, document: Vec<u8>) -> Result<IdentityPublic, NodeError> {
        self.ask(|tx| Command::AddContact(document, tx)).await?
    }

    /// Sends a direct message to a contact (wallet address or IPNS name).
    /// Returns once the entry is stored; delivery continues in the background
    /// (retried while the recipient is unreachable).
    pub async fn send_dm(&self, to: &str, text: &str) -> Result<EntryCid, NodeError> {
        let (to, text) = (to.to_owned(), text.to_owned());
        self.ask(|reply| Command::SendDm { to, text, reply })
            .await?
    }

    /// The newest `limit` messages of the conversation with a contact.
    pub async fn read(&self, peer: &str, limit: usize) -> Result<Page, NodeError> {
        let peer = peer.to_owned();
        self.ask(|reply| Command::Read { peer, limit, reply })
            .await?
    }

    /// Creates a group (this identity is its admin and sequencer): from a
    /// name, or a [`kaichi_groups::NewGroup`] with a description.
    pub async fn create_group(
        &self,
        new: impl Into<kaichi_groups::NewGroup>,
    ) -> Result<GroupSummary, NodeError> {
        let new = new.into();
        self.ask(|reply| Command::Group(GroupCommand::Create { new, reply }))
            .await?
    }

    /// Invites a contact (wallet address or IPNS name): fetches the
    /// KeyPackage their identity document references, commits the add,
    /// and sends them the Welcome sealed to their inbox. Returns the new
    /// epoch. Only the group's sequencer invites.
    pub async fn invite(&self, group: &str, member: &str) -> Result<u64, NodeError> {
        let (group, member) = (group.to_owned(), member.to_owned());
        self.ask(|reply| {
            Command::Group(GroupCommand::Invite {
                group,
                member,
                reply,
            })
        })
        .await?
    }

    /// Sends a message to a group (by id or unique name).
    pub async fn send_group(&self, group: &str, text: &str) -> Result<(), NodeError> {
        let (group, text) = (group.to_owned(), text.to_owned());
        self.ask(|reply| Command::Group(GroupCommand::Send { group, text, reply }))
            .await?
    }

    /// The newest `limit` messages of a group, oldest first.
    pub async fn read_group(
        &self,
        group: &str,
        limit: usize,
    ) -> Result<Vec<StoredGroupMessage>, NodeError> {
        let group = group.to_owned();
        self.ask(|reply| {
            Command::Group(GroupCommand::Read {
                group,
                limit,
                reply,
            })
        })
        .await?
    }

    /// The groups this identity is in.
    pub async fn groups(&self) -> Result<Vec<GroupSummary>, NodeError> {
        self.ask(|reply| Command::Group(GroupCommand::List { reply }))
            .await?
    }

    /// Removes a member (sequencer; others propose it). Returns the epoch.
    pub async fn remove_member(&self, group: &str, member: &str) -> Result<u64, NodeError> {
        let (group, member) = (group.to_owned(), member.to_owned());
        self.ask(|reply| {
            Command::Group(GroupCommand::Remove {
                group,
                member,
                reply,
            })
        })
        .await?
    }

    /// Makes a member an admin (`admin`), or no longer one: a metadata
    /// change the sequencer commits (another admin proposes it). Admins may
    /// invite and remove. Returns the epoch (the current one for a proposal).
    pub async fn set_group_admin(
        &self,
        group: &str,
        member: &str,
        admin: bool,
    ) -> Result<u64, NodeError> {
        let (group, member) = (group.to_owned(), member.to_owned());
        self.ask(|reply| {
            Command::Group(GroupCommand::Admin {
                group,
                member,
                admin,
                reply,
            })
        })
        .await?
    }

    /// Refreshes this member's leaf keys in a group (post-compromise
    /// security): the sequencer commits at once; another member proposes the
    /// update and the sequencer's node commits it. Returns the epoch (the
    /// current one for a proposal).
    pub async fn update_group_keys(&self, group: &str) -> Result<u64, NodeError> {
        let group = group.to_owned();
        self.ask(|reply| Command::Group(GroupCommand::Update { group, reply }))
            .await?
    }

    /// Leaves a group (a proposal the sequencer commits).
    pub async fn leave_group(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.ask(|reply| Command::Group(GroupCommand::Leave { group, reply }))
            .await?
    }

    /// How many messages and blocks from peers were rejected, per reason,
    /// since the node started.
    pub async fn rejections(
        &self,
    ) -> Result<std::collections::BTreeMap<Rejection, u64>, NodeError> {
        self.ask(Command::Rejections).await
    }

    /// Stops the node and waits for its task to end.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
