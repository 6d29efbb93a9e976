//! Properties of key derivation and IPNS names, plus the libp2p peer-id spec examples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_identity::wallet::{KeypairWallet, WalletSigner};
use kaichi_identity::{IdentityKeys, IpnsKeypair, IpnsName, KeyEpoch, NameError};
use kaichi_test_support::hex::decode as hex;
use proptest::prelude::*;

/// The Ed25519 test vector of the libp2p peer-id specification
/// (libp2p/specs, peer-ids/peer-ids.md, "Test vectors"): the protobuf public
/// and private keys; the PeerId is the one go-, js- and rust-libp2p print.
#[test]
fn libp2p_peer_id_spec_ed25519_vector() {
    let proto = hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(&proto).unwrap();
    let ed = pk.try_into_ed25519().unwrap();
    let key = kaichi_identity::IpnsPublicKey::from_bytes(&ed.to_bytes()).unwrap();
    let name = key.name();
    assert_eq!(
        name.to_peer_id_string(),
        "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
    );
    assert_eq!(name.inlined_ed25519(), Some(key));
    // The spec's private key (protobuf) carries seed 7e08...ee7d; our key
    // from that seed is the spec's public key.
    let seed: [u8; 32] = hex("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d")
        .try_into()
        .unwrap();
    assert_eq!(IpnsKeypair::from_seed(&seed).public(), key);
    // All accepted spellings parse to the same name.
    let k51 = name.to_string();
    assert!(k51.starts_with("k51qzi5uqu5d"), "{k51}");
    let b32 = name
        .to_cid()
        .to_string_of_base(cid::multibase::Base::Base32Lower)
        .unwrap();
    for s in [
        k51.as_str(),
        b32.as_str(),
        "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
    ] {
        assert_eq!(s.parse::<IpnsName>().unwrap(), name, "{s}");
    }
}

/// A sha2-256 (RSA-era) PeerId in base58 is accepted as a name too.
#[test]
fn hashed_peer_ids_parse_but_inline_no_key() {
    let name: IpnsName = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
        .parse()
        .unwrap();
    assert_eq!(name.inlined_ed25519(), None);
    assert_eq!(name.to_string().parse::<IpnsName>().unwrap(), name);
}

#[test]
fn bad_names_get_typed_errors() {
    assert_eq!("".parse::<IpnsName>(), Err(NameError::Empty));
    assert!(matches!(
        "k".repeat(300).parse::<IpnsName>(),
        Err(NameError::TooLong { .. })
    ));
    assert!(matches!(
        "not a name".parse::<IpnsName>(),
        Err(NameError::Malformed(_))
    ));
    // A valid CIDv1 of another codec (raw).
    assert_eq!(
        "bafkqaddwgevxmmraojswg33smq".parse::<IpnsName>(),
        Err(NameError::WrongCodec(0x55))
    );
    // Truncated k51 name.
    let k51 = IpnsKeypair::from_seed(&[1; 32]).name().to_string();
    assert!(k51[..k51.len() - 3].parse::<IpnsName>().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Same wallet and epoch: same keys; another epoch: unrelated keys.
    #[test]
    fn derivation_is_deterministic_and_epoch_separated(seed in any::<[u8; 32]>(), e1 in any::<u32>(), e2 in any::<u32>()) {
        prop_assume!(e1 != e2);
        let w = KeypairWallet::from_secret_seed(&seed);
        let a = IdentityKeys::derive(&w, KeyEpoch::new(e1)).unwrap();
        let again = IdentityKeys::derive(&KeypairWallet::from_keypair_json(w.to_keypair_json().as_bytes()).unwrap(), KeyEpoch::new(e1)).unwrap();
        prop_assert_eq!(&a, &again);
        let b = IdentityKeys::derive(&w, KeyEpoch::new(e2)).unwrap();
        prop_assert_ne!(a.ipns(), b.ipns());
        prop_assert_ne!(a.dm(), b.dm());
        prop_assert_ne!(a.store(), b.store());
        prop_assert_eq!(a.wallet(), w.address());
    }

    /// Different wallets never share keys.
    #[test]
    fn wallets_are_separated(s1 in any::<[u8; 32]>(), s2 in any::<[u8; 32]>()) {
        prop_assume!(s1 != s2);
        let a = IdentityKeys::derive(&KeypairWallet::from_secret_seed(&s1), KeyEpoch::ZERO).unwrap();
        let b = IdentityKeys::derive(&KeypairWallet::from_secret_seed(&s2), KeyEpoch::ZERO).unwrap();
        prop_assert_ne!(a.ipns().name(), b.ipns().name());
        prop_assert_ne!(a.dm().public(), b.dm().public());
    }

    /// Display/FromStr and bytes round-trip for every spelling.
    #[test]
    fn names_round_trip(seed in any::<[u8; 32]>()) {
        let name = IpnsKeypair::from_seed(&seed).name();
        prop_assert_eq!(name.to_string().parse::<IpnsName>().unwrap(), name);
        prop_assert_eq!(name.to_peer_id_string().parse::<IpnsName>().unwrap(), name);
        prop_assert_eq!(IpnsName::from_bytes(&name.to_bytes()).unwrap(), name);
        prop_assert!(name.to_string().starts_with("k51"));
    }

    #[test]
    fn name_parsing_never_panics(s in ".{0,120}") {
        let _ = s.parse::<IpnsName>();
    }
}
