//! Split Welcomes, for commits that add thousands of members.
//!
//! An RFC 9420 Welcome carries one `EncryptedGroupSecrets` per new member
//! (about 120 bytes each) beside one `encrypted_group_info` they all share:
//! 11.8 MB for a group created with 100,000 members, which every invitee
//! would fetch to use 120 bytes of it. Split, the Welcome becomes a
//! *header* (the same Welcome with no secrets: cipher suite and encrypted
//! GroupInfo) and *shards* (the secrets sorted by the KeyPackageRef they
//! are for, a few hundred to a shard). An invitee computes the reference of
//! its own KeyPackage ([`key_package_ref`]), picks the one shard whose
//! range holds it ([`shard_for`]), and rebuilds a Welcome holding its entry
//! alone ([`welcome_for`]): still a valid RFC 9420 Welcome, which either
//! engine joins from. Nothing here is secret or signed: a wrong shard or
//! header only makes the join fail, as a wrong Welcome would.
//!
//! Sans-IO: bytes in, bytes out; where the parts are stored and how they
//! are named is the transport's business.

use sha2::{Digest as _, Sha256};
use tls_codec::{Deserialize as _, TlsDeserialize, TlsSerialize, TlsSize, VLBytes};

use crate::MAX_MESSAGE_BYTES;

/// RFC 9420 `ProtocolVersion` mls10.
const MLS10: u16 = 1;
/// RFC 9420 `WireFormat` mls_welcome.
const WIRE_WELCOME: u16 = 3;
/// RFC 9420 `WireFormat` mls_key_package.
const WIRE_KEY_PACKAGE: u16 = 5;
/// Kaichi's one cipher suite, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
const SUITE: u16 = 1;
/// The label of a KeyPackageRef (RFC 9420 §5.2).
const KEY_PACKAGE_REF_LABEL: &[u8] = b"MLS 1.0 KeyPackage Reference";
/// Most secrets one shard may hold (a shard is fetched whole).
pub const MAX_SHARD_SECRETS: usize = 4096;
/// Secrets per shard when splitting: 256 × ~120 bytes ≈ 30 KB, one block.
pub const DEFAULT_SHARD_SECRETS: usize = 256;

/// The reference RFC 9420 gives a KeyPackage (`MakeKeyPackageRef`, §5.2),
/// which a Welcome names each new member by. 32 bytes (SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPackageRef([u8; 32]);

impl KeyPackageRef {
    /// The reference's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WelcomeError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| WelcomeError::Reference)
    }
}

/// A Welcome, a split part of one, or a KeyPackage could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WelcomeError {
    /// Over [`MAX_MESSAGE_BYTES`].
    #[error("too large")]
    TooLarge,
    /// Not the TLS encoding of what it should be.
    #[error("not a well-formed {0}")]
    Decode(&'static str),
    /// An `MLSMessage` of another version or kind than expected.
    #[error(
        "an MLSMessage of version {version} and wire format {wire_format}, expected a {expected}"
    )]
    WrongMessage {
        /// Its protocol version.
        version: u16,
        /// Its wire format.
        wire_format: u16,
        /// What was expected.
        expected: &'static str,
    },
    /// For another cipher suite than Kaichi's 0x0001.
    #[error("cipher suite {0:#06x}, not Kaichi's 0x0001")]
    WrongCiphersuite(u16),
    /// A header that still carries secrets, or a shard not sorted, empty,
    /// or over [`MAX_SHARD_SECRETS`].
    #[error("malformed split Welcome: {0}")]
    Malformed(&'static str),
    /// A KeyPackageRef that is not 32 bytes.
    #[error("a KeyPackageRef is 32 bytes")]
    Reference,
    /// The shard holds no entry for any of this member's KeyPackages.
    #[error("the shard has no entry for this member")]
    NotForMe,
}

