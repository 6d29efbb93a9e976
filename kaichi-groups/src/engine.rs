//! Which MLS engine holds a group: openmls (the engine Kaichi started with)
//! or mls-rs (linear in the group size; the default for new groups).

use std::fmt;
use std::str::FromStr;

/// The MLS implementation holding one member's state of a group. Members
/// of one group may use different engines: both speak RFC 9420.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum GroupEngine {
    /// openmls (`crate::Group`).
    OpenMls,
    /// mls-rs (`crate::mlsrs::RsGroup`): the default.
    #[default]
    MlsRs,
}

/// Not an engine's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MLS engine {0:?} (expected \"openmls\" or \"mls-rs\")")]
pub struct UnknownEngine(pub String);

impl GroupEngine {
    /// The number stored in the group database.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::OpenMls => 0,
            Self::MlsRs => 1,
        }
    }

    /// From the stored number.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::OpenMls),
            1 => Some(Self::MlsRs),
            _ => None,
        }
    }
}

impl fmt::Display for GroupEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OpenMls => "openmls",
            Self::MlsRs => "mls-rs",
        })
    }
}

impl FromStr for GroupEngine {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, UnknownEngine> {
        match s {
            "openmls" => Ok(Self::OpenMls),
            "mls-rs" | "mlsrs" => Ok(Self::MlsRs),
            other => Err(UnknownEngine(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for e in [GroupEngine::OpenMls, GroupEngine::MlsRs] {
            assert_eq!(e.to_string().parse::<GroupEngine>().unwrap(), e);
            assert_eq!(GroupEngine::from_code(e.code()), Some(e));
        }
        assert!("mls".parse::<GroupEngine>().is_err());
        assert_eq!(GroupEngine::from_code(7), None);
        assert_eq!(GroupEngine::default(), GroupEngine::MlsRs);
    }
}
