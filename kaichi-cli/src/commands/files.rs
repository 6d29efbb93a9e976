//! The node's side of `dm send --file` and `dm save`: the file work runs in
//! the control client's task, and progress goes back to the CLI as
//! `{"progress": done, "total": size}` lines before the final answer.

use std::path::PathBuf;

use kaichi_privatelog::EntryCid;
use kaichi_transport::Node;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;

/// Progress lines waiting to be written; more are dropped (the next one
/// says as much).
const PROGRESS_BUFFER: usize = 16;

/// A progress callback, and the lines it sends.
fn progress() -> (impl FnMut(u64, u64) + Send, mpsc::Receiver<(u64, u64)>) {
    let (tx, rx) = mpsc::channel::<(u64, u64)>(PROGRESS_BUFFER);
    let report = move |done, total| {
        let _ = tx.try_send((done, total));
    };
    (report, rx)
}

/// Writes progress lines until the callback is dropped.
async fn forward(write: &mut OwnedWriteHalf, mut rx: mpsc::Receiver<(u64, u64)>) {
    while let Some((done, total)) = rx.recv().await {
        let line = format!("{}\n", json!({"progress": done, "total": total}));
        if write.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
}

/// `dm send --file`.
pub(crate) async fn send_file(
    node: &Node,
    write: &mut OwnedWriteHalf,
    to: String,
    path: PathBuf,
    text: String,
) -> serde_json::Value {
    let (report, rx) = progress();
    let (sent, ()) = tokio::join!(
        node.send_file(&to, &path, &text, report),
        forward(write, rx)
    );
    match sent {
        Ok(cid) => json!({"ok": true, "cid": cid.to_string()}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// `dm save`.
pub(crate) async fn save_file(
    node: &Node,
    write: &mut OwnedWriteHalf,
    message: String,
    index: usize,
    out: PathBuf,
) -> serde_json::Value {
    let message: EntryCid = match message.parse() {
        Ok(m) => m,
        Err(e) => return json!({"ok": false, "error": format!("{message}: {e}")}),
    };
    let (report, rx) = progress();
    let (saved, ()) = tokio::join!(
        node.save_file(message, index, &out, report),
        forward(write, rx)
    );
    match saved {
        Ok(a) => json!({"ok": true, "name": a.name, "mime": a.mime, "size": a.size}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}
