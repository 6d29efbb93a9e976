//! Kaichi's patch that checks a joined tree's Ed25519 leaf signatures in
//! batches (`third_party/mls-rs`, `tree_validator.rs`) must refuse what
//! single verification refuses. A forging inviter (its client checks no
//! signature) adds a colluder whose KeyPackage's leaf carries a bad
//! signature, so the tree hash and the GroupInfo it signs match a tree with
//! a bad leaf: every honest joiner refuses the Welcome with the error single
//! verification gives, whether the bad leaf shares a batch with good ones or
//! not; the same group from an honest inviter is joined.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mls_rs::client_builder::MlsConfig;
use mls_rs::crypto::{
    HpkeCiphertext, HpkePublicKey, HpkeSecretKey, SignaturePublicKey, SignatureSecretKey,
};
use mls_rs::error::MlsError;
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules};
use mls_rs::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider, ExtensionList, MlsMessage};
use mls_rs_core::crypto::HpkePsk;
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use zeroize::Zeroizing;

const SUITE: CipherSuite = CipherSuite::CURVE25519_AES128;

/// A crypto provider that does what RustCrypto does, except that it may
/// sign leaf nodes wrongly (one bit flipped) or accept every signature: a
/// rogue client.
#[derive(Clone, Copy, Default)]
struct Rogue {
    forge_leaves: bool,
    accept_all: bool,
}

#[derive(Clone)]
struct RogueSuite<S>(S, Rogue);

impl CryptoProvider for Rogue {
    type CipherSuiteProvider =
        RogueSuite<<RustCryptoProvider as CryptoProvider>::CipherSuiteProvider>;

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        RustCryptoProvider::default().supported_cipher_suites()
    }

    fn cipher_suite_provider(&self, suite: CipherSuite) -> Option<Self::CipherSuiteProvider> {
        RustCryptoProvider::default()
            .cipher_suite_provider(suite)
            .map(|s| RogueSuite(s, *self))
    }
}

impl<S: CipherSuiteProvider> CipherSuiteProvider for RogueSuite<S> {
    type Error = S::Error;
    type HpkeContextS = S::HpkeContextS;
    type HpkeContextR = S::HpkeContextR;

    fn cipher_suite(&self) -> CipherSuite {
        self.0.cipher_suite()
    }
    fn hash(&self, data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        self.0.hash(data)
    }
    fn mac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        self.0.mac(key, data)
    }
    fn aead_seal(
        &self,
        key: &[u8],
        data: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Vec<u8>, Self::Error> {
        self.0.aead_seal(key, data, aad, nonce)
    }
    fn aead_open(
        &self,
        key: &[u8],
        ciphertext: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.0.aead_open(key, ciphertext, aad, nonce)
    }
    fn aead_key_size(&self) -> usize {
        self.0.aead_key_size()
    }
    fn aead_nonce_size(&self) -> usize {
        self.0.aead_nonce_size()
    }
    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.0.kdf_extract(salt, ikm)
    }
    fn kdf_expand(
        &self,
        prk: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.0.kdf_expand(prk, info, len)
    }
    fn kdf_extract_size(&self) -> usize {
        self.0.kdf_extract_size()
    }
    fn hpke_seal(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
    ) -> Result<HpkeCiphertext, Self::Error> {
        self.0.hpke_seal(remote_key, info, aad, pt)
    }
    fn hpke_seal_psk(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
        psk: HpkePsk<'_>,
    ) -> Result<HpkeCiphertext, Self::Error> {
        self.0.hpke_seal_psk(remote_key, info, aad, pt, psk)
    }
    fn hpke_open(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.0
            .hpke_open(ciphertext, local_secret, local_public, info, aad)
    }
    fn hpke_open_psk(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        psk: HpkePsk<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, Self::Error> {
        self.0
            .hpke_open_psk(ciphertext, local_secret, local_public, info, aad, psk)
    }
    fn hpke_setup_s(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
    ) -> Result<(Vec<u8>, Self::HpkeContextS), Self::Error> {
        self.0.hpke_setup_s(remote_key, info)
    }
    fn hpke_setup_r(
        &self,
        kem_output: &[u8],
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
    ) -> Result<Self::HpkeContextR, Self::Error> {
        self.0
            .hpke_setup_r(kem_output, local_secret, local_public, info)
    }
    fn kem_derive(&self, ikm: &[u8]) -> Result<(HpkeSecretKey, HpkePublicKey), Self::Error> {
        self.0.kem_derive(ikm)
    }
    fn kem_generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), Self::Error> {
        self.0.kem_generate()
    }
    fn kem_public_key_validate(&self, key: &HpkePublicKey) -> Result<(), Self::Error> {
        self.0.kem_public_key_validate(key)
    }
    fn random_bytes(&self, out: &mut [u8]) -> Result<(), Self::Error> {
        self.0.random_bytes(out)
    }
    fn signature_key_generate(
        &self,
    ) -> Result<(SignatureSecretKey, SignaturePublicKey), Self::Error> {
        self.0.signature_key_generate()
    }
    fn signature_key_derive_public(
        &self,
        secret_key: &SignatureSecretKey,
    ) -> Result<SignaturePublicKey, Self::Error> {
        self.0.signature_key_derive_public(secret_key)
    }
    fn sign(&self, secret_key: &SignatureSecretKey, data: &[u8]) -> Result<Vec<u8>, Self::Error> {
        let mut signature = self.0.sign(secret_key, data)?;
        // RFC 9420 SignWithLabel: the label "MLS 1.0 LeafNodeTBS" leads.
        if self.1.forge_leaves && data.windows(11).any(|w| w == b"LeafNodeTBS") {
            signature[10] ^= 1;
        }
        Ok(signature)
    }
    fn verify(
        &self,
        public_key: &SignaturePublicKey,
        signature: &[u8],
        data: &[u8],
    ) -> Result<(), Self::Error> {
        if self.1.accept_all {
            return Ok(());
        }
        self.0.verify(public_key, signature, data)
    }
}

