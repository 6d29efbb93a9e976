//! [`MlsError`]: what the MLS engine reported, by kind.

use std::fmt;

/// What kind of failure the MLS engine reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MlsErrorKind {
    /// The group state storage failed (the database: a local fault).
    Storage,
    /// The random number generator failed (a local fault).
    Randomness,
    /// The engine refused the operation or the message: a protocol
    /// violation, a bad signature, a failed decryption, a missing key.
    Protocol,
}

impl fmt::Display for MlsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Storage => "storage",
            Self::Randomness => "randomness",
            Self::Protocol => "protocol",
        })
    }
}

/// A failure the MLS engine reported, by kind, with its description.
///
/// The engine's own error types are generic over its storage and are not
/// kept; the kind tells a local fault (storage, randomness) from a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct MlsError {
    kind: MlsErrorKind,
    detail: String,
}

impl MlsError {
    /// The kind of failure.
    pub fn kind(&self) -> MlsErrorKind {
        self.kind
    }

    /// The engine's description of it.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether it is a local fault (storage or randomness), not something
    /// a peer or the caller did.
    pub fn is_local(&self) -> bool {
        matches!(self.kind, MlsErrorKind::Storage | MlsErrorKind::Randomness)
    }

    /// A storage failure.
    pub(crate) fn storage(e: impl fmt::Debug) -> Self {
        Self {
            kind: MlsErrorKind::Storage,
            detail: format!("{e:?}"),
        }
    }

    /// A randomness failure.
    pub(crate) fn randomness(e: impl fmt::Debug) -> Self {
        Self {
            kind: MlsErrorKind::Randomness,
            detail: format!("{e:?}"),
        }
    }

    /// A refusal.
    pub(crate) fn protocol(e: impl fmt::Display) -> Self {
        Self {
            kind: MlsErrorKind::Protocol,
            detail: e.to_string(),
        }
    }
}
