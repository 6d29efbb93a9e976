//! kaichi-identity: key derivation, IPNS record create/validate, identity
//! document sign/verify. Target: each under 100 us on one core.
//!
//! `cargo bench -p kaichi-benches --bench identity`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kaichi_identity::document::{DeviceGrant, DeviceRequest, DocumentBuilder, verify_document};
use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, IpnsName, KeyEpoch, Timestamp, derivation_message};
use zeroize::Zeroizing;

const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);

fn identity(c: &mut Criterion) {
    let wallet = KeypairWallet::from_secret_seed(&[1; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();

    // Derivation as a device does it: the wallet signs, then HKDF (includes
    // the signature check).
    c.bench_function("identity/derive_keys (sign + verify + hkdf)", |b| {
        b.iter(|| IdentityKeys::derive(black_box(&wallet), KeyEpoch::ZERO).unwrap())
    });
    // Derivation from a signature made elsewhere (browser / hardware wallet).
    let sig = wallet
        .sign_message(&derivation_message(&wallet.address(), KeyEpoch::ZERO))
        .unwrap();
    c.bench_function("identity/derive_keys_from_signature", |b| {
        b.iter(|| {
            IdentityKeys::from_wallet_signature(wallet.address(), KeyEpoch::ZERO, black_box(&sig))
                .unwrap()
        })
    });

    let params = RecordParams::new(
        "/ipfs/bafkqaddwgevxmmraojswg33smq",
        1,
        NOW.checked_add(Duration::from_secs(86_400)).unwrap(),
    );
    c.bench_function("ipns/create_record (v1+v2)", |b| {
        b.iter(|| create_record(keys.ipns(), black_box(&params)).unwrap())
    });
    let record = create_record(keys.ipns(), &params).unwrap();
    let name = keys.ipns().name();
    c.bench_function("ipns/validate_record", |b| {
        b.iter(|| validate_record(black_box(&record), &name, NOW).unwrap())
    });
    let text = name.to_string();
    c.bench_function("ipns/name_parse_k51", |b| {
        b.iter(|| black_box(&text).parse::<IpnsName>().unwrap())
    });

    let device = KeypairWallet::from_secret_seed(&[2; 32]);
    let device_keys = IdentityKeys::derive(&device, KeyEpoch::ZERO).unwrap();
    let request = DeviceRequest::create(&device, &device_keys, name).unwrap();
    let grant = DeviceGrant::issue(&keys, &request, Zeroizing::new([3; 32]), NOW).unwrap();
    let plain = DocumentBuilder::new(&keys, NOW, Duration::from_secs(86_400))
        .sign(&wallet)
        .unwrap();
    let with_device = DocumentBuilder::new(&keys, NOW, Duration::from_secs(86_400))
        .device(grant.clone())
        .sign(&wallet)
        .unwrap();
    c.bench_function("document/sign", |b| {
        b.iter(|| {
            DocumentBuilder::new(&keys, NOW, Duration::from_secs(86_400))
                .sign(black_box(&wallet))
                .unwrap()
        })
    });
    c.bench_function("document/verify", |b| {
        b.iter(|| verify_document(black_box(&plain), NOW).unwrap())
    });
    c.bench_function("document/verify (1 device grant)", |b| {
        b.iter(|| verify_document(black_box(&with_device), NOW).unwrap())
    });
    let verified = verify_document(&with_device, NOW).unwrap();
    c.bench_function("document/open_grant", |b| {
        b.iter(|| verified.open_grant(black_box(&device_keys)).unwrap())
    });
}

criterion_group!(benches, identity);
criterion_main!(benches);
