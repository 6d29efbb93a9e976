#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

mod base36;
mod derive;
pub mod document;
mod encoding;
pub mod ipns;
mod keys;
mod name;
mod time;
pub mod wallet;

pub use derive::{DeriveError, IdentityKeys, IdentityPublic, KeyEpoch, derivation_message};
pub use keys::{DmPublicKey, DmSecret, IpnsKeypair, IpnsPublicKey, KeyError, StoreKey};
pub use name::{IpnsName, NameError};
pub use time::{Timestamp, TimestampError};
pub use wallet::{WalletAddress, WalletSignature, WalletSigner};
