#![allow(clippy::unwrap_used)]
use super::*;
use proptest::prelude::*;

fn w(b: u8) -> WalletAddress {
    WalletAddress::from_bytes([b; 32])
}

fn account(program: &str, mint: &WalletAddress, owner: &WalletAddress, amount: &str) -> Value {
    serde_json::json!({
        "pubkey": w(77).to_string(),
        "account": {
            "owner": program,
            "lamports": 2039280,
            "executable": false,
            "data": {
                "program": "spl-token",
                "space": 165,
                "parsed": {
                    "type": "account",
                    "info": {
                        "mint": mint.to_string(),
                        "owner": owner.to_string(),
                        "state": "initialized",
                        "isNative": false,
                        "tokenAmount": { "amount": amount, "decimals": 0 }
                    }
                }
            }
        }
    })
}

fn answer(id: u64, accounts: Vec<Value>) -> Vec<u8> {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": { "context": { "slot": 5 }, "value": accounts }
    })
    .to_string()
    .into_bytes()
}

#[test]
fn the_request_names_wallet_mint_and_commitment() {
    let body = balance_request(7, &w(1), &w(2), Commitment::Finalized);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["method"], "getTokenAccountsByOwner");
    assert_eq!(v["id"], 7);
    assert_eq!(v["params"][0], w(1).to_string());
    assert_eq!(v["params"][1]["mint"], w(2).to_string());
    assert_eq!(v["params"][2]["commitment"], "finalized");
    assert_eq!(v["params"][2]["encoding"], "jsonParsed");
    assert_eq!(
        "confirmed".parse::<Commitment>().unwrap(),
        Commitment::default()
    );
    assert!("final".parse::<Commitment>().is_err());
}

#[test]
fn accounts_of_both_token_programs_add_up() {
    let (wallet, mint) = (w(1), w(2));
    let body = answer(
        3,
        vec![
            account(TOKEN_PROGRAM, &mint, &wallet, "10"),
            account(TOKEN_2022_PROGRAM, &mint, &wallet, "5"),
        ],
    );
    assert_eq!(parse_balance(&body, 3, &wallet, &mint), Ok(15));
    assert_eq!(parse_balance(&answer(3, vec![]), 3, &wallet, &mint), Ok(0));
}

#[test]
fn foreign_accounts_wrong_ids_and_errors_are_refused() {
    let (wallet, mint) = (w(1), w(2));
    let other_mint = answer(1, vec![account(TOKEN_PROGRAM, &w(3), &wallet, "10")]);
    assert!(matches!(
        parse_balance(&other_mint, 1, &wallet, &mint),
        Err(RpcAnswerError::ForeignAccount { .. })
    ));
    let other_owner = answer(1, vec![account(TOKEN_PROGRAM, &mint, &w(4), "10")]);
    assert!(matches!(
        parse_balance(&other_owner, 1, &wallet, &mint),
        Err(RpcAnswerError::ForeignAccount { .. })
    ));
    let other_program = answer(1, vec![account(&w(5).to_string(), &mint, &wallet, "10")]);
    assert!(matches!(
        parse_balance(&other_program, 1, &wallet, &mint),
        Err(RpcAnswerError::ForeignAccount { .. })
    ));
    assert!(matches!(
        parse_balance(&answer(2, vec![]), 1, &wallet, &mint),
        Err(RpcAnswerError::WrongId { expected: 1, .. })
    ));
    let error = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid param: could not find mint"}}"#;
    assert_eq!(
        parse_balance(error, 1, &wallet, &mint),
        Err(RpcAnswerError::Rpc {
            code: -32602,
            message: "Invalid param: could not find mint".into()
        })
    );
    for bad in [
        &b"not json"[..],
        b"[]",
        br#"{"jsonrpc":"2.0","id":1}"#,
        br#"{"id":1,"result":{"value":[]}}"#,
    ] {
        assert!(matches!(
            parse_balance(bad, 1, &wallet, &mint),
            Err(RpcAnswerError::Malformed { .. })
        ));
    }
    for amount in ["-1", "+1", "1.5", "", "0x10"] {
        let body = answer(1, vec![account(TOKEN_PROGRAM, &mint, &wallet, amount)]);
        assert!(
            matches!(
                parse_balance(&body, 1, &wallet, &mint),
                Err(RpcAnswerError::Malformed { .. })
            ),
            "{amount}"
        );
    }
    let many = answer(
        1,
        vec![account(TOKEN_PROGRAM, &mint, &wallet, "1"); MAX_ACCOUNTS + 1],
    );
    assert_eq!(
        parse_balance(&many, 1, &wallet, &mint),
        Err(RpcAnswerError::TooManyAccounts)
    );
}

#[test]
fn long_and_non_ascii_texts_from_the_rpc_are_cut_at_character_boundaries() {
    let id = format!("\"{}\"", "é".repeat(40));
    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"value":[]}}}}"#);
    match parse_balance(body.as_bytes(), 1, &w(1), &w(2)) {
        Err(RpcAnswerError::WrongId { got, .. }) => assert!(got.len() <= 32),
        other => panic!("{other:?}"),
    }
    let message = "ü".repeat(300);
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":-1,"message":"{message}"}}}}"#);
    match parse_balance(body.as_bytes(), 1, &w(1), &w(2)) {
        Err(RpcAnswerError::Rpc { message, .. }) => assert!(message.len() <= 256),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn the_balance_is_the_exact_sum_or_an_overflow(amounts in proptest::collection::vec(any::<u64>(), 0..8)) {
        let (wallet, mint) = (w(1), w(2));
        let accounts = amounts
            .iter()
            .map(|a| account(TOKEN_PROGRAM, &mint, &wallet, &a.to_string()))
            .collect();
        let exact = amounts.iter().try_fold(0u64, |s, a| s.checked_add(*a));
        let got = parse_balance(&answer(9, accounts), 9, &wallet, &mint);
        match exact {
            Some(sum) => prop_assert_eq!(got, Ok(sum)),
            None => prop_assert_eq!(got, Err(RpcAnswerError::Overflow)),
        }
    }

    #[test]
    fn any_bytes_give_a_balance_or_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_balance(&body, 1, &w(1), &w(2));
    }
}
