//! Balances through a real Solana JSON-RPC (surfpool's surfnet, started by
//! the test; mints and balances made by real SPL Token and Token-2022
//! transactions), and the client's typed errors for endpoints that fail or
//! answer badly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use kaichi_groups::token::RpcAnswerError;
use kaichi_identity::WalletAddress;
use kaichi_identity::wallet::WalletSigner as _;
use kaichi_transport::solana::{RpcError, SolanaRpc, SolanaRpcConfig};
use support::surfnet::Surfnet;

fn wallet(seed: u8) -> WalletAddress {
    kaichi_test_support::identity::wallet(seed).address()
}

fn rpc(url: &str) -> SolanaRpc {
    SolanaRpc::new(
        SolanaRpcConfig::new(url)
            .unwrap()
            .retries(1, Duration::from_millis(50)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_of_both_token_programs_through_a_real_rpc() {
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let (holder, other) = (wallet(1), wallet(2));
    let spl = surfnet.mint("token");
    let t22 = surfnet.mint("token2022");
    surfnet.mint_to("token", &spl, &holder.to_string(), 10);
    surfnet.mint_to("token", &spl, &holder.to_string(), 5);
    surfnet.mint_to("token2022", &t22, &holder.to_string(), 7);
    let (spl_m, t22_m): (WalletAddress, WalletAddress) =
        (spl.parse().unwrap(), t22.parse().unwrap());

    let client = rpc(&surfnet.rpc);
    assert_eq!(client.fetch_balance(&holder, &spl_m).await.unwrap(), 15);
    assert_eq!(client.fetch_balance(&holder, &t22_m).await.unwrap(), 7);
    // No token account at all: holds nothing (not an error).
    assert_eq!(client.fetch_balance(&other, &spl_m).await.unwrap(), 0);
    // The policy's synchronous view: what was read, nothing else.
    assert_eq!(client.cached_balance(&holder, &spl_m), Some(15));
    assert_eq!(
        kaichi_groups::BalanceSource::balance(&client, &holder, &spl_m).ok(),
        Some(15)
    );
    assert!(kaichi_groups::BalanceSource::balance(&client, &wallet(3), &spl_m).is_err());

    // The holder sells: within the TTL the cache still says 15; a client
    // that caches nothing sees 0.
    surfnet.set_balance("token", &spl, &holder.to_string(), 0);
    assert_eq!(client.fetch_balance(&holder, &spl_m).await.unwrap(), 15);
    let fresh = SolanaRpc::new(
        SolanaRpcConfig::new(&surfnet.rpc)
            .unwrap()
            .cache_ttl(Duration::ZERO),
    );
    assert_eq!(fresh.fetch_balance(&holder, &spl_m).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_that_stops_answering_reads_nothing() {
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let spl = surfnet.mint("token");
    surfnet.mint_to("token", &spl, &wallet(1).to_string(), 3);
    let client = rpc(&surfnet.rpc);
    let mint: WalletAddress = spl.parse().unwrap();
    assert_eq!(client.fetch_balance(&wallet(1), &mint).await.unwrap(), 3);
    surfnet.stop();
    // Another wallet (not cached): the endpoint is gone, after the retry.
    let e = client.fetch_balance(&wallet(2), &mint).await.unwrap_err();
    assert!(matches!(e, RpcError::Unreachable(_)), "{e:?}");
    assert!(client.cached_balance(&wallet(2), &mint).is_none());
}

/// An HTTP endpoint on 127.0.0.1 answering every request with `response`
/// (after `delay`); returns its URL.
fn endpoint(response: Vec<u8>, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let response = response.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                std::thread::sleep(delay);
                let _ = stream.write_all(&response);
            });
        }
    });
    url
}

fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_slow_and_failing_answers_are_typed_errors() {
    let (w, m) = (wallet(1), wallet(2));
    let malformed = rpc(&endpoint(
        http("200 OK", b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":7}"),
        Duration::ZERO,
    ));
    assert!(matches!(
        malformed.fetch_balance(&w, &m).await,
        Err(RpcError::Answer(RpcAnswerError::Malformed { .. }))
    ));
    let junk = rpc(&endpoint(
        http("200 OK", b"<html>busy</html>"),
        Duration::ZERO,
    ));
    assert!(matches!(
        junk.fetch_balance(&w, &m).await,
        Err(RpcError::Answer(RpcAnswerError::Malformed { .. }))
    ));
    // A JSON-RPC error (what Agave answers for a mint it does not know).
    let refusal = br#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid param: could not find mint"}}"#;
    let refusing = rpc(&endpoint(http("200 OK", refusal), Duration::ZERO));
    assert!(matches!(
        refusing.fetch_balance(&w, &m).await,
        Err(RpcError::Answer(RpcAnswerError::Rpc { code: -32602, .. }))
    ));
    let big_body = vec![b' '; 2 * 1024 * 1024];
    let oversized = rpc(&endpoint(http("200 OK", &big_body), Duration::ZERO));
    assert!(matches!(
        oversized.fetch_balance(&w, &m).await,
        Err(RpcError::TooLarge(1_048_576))
    ));
    let failing = rpc(&endpoint(
        http("503 Service Unavailable", b""),
        Duration::ZERO,
    ));
    assert!(matches!(
        failing.fetch_balance(&w, &m).await,
        Err(RpcError::Status(503))
    ));
    let slow = SolanaRpc::new(
        SolanaRpcConfig::new(&endpoint(http("200 OK", b"{}"), Duration::from_secs(5)))
            .unwrap()
            .timeout(Duration::from_millis(300))
            .unwrap()
            .retries(0, Duration::ZERO),
    );
    assert!(matches!(
        slow.fetch_balance(&w, &m).await,
        Err(RpcError::Timeout)
    ));
    // Nothing listening.
    let gone = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    assert!(matches!(
        rpc(&gone).fetch_balance(&w, &m).await,
        Err(RpcError::Unreachable(_))
    ));
    // None of it is a balance for the policy.
    for client in [&malformed, &junk, &refusing, &oversized, &failing, &slow] {
        assert!(client.cached_balance(&w, &m).is_none());
    }
}
