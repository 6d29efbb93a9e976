//! `kaichi block get`: a block by CID, from the profile's store or through
//! the running node.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_privatelog::store::BlockStore as _;

use crate::cli::BlockCommand;
use crate::control::{self, Request};
use crate::profile::Profile;

pub(crate) fn run(profile: &Profile, cmd: BlockCommand) -> anyhow::Result<ExitCode> {
    let BlockCommand::Get { cid, out } = cmd;
    let parsed: cid::Cid = cid.parse().with_context(|| format!("{cid} is not a CID"))?;
    let local = profile.store()?.get(&parsed)?;
    let block = match local {
        Some(block) => block,
        None => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let v = runtime.block_on(control::call(profile.home(), &Request::BlockGet { cid }))?;
            let hex = v["hex"].as_str().unwrap_or_default();
            decode_hex(hex).context("the node sent a malformed block")?
        }
    };
    // The node checked it, but a block is only as good as its CID.
    if cid_of(&parsed, &block) != Some(parsed) {
        bail!("the block does not match {parsed}");
    }
    match out {
        Some(path) => {
            std::fs::write(&path, &block).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&block)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The CID of `block` with `like`'s version, codec and (SHA-256) hash.
fn cid_of(like: &cid::Cid, block: &[u8]) -> Option<cid::Cid> {
    use sha2::Digest as _;
    if like.hash().code() != 0x12 {
        return None;
    }
    let digest = sha2::Sha256::digest(block);
    let hash = cid::multihash::Multihash::wrap(0x12, &digest).ok()?;
    match like.version() {
        cid::Version::V0 => cid::Cid::new_v0(hash).ok(),
        cid::Version::V1 => Some(cid::Cid::new_v1(like.codec(), hash)),
    }
}

/// The bytes of lower- or upper-case hex `hex`, if it is hex.
pub(crate) fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}
