//! kaichi-web in headless Chromium beside the native crates: derive keys
//! from a wallet signature, encrypt+sign an entry, verify+decrypt an
//! entry (operations a second), and the package's size.
//!
//! `cargo bench -p kaichi-web --bench browser` (builds the wasm package
//! as the tests do: Debian's rustc-web, wasm-bindgen-cli, chromium).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch, derivation_message};
use kaichi_privatelog::{Conversation, Message};

/// Runs `op` for about 1.5 s; operations a second.
fn rate(mut op: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        op(n);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn native() -> serde_json::Value {
    let a = KeypairWallet::from_secret_seed(&[0x11; 32]);
    let b = KeypairWallet::from_secret_seed(&[0x22; 32]);
    let signature = a
        .sign_message(&derivation_message(&a.address(), KeyEpoch::ZERO))
        .unwrap();
    let derive = rate(|_| {
        IdentityKeys::from_wallet_signature(a.address(), KeyEpoch::ZERO, &signature).unwrap();
    });
    let alice = IdentityKeys::derive(&a, KeyEpoch::ZERO).unwrap();
    let bob = IdentityKeys::derive(&b, KeyEpoch::ZERO).unwrap();
    let mut writer = Conversation::new(&bob, &alice.public()).unwrap();
    let mut blocks = Vec::new();
    let encrypt = rate(|i| {
        let entry = writer
            .append(
                bob.ipns(),
                &Message::text(format!("message {i} of the bench"), 0),
                &[7; 16],
            )
            .unwrap();
        blocks.push(entry.block().to_vec());
    });
    let mut reader = Conversation::new(&alice, &bob.public()).unwrap();
    let start = Instant::now();
    for block in &blocks {
        reader.ingest(block, None).unwrap();
    }
    let decrypt = blocks.len() as f64 / start.elapsed().as_secs_f64();
    serde_json::json!({"derive_per_s": derive, "encrypt_sign_per_s": encrypt,
        "verify_decrypt_per_s": decrypt, "entries": blocks.len()})
}

fn main() {
    if support::skipped() {
        return;
    }
    let root = support::root();
    let pkg = support::package("web");
    let wasm_path = pkg.join("kaichi_web_bg.wasm");
    let wasm = std::fs::read(&wasm_path).unwrap();
    // The size a server sends with gzip -9 (the system's gzip measures it).
    let gz = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&wasm_path)
        .output()
        .unwrap()
        .stdout;
    let script = root.join("kaichi-web/tests/browser/bench.mjs");
    let out = std::process::Command::new("node")
        .arg(&script)
        .env("KAICHI_WEB_ROOT", root.join("kaichi-web"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let browser: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let native = native();
    println!(
        "kaichi-web wasm: {} bytes, {} gzipped (target < 1 MB)",
        wasm.len(),
        gz.len()
    );
    for key in ["derive_per_s", "encrypt_sign_per_s", "verify_decrypt_per_s"] {
        let (b, n) = (
            browser[key].as_f64().unwrap(),
            native[key].as_f64().unwrap(),
        );
        println!(
            "{key:<22} browser {b:>9.0}/s   native {n:>9.0}/s   ({:.1}x slower)",
            n / b
        );
    }
    println!("browser: {}", browser["user_agent"]);
}
