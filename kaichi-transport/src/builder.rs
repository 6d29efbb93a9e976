//! [`NodeBuilder`]: from a wallet and a directory to a running node.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kaichi_identity::document::{DeviceGrant, DocumentBuilder, verify_document};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp, WalletSigner};
use kaichi_privatelog::store::{Durability, SqliteStore};
use tokio::sync::mpsc;

use crate::config::{NodeConfig, NodeConfigBuilder};
use crate::error::NodeError;
use crate::keypackage::prepare_for;
use crate::node::{Node, NodeEvent};

/// The database file of a node's home directory: blocks, conversations and
/// group state share it.
pub const DATABASE_FILE: &str = "kaichi.db";
/// How long the identity document a builder signs stays valid.
pub const DEFAULT_DOCUMENT_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

/// Starts a node for a wallet, keeping its state in one directory. Made by
/// [`Node::builder`]; [`NodeBuilder::start`] does every step: derive the
/// identity keys from one wallet signature, open (or create) the
/// database, prepare the KeyPackage this identity publishes, sign the
/// identity document that references it, and start the node.
///
/// ```no_run
/// # async fn run() -> Result<(), kaichi_transport::NodeError> {
/// use kaichi_identity::wallet::KeypairWallet;
/// use kaichi_transport::Node;
///
/// let wallet = KeypairWallet::from_secret_seed(&[7; 32]);
/// let (node, mut events) = Node::builder(&wallet, "/tmp/alice")
///     .configure(|c| c.listen("/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr")))
///     .start()
///     .await?;
/// println!("{} is up", node.name());
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `start`"]
pub struct NodeBuilder<'w, W: ?Sized> {
    wallet: &'w W,
    home: Option<PathBuf>,
    epoch: KeyEpoch,
    lifetime: Duration,
    durability: Durability,
    grants: Vec<DeviceGrant>,
    /// Set for a device: the identity's document holding its grant.
    device_of: Option<Vec<u8>>,
    config: NodeConfigBuilder,
}

impl<W: ?Sized> std::fmt::Debug for NodeBuilder<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("home", &self.home)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// A builder for a node of `wallet`'s identity with its state in `home`
    /// (created if missing, mode 0700; the database is `home/kaichi.db`).
    pub fn builder<W: WalletSigner + ?Sized>(
        wallet: &W,
        home: impl Into<PathBuf>,
    ) -> NodeBuilder<'_, W> {
        NodeBuilder {
            wallet,
            home: Some(home.into()),
            epoch: KeyEpoch::ZERO,
            lifetime: DEFAULT_DOCUMENT_LIFETIME,
            durability: Durability::Full,
            grants: Vec::new(),
            device_of: None,
            config: NodeConfig::builder(),
        }
    }

    /// A builder for a node that keeps everything in memory (tests,
    /// examples, short-lived bots): nothing survives the process.
    pub fn in_memory<W: WalletSigner + ?Sized>(wallet: &W) -> NodeBuilder<'_, W> {
        NodeBuilder {
            home: None,
            ..Self::builder(wallet, PathBuf::new())
        }
    }
}

impl<W: WalletSigner + ?Sized> NodeBuilder<'_, W> {
    /// The key epoch to derive (default 0; a new epoch rotates every key).
    pub fn epoch(mut self, epoch: KeyEpoch) -> Self {
        self.epoch = epoch;
        self
    }

    /// How long the signed identity document stays valid (default 30 days).
    pub fn document_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// How hard the database syncs (default [`Durability::Full`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Lists a device grant in the identity document.
    pub fn device_grant(mut self, grant: DeviceGrant) -> Self {
        self.grants.push(grant);
        self
    }

    /// Runs the node as a device of another wallet's identity: `document`
    /// is that identity's signed document, which grants this wallet (see
    /// `kaichi_identity::document::DeviceGrant`). The node opens the grant
    /// with the keys derived from this wallet (at [`Self::epoch`]), acts for
    /// the identity (its inbox, its IPNS name), signs its group leaves and
    /// entries with its own key, is its own libp2p peer (that key's
    /// PeerId), and publishes `document` as it is: only the identity's
    /// primary wallet signs documents, so [`Self::device_grant`] and
    /// [`Self::document_lifetime`] do not apply.
    pub fn device_of(mut self, document: Vec<u8>) -> Self {
        self.device_of = Some(document);
        self
    }

    /// Sets network options (listen and bootstrap addresses, relay mode,
    /// limits, balance source ...) on the node's configuration.
    pub fn configure(mut self, f: impl FnOnce(NodeConfigBuilder) -> NodeConfigBuilder) -> Self {
        self.config = f(self.config);
        self
    }

    /// Performs every step and starts the node on the current tokio
    /// runtime. Returns the node and its bounded event stream.
    pub async fn start(mut self) -> Result<(Node, mpsc::Receiver<NodeEvent>), NodeError> {
        let own = IdentityKeys::derive(self.wallet, self.epoch)?;
        let now = Timestamp::from_system_time(std::time::SystemTime::now())?;
        let (keys, me) = match &self.device_of {
            None => {
                let me = kaichi_groups::MemberSigner::identity(own.ipns().clone());
                (own.clone(), me)
            }
            Some(document) => {
                let keys = verify_document(document, now)?.open_grant(&own)?;
                let me =
                    kaichi_groups::MemberSigner::device(keys.ipns().name(), own.ipns().clone());
                self.config = self.config.device_signing_key(own.ipns().clone());
                (keys, me)
            }
        };
        let (store, config, key_package) = match &self.home {
            Some(home) => {
                create_private_dir(home).map_err(NodeError::Home)?;
                let path = home.join(DATABASE_FILE);
                let store = SqliteStore::open(&path, self.durability)?;
                let engine = self.config.group_engine_value();
                let key_package = prepare_for(&path, &store, &me, engine)?;
                (store, self.config.group_database(&path), Some(key_package))
            }
            None => (SqliteStore::open_in_memory()?, self.config, None),
        };
        if let Some(document) = self.device_of {
            // A device's KeyPackage is its own (signed with its key); the
            // identity's document, signed by the primary, does not list it.
            drop(key_package);
            return Node::start(config.build()?, keys, document, Arc::new(store)).await;
        }
        let mut document = DocumentBuilder::new(&keys, now, self.lifetime);
        if let Some(kp) = key_package {
            document = document.key_package(kp);
        }
        for grant in self.grants {
            document = document.device(grant);
        }
        let document = document.sign(self.wallet)?;
        Node::start(config.build()?, keys, document, Arc::new(store)).await
    }
}

/// Creates `dir` (and its parents) readable by its owner only where the
/// platform has modes: the database holds MLS secrets.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}
