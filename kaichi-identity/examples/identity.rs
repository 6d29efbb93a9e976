//! From a wallet to an identity: keys derived from one wallet signature,
//! the IPNS name, and an IPNS record anyone can validate from the name.
//!
//! `cargo run -p kaichi-identity --example identity`

use std::time::Duration;

use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp, derivation_message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any WalletSigner works: a keypair file, a browser or a hardware wallet.
    let wallet = KeypairWallet::from_secret_seed(&[7; 32]);
    println!("wallet      {}", wallet.address());
    println!(
        "the wallet signs:\n{}",
        String::from_utf8_lossy(&derivation_message(&wallet.address(), KeyEpoch::ZERO))
    );

    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO)?;
    let name = keys.public().ipns_name();
    println!("IPNS name   {name}");
    println!("PeerId      {}", name.peer_id());

    let now = Timestamp::from_system_time(std::time::SystemTime::now())?;
    let params = RecordParams::new(
        "/ipfs/bafkqaddwgevxmmraojswg33smq",
        1,
        now.checked_add(Duration::from_secs(86_400))
            .ok_or("the clock is too far in the future")?,
    );
    let record = create_record(keys.ipns(), &params)?;
    let valid = validate_record(&record, &name, now)?;
    println!(
        "IPNS record {} bytes, sequence {}, valid",
        record.len(),
        valid.sequence()
    );
    Ok(())
}
