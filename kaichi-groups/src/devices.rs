//! The device keys a member knows from verified identity documents: the
//! [`DeviceDirectory`] nodes and the CLI check group leaves against.

use std::collections::HashMap;

use kaichi_identity::document::VerifiedDocument;
use kaichi_identity::{IpnsName, IpnsPublicKey};

use crate::credential::DeviceDirectory;

/// Most identities whose device keys are remembered (the cache is cleared
/// when full; this member's own identity is kept apart and never dropped).
pub const MAX_KNOWN_IDENTITIES: usize = 4096;

/// Device keys granted in the identity documents this member has verified.
#[derive(Debug, Default, Clone)]
pub struct KnownDevices {
    own: Option<(IpnsName, Vec<IpnsPublicKey>)>,
    /// Per identity: its newest document's creation time and device keys.
    others: HashMap<
        IpnsName,
        (
            kaichi_identity::document::DocumentVersion,
            Vec<IpnsPublicKey>,
        ),
    >,
}

impl KnownDevices {
    /// Records the device signing keys this member's own document grants.
    pub fn remember_own(&mut self, doc: &VerifiedDocument) {
        self.own = Some((doc.public().ipns_name(), device_keys(doc)));
    }

    /// Records the device signing keys a verified document grants (replacing
    /// what an older document of the same identity granted; an older one
    /// than the newest seen changes nothing, so a revoked device stays out).
    pub fn remember(&mut self, doc: &VerifiedDocument) {
        let name = doc.public().ipns_name();
        let keys = device_keys(doc);
        if let Some((own, k)) = &mut self.own
            && *own == name
        {
            *k = keys;
            return;
        }
        let version = doc.version();
        if self
            .others
            .get(&name)
            .is_some_and(|(seen, _)| *seen > version)
        {
            return;
        }
        if self.others.len() >= MAX_KNOWN_IDENTITIES {
            self.others.clear();
        }
        self.others.insert(name, (version, keys));
    }
}

fn device_keys(doc: &VerifiedDocument) -> Vec<IpnsPublicKey> {
    doc.devices()
        .iter()
        .map(|g| g.request().signing_key())
        .collect()
}

impl DeviceDirectory for KnownDevices {
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool {
        let own = self
            .own
            .as_ref()
            .filter(|(n, _)| n == identity)
            .map(|(_, k)| k);
        own.or_else(|| self.others.get(identity).map(|(_, k)| k))
            .is_some_and(|keys| keys.contains(key))
    }
}

/// The session shares its known devices with its mls-rs engine.
impl DeviceDirectory for std::sync::RwLock<KnownDevices> {
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool {
        // A panic while writing left a cache that is still a cache.
        self.read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_device_of(identity, key)
    }
}
