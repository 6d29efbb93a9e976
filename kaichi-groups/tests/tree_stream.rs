//! A ratchet tree decoded chunk by chunk (`TreeDecoder`) is the tree the
//! whole encoding decodes to, however the bytes are cut; whatever the input,
//! chunked and whole decoding end the same way, never in a panic; and a
//! member joins from a streamed tree as from its bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use kaichi_groups::mlsrs::RsMember;
use kaichi_groups::tree::MAX_NODE_BYTES;
use kaichi_groups::{
    AdminPolicy, Candidate, MAX_TREE_BYTES, MemberSigner, NewGroup, NoDevices, Outgoing,
    RatchetTree, TreeDecoder, TreeError,
};
use kaichi_identity::IpnsKeypair;
use proptest::prelude::*;

fn member(i: u8) -> RsMember<AdminPolicy> {
    RsMember::new(
        &MemberSigner::identity(IpnsKeypair::from_seed(&[i; 32])),
        AdminPolicy,
        Arc::new(NoDevices),
    )
}

/// A group of 13 (member 1 created it; member 2 can join) and the Welcome
/// and tree of the commit that added everyone.
struct Fixture {
    joiner: RsMember<AdminPolicy>,
    welcome: Vec<u8>,
    tree: Vec<u8>,
    authenticator: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let joiner = member(2);
        let mut g = member(1).create(NewGroup::named("stream")).unwrap();
        let mut candidates = vec![Candidate::new(joiner.key_package().unwrap())];
        candidates.extend((3..14).map(|i| Candidate::new(member(i).key_package().unwrap())));
        let Outgoing::Commit(out) = g.add(&candidates).unwrap() else {
            panic!("the creator commits")
        };
        Fixture {
            joiner,
            welcome: out.welcome.unwrap(),
            tree: out.ratchet_tree.unwrap(),
            authenticator: g.epoch_authenticator().unwrap(),
        }
    })
}

/// Decodes `bytes` cut at `cuts` (positions, any order, clamped).
fn chunked(bytes: &[u8], cuts: &[usize], bound: usize) -> Result<RatchetTree, TreeError> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    let mut decoder = TreeDecoder::new(bound);
    for w in at.windows(2) {
        decoder.push(&bytes[w[0]..w[1]])?;
    }
    decoder.finish()
}

/// What a decoding gave, comparable: the re-encoding or the error.
fn outcome(r: Result<RatchetTree, TreeError>) -> Result<Vec<u8>, TreeError> {
    r.map(|t| t.to_bytes())
}

#[test]
fn a_streamed_tree_joins_like_its_bytes() {
    let f = fixture();
    let mut decoder = TreeDecoder::new(MAX_TREE_BYTES);
    for chunk in f.tree.chunks(7) {
        decoder.push(chunk).unwrap();
    }
    assert_eq!(decoder.bytes_seen(), f.tree.len());
    let tree = decoder.finish().unwrap();
    assert_eq!(tree.member_count(), 13);
    assert_eq!(tree.encoded_len(), f.tree.len());
    assert_eq!(tree.to_bytes(), f.tree);
    let streamed = f.joiner.join_tree(&f.welcome, Some(&tree)).unwrap();
    assert_eq!(streamed.epoch_authenticator().unwrap(), f.authenticator);
    assert_eq!(streamed.members().len(), 13);
}

#[test]
fn a_wrong_or_cut_tree_is_refused_with_a_typed_error() {
    let f = fixture();
    // Cut anywhere before the end: never a tree.
    for end in [0, 1, 2, f.tree.len() / 2, f.tree.len() - 1] {
        assert!(
            matches!(
                chunked(&f.tree[..end], &[end / 3], MAX_TREE_BYTES),
                Err(TreeError::Truncated { .. })
            ),
            "cut at {end}"
        );
    }
    // A byte after the vector.
    let mut longer = f.tree.clone();
    longer.push(0);
    assert_eq!(
        chunked(&longer, &[5], MAX_TREE_BYTES).unwrap_err(),
        TreeError::Trailing
    );
    // Over the bound.
    assert_eq!(
        RatchetTree::from_bytes(&f.tree, f.tree.len() - 1).unwrap_err(),
        TreeError::TooLarge {
            bound: f.tree.len() - 1
        }
    );
    // A refused decoder stays refused.
    let mut d = TreeDecoder::new(8);
    assert!(d.push(&[0; 9]).is_err());
    assert!(matches!(d.push(&[]), Err(TreeError::Refused(_))));
    // A blank last node, and an empty tree.
    assert_eq!(
        RatchetTree::from_bytes(&[0x01, 0x00], 64).unwrap_err(),
        TreeError::LastNodeBlank
    );
    assert_eq!(
        RatchetTree::from_bytes(&[0x00], 64).unwrap_err(),
        TreeError::Empty
    );
    // The join refuses a cut tree before any MLS work.
    assert!(matches!(
        f.joiner.join(&f.welcome, Some(&f.tree[..f.tree.len() - 1])),
        Err(kaichi_groups::JoinError::Tree(TreeError::Truncated { .. }))
    ));
}

