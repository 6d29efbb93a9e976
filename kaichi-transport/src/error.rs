//! [`NodeError`]: why a node operation failed, with its cause kept.

use kaichi_identity::IpnsName;
use kaichi_identity::document::DocumentError;
use kaichi_privatelog::AppendError;
use kaichi_privatelog::store::StoreError;

use crate::notification::NotificationError;
use crate::peer::{Peer, PeerParseError};

/// A node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
    /// Not a wallet address or IPNS name.
    #[error(transparent)]
    InvalidPeer(#[from] PeerParseError),
    /// The peer is not a contact (and was not looked up).
    #[error("{0} is not a contact")]
    NotAContact(Peer),
    /// No verifiable identity document of the peer was found in the DHT.
    #[error("{0} is not a contact (no identity document found in the DHT)")]
    DocumentNotFound(Peer),
    /// The DHT returned a document of another identity than the one asked for.
    #[error("the DHT returned another identity's document for {0}")]
    WrongDocument(Peer),
    /// Too many DHT lookups are in flight; try again later.
    #[error("too many DHT lookups in flight")]
    TooManyLookups,
    /// No connected peer (nor provider found) sent the block in time.
    #[error("block {0} not found in time")]
    BlockNotFound(cid::Cid),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file changed size while it was being sent.
    #[error("{} changed while it was being sent", .0.display())]
    FileChanged(std::path::PathBuf),
    /// An attachment could not be sealed or opened.
    #[error(transparent)]
    Attachment(#[from] kaichi_privatelog::attachment::AttachmentError),
    /// No message with that CID carries an attachment at that index.
    #[error("message {message} has no attachment {index}")]
    AttachmentNotFound {
        /// The message.
        message: kaichi_privatelog::EntryCid,
        /// The attachment's index.
        index: usize,
    },
    /// A sync through IPNS did not fetch everything the contact's root
    /// leads to before its deadline (what arrived is kept).
    #[error("sync incomplete: {fetched} entries fetched, {missing} still missing")]
    SyncIncomplete {
        /// Entries fetched.
        fetched: u64,
        /// Entries still missing.
        missing: usize,
    },
    /// No valid IPNS record of the name was found in the DHT.
    #[error("no valid IPNS record of {0} found")]
    NameNotFound(kaichi_identity::IpnsName),
    /// Too many block requests are in flight; try again later.
    #[error("too many block requests in flight")]
    TooManyBlockRequests,
    /// Too many [`Node::connect`](crate::Node::connect) calls wait for
    /// their connection; try again later.
    #[error("too many connection attempts awaited")]
    TooManyConnects,
    /// The block store failed.
    #[error("block store: {0}")]
    Blocks(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The identity document is invalid.
    #[error("identity document: {0}")]
    Document(#[from] DocumentError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A conversation could not be loaded from the store.
    #[error("loading a conversation: {0}")]
    LoadConversation(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The message could not be written.
    #[error("append: {0}")]
    Append(#[from] AppendError),
    /// The notification could not be sealed.
    #[error("notification: {0}")]
    Notification(#[from] NotificationError),
    /// The conversation keys could not be derived.
    #[error("conversation: {0}")]
    Conversation(#[from] kaichi_privatelog::ConversationKeyError),
    /// A group operation was refused or failed (see
    /// [`kaichi_groups::SessionError::denied`] for policy refusals).
    #[error("group: {0}")]
    Group(#[from] kaichi_groups::SessionError),
    /// The group database failed.
    #[error("group database: {0}")]
    GroupDatabase(#[from] kaichi_groups::storage::DatabaseError),
    /// A Welcome for many members could not be split for delivery.
    #[error("splitting a Welcome: {0}")]
    SplitWelcome(#[from] kaichi_groups::WelcomeError),
    /// A split Welcome's index could not be made.
    #[error("indexing a split Welcome: {0}")]
    WelcomeIndex(#[from] crate::welcome_index::WelcomeIndexError),
    /// The published KeyPackage could not be prepared.
    #[error("KeyPackage: {0}")]
    KeyPackage(#[from] kaichi_groups::session::KeyPackagePrepareError),
    /// The invitee's identity document lists no KeyPackage.
    #[error("{0} publishes no KeyPackage (their identity document lists none)")]
    NoKeyPackage(IpnsName),
    /// More members, or larger KeyPackages, than one add may carry.
    #[error("too many members to add at once: at most {max} KeyPackages of 64 KiB")]
    TooManyMembers {
        /// The bound.
        max: usize,
    },
    /// The invitee's KeyPackage could not be fetched (over Bitswap, from
    /// their node or any peer holding it).
    #[error("could not fetch {member}'s KeyPackage: {reason}")]
    KeyPackageUnavailable {
        /// The invitee.
        member: IpnsName,
        /// Why (no peer served it in time, say).
        reason: String,
    },
    /// The operating system's randomness failed.
    #[error("OS randomness: {0}")]
    Randomness(#[from] getrandom::Error),
    /// The system clock is outside the range Kaichi accepts.
    #[error("system clock: {0}")]
    Clock(#[from] kaichi_identity::TimestampError),
    /// The identity keys could not be derived (the wallet did not sign).
    #[error("deriving the identity keys: {0}")]
    Identity(#[from] kaichi_identity::DeriveError),
    /// The identity document could not be signed.
    #[error("signing the identity document: {0}")]
    DocumentBuild(#[from] kaichi_identity::document::BuildError),
    /// A device could not open its grant in the identity's document (it was
    /// revoked, or the document is another identity's).
    #[error("opening this device's grant: {0}")]
    DeviceGrant(#[from] kaichi_identity::document::OpenGrantError),
    /// A new identity document for this node is not newer than the one
    /// it has.
    #[error(
        "the identity document given (created {given}) is not newer than this node's ({current}; a document a device approved counts from its authority's time)"
    )]
    StaleDocument {
        /// When the document given was created.
        given: kaichi_identity::Timestamp,
        /// When the node's current document was created.
        current: kaichi_identity::Timestamp,
    },
    /// A new identity document no longer grants this device (it was
    /// revoked): the node keeps the document it has.
    #[error("the identity document given no longer grants this device")]
    DeviceNotGranted,
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// The node's home directory could not be created.
    #[error("home directory: {0}")]
    Home(#[source] std::io::Error),
    /// The identity's libp2p key could not be made.
    #[error("libp2p key: {0}")]
    Key(#[from] kaichi_identity::KeyError),
    /// The transports could not be set up.
    #[error("transport set-up: {0}")]
    TransportSetup(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The node could not listen on an address.
    #[error("listening: {0}")]
    Listen(#[from] libp2p::TransportError<std::io::Error>),
    /// A dial failed at once.
    #[error("dialling: {0}")]
    Dial(#[from] libp2p::swarm::DialError),
    /// A gossipsub subscription failed.
    #[error("subscribing: {0}")]
    Subscribe(#[from] libp2p::gossipsub::SubscriptionError),
}
