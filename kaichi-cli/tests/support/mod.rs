//! Helpers shared by the CLI's integration tests: running `kaichi`, and
//! installing and running the independent implementations (npm, PyPI) the
//! interop tests compare against.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `kaichi --home <home>` with a clean environment for the profile.
pub(crate) fn kaichi(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kaichi"));
    // Tests dial 127.0.0.1 only: never the built-in public bootstrap peers.
    c.arg("--home")
        .arg(home)
        .env_remove("KAICHI_HOME")
        .env("KAICHI_NO_DEFAULT_BOOTSTRAP", "true");
    c
}

/// Runs `cmd` with `stdin` piped in.
pub(crate) fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `kaichi --home <home> --json <args>`, asserts success, parses JSON.
pub(crate) fn kaichi_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut c = kaichi(home);
    c.arg("--json").args(args);
    json(c)
}

/// Two profiles that are each other's contacts; returns (alice id, bob id).
pub(crate) fn two_contacts(dir: &Path) -> (serde_json::Value, serde_json::Value) {
    let (a, b) = (dir.join("alice"), dir.join("bob"));
    let ida = kaichi_json(&a, &["wallet", "new"]);
    let idb = kaichi_json(&b, &["wallet", "new"]);
    for (home, out) in [(&a, "alice.doc"), (&b, "bob.doc")] {
        kaichi_json(
            home,
            &["id", "document", "--out", dir.join(out).to_str().unwrap()],
        );
    }
    kaichi_json(
        &a,
        &["contacts", "add", dir.join("bob.doc").to_str().unwrap()],
    );
    kaichi_json(
        &b,
        &["contacts", "add", dir.join("alice.doc").to_str().unwrap()],
    );
    (ida, idb)
}

/// Runs `cmd`, asserts success, parses stdout as JSON.
pub(crate) fn json(mut cmd: Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Interop tests can be skipped only on purpose (KAICHI_SKIP_INTEROP=1),
/// never silently because a tool is missing.
pub(crate) fn interop_skipped() -> bool {
    if std::env::var_os("KAICHI_SKIP_INTEROP").is_some() {
        eprintln!("KAICHI_SKIP_INTEROP is set: skipping an interop test");
        return true;
    }
    false
}

/// Serialises installs across test processes (nextest runs tests in parallel processes).
fn install_lock() -> File {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let f = File::create(dir.join("interop-install.lock")).unwrap();
    f.lock().unwrap();
    f
}

/// The npm project under interop/js with its locked dependencies installed
/// (`npm ci` on first use).
pub(crate) fn js_dir() -> PathBuf {
    npm_project("interop/js")
}

/// An npm project of the repository with its locked dependencies installed
/// (`npm ci` whenever its lock file changed since the last install).
pub(crate) fn npm_project(path: &str) -> PathBuf {
    let dir = root().join(path);
    let _lock = install_lock();
    // Reinstall whenever the lock file changed since the last install.
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
    let stamp = dir.join("node_modules/.kaichi-installed-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the interop tests (Node.js 20+)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
        std::fs::write(&stamp, lock).unwrap();
    }
    dir
}

/// Runs `node interop/js/identity.mjs <args>`; returns (success, JSON).
pub(crate) fn node(args: &[&str]) -> (bool, serde_json::Value) {
    node_script("identity.mjs", args)
}

/// Runs `node interop/js/<script> <args>`; returns (success, JSON).
pub(crate) fn node_script(script: &str, args: &[&str]) -> (bool, serde_json::Value) {
    let dir = js_dir();
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("node is needed for the interop tests");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "node {args:?} printed no JSON ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

/// A directory with the pinned PyPI packages of interop/py installed.
pub(crate) fn py_site() -> PathBuf {
    let site = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-py");
    let req = root().join("interop/py/requirements.txt");
    let _lock = install_lock();
    let stamp = site.join(".installed");
    let wanted = std::fs::read_to_string(&req).unwrap();
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                "--target",
            ])
            .arg(&site)
            .arg("-r")
            .arg(&req)
            .status()
            .expect("python3 with pip is needed for the interop tests");
        assert!(status.success(), "pip install -r {} failed", req.display());
        std::fs::write(&stamp, wanted).unwrap();
    }
    site
}

