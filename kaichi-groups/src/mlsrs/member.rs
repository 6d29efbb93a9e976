//! One member's mls-rs engine: its signing identity, its KeyPackages, and
//! the groups it creates or joins.

use kaichi_identity::IpnsName;
use mls_rs::crypto::{SignaturePublicKey, SignatureSecretKey};
use mls_rs::extension::built_in::RequiredCapabilitiesExt;
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::BasicCredential;
use mls_rs::{CipherSuite, CipherSuiteProvider as _, Client, CryptoProvider as _, ExtensionList};
use mls_rs::{Extension, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;

use super::group::RsGroup;
use super::identity::{KaichiIdentity, SharedDevices};
use super::rules::KaichiRules;
use super::{METADATA_TYPE, RsConfig, RsStore, rule_error};
use crate::group::{CreateError, JoinError, NewGroup};
use crate::keypackage::KeyPackageError;
use crate::metadata::GroupMetadata;
use crate::{GroupId, MAX_MESSAGE_BYTES, MemberSigner, MlsError};

/// Kaichi's ciphersuite as mls-rs names it (0x0001).
pub(crate) const RS_CIPHERSUITE: CipherSuite = CipherSuite::CURVE25519_AES128;

/// One member's mls-rs engine.
pub struct RsMember<P: super::RsPolicy> {
    client: Client<RsConfig<P>>,
    name: IpnsName,
    rules: KaichiRules<P>,
    store: RsStore,
}

impl<P: super::RsPolicy> std::fmt::Debug for RsMember<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsMember")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<P: super::RsPolicy> RsMember<P> {
    /// The engine of member `me`, applying `policy` to what it receives and
    /// accepting the device keys `devices` vouches for, with its state in
    /// memory only. Its leaves support extension 0xF1CA (Kaichi metadata).
    pub fn new(me: &MemberSigner, policy: P, devices: SharedDevices) -> Self {
        Self::with_store(me, policy, devices, RsStore::default())
    }

    /// [`Self::new`] with its group state and KeyPackages in `store`.
    pub fn with_store(
        me: &MemberSigner,
        policy: P,
        devices: SharedDevices,
        store: RsStore,
    ) -> Self {
        let rules = KaichiRules::new(policy, devices.clone());
        let identity = SigningIdentity::new(
            BasicCredential::new(me.name().to_string().into_bytes()).into_credential(),
            SignaturePublicKey::new(me.public_key().to_vec()),
        );
        let secret = SignatureSecretKey::new(me.keypair_bytes().to_vec());
        let client = Client::builder()
            .crypto_provider(RustCryptoProvider::default())
            .identity_provider(KaichiIdentity::new(devices))
            .mls_rules(rules.clone())
            .key_package_repo(store.clone())
            .group_state_storage(store.clone())
            .extension_type(METADATA_TYPE)
            .signing_identity(identity, secret, RS_CIPHERSUITE)
            .build();
        Self {
            client,
            name: me.name(),
            rules,
            store,
        }
    }

    /// The member's identity.
    pub fn name(&self) -> IpnsName {
        self.name
    }

    /// Where this engine keeps its state.
    pub fn store(&self) -> &RsStore {
        &self.store
    }

    /// Loads group `id` from the store, with its ratchet tree (kept apart:
    /// see [`RsGroup::persist`]).
    pub fn load(&self, id: &GroupId, ratchet_tree: &[u8]) -> Result<RsGroup<P>, crate::LoadError> {
        let tree = mls_rs::group::ExportedTree::from_bytes(ratchet_tree)
            .map_err(|e| crate::LoadError::Storage(MlsError::storage(e)))?;
        let group = self
            .client
            .load_group_with_ratchet_tree(id.as_bytes(), tree)
            .map_err(|e| crate::LoadError::Storage(MlsError::storage(e)))?;
        let mut g = RsGroup::new(group, self.name, self.rules.clone()).map_err(|e| match e {
            super::RuleError::Metadata(m) => crate::LoadError::Metadata(m),
            other => crate::LoadError::Storage(MlsError::storage(other)),
        })?;
        g.mark_saved();
        Ok(g)
    }

    /// A new KeyPackage (`MLSMessage` bytes); its private keys stay in this
    /// engine until a Welcome uses them.
    pub fn key_package(&self) -> Result<Vec<u8>, KeyPackageError> {
        self.client
            .generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
            .and_then(|m| m.to_bytes())
            .map_err(|e| KeyPackageError::Build(MlsError::protocol(e)))
    }

    /// A new last-resort KeyPackage: its private keys stay after a Welcome
    /// uses them, so that any number of invitations may name it.
    pub fn last_resort_key_package(&self) -> Result<Vec<u8>, KeyPackageError> {
        let kp = self.key_package()?;
        let id = Self::reference(&kp).ok_or(KeyPackageError::Decode)?;
        self.store
            .keep(id)
            .map_err(|e| KeyPackageError::Build(MlsError::storage(e)))?;
        Ok(kp)
    }

    /// Whether this engine holds the private keys of KeyPackage `kp`.
    pub fn holds(&self, kp: &[u8]) -> bool {
        Self::reference(kp).is_some_and(|r| self.store.has_key_package(&r))
    }

    /// Keeps KeyPackage `kp` after use (see [`Self::last_resort_key_package`]).
    pub fn keep(&self, kp: &[u8]) {
        if let Some(r) = Self::reference(kp) {
            let _ = self.store.keep(r);
        }
    }

    /// The KeyPackageRef of `kp` (`MLSMessage` bytes).
    fn reference(kp: &[u8]) -> Option<Vec<u8>> {
        let kp = MlsMessage::from_bytes(kp).ok()?.into_key_package()?;
        let suite = RustCryptoProvider::default().cipher_suite_provider(RS_CIPHERSUITE)?;
        kp.to_reference(&suite).ok().map(|r| r.to_vec())
    }

    /// Creates a group with this member as its only member, admin and
    /// sequencer, under a random 32-byte id.
    pub fn create(&self, new: NewGroup) -> Result<RsGroup<P>, CreateError> {
        let metadata = GroupMetadata {
            name: new.name,
            description: new.description,
            admins: vec![self.name],
            sequencer: Some(self.name),
            token_gate: new.token_gate,
        };
        metadata.validate()?;
        let mut extensions = ExtensionList::new();
        extensions.set(Extension::new(METADATA_TYPE, metadata.encode()));
        extensions
            .set_from(RequiredCapabilitiesExt {
                extensions: vec![METADATA_TYPE],
                proposals: Vec::new(),
                credentials: Vec::new(),
            })
            .map_err(|e| CreateError::Mls(MlsError::protocol(e)))?;
        let suite = RustCryptoProvider::default()
            .cipher_suite_provider(RS_CIPHERSUITE)
            .ok_or_else(|| CreateError::Mls(MlsError::protocol("ciphersuite 0x0001 missing")))?;
        let id = suite
            .random_bytes_vec(GroupId::LEN)
            .map_err(|e| CreateError::Mls(MlsError::randomness(e)))?;
        let group = self
            .client
            .create_group_with_id(id, extensions, ExtensionList::new(), None)
            .map_err(|e| CreateError::Mls(MlsError::protocol(e)))?;
        RsGroup::new(group, self.name, self.rules.clone()).map_err(|e| match e {
            super::RuleError::Metadata(m) => CreateError::Metadata(m),
            other => CreateError::Mls(MlsError::protocol(other)),
        })
    }

    /// Joins from a Welcome and the group's ratchet tree (TLS-serialised;
    /// `None` when the Welcome carries it). Every member's credential must
    /// bind to its key and Kaichi metadata, when present, must be valid;
    /// otherwise nothing is kept.
    pub fn join(
        &self,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
    ) -> Result<RsGroup<P>, JoinError> {
        if ratchet_tree.is_some_and(|t| t.len() > crate::MAX_TREE_BYTES) {
            return Err(JoinError::TooLarge);
        }
        let tree = ratchet_tree
            .map(|t| crate::RatchetTree::from_bytes(t, crate::MAX_TREE_BYTES))
            .transpose()?;
        self.join_tree(welcome, tree.as_ref())
    }

    /// Joins from a Welcome and the group's ratchet tree decoded already
    /// (by a [`crate::TreeDecoder`], as its chunks arrived): the same
    /// checks as [`Self::join`]; the tree's nodes are shared, not copied.
    pub fn join_tree(
        &self,
        welcome: &[u8],
        tree: Option<&crate::RatchetTree>,
    ) -> Result<RsGroup<P>, JoinError> {
        if welcome.len() > MAX_MESSAGE_BYTES {
            return Err(JoinError::TooLarge);
        }
        let welcome = MlsMessage::from_bytes(welcome).map_err(|_| JoinError::Decode)?;
        let tree = tree.map(crate::RatchetTree::exported);
        let (group, _) =
            self.client
                .join_group(tree, &welcome, None)
                .map_err(|e| match rule_error(&e) {
                    _ if matches!(e, mls_rs::error::MlsError::WelcomeKeyPackageNotFound) => {
                        JoinError::NotForMe
                    }
                    Some(super::RuleError::Credential(c)) => JoinError::Credential {
                        leaf: u32::MAX,
                        error: c.clone(),
                    },
                    Some(super::RuleError::Metadata(m)) => JoinError::Metadata(m.clone()),
                    _ => JoinError::Mls(MlsError::protocol(e)),
                })?;
        let len = group.group_id().len();
        if len != GroupId::LEN {
            return Err(JoinError::GroupIdLength(len));
        }
        RsGroup::new(group, self.name, self.rules.clone()).map_err(|e| match e {
            super::RuleError::Metadata(m) => JoinError::Metadata(m),
            other => JoinError::Mls(MlsError::protocol(other)),
        })
    }
}
