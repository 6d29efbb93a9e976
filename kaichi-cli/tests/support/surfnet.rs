//! A real Solana JSON-RPC for the token-holder tests: surfpool's surfnet
//! (npm `@solana/surfpool-linux-x64-gnu`, prebuilt: an SVM with the SPL
//! Token programs serving JSON-RPC on 127.0.0.1, offline), with mints and
//! balances made by real transactions (interop/solana/surfnet.mjs).

use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// A running surfnet, stopped when dropped.
pub(crate) struct Surfnet {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Its JSON-RPC endpoint (`http://127.0.0.1:<port>`).
    pub(crate) rpc: String,
}

impl Surfnet {
    /// Installs the npm project if needed and starts a surfnet.
    pub(crate) fn start() -> Self {
        let dir = super::npm_project("interop/solana");
        let mut child = Command::new("node")
            .arg("surfnet.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the Solana tests");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: Value =
            serde_json::from_str(&stdout.next().expect("surfnet exited").unwrap()).unwrap();
        let rpc = first["rpc"].as_str().expect("no rpc url").to_owned();
        Self {
            child,
            stdin,
            stdout,
            rpc,
        }
    }

    /// One operation of surfnet.mjs; panics on its error.
    pub(crate) fn op(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        let line = self.stdout.next().expect("surfnet exited").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(v.get("error").is_none(), "{request}: {v}");
        v
    }

    /// A new mint (`program`: "token" or "token2022"), 0 decimals.
    pub(crate) fn mint(&mut self, program: &str) -> String {
        let v = self.op(json!({"op": "mint", "program": program, "decimals": 0}));
        v["mint"].as_str().unwrap().to_owned()
    }

    /// Mints `amount` to `owner`'s associated token account.
    pub(crate) fn mint_to(&mut self, program: &str, mint: &str, owner: &str, amount: u64) {
        self.op(
            json!({"op": "mintTo", "program": program, "mint": mint, "owner": owner,
            "amount": amount.to_string()}),
        );
    }

    /// Sets `owner`'s balance of `mint` (as if it sold).
    pub(crate) fn set_balance(&mut self, program: &str, mint: &str, owner: &str, amount: u64) {
        self.op(
            json!({"op": "setBalance", "program": program, "mint": mint, "owner": owner,
            "amount": amount.to_string()}),
        );
    }

    /// Stops the RPC (the endpoint stops answering).
    pub(crate) fn stop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"op": "stop"}));
        let _ = self.child.wait();
    }
}

impl Drop for Surfnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