/// One new member's `EncryptedGroupSecrets`.
#[derive(Debug, Clone, PartialEq, Eq, TlsSerialize, TlsDeserialize, TlsSize)]
struct Secret {
    new_member: VLBytes,
    kem_output: VLBytes,
    ciphertext: VLBytes,
}

/// An `MLSMessage` carrying a Welcome.
#[derive(Debug, Clone, PartialEq, Eq, TlsSerialize, TlsDeserialize, TlsSize)]
struct WelcomeMessage {
    version: u16,
    wire_format: u16,
    cipher_suite: u16,
    secrets: Vec<Secret>,
    encrypted_group_info: VLBytes,
}

/// A Welcome split for delivery: the shared header and the shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitWelcome {
    /// The Welcome without secrets (`MLSMessage` bytes).
    pub header: Vec<u8>,
    /// The secrets, sorted by KeyPackageRef, in shards.
    pub shards: Vec<WelcomeShard>,
}

/// One shard: the first KeyPackageRef it holds, and its bytes (the TLS
/// vector of its `EncryptedGroupSecrets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeShard {
    /// The smallest reference in the shard; shards follow each other in
    /// this order, so a member's shard is the last one starting at or
    /// before its reference.
    pub first: KeyPackageRef,
    /// The shard's bytes.
    pub bytes: Vec<u8>,
}

/// Checks an `MLSMessage`'s size and its version and wire format (the
/// kind first, for a clear error on another kind); returns what follows
/// them (`None`: fewer than four bytes).
fn message_of<'a>(
    bytes: &'a [u8],
    wire: u16,
    expected: &'static str,
) -> Result<Option<&'a [u8]>, WelcomeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WelcomeError::TooLarge);
    }
    let [v0, v1, w0, w1, rest @ ..] = bytes else {
        return Ok(None);
    };
    let (version, wire_format) = (
        u16::from_be_bytes([*v0, *v1]),
        u16::from_be_bytes([*w0, *w1]),
    );
    if version != MLS10 || wire_format != wire {
        return Err(WelcomeError::WrongMessage {
            version,
            wire_format,
            expected,
        });
    }
    Ok(Some(rest))
}

fn decode_welcome(bytes: &[u8]) -> Result<WelcomeMessage, WelcomeError> {
    message_of(bytes, WIRE_WELCOME, "Welcome")?;
    let m = WelcomeMessage::tls_deserialize_exact(bytes)
        .map_err(|_| WelcomeError::Decode("Welcome"))?;
    if m.cipher_suite != SUITE {
        return Err(WelcomeError::WrongCiphersuite(m.cipher_suite));
    }
    Ok(m)
}

fn reference_of(secret: &Secret) -> Result<KeyPackageRef, WelcomeError> {
    KeyPackageRef::from_slice(secret.new_member.as_slice())
}

fn encode<T: tls_codec::Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, WelcomeError> {
    value
        .tls_serialize_detached()
        .map_err(|_| WelcomeError::Decode(what))
}

/// Splits a Welcome (`MLSMessage` bytes) into a header and shards of at
/// most `per_shard` secrets (clamped to 1..=[`MAX_SHARD_SECRETS`]).
pub fn split_welcome(welcome: &[u8], per_shard: usize) -> Result<SplitWelcome, WelcomeError> {
    let mut m = decode_welcome(welcome)?;
    let mut secrets = std::mem::take(&mut m.secrets)
        .into_iter()
        .map(|s| Ok((reference_of(&s)?, s)))
        .collect::<Result<Vec<_>, WelcomeError>>()?;
    secrets.sort_by_key(|(r, _)| *r);
    let header = encode(&m, "Welcome")?;
    let per_shard = per_shard.clamp(1, MAX_SHARD_SECRETS);
    let shards = secrets
        .chunks(per_shard)
        .map(|chunk| {
            let list: Vec<Secret> = chunk.iter().map(|(_, s)| s.clone()).collect();
            Ok(WelcomeShard {
                first: chunk[0].0,
                bytes: encode(&list, "shard")?,
            })
        })
        .collect::<Result<Vec<_>, WelcomeError>>()?;
    Ok(SplitWelcome { header, shards })
}

