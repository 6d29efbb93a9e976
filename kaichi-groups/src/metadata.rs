//! Group metadata, carried in a group context extension so every member
//! agrees on it at every epoch. A group without the extension (a plain
//! RFC 9420 group another MLS client created) gets documented defaults:
//! [`GroupMetadata::plain`].
//!
//! Extension type [`METADATA_EXTENSION`] (from the private-use range), value:
//!
//! ```proto
//! message GroupMetadata {
//!   string name = 1;          // at most 128 bytes
//!   string description = 2;   // at most 1,024 bytes
//!   repeated string admins = 3;  // IPNS names, at most 64
//!   string sequencer = 4;     // IPNS name of the only member that commits
//!   bytes token_mint = 5;     // token-holder group: the SPL mint (32 bytes), or empty
//!   uint64 token_minimum = 6; // least balance of that mint, in base units
//! }
//! ```

use kaichi_identity::{IpnsName, WalletAddress};
use openmls::prelude::{Extension, ExtensionType, Extensions, GroupContext, UnknownExtension};
use prost::Message as _;

/// The group context extension type of [`GroupMetadata`] (private use, RFC 9420 §17.3).
pub const METADATA_EXTENSION: u16 = 0xF1CA;
/// Most bytes in a group name.
pub const MAX_NAME_BYTES: usize = 128;
/// Most bytes in a description.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Most admins.
pub const MAX_ADMINS: usize = 64;

/// A group's name, description, admins and sequencer.
///
/// Kaichi's own groups carry it in the group context ([`METADATA_EXTENSION`],
/// always naming a sequencer). A plain RFC 9420 group (created by another
/// MLS implementation, without that extension) has the defaults of
/// [`GroupMetadata::plain`]: no sequencer, no admins, so the RFC's rules
/// apply: any member may add, remove, commit and change the group context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Members who may add and remove others and change the metadata.
    pub admins: Vec<IpnsName>,
    /// The one member whose commits are accepted; `None` in a plain
    /// RFC 9420 group, where any member's are.
    pub sequencer: Option<IpnsName>,
    /// A token-holder group: members' wallets must hold at least this much
    /// of an SPL token (see [`crate::MetadataPolicy`]).
    pub token_gate: Option<TokenGate>,
}

/// Admission to a token-holder group: a wallet must hold at least
/// `minimum` base units of the SPL token `mint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGate {
    /// The token's mint address.
    pub mint: WalletAddress,
    /// Least balance, in base units.
    pub minimum: u64,
}

/// Metadata is malformed or over its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataDecodeError {
    /// The group has no metadata extension.
    #[error("the group context has no Kaichi metadata")]
    Missing,
    /// Not a valid encoding.
    #[error("metadata does not decode")]
    Decode,
    /// A field is over its bound.
    #[error("metadata field {0} is over its bound")]
    TooLong(&'static str),
    /// Kaichi metadata names no sequencer.
    #[error("the metadata names no sequencer")]
    NoSequencer,
    /// An admin or the sequencer is not an IPNS name.
    #[error("metadata names something that is not an IPNS name")]
    BadName,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Proto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    description: String,
    #[prost(string, repeated, tag = "3")]
    admins: Vec<String>,
    #[prost(string, tag = "4")]
    sequencer: String,
    #[prost(bytes = "vec", tag = "5")]
    token_mint: Vec<u8>,
    #[prost(uint64, tag = "6")]
    token_minimum: u64,
}