#[test]
fn a_leaf_at_a_parents_place_is_refused() {
    let f = fixture();
    // The tree's first node is a leaf: repeat it as node 1.
    let first = first_node(&f.tree);
    let mut body = first.clone();
    body.extend_from_slice(&first);
    body.extend_from_slice(&first);
    let bytes = with_length(&body);
    assert_eq!(
        RatchetTree::from_bytes(&bytes, MAX_TREE_BYTES).unwrap_err(),
        TreeError::Misplaced {
            node: 1,
            found: "leaf",
            expected: "parent"
        }
    );
}

#[test]
fn a_node_over_its_bound_is_refused_however_it_arrives() {
    // A leaf (present, node type 1) whose first field announces more than
    // MAX_NODE_BYTES: refused once that many bytes are in, whole or cut.
    // 0x80 starts a four-byte length: 0x00200000 (2 MiB).
    let mut body = vec![0x01, 0x01, 0x80, 0x20, 0x00, 0x00];
    body.resize(MAX_NODE_BYTES + 64, 7);
    let bytes = with_length(&body);
    let whole = RatchetTree::from_bytes(&bytes, MAX_TREE_BYTES).unwrap_err();
    assert_eq!(whole, TreeError::NodeTooLarge { node: 0 });
    let cuts: Vec<usize> = (1..40).map(|i| i * 30_011).collect();
    assert_eq!(chunked(&bytes, &cuts, MAX_TREE_BYTES).unwrap_err(), whole);
}

/// The first node of an encoded tree (a one-byte-length-prefixed vector
/// would not hold 13 members: the prefix is 2 or 4 bytes).
fn first_node(tree: &[u8]) -> Vec<u8> {
    let prefix = 1 << (tree[0] >> 6);
    // Find where node 0 ends by decoding growing prefixes of the body.
    let body = &tree[prefix..];
    (1..body.len())
        .find(|&n| RatchetTree::from_bytes(&with_length(&body[..n]), MAX_TREE_BYTES).is_ok())
        .map(|n| body[..n].to_vec())
        .unwrap()
}

/// `body` with its TLS variable-length prefix (RFC 9420 §2.1.2).
fn with_length(body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut out = if n < 1 << 6 {
        vec![n as u8]
    } else if n < 1 << 14 {
        vec![0x40 | (n >> 8) as u8, n as u8]
    } else {
        vec![
            0x80 | (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ]
    };
    out.extend_from_slice(body);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However the tree's bytes are cut, the decoded tree is the same.
    #[test]
    fn any_cuts_decode_the_same_tree(cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        let f = fixture();
        let tree = chunked(&f.tree, &cuts, MAX_TREE_BYTES).unwrap();
        prop_assert_eq!(tree.to_bytes(), f.tree.clone());
    }

    /// Whatever the bytes (a real tree with bytes changed, or noise),
    /// chunked decoding ends as whole decoding does, and a tree decoded
    /// re-encodes to its input.
    #[test]
    fn chunked_and_whole_decoding_agree(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        use_noise in any::<bool>(),
    ) {
        let f = fixture();
        let bytes = if use_noise {
            noise
        } else {
            let mut b = f.tree.clone();
            for (at, x) in flips {
                let i = at % b.len();
                b[i] ^= x;
            }
            b
        };
        let whole = outcome(RatchetTree::from_bytes(&bytes, MAX_TREE_BYTES));
        let cut = outcome(chunked(&bytes, &cuts, MAX_TREE_BYTES));
        prop_assert_eq!(&whole, &cut);
        if let Ok(encoded) = whole {
            prop_assert_eq!(encoded, bytes);
        }
    }
}

/// The `tree_decode` fuzz target's seeds: the fixture's tree whole, and cut
/// in three places (a count byte, two bytes a cut, then the tree).
fn tree_decode_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let tree = &fixture().tree;
    let cuts: Vec<u8> = [5u16, 300, 1000]
        .iter()
        .flat_map(|c| c.to_be_bytes())
        .collect();
    vec![
        ("tree-13", [&[0u8][..], tree].concat()),
        ("tree-13-cut", [&[3u8][..], &cuts, tree].concat()),
    ]
}

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_tree_decode_seeds() {
    for (name, bytes) in tree_decode_seeds() {
        kaichi_test_support::seeds::write("tree_decode", name, &bytes);
    }
}

#[test]
fn committed_tree_decode_seeds_are_trees() {
    let seeds = kaichi_test_support::seeds::read_all("tree_decode");
    assert_eq!(seeds.len(), 2);
    for (name, bytes) in seeds {
        let n = 1 + 2 * usize::from(bytes[0]);
        let tree = RatchetTree::from_bytes(&bytes[n..], MAX_TREE_BYTES)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tree.member_count(), 13, "{name}");
    }
}