fn client<C: CryptoProvider + Clone + 'static>(
    provider: C,
    name: &str,
) -> Client<impl MlsConfig + use<C>> {
    let cs = provider.cipher_suite_provider(SUITE).unwrap();
    let (secret, public) = cs.signature_key_generate().unwrap();
    let identity = SigningIdentity::new(
        BasicCredential::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    Client::builder()
        .crypto_provider(provider)
        .identity_provider(BasicIdentityProvider::new())
        .mls_rules(
            DefaultMlsRules::new()
                .with_commit_options(CommitOptions::new().with_ratchet_tree_extension(true)),
        )
        .signing_identity(identity, secret, SUITE)
        .build()
}

/// An inviter whose client is `inviter` adds a colluder whose client is
/// `colluder` and `joiners` honest members in one commit; what each honest
/// member's `join_group` gives.
fn invite(inviter: Rogue, colluder: Rogue, joiners: usize) -> Vec<Result<(), MlsError>> {
    let inviter = client(inviter, "inviter");
    let mut group = inviter
        .create_group(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap();
    let colluder = client(colluder, "colluder");
    let honest: Vec<_> = (0..joiners)
        .map(|i| client(RustCryptoProvider::default(), &format!("m{i}")))
        .collect();
    let key_package = |c: &Client<_>| -> MlsMessage {
        c.generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
            .unwrap()
    };
    // The colluder's leaf is first: it shares the first batch.
    let mut commit = group
        .commit_builder()
        .add_member(
            colluder
                .generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
                .unwrap(),
        )
        .unwrap();
    for c in &honest {
        commit = commit.add_member(key_package(c)).unwrap();
    }
    let out = commit.build().unwrap();
    group.apply_pending_commit().unwrap();
    let welcome = &out.welcome_messages()[0];
    honest
        .iter()
        .map(|c| c.join_group(None, welcome, None).map(|_| ()))
        .collect()
}

#[test]
fn a_forged_leaf_is_refused_alone_or_among_good_ones() {
    let forger = Rogue {
        forge_leaves: true,
        accept_all: false,
    };
    let lax = Rogue {
        forge_leaves: false,
        accept_all: true,
    };
    // 3 leaves: one batch; 71: a first batch of 64 with the bad leaf, then
    // a good one.
    for joiners in [1, 69] {
        let honest = invite(lax, Rogue::default(), joiners);
        assert!(honest.iter().all(Result::is_ok), "{honest:?}");
        let forged = invite(lax, forger, joiners);
        assert_eq!(forged.len(), joiners);
        for r in forged {
            assert!(matches!(r, Err(MlsError::InvalidSignature)), "{r:?}");
        }
    }
}