/// How many new members a Welcome names (without splitting it).
pub fn welcome_secrets(welcome: &[u8]) -> Result<usize, WelcomeError> {
    Ok(decode_welcome(welcome)?.secrets.len())
}

/// Which shard may hold an entry for any of `mine`, given each shard's
/// first reference in order: the last shard starting at or before the
/// reference, for each reference (deduplicated, in shard order).
pub fn shard_for(firsts: &[KeyPackageRef], mine: &[KeyPackageRef]) -> Vec<usize> {
    let mut found: Vec<usize> = mine
        .iter()
        .filter_map(|r| firsts.partition_point(|f| f <= r).checked_sub(1))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Rebuilds, from a split Welcome's header and one shard, the Welcome for
/// whichever of `mine` (this member's KeyPackageRefs) the shard holds an
/// entry for: an RFC 9420 Welcome naming that member alone.
pub fn welcome_for(
    header: &[u8],
    shard: &[u8],
    mine: &[KeyPackageRef],
) -> Result<Vec<u8>, WelcomeError> {
    let mut m = decode_welcome(header)?;
    if !m.secrets.is_empty() {
        return Err(WelcomeError::Malformed("the header carries secrets"));
    }
    if shard.len() > MAX_MESSAGE_BYTES {
        return Err(WelcomeError::TooLarge);
    }
    let list = Vec::<Secret>::tls_deserialize_exact(shard)
        .map_err(|_| WelcomeError::Decode("Welcome shard"))?;
    if list.is_empty() || list.len() > MAX_SHARD_SECRETS {
        return Err(WelcomeError::Malformed("a shard holds 1 to 4,096 secrets"));
    }
    let mut refs = Vec::with_capacity(list.len());
    for s in &list {
        refs.push(reference_of(s)?);
    }
    if refs.windows(2).any(|w| w[0] > w[1]) {
        return Err(WelcomeError::Malformed("a shard's secrets are sorted"));
    }
    let entry = mine
        .iter()
        .find_map(|r| refs.binary_search(r).ok())
        .ok_or(WelcomeError::NotForMe)?;
    m.secrets = vec![list[entry].clone()];
    encode(&m, "Welcome")
}

/// The KeyPackageRef of a KeyPackage given as `MLSMessage` bytes (RFC 9420
/// §5.2: `RefHash("MLS 1.0 KeyPackage Reference", KeyPackage)` under the
/// cipher suite's hash, SHA-256 for Kaichi's). The KeyPackage is not
/// validated here: it is this member's own, or one being added.
pub fn key_package_ref(key_package: &[u8]) -> Result<KeyPackageRef, WelcomeError> {
    let rest = message_of(key_package, WIRE_KEY_PACKAGE, "KeyPackage")?
        .ok_or(WelcomeError::Decode("KeyPackage"))?;
    // KeyPackage { version u16, cipher_suite u16, ... }: the suite decides the hash.
    let suite = match rest {
        [_, _, s0, s1, ..] => u16::from_be_bytes([*s0, *s1]),
        _ => return Err(WelcomeError::Decode("KeyPackage")),
    };
    if suite != SUITE {
        return Err(WelcomeError::WrongCiphersuite(suite));
    }
    // RefHashInput { opaque label<V>; opaque value<V>; }
    let input = (
        VLBytes::new(KEY_PACKAGE_REF_LABEL.to_vec()),
        VLBytes::new(rest.to_vec()),
    );
    let mut hasher = Sha256::new();
    hasher.update(encode(&input.0, "label")?);
    hasher.update(encode(&input.1, "KeyPackage")?);
    Ok(KeyPackageRef(hasher.finalize().into()))
}