impl GroupMetadata {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), MetadataDecodeError> {
        if self.name.len() > MAX_NAME_BYTES {
            return Err(MetadataDecodeError::TooLong("name"));
        }
        if self.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(MetadataDecodeError::TooLong("description"));
        }
        if self.admins.len() > MAX_ADMINS {
            return Err(MetadataDecodeError::TooLong("admins"));
        }
        Ok(())
    }

    /// The defaults of a plain RFC 9420 group (no Kaichi metadata): named
    /// `group <first 8 hex digits of its id>`, no description, no admins, no
    /// sequencer, no token gate.
    pub fn plain(id: &crate::GroupId) -> Self {
        let hex = id.to_string();
        Self {
            name: format!("group {}", &hex[..hex.len().min(8)]),
            description: String::new(),
            admins: Vec::new(),
            sequencer: None,
            token_gate: None,
        }
    }

    /// Whether these are a plain group's defaults (no sequencer): any
    /// member may add, remove and commit.
    pub fn is_plain(&self) -> bool {
        self.sequencer.is_none()
    }

    /// Whether `name` is the sequencer.
    pub fn is_sequencer(&self, name: &IpnsName) -> bool {
        self.sequencer.as_ref() == Some(name)
    }

    /// Whether `name` is an admin.
    pub fn is_admin(&self, name: &IpnsName) -> bool {
        self.admins.contains(name)
    }

    /// The encoded extension value.
    pub fn encode(&self) -> Vec<u8> {
        Proto {
            name: self.name.clone(),
            description: self.description.clone(),
            admins: self.admins.iter().map(|a| a.to_string()).collect(),
            sequencer: self.sequencer.map(|s| s.to_string()).unwrap_or_default(),
            token_mint: self
                .token_gate
                .map(|g| g.mint.to_bytes().to_vec())
                .unwrap_or_default(),
            token_minimum: self.token_gate.map(|g| g.minimum).unwrap_or_default(),
        }
        .encode_to_vec()
    }

    /// Decodes and validates an extension value.
    pub fn decode(bytes: &[u8]) -> Result<Self, MetadataDecodeError> {
        let max = MAX_NAME_BYTES + MAX_DESCRIPTION_BYTES + MAX_ADMINS * 80 + 256;
        if bytes.len() > max {
            return Err(MetadataDecodeError::TooLong("metadata"));
        }
        let p = Proto::decode(bytes).map_err(|_| MetadataDecodeError::Decode)?;
        let name = |s: &str| {
            s.parse::<IpnsName>()
                .map_err(|_| MetadataDecodeError::BadName)
        };
        let token_gate = match p.token_mint.as_slice() {
            [] => None,
            mint => Some(TokenGate {
                mint: <[u8; 32]>::try_from(mint)
                    .map(WalletAddress::from_bytes)
                    .map_err(|_| MetadataDecodeError::Decode)?,
                minimum: p.token_minimum,
            }),
        };
        let m = Self {
            name: p.name,
            description: p.description,
            admins: p.admins.iter().map(|a| name(a)).collect::<Result<_, _>>()?,
            sequencer: match p.sequencer.as_str() {
                "" => return Err(MetadataDecodeError::NoSequencer),
                s => Some(name(s)?),
            },
            token_gate,
        };
        m.validate()?;
        Ok(m)
    }

    /// The metadata of a group context ([`MetadataDecodeError::Missing`]
    /// without the extension).
    pub fn from_extensions(ext: &Extensions<GroupContext>) -> Result<Self, MetadataDecodeError> {
        ext.unknown(METADATA_EXTENSION)
            .ok_or(MetadataDecodeError::Missing)
            .and_then(|u| Self::decode(&u.0))
    }

    /// The metadata of group `id`'s context: its extension, or a plain
    /// group's defaults without one. A malformed extension is an error.
    pub fn from_context(
        id: &crate::GroupId,
        ext: &Extensions<GroupContext>,
    ) -> Result<Self, MetadataDecodeError> {
        Self::from_value(id, ext.unknown(METADATA_EXTENSION).map(|u| u.0.as_slice()))
    }

    /// The metadata from the [`METADATA_EXTENSION`] value of group `id`'s
    /// context, whichever MLS engine read it: decoded when present, a plain
    /// group's defaults when absent.
    pub fn from_value(
        id: &crate::GroupId,
        value: Option<&[u8]>,
    ) -> Result<Self, MetadataDecodeError> {
        match value {
            Some(bytes) => Self::decode(bytes),
            None => Ok(Self::plain(id)),
        }
    }

    /// The group context extensions carrying this metadata (and requiring
    /// every member to support it).
    pub(crate) fn to_extensions(&self) -> Result<Extensions<GroupContext>, crate::MlsError> {
        Extensions::from_vec(vec![
            Extension::Unknown(METADATA_EXTENSION, UnknownExtension(self.encode())),
            Extension::RequiredCapabilities(
                openmls::extensions::RequiredCapabilitiesExtension::new(
                    &[ExtensionType::Unknown(METADATA_EXTENSION)],
                    &[],
                    &[],
                ),
            ),
        ])
        .map_err(crate::MlsError::protocol)
    }
}
