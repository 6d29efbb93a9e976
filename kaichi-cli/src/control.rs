//! The local control socket between `kaichi node` and the other commands.
//!
//! A Unix socket `node.sock` in the profile directory (mode 0600, directory
//! 0700). One JSON request per line; one JSON response per line (`watch`
//! streams event lines until the client disconnects).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

/// Longest request or response line accepted.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// The socket of the profile at `home`.
pub(crate) fn socket_path(home: &Path) -> PathBuf {
    home.join("node.sock")
}

/// A request to the node.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Listen addresses.
    Addrs,
    /// Send a direct message.
    Send { to: String, text: String },
    /// Read a conversation.
    Read { peer: String, limit: usize },
    /// Stream events.
    Watch,
    /// Create a group.
    GroupCreate {
        name: String,
        #[serde(default)]
        description: String,
        /// A token-holder group's mint address.
        #[serde(default)]
        token_mint: Option<String>,
        /// Its least balance.
        #[serde(default)]
        token_minimum: u64,
    },
    /// Invite a contact to a group.
    GroupInvite { group: String, member: String },
    /// Send to a group.
    GroupSend { group: String, text: String },
    /// Remove a member.
    GroupRemove { group: String, member: String },
    /// Refresh this member's keys in a group.
    GroupUpdate { group: String },
    /// Make a member an admin, or no longer one.
    GroupAdmin {
        group: String,
        member: String,
        admin: bool,
    },
    /// Leave a group.
    GroupLeave { group: String },
}

/// Whether a node is running for the profile at `home`.
pub(crate) async fn node_running(home: &Path) -> bool {
    UnixStream::connect(socket_path(home)).await.is_ok()
}

/// Connects to the running node, or says clearly that none runs.
pub(crate) async fn connect(home: &Path) -> anyhow::Result<UnixStream> {
    let path = socket_path(home);
    match UnixStream::connect(&path).await {
        Ok(s) => Ok(s),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            bail!(
                "no kaichi node is running for {}: start one with `kaichi node` (in another terminal)",
                home.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("connecting to {}", path.display())),
    }
}

/// Sends one request and reads one JSON response line.
pub(crate) async fn call(home: &Path, request: &Request) -> anyhow::Result<serde_json::Value> {
    let stream = connect(home).await?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let mut reader = BufReader::new(read);
    let mut response = String::new();
    reader.read_line(&mut response).await?;
    if response.len() > MAX_LINE {
        bail!("the node's response is too long");
    }
    let value: serde_json::Value =
        serde_json::from_str(&response).context("the node sent an invalid response")?;
    if value["ok"] == false {
        bail!(
            "{}",
            value["error"]
                .as_str()
                .unwrap_or("the node refused the request")
        );
    }
    Ok(value)
}
