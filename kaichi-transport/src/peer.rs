//! [`Peer`]: whom a DM or an invitation is for, by wallet address or IPNS name.

use kaichi_identity::{IpnsName, WalletAddress};

/// A person, named by their Solana wallet address or their IPNS name
/// (`k51…`, a base32 CIDv1 or a base58 PeerId).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// By wallet address (base58).
    Wallet(WalletAddress),
    /// By IPNS name.
    Name(IpnsName),
}

impl Peer {
    /// Whether this names the identity with `wallet` and `name`.
    pub fn names(&self, wallet: &WalletAddress, name: &IpnsName) -> bool {
        match self {
            Self::Wallet(w) => w == wallet,
            Self::Name(n) => n == name,
        }
    }
}

/// Text that is neither a wallet address nor an IPNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither a wallet address nor an IPNS name")]
pub struct PeerParseError(pub String);

impl std::str::FromStr for Peer {
    type Err = PeerParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // An IPNS name in base58 (a PeerId, 12D3Koo…) is not a 32-byte
        // wallet address, so the order cannot confuse the two.
        if let Ok(w) = s.parse() {
            return Ok(Self::Wallet(w));
        }
        s.parse()
            .map(Self::Name)
            .map_err(|_| PeerParseError(s.to_owned()))
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Wallet(w) => w.fmt(f),
            Self::Name(n) => n.fmt(f),
        }
    }
}

impl From<WalletAddress> for Peer {
    fn from(w: WalletAddress) -> Self {
        Self::Wallet(w)
    }
}

impl From<IpnsName> for Peer {
    fn from(n: IpnsName) -> Self {
        Self::Name(n)
    }
}

impl From<&kaichi_identity::IdentityPublic> for Peer {
    fn from(p: &kaichi_identity::IdentityPublic) -> Self {
        Self::Name(p.ipns_name())
    }
}

/// What names a [`Peer`] in the [`Node`](crate::Node) API: a [`Peer`], a
/// [`WalletAddress`], an [`IpnsName`], or text that parses as one (as
/// `std::net::ToSocketAddrs` takes an address or a string).
pub trait IntoPeer {
    /// The peer, or why the text names none.
    fn into_peer(self) -> Result<Peer, PeerParseError>;
}

impl IntoPeer for Peer {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        Ok(self)
    }
}

impl IntoPeer for &Peer {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        Ok(*self)
    }
}

impl IntoPeer for WalletAddress {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        Ok(Peer::Wallet(self))
    }
}

impl IntoPeer for IpnsName {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        Ok(Peer::Name(self))
    }
}

impl IntoPeer for &kaichi_identity::IdentityPublic {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        Ok(self.into())
    }
}

impl IntoPeer for &str {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        self.parse()
    }
}

impl IntoPeer for &String {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        self.parse()
    }
}

impl IntoPeer for String {
    fn into_peer(self) -> Result<Peer, PeerParseError> {
        self.parse()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wallets_and_names_round_trip() {
        let w = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";
        let p: Peer = w.parse().unwrap();
        assert!(matches!(p, Peer::Wallet(_)));
        assert_eq!(p.to_string(), w);
        let name = kaichi_identity::IpnsKeypair::from_seed(&[7; 32]).name();
        let p: Peer = name.to_string().parse().unwrap();
        assert_eq!(p, Peer::Name(name));
        assert_eq!(p.to_string().parse::<Peer>().unwrap(), p);
        assert!("not a peer".parse::<Peer>().is_err());
        assert_eq!(name.into_peer().unwrap(), Peer::Name(name));
        assert_eq!(w.into_peer().unwrap().to_string(), w);
        assert!("not a peer".into_peer().is_err());
    }
}
