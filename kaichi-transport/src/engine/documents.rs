//! The cache of verified identity documents, by digest: a document seen
//! again (every notification carries its sender's) is not verified again
//! until it expires.

use std::collections::HashMap;

use kaichi_identity::{IdentityPublic, IpnsName, Timestamp};

/// Most verified documents cached (the cache is cleared when full).
pub(super) const MAX_CACHED_DOCUMENTS: usize = 4096;

/// Verified documents by SHA-256 digest, each until it expires.
#[derive(Default)]
pub(super) struct DocumentCache {
    by_digest: HashMap<[u8; 32], (IdentityPublic, Timestamp)>,
}

impl DocumentCache {
    /// The identity of a document verified before, while it is valid.
    pub(super) fn get(&self, digest: &[u8; 32], now: Timestamp) -> Option<IdentityPublic> {
        self.by_digest
            .get(digest)
            .filter(|(_, expires)| now < *expires)
            .map(|(peer, _)| *peer)
    }

    /// Remembers a verified document until `expires`.
    pub(super) fn insert(&mut self, digest: [u8; 32], peer: IdentityPublic, expires: Timestamp) {
        if self.by_digest.len() >= MAX_CACHED_DOCUMENTS {
            self.by_digest.clear();
        }
        self.by_digest.insert(digest, (peer, expires));
    }

    /// The identity named `name`, from a cached document still valid.
    pub(super) fn by_name(&self, name: &IpnsName, now: Timestamp) -> Option<IdentityPublic> {
        self.by_digest
            .values()
            .find(|(peer, expires)| now < *expires && peer.ipns_name() == *name)
            .map(|(peer, _)| *peer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use kaichi_test_support::identity::{keys, now};

    use super::*;

    #[test]
    fn a_document_is_cached_until_it_expires_and_the_full_cache_starts_over() {
        let mut cache = DocumentCache::default();
        let peer = keys(1).1.public();
        let t = now();
        let expires = t.checked_add(Duration::from_secs(60)).unwrap();
        cache.insert([1; 32], peer, expires);
        assert_eq!(cache.get(&[1; 32], t), Some(peer));
        assert_eq!(cache.by_name(&peer.ipns_name(), t), Some(peer));
        assert_eq!(cache.get(&[1; 32], expires), None);
        assert_eq!(cache.by_name(&peer.ipns_name(), expires), None);
        assert_eq!(cache.get(&[2; 32], t), None);
        for i in 0..MAX_CACHED_DOCUMENTS {
            let mut digest = [0; 32];
            digest[..8].copy_from_slice(&(i as u64 + 10).to_le_bytes());
            cache.insert(digest, peer, expires);
        }
        // Full: cleared before the last insert.
        assert_eq!(cache.get(&[1; 32], t), None);
    }
}
