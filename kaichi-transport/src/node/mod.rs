//! The `Node` API: start from a config, send and read direct messages and
//! group messages, subscribe to events, shut down.
//!
//! The handle's methods live by concern: [`dm`] for conversations,
//! [`groups`] for groups; [`command`] is what a handle sends the task.

mod blocks;
mod command;
mod dm;
mod event;
mod files;
mod groups;
mod status;

pub(crate) use command::{Command, GroupCommand, Reply};
pub use dm::SyncReport;
pub use event::{DeviceSeen, GroupSummary, JoinRefused, NodeEvent, TokenGroupInfo};
pub use groups::MAX_ADD_MEMBERS;
pub use status::{ConnectedPeer, NodeStatus, Reachability, RelayLoad};

use std::sync::Arc;

use kaichi_identity::document::verify_document;
use kaichi_identity::{IdentityKeys, IdentityPublic, IpnsName, Timestamp};
use kaichi_privatelog::store::SqliteStore;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::NodeConfig;
use crate::engine::Engine;
pub(crate) use crate::error::NodeError;
use crate::rejection::Rejection;

/// The identity document as handles see it, replaced whole by the task.
pub(crate) type SharedDocument = Arc<std::sync::RwLock<Arc<[u8]>>>;

/// Capacity of the command channel between handles and the node task.
const COMMAND_BUFFER: usize = 256;

/// A running Kaichi node. Cloning gives another handle to the same node.
#[derive(Debug, Clone)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    name: IpnsName,
    /// The identity document as last set (replaced by
    /// [`Node::set_identity_document`]).
    document: SharedDocument,
    /// The block store, shared with the node task (files are written and
    /// read here, in the caller's task, a chunk at a time).
    store: Arc<SqliteStore>,
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
        let document: SharedDocument = Arc::new(std::sync::RwLock::new(document.into()));
        let engine = Engine::new(config, keys, document.clone(), store.clone(), events_tx)?;
        let peer_id = engine.peer_id();
        let task = tokio::spawn(engine.run(commands_rx));
        Ok((
            Node {
                commands,
                peer_id,
                name,
                document,
                store,
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
    pub fn identity_document(&self) -> Arc<[u8]> {
        // A panic elsewhere cannot leave the document half-written: it is
        // replaced whole.
        self.document
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces this identity's document while the node runs (after a
    /// device was approved or revoked): it must verify, be this identity's,
    /// be newer than the node's and, on a device's node, still grant this
    /// device. The node stores and pins it, links it from its root, applies
    /// its grants (a revoked device's entries are refused from now on, and
    /// its leaves removed from the groups this node sequences) and
    /// publishes its IPNS record at once. Nothing changes on an error.
    pub async fn set_identity_document(&self, document: Vec<u8>) -> Result<(), NodeError> {
        // The task updates the handles' copy as it takes the document, so
        // concurrent calls leave the newest.
        self.ask(|tx| Command::SetDocument(document, tx)).await?
    }

    pub(crate) async fn ask<T>(
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

    /// The root this identity's IPNS record points to (the last one
    /// published to the DHT), or `None` before the node met a DHT peer.
    pub async fn root(&self) -> Result<Option<kaichi_privatelog::RootCid>, NodeError> {
        self.ask(Command::Root).await
    }

    /// A snapshot of the node: addresses, reachability, peers and relays,
    /// DHT mode and routing table, what waits to be sent or acknowledged.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        self.ask(Command::Status).await
    }

    /// The peers with at least one open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NodeError> {
        self.ask(Command::ConnectedPeers).await
    }

    /// Dials a peer; returns once the dial has started (its outcome shows
    /// as [`NodeEvent::PeerConnected`] or not at all). See
    /// [`connect`](Self::connect) to wait for it.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.ask(|tx| Command::Dial(addr, tx)).await?
    }

    /// Dials `addr` and waits for the outcome: the peer once a connection
    /// to it is up, or [`NodeError::Dial`] with why the dial failed (every
    /// transport bounds its handshake, so this returns). At most
    /// 64 calls wait at once ([`NodeError::TooManyConnects`] past that).
    pub async fn connect(&self, addr: Multiaddr) -> Result<PeerId, NodeError> {
        self.ask(|tx| Command::Connect(addr, tx)).await?
    }

    /// Verifies a contact's identity document and records the conversation.
    pub async fn add_contact(&self, document: Vec<u8>) -> Result<IdentityPublic, NodeError> {
        self.ask(|tx| Command::AddContact(document, tx)).await?
    }

    /// The identities whose conversations are message requests: they wrote
    /// (or invited this identity) without being contacts.
    pub async fn requests(&self) -> Result<Vec<IdentityPublic>, NodeError> {
        self.ask(Command::Requests).await?
    }

    /// Accepts `peer`'s message request: a contact from now on, and the
    /// group invitations it sent are taken up. (Writing to them accepts
    /// too.) Returns who it is.
    pub async fn accept_request(
        &self,
        peer: impl crate::IntoPeer,
    ) -> Result<IdentityPublic, NodeError> {
        let peer = peer.into_peer()?;
        self.ask(|tx| Command::AcceptRequest(peer, tx)).await?
    }

    /// Blocks `peer`'s wallet (a contact's, a request's, or any): its
    /// notifications are refused and nothing of it is kept, now and after
    /// restarts, until [`Self::unblock`]. Returns the wallet.
    pub async fn block(
        &self,
        peer: impl crate::IntoPeer,
    ) -> Result<kaichi_identity::WalletAddress, NodeError> {
        let peer = peer.into_peer()?;
        self.ask(|tx| Command::Block(peer, tx)).await?
    }

    /// Unblocks `wallet`.
    pub async fn unblock(&self, wallet: kaichi_identity::WalletAddress) -> Result<(), NodeError> {
        self.ask(|tx| Command::Unblock(wallet, tx)).await?
    }

    /// When this node last heard from each of its identity's other devices
    /// (since it started; a device not heard from is not listed).
    pub async fn devices_seen(&self) -> Result<Vec<DeviceSeen>, NodeError> {
        self.ask(Command::DevicesSeen).await
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
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(%e, "the node task ended abnormally");
        }
    }
}
