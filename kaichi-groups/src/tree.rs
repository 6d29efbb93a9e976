//! A ratchet tree decoded as its bytes arrive.
//!
//! A joiner gets the group's ratchet tree beside the Welcome, TLS-encoded
//! as `optional<Node> ratchet_tree<V>` (RFC 9420 §12.4.3.3): about 237 bytes
//! a member, 23.7 MB at 100,000 members, fetched as 256 KiB chunks.
//! [`TreeDecoder`] takes the chunks in order and decodes node by node, so
//! only the nodes and the unfinished end of one chunk are held, never the
//! whole encoding beside its decoded copy. It checks what it can as it goes
//! (every node decodes, leaves at even and parents at odd places, no more
//! bytes than a bound) and the rest when the tree is complete (nothing
//! missing or trailing, the last node not blank); the MLS checks of the
//! tree's contents (signatures, parent hashes, the tree hash in the
//! GroupInfo) run at the join.
//!
//! ```
//! use kaichi_groups::tree::{RatchetTree, TreeDecoder, TreeError};
//!
//! // One blank-free leaf would be real data; an empty vector is refused.
//! let mut decoder = TreeDecoder::new(1024);
//! decoder.push(&[0x00])?; // the vector's length: zero bytes
//! assert!(matches!(decoder.finish(), Err(TreeError::Empty)));
//! # Ok::<(), TreeError>(())
//! ```

use mls_rs::group::{ExportedTree, Node, NodeVec};
use mls_rs::mls_rs_codec::{self, MlsDecode as _, VarInt};

/// Most bytes one node may take: a leaf with its credential, capabilities
/// and extensions is a few hundred bytes in Kaichi and a few kilobytes with
/// X.509 chains; a larger one is refused rather than buffered.
pub const MAX_NODE_BYTES: usize = 1024 * 1024;

/// Why a ratchet tree was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The encoding is longer than the bound the decoder was given.
    #[error("the ratchet tree is over its bound of {bound} bytes")]
    TooLarge {
        /// The bound.
        bound: usize,
    },
    /// One node is longer than [`MAX_NODE_BYTES`].
    #[error("node {node} of the ratchet tree is over {MAX_NODE_BYTES} bytes")]
    NodeTooLarge {
        /// The node's place in the tree.
        node: usize,
    },
    /// The vector's length prefix does not decode.
    #[error("the ratchet tree's length does not decode: {0}")]
    Length(String),
    /// A node does not decode.
    #[error("node {node} of the ratchet tree does not decode: {reason}")]
    Node {
        /// The node's place in the tree.
        node: usize,
        /// What the decoder said.
        reason: String,
    },
    /// A leaf at a parent's place or a parent at a leaf's.
    #[error("node {node} of the ratchet tree is a {found} at a {expected}'s place")]
    Misplaced {
        /// The node's place in the tree.
        node: usize,
        /// What is there.
        found: &'static str,
        /// What belongs there.
        expected: &'static str,
    },
    /// The bytes ended before the vector did.
    #[error("the ratchet tree ends {missing} bytes early")]
    Truncated {
        /// How many bytes the length prefix still announced.
        missing: usize,
    },
    /// Bytes follow the vector.
    #[error("bytes follow the ratchet tree")]
    Trailing,
    /// The tree has no node.
    #[error("the ratchet tree is empty")]
    Empty,
    /// The last node is blank (RFC 9420 §12.4.3.3: senders trim blanks).
    #[error("the ratchet tree's last node is blank")]
    LastNodeBlank,
    /// The decoder refused earlier input; it takes nothing more.
    #[error("the ratchet tree was already refused: {0}")]
    Refused(Box<TreeError>),
}

/// Where the decoder is in the encoding.
#[derive(Debug)]
enum State {
    /// Reading the vector's length prefix.
    Length,
    /// Reading nodes; this many bytes of the vector are left.
    Nodes(usize),
    /// The vector is complete.
    Done,
    /// Input was refused.
    Failed(TreeError),
}

/// Decodes a TLS-encoded ratchet tree from chunks of any size, in order.
#[derive(Debug)]
pub struct TreeDecoder {
    state: State,
    /// Bytes pushed but not decoded yet: the start of one node at most,
    /// after each push (plus the chunk being decoded, during one).
    pending: Vec<u8>,
    nodes: Vec<Option<Node>>,
    /// Bytes pushed so far.
    seen: usize,
    bound: usize,
}

impl TreeDecoder {
    /// A decoder that refuses more than `bound` bytes in all (use
    /// [`crate::MAX_TREE_BYTES`] for a join).
    pub fn new(bound: usize) -> Self {
        Self {
            state: State::Length,
            pending: Vec::new(),
            nodes: Vec::new(),
            seen: 0,
            bound,
        }
    }

    /// Bytes pushed so far.
    pub fn bytes_seen(&self) -> usize {
        self.seen
    }

    /// Nodes decoded so far (blanks included).
    pub fn nodes_decoded(&self) -> usize {
        self.nodes.len()
    }

