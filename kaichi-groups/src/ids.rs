//! Group ids.

use std::fmt;
use std::str::FromStr;

/// A group's id: 32 random bytes, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId([u8; 32]);

/// A group id did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupIdError {
    /// Not 32 bytes.
    #[error("a group id is 32 bytes, got {0}")]
    Length(usize),
    /// Not hex.
    #[error("a group id is 64 hex digits")]
    Hex,
}

impl GroupId {
    /// The length of a group id in bytes.
    pub const LEN: usize = 32;

    /// From its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From a byte slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, GroupIdError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| GroupIdError::Length(bytes.len()))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn to_mls(self) -> openmls::group::GroupId {
        openmls::group::GroupId::from_slice(&self.0)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupId({self})")
    }
}

impl FromStr for GroupId {
    type Err = GroupIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(GroupIdError::Hex);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| GroupIdError::Hex)?;
        }
        Ok(Self(out))
    }
}

/// A group named the way a person names it: by id, or by its (unique) name.
///
/// Parsing never fails: 64 hex digits are an id, anything else a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupRef {
    /// By id.
    Id(GroupId),
    /// By name (it must name exactly one group).
    Name(String),
}

impl fmt::Display for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for GroupRef {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.into())
    }
}

impl From<&str> for GroupRef {
    fn from(s: &str) -> Self {
        s.parse()
            .map_or_else(|_| Self::Name(s.to_owned()), Self::Id)
    }
}

impl From<String> for GroupRef {
    fn from(s: String) -> Self {
        s.parse().map_or(Self::Name(s), Self::Id)
    }
}

impl From<&String> for GroupRef {
    fn from(s: &String) -> Self {
        s.as_str().into()
    }
}

impl From<GroupId> for GroupRef {
    fn from(id: GroupId) -> Self {
        Self::Id(id)
    }
}

impl From<&GroupId> for GroupRef {
    fn from(id: &GroupId) -> Self {
        Self::Id(*id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        let id = GroupId::from_bytes([0xab; 32]);
        assert_eq!(id.to_string().parse::<GroupId>().unwrap(), id);
        assert_eq!(GroupRef::from(id.to_string()), GroupRef::Id(id));
        assert_eq!(GroupRef::from("friends"), GroupRef::Name("friends".into()));
        assert_eq!(GroupRef::from(&id).to_string(), id.to_string());
        assert_eq!(
            "friends".parse::<GroupRef>().unwrap().to_string(),
            "friends"
        );
        assert_eq!("ab".parse::<GroupId>(), Err(GroupIdError::Hex));
        assert_eq!(GroupId::from_slice(&[1; 3]), Err(GroupIdError::Length(3)));
    }
}
