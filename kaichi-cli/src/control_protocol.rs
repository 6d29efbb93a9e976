//! The control socket's wire protocol: one JSON request per line, one JSON
//! response per line (`watch` streams event lines until the client
//! disconnects). [`Request::parse`] is what `kaichi node` runs on every
//! line a client sends: bounded, typed errors, never a panic.

use serde::{Deserialize, Serialize};

/// Longest request line accepted, in bytes.
pub const MAX_LINE: usize = 1024 * 1024;

/// Longest response line accepted, in bytes (a block of up to 4 MiB travels
/// as hex).
pub const MAX_RESPONSE_LINE: usize = 9 * 1024 * 1024;

/// A request to the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Listen addresses.
    Addrs,
    /// Send a direct message.
    Send {
        /// The recipient (wallet address or IPNS name).
        to: String,
        /// The text.
        text: String,
    },
    /// Read a conversation.
    Read {
        /// The other side (wallet address or IPNS name).
        peer: String,
        /// Most messages.
        limit: usize,
    },
    /// Stream events.
    Watch,
    /// Create a group.
    GroupCreate {
        /// Its name.
        name: String,
        /// Its description.
        #[serde(default)]
        description: String,
        /// A token-holder group's mint address.
        #[serde(default)]
        token_mint: Option<String>,
        /// Its least balance.
        #[serde(default)]
        token_minimum: u64,
        /// The MLS engine (`mls-rs` or `openmls`); the node's default when
        /// absent.
        #[serde(default)]
        engine: Option<String>,
    },
    /// Invite a contact to a group.
    GroupInvite {
        /// The group (id or unique name).
        group: String,
        /// The member (wallet address or IPNS name).
        member: String,
    },
    /// Ask a token-holder group's sequencer to be let in, and wait up to
    /// `wait_secs` for the outcome.
    GroupRequest {
        /// The group's id (hex), with `sequencer`; or none, with `mint`.
        #[serde(default)]
        group: Option<String>,
        /// The sequencer (wallet address or IPNS name).
        #[serde(default)]
        sequencer: Option<String>,
        /// Find the groups gated on this mint and ask each.
        #[serde(default)]
        mint: Option<String>,
        /// How long to wait for the outcome (at most an hour).
        wait_secs: u64,
    },
    /// Send to a group.
    GroupSend {
        /// The group (id or unique name).
        group: String,
        /// The text.
        text: String,
    },
    /// Remove a member.
    GroupRemove {
        /// The group (id or unique name).
        group: String,
        /// The member (wallet address or IPNS name).
        member: String,
    },
    /// Refresh this member's keys in a group.
    GroupUpdate {
        /// The group (id or unique name).
        group: String,
    },
    /// Make a member an admin, or no longer one.
    GroupAdmin {
        /// The group (id or unique name).
        group: String,
        /// The member (wallet address or IPNS name).
        member: String,
        /// Admin or not.
        admin: bool,
    },
    /// Leave a group.
    GroupLeave {
        /// The group (id or unique name).
        group: String,
    },
    /// Send a file (the node reads it); answered with
    /// `{"progress":n,"total":n}` lines, then `{"ok":true,"cid":...}`.
    SendFile {
        /// The recipient (wallet address or IPNS name).
        to: String,
        /// The file's absolute path.
        path: std::path::PathBuf,
        /// Text sent with it.
        text: String,
    },
    /// Save a message's attachment (the node writes it); answered with
    /// progress lines, then `{"ok":true,"name":...,"mime":...,"size":n}`.
    SaveFile {
        /// The message's CID.
        message: String,
        /// Which attachment (0 for the first).
        index: usize,
        /// Where to write it (absolute path).
        out: std::path::PathBuf,
    },
    /// The root this identity's IPNS record points to; answered with
    /// `{"ok":true,"root":<cid or null>}`.
    Root,
    /// Sync a contact's outbox through IPNS; answered with
    /// `{"ok":true,"new_entries":n,"entries":n}`.
    DmSync {
        /// The contact (wallet address or IPNS name).
        peer: String,
    },
    /// The message requests; answered with `{"ok":true,"requests":[{"wallet":..,"ipns_name":..}]}`.
    Requests,
    /// Accept a message request.
    RequestAccept {
        /// The sender (wallet address or IPNS name).
        peer: String,
    },
    /// Block a wallet (or a conversation's peer by IPNS name); answered
    /// with `{"ok":true,"wallet":...}`.
    Block {
        /// The wallet address or IPNS name.
        peer: String,
    },
    /// Unblock a wallet.
    Unblock {
        /// The wallet address.
        wallet: String,
    },
    /// When the node last heard from each other device of its identity;
    /// answered with `{"ok":true,"seen":[{"signing_key":hex|null,"at":...}]}`.
    DevicesSeen,
    /// The identity document the node publishes; answered with
    /// `{"ok":true,"hex":...}`.
    Document,
    /// Replace the identity document the node publishes (after a device
    /// was approved or revoked); answered with `{"ok":true}`, or the reason
    /// the node kept its own.
    DocumentSet {
        /// The new signed document, hex.
        hex: String,
    },
    /// The node's status; answered with `{"ok":true,"peer_id":..,
    /// "connected":[..],"groups":[..],…}` (`kaichi status --json` shows it).
    Status,
    /// Reply to a message.
    Reply {
        /// The conversation's other side (wallet address or IPNS name).
        to: String,
        /// The message replied to (its CID).
        target: String,
        /// The text.
        text: String,
    },
    /// Replace the text of one of this identity's messages.
    Edit {
        /// The conversation's other side.
        to: String,
        /// The message (its CID).
        target: String,
        /// The new text.
        text: String,
    },
    /// Delete one of this identity's messages.
    Delete {
        /// The conversation's other side.
        to: String,
        /// The message (its CID).
        target: String,
    },
    /// React to a message, or withdraw the reaction.
    React {
        /// The conversation's other side.
        to: String,
        /// The message (its CID).
        target: String,
        /// The reaction (an emoji, or any short text).
        reaction: String,
        /// Withdraw it instead.
        #[serde(default)]
        remove: bool,
    },
    /// Tell the other side everything up to a message was read.
    MarkRead {
        /// The conversation's other side.
        peer: String,
        /// The newest message read (its CID).
        up_to: String,
    },
    /// A group's newest messages, oldest first; answered with
    /// `{"ok":true,"messages":[{"epoch":..,"sender":..,"text":..,"at_ms":..}]}`.
    GroupRead {
        /// The group (id or unique name).
        group: String,
        /// Most messages.
        limit: usize,
    },
    /// A block by CID (the node's store, else Bitswap); answered with
    /// `{"ok":true,"hex":...}`.
    BlockGet {
        /// The CID.
        cid: String,
    },
}