    /// Decodes what `bytes` completes; the rest of a node split across
    /// chunks waits for the next push. After an error the decoder refuses
    /// everything ([`TreeError::Refused`]).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), TreeError> {
        if let State::Failed(e) = &self.state {
            return Err(TreeError::Refused(Box::new(e.clone())));
        }
        match self.decode(bytes) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state = State::Failed(e.clone());
                self.pending = Vec::new();
                self.nodes = Vec::new();
                Err(e)
            }
        }
    }

    fn decode(&mut self, bytes: &[u8]) -> Result<(), TreeError> {
        self.seen = self.seen.saturating_add(bytes.len());
        if self.seen > self.bound {
            return Err(TreeError::TooLarge { bound: self.bound });
        }
        // Decode straight from the chunk when nothing waits before it.
        let pending = std::mem::take(&mut self.pending);
        let joined;
        let mut input: &[u8] = if pending.is_empty() {
            bytes
        } else {
            joined = [pending.as_slice(), bytes].concat();
            &joined
        };
        loop {
            match self.state {
                State::Length => {
                    let mut r = input;
                    match VarInt::mls_decode(&mut r) {
                        Ok(n) => {
                            let len = u32::from(n) as usize;
                            if len > self.bound {
                                return Err(TreeError::TooLarge { bound: self.bound });
                            }
                            input = r;
                            self.state = State::Nodes(len);
                        }
                        Err(mls_rs_codec::Error::UnexpectedEOF) => break,
                        Err(e) => return Err(TreeError::Length(e.to_string())),
                    }
                }
                State::Nodes(0) => self.state = State::Done,
                State::Nodes(left) => {
                    // A node is read from at most MAX_NODE_BYTES, so that
                    // whole and chunked input end the same way.
                    let available = input.len().min(left).min(MAX_NODE_BYTES);
                    let mut r = &input[..available];
                    let node = self.nodes.len();
                    match Option::<Node>::mls_decode(&mut r) {
                        Ok(decoded) => {
                            let used = available - r.len();
                            if used == 0 {
                                return Err(TreeError::Node {
                                    node,
                                    reason: "no bytes".into(),
                                });
                            }
                            check_place(node, decoded.as_ref())?;
                            self.nodes.push(decoded);
                            input = &input[used..];
                            self.state = State::Nodes(left - used);
                        }
                        Err(mls_rs_codec::Error::UnexpectedEOF) if available < left => {
                            if available == MAX_NODE_BYTES {
                                return Err(TreeError::NodeTooLarge { node });
                            }
                            // The node goes on in the next chunk.
                            break;
                        }
                        Err(e) => {
                            return Err(TreeError::Node {
                                node,
                                reason: e.to_string(),
                            });
                        }
                    }
                }
                State::Done => {
                    if !input.is_empty() {
                        return Err(TreeError::Trailing);
                    }
                    break;
                }
                State::Failed(ref e) => return Err(TreeError::Refused(Box::new(e.clone()))),
            }
        }
        self.pending = input.to_vec();
        Ok(())
    }

    /// The tree, once every byte of it was pushed.
    pub fn finish(self) -> Result<RatchetTree, TreeError> {
        match self.state {
            State::Done => {}
            State::Failed(e) => return Err(TreeError::Refused(Box::new(e))),
            State::Length => return Err(TreeError::Truncated { missing: 1 }),
            State::Nodes(left) => {
                return Err(TreeError::Truncated {
                    missing: left - self.pending.len().min(left),
                });
            }
        }
        match self.nodes.last() {
            None => Err(TreeError::Empty),
            Some(None) => Err(TreeError::LastNodeBlank),
            Some(Some(_)) => Ok(RatchetTree {
                tree: ExportedTree::new(NodeVec::from(self.nodes)),
                encoded_len: self.seen,
            }),
        }
    }
}

/// Leaves sit at even places, parents at odd ones (RFC 9420 §4.1).
fn check_place(node: usize, decoded: Option<&Node>) -> Result<(), TreeError> {
    let (found, expected) = match (decoded, node % 2) {
        (Some(Node::Leaf(_)), 1) => ("leaf", "parent"),
        (Some(Node::Parent(_)), 0) => ("parent", "leaf"),
        _ => return Ok(()),
    };
    Err(TreeError::Misplaced {
        node,
        found,
        expected,
    })
}

/// A group's ratchet tree, decoded and checked for shape (not yet for its
/// MLS contents: a join does that).
#[derive(Debug, Clone)]
pub struct RatchetTree {
    tree: ExportedTree<'static>,
    encoded_len: usize,
}

impl RatchetTree {
    /// Decodes a whole TLS-encoded tree of at most `bound` bytes.
    pub fn from_bytes(bytes: &[u8], bound: usize) -> Result<Self, TreeError> {
        let mut decoder = TreeDecoder::new(bound);
        decoder.push(bytes)?;
        decoder.finish()
    }

    /// The TLS encoding (what [`Self::from_bytes`] takes).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Encoding decoded nodes cannot fail: every length came from a
        // decoding within the codec's bounds.
        self.tree.to_bytes().unwrap_or_default()
    }

    /// The number of nodes, blanks included (trailing blanks trimmed).
    pub fn node_count(&self) -> usize {
        self.tree.nodes().len()
    }

    /// The number of members (leaves that are not blank).
    pub fn member_count(&self) -> usize {
        self.tree
            .nodes()
            .iter()
            .step_by(2)
            .filter(|n| n.is_some())
            .count()
    }

    /// The length of the encoding it was decoded from.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// The tree as mls-rs takes it (a shallow copy: node contents are
    /// shared).
    pub(crate) fn exported(&self) -> ExportedTree<'static> {
        self.tree.clone()
    }
}
