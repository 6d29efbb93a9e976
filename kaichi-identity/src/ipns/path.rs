//! Content paths, the values IPNS records normally point at.

use std::fmt;
use std::str::FromStr;

use cid::Cid;

use crate::name::IpnsName;

/// Longest content path accepted (well under the record size limit).
pub const MAX_PATH_BYTES: usize = 4096;

/// A path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Neither `/ipfs/...` nor `/ipns/...`.
    #[error("a content path starts with /ipfs/<cid> or /ipns/<name>")]
    UnknownNamespace,
    /// The CID after `/ipfs/` does not parse.
    #[error("bad CID in /ipfs/ path: {0}")]
    BadCid(String),
    /// The name after `/ipns/` does not parse.
    #[error("bad name in /ipns/ path: {0}")]
    BadName(String),
    /// Longer than [`MAX_PATH_BYTES`].
    #[error("content path is {actual} bytes (max {max})")]
    TooLong {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
}

/// A validated `/ipfs/<cid>[/sub/path]` or `/ipns/<name>[/sub/path]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentPath(String);

impl ContentPath {
    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContentPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong {
                actual: s.len(),
                max: MAX_PATH_BYTES,
            });
        }
        if let Some(rest) = s.strip_prefix("/ipfs/") {
            let root = rest.split('/').next().unwrap_or_default();
            Cid::try_from(root).map_err(|e| PathError::BadCid(e.to_string()))?;
        } else if let Some(rest) = s.strip_prefix("/ipns/") {
            let root = rest.split('/').next().unwrap_or_default();
            // DNSLink names (with a dot) are valid IPNS paths too.
            if !root.contains('.') {
                root.parse::<IpnsName>()
                    .map_err(|e| PathError::BadName(e.to_string()))?;
            }
        } else {
            return Err(PathError::UnknownNamespace);
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(
            "/ipfs/bafkqaddwgevxmmraojswg33smq"
                .parse::<ContentPath>()
                .is_ok()
        );
        assert!(
            "/ipfs/bafkqaddwgevxmmraojswg33smq/a/b"
                .parse::<ContentPath>()
                .is_ok()
        );
        assert!("/ipns/example.com".parse::<ContentPath>().is_ok());
        assert!(matches!(
            "/ipfs/nope".parse::<ContentPath>(),
            Err(PathError::BadCid(_))
        ));
        assert!(matches!(
            "/ipns/nope".parse::<ContentPath>(),
            Err(PathError::BadName(_))
        ));
        assert_eq!(
            "ipfs/x".parse::<ContentPath>(),
            Err(PathError::UnknownNamespace)
        );
    }
}
