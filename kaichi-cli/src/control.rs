//! The local control socket between `kaichi node` and the other commands.
//!
//! A Unix socket `node.sock` in the profile directory (mode 0600, directory
//! 0700); the protocol is [`kaichi_cli::control_protocol`].

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

pub(crate) use kaichi_cli::control_protocol::{MAX_LINE, MAX_RESPONSE_LINE, Request};

/// The socket of the profile at `home`.
pub(crate) fn socket_path(home: &Path) -> PathBuf {
    home.join("node.sock")
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
    call_with_progress(home, request, |_, _| {}).await
}

/// [`call`] for requests that report progress (`{"progress":n,"total":n}`
/// lines before the answer): `progress` gets each.
pub(crate) async fn call_with_progress(
    home: &Path,
    request: &Request,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<serde_json::Value> {
    let stream = connect(home).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(request.to_line().as_bytes()).await?;
    let mut reader = BufReader::new(read);
    loop {
        let mut response = String::new();
        let n = (&mut reader)
            .take(MAX_RESPONSE_LINE as u64 + 1)
            .read_line(&mut response)
            .await?;
        if n == 0 {
            bail!("the node closed the connection without answering");
        }
        if response.len() > MAX_RESPONSE_LINE {
            bail!("the node's response is too long");
        }
        let value: serde_json::Value =
            serde_json::from_str(&response).context("the node sent an invalid response")?;
        if let (Some(done), Some(total)) = (value["progress"].as_u64(), value["total"].as_u64()) {
            progress(done, total);
            continue;
        }
        if value["ok"] == false {
            bail!(
                "{}",
                value["error"]
                    .as_str()
                    .unwrap_or("the node refused the request")
            );
        }
        return Ok(value);
    }
}
