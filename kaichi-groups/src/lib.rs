//! Kaichi's group chats: MLS (RFC 9420) through openmls, bound to wallet
//! identities. A sans-IO core: bytes and an openmls provider (crypto,
//! randomness, storage) in; wire messages, events and typed errors out.
//!
//! - A member's credential is a `BasicCredential` whose identity is its IPNS
//!   name (`k51…`, UTF-8) and whose leaf signature key is the Ed25519 key that
//!   name encodes, or a device key a [`DeviceDirectory`] vouches for
//!   ([`credential`]). Adding, joining and every received commit check it.
//! - Group metadata (name, description, admins, sequencer) lives in a group
//!   context extension ([`GroupMetadata`]); only the sequencer commits, and a
//!   [`GroupPolicy`] decides who may add, remove, propose and change metadata.
//! - Wire formats are RFC 9420 `MLSMessage`s (TLS presentation language).
//!
//! ```
//! use kaichi_groups::{AdminPolicy, Candidate, Group, MemberSigner, MemoryProvider, NewGroup,
//!     NoDevices, Outgoing, key_package};
//! use kaichi_identity::IpnsKeypair;
//!
//! let (alice_p, bob_p) = (MemoryProvider::default(), MemoryProvider::default());
//! let alice = MemberSigner::identity(IpnsKeypair::from_seed(&[1; 32]));
//! let bob = MemberSigner::identity(IpnsKeypair::from_seed(&[2; 32]));
//!
//! let mut group = Group::create(&alice_p, &alice, NewGroup::named("friends"))?;
//! let kp = key_package(&bob_p, &bob, false)?;
//! let Outgoing::Commit(out) =
//!     group.add(&alice_p, &alice, &AdminPolicy, &NoDevices, &[Candidate::new(kp)])?
//! else { unreachable!("the creator is the sequencer") };
//! let mut bobs = Group::join(&bob_p, out.welcome.as_deref().unwrap_or_default(),
//!     out.ratchet_tree.as_deref(), &NoDevices)?;
//! let msg = group.send(&alice_p, &alice, b"hello")?;
//! let event = bobs.process(&bob_p, &AdminPolicy, &NoDevices, &msg)?;
//! assert!(matches!(event, kaichi_groups::GroupEvent::Message { ref text, .. } if text == b"hello"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod credential;
pub mod devices;
mod engine;
mod group;
mod ids;
mod keypackage;
pub mod metadata;
pub mod mlsrs;
pub mod policy;
#[cfg(feature = "sqlite")]
pub mod session;
mod signer;
pub mod storage;
pub mod token;
pub mod tree;
pub mod welcome;
mod wire;

pub use credential::{CredentialError, DeviceDirectory, NoDevices};
pub use devices::KnownDevices;
pub use engine::{GroupEngine, UnknownEngine};
pub use group::{
    AddError, Candidate, CommitError, CommitOutput, CreateError, DEFAULT_PAST_EPOCHS, Group,
    GroupEvent, JoinError, LeaveError, LoadError, MAX_PAST_EPOCHS, MemberInfo, MetadataError,
    MlsError, MlsErrorKind, NewGroup, Outgoing, ProcessError, RemoveError, SendError,
    SettingsError, UpdateError,
};
pub use ids::{GroupId, GroupIdError, GroupRef};
pub use keypackage::{KeyPackageError, key_package, parse_key_package};
pub use metadata::{GroupMetadata, TokenGate};
pub use policy::{
    AdminPolicy, BalanceError, BalanceSource, GroupPolicy, MetadataPolicy, NoBalances,
    PolicyContext, SharedBalanceSource, StandardPolicy, TokenHolderPolicy,
};
#[cfg(feature = "sqlite")]
pub use session::{GroupSession, SessionError, SessionOutput};
pub use signer::MemberSigner;
pub use storage::MemoryProvider;
#[cfg(feature = "sqlite")]
pub use storage::{GroupDatabase, SqliteProvider};
pub use tree::{RatchetTree, TreeDecoder, TreeError};
pub use welcome::{KeyPackageRef, SplitWelcome, WelcomeError, WelcomeShard};
pub use wire::{MessageInfo, MessageInfoError, MessageKind, message_info};

/// The one ciphersuite Kaichi groups use:
/// `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519` (0x0001).
pub const CIPHERSUITE: openmls::prelude::Ciphersuite =
    openmls::prelude::Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Most bytes of an MLS message accepted from a peer (a Welcome for 20,000
/// members is about 7 MB; ratchet trees travel separately).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Most bytes of a ratchet tree accepted for a join (about 237 bytes a
/// member: 100,000 members are 23.7 MB; this bound admits about 280,000).
pub const MAX_TREE_BYTES: usize = 64 * 1024 * 1024;

pub use openmls;
