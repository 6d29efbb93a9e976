//! Building the wasm package as the README says, for the tests: the
//! browser toolchain (Debian's `rustc-web`, its std sources and `lld`,
//! installed with apt-get when missing and this is root), `cargo +nightly
//! -Zbuild-std` for `wasm32-unknown-unknown`, then `wasm-bindgen` (the CLI
//! at the version of the crate, installed from crates.io when missing).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The version of wasm-bindgen in Cargo.lock (the CLI must match it).
pub(crate) const WASM_BINDGEN: &str = "0.2.108";

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether the wasm tests are skipped on purpose (`KAICHI_SKIP_WASM=1`).
pub(crate) fn skipped() -> bool {
    if std::env::var_os("KAICHI_SKIP_WASM").is_some() {
        eprintln!("KAICHI_SKIP_WASM is set: the wasm package is not built or tested");
        return true;
    }
    false
}

fn run(mut c: Command, what: &str) {
    let status = c.status().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

pub(crate) fn apt_install(packages: &[&str]) {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    assert!(
        root_user,
        "install {packages:?} (apt-get) to build the wasm package"
    );
    let install = |c: &mut Command| c.args(["install", "-y", "-q"]).args(packages).status();
    if !install(&mut Command::new("apt-get")).is_ok_and(|s| s.success()) {
        run(
            {
                let mut c = Command::new("apt-get");
                c.args(["update", "-q"]);
                c
            },
            "apt-get update",
        );
        assert!(
            install(&mut Command::new("apt-get")).unwrap().success(),
            "apt-get install {packages:?}"
        );
    }
}

/// Installs what the build needs, once.
fn toolchain() {
    if !Path::new("/usr/bin/rustc").exists()
        || !Path::new("/usr/lib/rustlib/src/rust/library").exists()
        || !Path::new("/usr/bin/rust-lld").exists()
    {
        apt_install(&["rustc-web", "rust-web-src", "lld-22"]);
    }
    let version = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.contains(WASM_BINDGEN) {
        let mut c = Command::new("cargo");
        c.args([
            "install",
            "wasm-bindgen-cli",
            "--locked",
            "--version",
            WASM_BINDGEN,
        ]);
        run(c, "cargo install wasm-bindgen-cli");
    }
}

/// The wasm build's command: Debian's rustc, std built for wasm32.
fn wasm_cargo(args: &[&str]) -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(root())
        .arg("+nightly")
        .args(args)
        .args(["--locked", "-p", "kaichi-web"])
        .args([
            "--target",
            "wasm32-unknown-unknown",
            "-Zbuild-std=std,panic_abort",
        ])
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", root().join("target").join("wasm"))
        // The host's flags and wrappers are not the wasm build's.
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER");
    c
}

/// Runs `tests/in_browser.rs` compiled to wasm32 in headless Chromium
/// (wasm-bindgen-test-runner and chromedriver); returns its output.
pub(crate) fn in_browser_tests() -> String {
    toolchain();
    if !Path::new("/usr/bin/chromedriver").exists() {
        apt_install(&["chromium", "chromium-driver"]);
    }
    // Release: the package build already compiled std and the crates so.
    let out = wasm_cargo(&["test", "--release", "--test", "in_browser"])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        // webdriver.json (Chromium's flags) is read from the crate's directory.
        .current_dir(root().join("kaichi-web"))
        .output()
        .expect("cargo runs the wasm tests");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    log
}

/// Now, in Unix milliseconds and as a timestamp.
pub(crate) fn now() -> (u64, kaichi_identity::Timestamp) {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    (
        ms,
        kaichi_identity::Timestamp::from_unix_nanos(ms * 1_000_000),
    )
}

/// A native user the page talks to: his keys, signed document, and his
/// side of the conversation with `alice`, in which he wrote "hello from
/// native Bob" (`first`).
pub(crate) struct NativeBob {
    pub(crate) keys: kaichi_identity::IdentityKeys,
    pub(crate) document: Vec<u8>,
    pub(crate) side: kaichi_privatelog::Conversation,
    pub(crate) first: kaichi_privatelog::Entry,
}