/// A request line that is not a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Longer than [`MAX_LINE`].
    #[error("the request is {0} bytes; at most {MAX_LINE} are read")]
    TooLong(usize),
    /// Not a JSON request this node knows.
    #[error("bad request: {0}")]
    Json(#[from] serde_json::Error),
}

impl Request {
    /// Parses one request line (its trailing newline optional).
    pub fn parse(line: &[u8]) -> Result<Self, RequestError> {
        if line.len() > MAX_LINE {
            return Err(RequestError::TooLong(line.len()));
        }
        Ok(serde_json::from_slice(line)?)
    }

    /// The request as one line, newline included.
    pub fn to_line(&self) -> String {
        // Serializing strings, integers and booleans cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_lines_are_typed_errors() {
        let r = Request::GroupAdmin {
            group: "g".into(),
            member: "m".into(),
            admin: true,
        };
        assert_eq!(Request::parse(r.to_line().as_bytes()).unwrap(), r);
        let r: Request = Request::parse(br#"{"op":"group_create","name":"n"}"#).unwrap();
        assert_eq!(
            r,
            Request::GroupCreate {
                name: "n".into(),
                description: String::new(),
                token_mint: None,
                token_minimum: 0,
                engine: None,
            }
        );
        assert!(matches!(Request::parse(b"{}"), Err(RequestError::Json(_))));
        assert!(matches!(
            Request::parse(br#"{"op":"send","to":"a","text":"b","extra":1}"#),
            Err(RequestError::Json(_))
        ));
        assert!(matches!(
            Request::parse(&vec![b' '; MAX_LINE + 1]),
            Err(RequestError::TooLong(_))
        ));
    }
}
