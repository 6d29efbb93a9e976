//! `getTokenAccountsByOwner` with a mint filter (JSON-RPC 2.0): the request
//! body, and the answer checked and summed.
//!
//! Every account listed must be a token account of the asked mint and
//! wallet, owned by the SPL Token program or Token-2022; anything else (a
//! node answering for another mint, a malformed amount, a sum past
//! `u64::MAX`) is an error, not a smaller balance.

use std::str::FromStr;

use kaichi_identity::WalletAddress;
use serde_json::Value;

/// The SPL Token program.
pub const TOKEN_PROGRAM: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
/// The Token-2022 program.
pub const TOKEN_2022_PROGRAM: &str = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
/// Most token accounts of one mint summed for one wallet.
pub const MAX_ACCOUNTS: usize = 1_024;
/// Longest RPC error message kept.
const MAX_ERROR_MESSAGE: usize = 256;

/// How settled the state read must be (Solana's commitment levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Commitment {
    /// Processed by the node (may be rolled back).
    Processed,
    /// Voted on by a supermajority (the default).
    #[default]
    Confirmed,
    /// Rooted.
    Finalized,
}

impl Commitment {
    /// The level's name in JSON-RPC.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Confirmed => "confirmed",
            Self::Finalized => "finalized",
        }
    }
}

/// An unknown commitment level's name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not a commitment level (processed, confirmed, finalized)")]
pub struct UnknownCommitment(String);

impl FromStr for Commitment {
    type Err = UnknownCommitment;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "processed" => Ok(Self::Processed),
            "confirmed" => Ok(Self::Confirmed),
            "finalized" => Ok(Self::Finalized),
            other => Err(UnknownCommitment(other.to_owned())),
        }
    }
}

/// The JSON-RPC body asking for `wallet`'s token accounts of `mint`.
pub fn balance_request(
    id: u64,
    wallet: &WalletAddress,
    mint: &WalletAddress,
    commitment: Commitment,
) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "getTokenAccountsByOwner",
        "params": [
            wallet.to_string(),
            { "mint": mint.to_string() },
            { "encoding": "jsonParsed", "commitment": commitment.as_str() },
        ],
    });
    body.to_string().into_bytes()
}

/// What is wrong with an RPC answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcAnswerError {
    /// Not JSON, or not the JSON-RPC shape expected (`what` says where).
    #[error("malformed RPC answer: {what}")]
    Malformed {
        /// The part that is missing or wrong.
        what: &'static str,
    },
    /// The answer is for another request.
    #[error("the RPC answered request {got}, not {expected}")]
    WrongId {
        /// The request's id.
        expected: u64,
        /// The answer's.
        got: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("the RPC refused: {message} (code {code})")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message (cut to 256 bytes).
        message: String,
    },
    /// An account listed is not a token account of this wallet and mint.
    #[error("the RPC listed an account that is not {wallet}'s token account of {mint}")]
    ForeignAccount {
        /// The wallet asked about.
        wallet: WalletAddress,
        /// The mint asked about.
        mint: WalletAddress,
    },
    /// More token accounts than [`MAX_ACCOUNTS`].
    #[error("the RPC listed more than {MAX_ACCOUNTS} token accounts")]
    TooManyAccounts,
    /// The amounts add up past `u64::MAX`.
    #[error("the token amounts add up past u64::MAX")]
    Overflow,
}

/// Shortens `s` to at most `max` bytes, at a character boundary.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
}

fn malformed(what: &'static str) -> RpcAnswerError {
    RpcAnswerError::Malformed { what }
}

/// The balance in an answer to [`balance_request`] `id`: the sum of the
/// listed accounts' amounts, in base units.
pub fn parse_balance(
    body: &[u8],
    id: u64,
    wallet: &WalletAddress,
    mint: &WalletAddress,
) -> Result<u64, RpcAnswerError> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| malformed("not JSON"))?;
    let answer = answer.as_object().ok_or(malformed("not an object"))?;
    if answer.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(malformed("jsonrpc is not \"2.0\""));
    }
    if let Some(error) = answer.get("error") {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let mut message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        cut(&mut message, MAX_ERROR_MESSAGE);
        return Err(RpcAnswerError::Rpc { code, message });
    }
    match answer.get("id") {
        Some(Value::Number(n)) if n.as_u64() == Some(id) => {}
        Some(other) => {
            let mut got = other.to_string();
            cut(&mut got, 32);
            return Err(RpcAnswerError::WrongId { expected: id, got });
        }
        None => return Err(malformed("no id")),
    }
    let accounts = answer
        .get("result")
        .and_then(|r| r.get("value"))
        .and_then(Value::as_array)
        .ok_or(malformed("no result.value list"))?;
    if accounts.len() > MAX_ACCOUNTS {
        return Err(RpcAnswerError::TooManyAccounts);
    }
    let (wallet_s, mint_s) = (wallet.to_string(), mint.to_string());
    let mut total: u64 = 0;
    for account in accounts {
        let account = account
            .get("account")
            .ok_or(malformed("an entry has no account"))?;
        let program = account.get("owner").and_then(Value::as_str);
        if !matches!(program, Some(TOKEN_PROGRAM | TOKEN_2022_PROGRAM)) {
            return Err(RpcAnswerError::ForeignAccount {
                wallet: *wallet,
                mint: *mint,
            });
        }
        let info = account
            .get("data")
            .and_then(|d| d.get("parsed"))
            .and_then(|p| p.get("info"))
            .ok_or(malformed("an account has no data.parsed.info"))?;
        let field = |name| info.get(name).and_then(Value::as_str);
        if field("mint") != Some(&mint_s) || field("owner") != Some(&wallet_s) {
            return Err(RpcAnswerError::ForeignAccount {
                wallet: *wallet,
                mint: *mint,
            });
        }
        let amount = info
            .get("tokenAmount")
            .and_then(|t| t.get("amount"))
            .and_then(Value::as_str)
            .ok_or(malformed("an account has no tokenAmount.amount"))?;
        // Base units as a decimal string: digits only (no sign, no "+").
        if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("an amount is not a decimal integer"));
        }
        let amount: u64 = amount.parse().map_err(|_| RpcAnswerError::Overflow)?;
        total = total.checked_add(amount).ok_or(RpcAnswerError::Overflow)?;
    }
    Ok(total)
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
