//! A Solana RPC answer to `getTokenAccountsByOwner`: never panics; a
//! balance comes only from accounts of the asked wallet and mint.
#![no_main]

use kaichi_groups::token::parse_balance;
use kaichi_identity::WalletAddress;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let wallet = WalletAddress::from_bytes([1; 32]);
    let mint = WalletAddress::from_bytes([2; 32]);
    if let Ok(balance) = parse_balance(data, 1, &wallet, &mint) {
        // The same answer for another wallet or mint is refused unless it
        // lists no account at all.
        let other = WalletAddress::from_bytes([3; 32]);
        if balance > 0 {
            assert!(parse_balance(data, 1, &other, &mint).is_err());
            assert!(parse_balance(data, 1, &wallet, &other).is_err());
        }
    }
});