/// Runs a script of interop/py with JSON on stdin; returns its JSON output.
pub(crate) fn python(script: &str, input: &serde_json::Value) -> serde_json::Value {
    let site = py_site();
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("interop/py").join(script))
        .env("PYTHONPATH", &site)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run_with_stdin(cmd, &input.to_string());
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A `kaichi node` child process, killed on drop.
pub(crate) struct NodeProcess(std::process::Child);

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl NodeProcess {
    /// Sends SIGTERM and waits for the node to exit.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.0.wait().unwrap()
    }
}

/// Starts `kaichi node --json` (inside network namespace `netns` when
/// given) and returns it with its first listen address, once its control
/// socket exists.
pub(crate) fn node_process(
    home: &Path,
    extra: &[&str],
    netns: Option<&str>,
) -> (NodeProcess, String) {
    use std::io::BufRead as _;
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_kaichi")]);
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_kaichi")),
    };
    let mut child = command
        .arg("--home")
        .arg(home)
        .env_remove("KAICHI_HOME")
        .args(["--json", "node", "--no-default-bootstrap"])
        .args(if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "/ip4/127.0.0.1/tcp/0"][..]
        })
        // All on loopback, where AutoNAT confirms nothing by default.
        .args(if extra.contains(&"--dht-mode") {
            &[][..]
        } else {
            &["--dht-mode", "server"][..]
        })
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("node exited").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "listening" {
            break v["addr"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !home.join("node.sock").exists() {
        assert!(std::time::Instant::now() < deadline, "no control socket");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (NodeProcess(child), addr)
}
/// The secrets of the profile at `home` (epoch 0): its wallet (keypair
/// and seed), the wallet's signature the keys come from, and the keys.
pub(crate) fn secrets_of(home: &Path) -> Vec<(String, Vec<u8>)> {
    use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
    use kaichi_identity::{IdentityKeys, KeyEpoch, derivation_message};
    let file = std::fs::read(home.join("wallet.json")).unwrap();
    let keypair: Vec<u8> = serde_json::from_slice(&file).unwrap();
    let wallet = KeypairWallet::from_keypair_json(&file).unwrap();
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let signature = wallet
        .sign_message(&derivation_message(&wallet.address(), KeyEpoch::ZERO))
        .unwrap();
    let who = home.display();
    vec![
        (format!("{who}: wallet keypair"), keypair.clone()),
        (format!("{who}: wallet seed"), keypair[..32].to_vec()),
        (
            format!("{who}: derivation signature"),
            signature.as_bytes().to_vec(),
        ),
        (format!("{who}: IPNS key seed"), keys.ipns().seed().to_vec()),
        (format!("{who}: DM secret"), keys.dm().to_bytes().to_vec()),
        (
            format!("{who}: store key"),
            keys.store().as_bytes().to_vec(),
        ),
    ]
}

/// Fails if `log` holds any of `secrets` in any usual encoding: hex (both
/// cases), base58, base64 (standard and URL-safe, padded or not), and as
/// a list of numbers (JSON and `Debug`).
pub(crate) fn assert_no_secrets(log: &str, secrets: &[(String, Vec<u8>)]) {
    for (what, secret) in secrets {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let numbers: Vec<String> = secret.iter().map(ToString::to_string).collect();
        let standard = base64(secret, b"+/");
        let forms = [
            hex.clone(),
            hex.to_uppercase(),
            bs58::encode(secret).into_string(),
            standard.clone(),
            standard.trim_end_matches('=').to_owned(),
            base64(secret, b"-_").trim_end_matches('=').to_owned(),
            format!("[{}]", numbers.join(",")),
            format!("[{}]", numbers.join(", ")),
        ];
        for form in forms {
            assert!(!log.contains(&form), "{what} is in the log (as {form})");
        }
    }
}

fn base64(bytes: &[u8], last_two: &[u8; 2]) -> String {
    let mut alphabet: Vec<u8> = (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .chain(b'0'..=b'9')
        .collect();
    alphabet.extend_from_slice(last_two);
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) mod surfnet;
