//! Files: attachments sent and saved, streamed a chunk at a time (never a
//! whole file in memory), in the caller's task.
//!
//! Sending seals the file chunk by chunk into the node's store (pinned, so
//! Bitswap serves them to the recipient, its relays and any IPFS node that
//! pins the sender's root), then sends a message whose entry links the
//! file's manifest. Saving fetches the manifest and then the chunks over
//! Bitswap (a few at a time, in order), checks and decrypts each and writes
//! it; the file appears under its name only once complete.

use std::path::Path;

use futures::StreamExt as _;
use kaichi_privatelog::attachment::{AttachmentSealer, CHUNK_BYTES, Manifest, open_chunk};
use kaichi_privatelog::store::BlockStore as _;
use kaichi_privatelog::{Attachment, AttachmentKey, EntryCid, MessageBody};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{Command, Node, NodeError};
use crate::peer::IntoPeer;

/// Chunks fetched at once while saving.
const CHUNKS_IN_FLIGHT: usize = 8;

fn file_error(path: &Path, source: std::io::Error) -> NodeError {
    NodeError::File {
        path: path.to_owned(),
        source,
    }
}

/// A MIME type from a file name's extension (the receiver may ignore it).
fn mime_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("txt") => "text/plain",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("mp4") => "video/mp4",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

impl Node {
    /// Sends the file at `path` (at most 100 MiB) to `to`, with `text`:
    /// encrypted chunks under a fresh key, linked from the entry through a
    /// manifest; the recipient fetches them when it saves the file.
    /// `progress` is called with (bytes sealed, file size).
    pub async fn send_file(
        &self,
        to: impl IntoPeer,
        path: &Path,
        text: &str,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<EntryCid, NodeError> {
        let to = to.into_peer()?;
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| file_error(path, e))?;
        let size = file
            .metadata()
            .await
            .map_err(|e| file_error(path, e))?
            .len();
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        let key = AttachmentKey(key);
        let mut sealer = AttachmentSealer::new(key.clone(), size)?;
        let mut buf = zeroize::Zeroizing::new(vec![0u8; CHUNK_BYTES]);
        let mut done = 0u64;
        while let Some(n) = sealer.next_chunk_len() {
            file.read_exact(&mut buf[..n])
                .await
                .map_err(|e| file_error(path, e))?;
            let (cid, block) = sealer.seal_chunk(&buf[..n])?;
            self.put_pinned(cid.to_cid(), block).await?;
            done += n as u64;
            progress(done, size);
        }
        if file
            .read(&mut buf[..1])
            .await
            .map_err(|e| file_error(path, e))?
            != 0
        {
            return Err(NodeError::FileChanged(path.to_owned()));
        }
        let manifest = sealer.finish()?;
        let cid = manifest.cid().to_cid();
        self.put_pinned(cid, manifest.encode()).await?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let attachment = Attachment {
            cid,
            key,
            size,
            mime: mime_of(path).to_owned(),
            name,
        };
        let body = MessageBody::Text {
            text: text.to_owned(),
            reply_to: None,
            attachments: vec![attachment],
        };
        self.send(to, body).await
    }

    /// Saves attachment `index` of the message `message` to `out`: the
    /// manifest and chunks come from the store or over Bitswap, each
    /// checked against its CID and decrypted; `out` is written only once
    /// the whole file arrived (through `out` + `.partial`). `progress` is
    /// called with (bytes written, file size). Returns the attachment's
    /// description.
    pub async fn save_file(
        &self,
        message: EntryCid,
        index: usize,
        out: &Path,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<Attachment, NodeError> {
        let attachment = self
            .ask(|reply| Command::Attachment {
                message,
                index,
                reply,
            })
            .await??;
        let manifest = Manifest::decode(&self.get_block(&attachment.cid).await?)?;
        if manifest.size() != attachment.size {
            return Err(
                kaichi_privatelog::attachment::AttachmentError::Manifest(format!(
                    "the manifest says {} bytes, the message {}",
                    manifest.size(),
                    attachment.size
                ))
                .into(),
            );
        }
        let mut partial = out.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| file_error(&partial, e))?;
        let fetches: Vec<_> = manifest
            .chunks()
            .iter()
            .enumerate()
            .map(|(i, cid)| fetch_chunk(self.clone(), i, cid.to_cid()))
            .collect();
        let mut chunks = futures::stream::iter(fetches).buffered(CHUNKS_IN_FLIGHT);
        let mut done = 0u64;
        let written = async {
            while let Some((i, block)) = chunks.next().await {
                let plain = open_chunk(&attachment.key, &manifest, i, &block?)?;
                file.write_all(&plain)
                    .await
                    .map_err(|e| file_error(&partial, e))?;
                done += plain.len() as u64;
                progress(done, manifest.size());
            }
            file.sync_all().await.map_err(|e| file_error(&partial, e))?;
            Ok::<_, NodeError>(())
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        tokio::fs::rename(&partial, out)
            .await
            .map_err(|e| file_error(out, e))?;
        Ok(attachment)
    }

    /// Stores and pins a block (blocking SQLite work off the async task).
    async fn put_pinned(&self, cid: cid::Cid, block: Vec<u8>) -> Result<(), NodeError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.put(&cid, &block).and_then(|()| store.pin(&cid)))
            .await
            .map_err(|_| NodeError::Stopped)?
            .map_err(|e| NodeError::Blocks(Box::new(e)))
    }
}

/// Fetches chunk `index` (a future that owns what it needs).
async fn fetch_chunk(
    node: Node,
    index: usize,
    cid: cid::Cid,
) -> (usize, Result<Vec<u8>, NodeError>) {
    (index, node.get_block(&cid).await)
}