/// Bob with the wallet of seed `seed`, writing to `alice`.
pub(crate) fn native_bob(seed: u8, alice: &kaichi_identity::IdentityPublic) -> NativeBob {
    use kaichi_identity::wallet::KeypairWallet;
    let (now_ms, now) = now();
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys =
        kaichi_identity::IdentityKeys::derive(&wallet, kaichi_identity::KeyEpoch::ZERO).unwrap();
    let document = kaichi_identity::document::DocumentBuilder::new(
        &keys,
        now,
        std::time::Duration::from_secs(86_400),
    )
    .sign(&wallet)
    .unwrap();
    let mut side = kaichi_privatelog::Conversation::new(&keys, alice).unwrap();
    let message = kaichi_privatelog::Message::text("hello from native Bob", now_ms);
    let first = side.append(keys.ipns(), &message, &[seed; 16]).unwrap();
    NativeBob {
        keys,
        document,
        side,
        first,
    }
}

/// puppeteer-core for the tests, and the page's libp2p bundle (esbuild).
pub(crate) fn npm_ready(root: &Path) {
    let npm = |dir: &Path, args: &[&str]| {
        let status = Command::new("npm")
            .args(args)
            .current_dir(dir)
            .status()
            .expect("npm (Node.js 20+) runs the browser tests");
        assert!(status.success(), "npm {args:?} in {}", dir.display());
    };
    let tests = root.join("kaichi-web/tests/browser");
    if !tests.join("node_modules/puppeteer-core").exists() {
        npm(&tests, &["ci", "--no-audit", "--no-fund"]);
    }
    let net = root.join("kaichi-web/example/net");
    // Install scripts off: @libp2p/webrtc's Node.js binding (built from
    // GitHub downloads) is not used in the browser bundle.
    if !net.join("node_modules/@libp2p/webrtc").exists() {
        npm(&net, &["ci", "--no-audit", "--no-fund", "--ignore-scripts"]);
    }
    npm(&net, &["run", "build"]);
}

/// Debian's Chromium (installed when missing, as root).
pub(crate) fn chromium() -> &'static str {
    let path = "/usr/bin/chromium";
    if !Path::new(path).exists() {
        apt_install(&["chromium"]);
    }
    path
}

/// Runs one of `kaichi-web/tests/browser/*.test.mjs` with `fixture`.
pub(crate) fn page_test(script: &str, fixture: &serde_json::Value) -> serde_json::Value {
    node_test(
        &root().join("kaichi-web/tests/browser").join(script),
        fixture,
    )
}

/// Runs `node --test <script>` with `KAICHI_FIXTURE` (the fixture as JSON)
/// and `KAICHI_OUT`; asserts every test passed; returns what the script
/// wrote to `KAICHI_OUT` (null when nothing).
pub(crate) fn node_test(script: &Path, fixture: &serde_json::Value) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (fixture_path, out_path) = (dir.path().join("fixture.json"), dir.path().join("out.json"));
    std::fs::write(&fixture_path, fixture.to_string()).unwrap();
    let output = Command::new("node")
        .arg("--test")
        .arg(script)
        .env("KAICHI_FIXTURE", &fixture_path)
        .env("KAICHI_OUT", &out_path)
        .output()
        .expect("node (Node.js 20 or later) runs the package's tests");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("# fail 0") && !log.contains("# pass 0"),
        "{log}"
    );
    std::fs::read(&out_path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null)
}

/// `kaichi-web/pkg/<target>`: the package for `nodejs` or `web`, built
/// once per test process.
pub(crate) fn package(target: &str) -> PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    let wasm = WASM.get_or_init(|| {
        toolchain();
        run(
            wasm_cargo(&["build", "--release"]),
            "building kaichi-web for wasm32-unknown-unknown",
        );
        root().join("target/wasm/wasm32-unknown-unknown/release/kaichi_web.wasm")
    });
    let out = root().join("kaichi-web").join("pkg").join(target);
    let mut c = Command::new("wasm-bindgen");
    c.arg(wasm)
        .args(["--target", target, "--out-dir"])
        .arg(&out);
    run(c, "wasm-bindgen");
    out
}
