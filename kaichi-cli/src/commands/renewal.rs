//! Renewing the identity document while `kaichi node` runs on the primary:
//! a document is valid for 30 days, and a node that runs longer re-signs it
//! (same devices, same KeyPackage references, a fresh lifetime) once less
//! than a quarter of its lifetime is left, and publishes it. Devices take
//! the renewed document from the primary's next self-sync; a device cannot
//! renew (only the primary wallet, or a device it lets approve, signs, and
//! never past the primary's own document).

use std::time::Duration;

use kaichi_identity::document::{DocumentBuilder, verify_document};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, Timestamp};
use kaichi_transport::Node;

/// How often the running node's document is looked at.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Whether a document expiring at `expires_at` is due for renewal at `now`:
/// less than a quarter of `lifetime` is left (7.5 days of 30).
pub(crate) fn renewal_due(expires_at: Timestamp, now: Timestamp, lifetime: Duration) -> bool {
    let left = expires_at.unix_nanos().saturating_sub(now.unix_nanos());
    u128::from(left) < lifetime.as_nanos() / 4
}

/// What a renewal check did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// Not due yet.
    NotDue,
    /// Re-signed and handed to the node, valid until then.
    Renewed(Timestamp),
}

/// Re-signs the node's document with a fresh `lifetime` when it is due
/// ([`renewal_due`]) and hands it to the node, which publishes it (and
/// reports it, so `kaichi node` keeps it in the profile).
pub(crate) async fn renew_if_due(
    node: &Node,
    wallet: &KeypairWallet,
    keys: &IdentityKeys,
    lifetime: Duration,
    now: Timestamp,
) -> anyhow::Result<Renewal> {
    let current = node.identity_document();
    // A document past its time still says what it granted: read it as of
    // just before it expired.
    let doc = match verify_document(&current, now) {
        Err(kaichi_identity::document::DocumentError::Expired { expires_at, .. }) => {
            verify_document(
                &current,
                Timestamp::from_unix_nanos(expires_at.unix_nanos().saturating_sub(1)),
            )?
        }
        other => other?,
    };
    if !renewal_due(doc.expires_at(), now, lifetime) {
        return Ok(Renewal::NotDue);
    }
    let mut builder = DocumentBuilder::new(keys, now, lifetime);
    for grant in doc.devices() {
        builder = builder.device(grant.clone());
    }
    for reference in doc.key_packages() {
        builder = builder.key_package(reference.clone());
    }
    let renewed = builder.sign(wallet)?;
    let until = verify_document(&renewed, now)?.expires_at();
    node.set_identity_document(renewed).await?;
    Ok(Renewal::Renewed(until))
}

/// Checks every [`CHECK_EVERY`] for as long as the node runs.
pub(crate) async fn renew_while_running(
    node: Node,
    wallet: KeypairWallet,
    keys: IdentityKeys,
    lifetime: Duration,
) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Ok(now) = Timestamp::from_system_time(std::time::SystemTime::now()) else {
            continue;
        };
        match renew_if_due(&node, &wallet, &keys, lifetime, now).await {
            Ok(Renewal::Renewed(until)) => {
                tracing::info!(%until, "renewed the identity document");
            }
            Ok(Renewal::NotDue) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not renew the identity document")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn due_when_a_quarter_of_the_lifetime_is_left() {
        let now = Timestamp::from_unix_secs(1_795_000_000);
        let at = |days: u32| now.checked_add(DAY * days).unwrap();
        assert!(!renewal_due(at(30), now, 30 * DAY));
        assert!(!renewal_due(at(8), now, 30 * DAY));
        assert!(renewal_due(at(7), now, 30 * DAY));
        assert!(renewal_due(now, now, 30 * DAY));
        // Already past: due (saturating).
        assert!(renewal_due(now, at(1), 30 * DAY));
    }

    /// A node started with a document about to expire renews it: same
    /// devices, a fresh lifetime, published; a second check does nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_node_renews_a_document_about_to_expire() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = KeypairWallet::from_secret_seed(&[71; 32]);
        let keys = IdentityKeys::derive(&wallet, kaichi_identity::KeyEpoch::ZERO).unwrap();
        let (node, _events) = Node::builder(&wallet, dir.path().join("home"))
            .document_lifetime(Duration::from_secs(3600))
            .configure(|c| {
                c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                    .dht_mode(kaichi_transport::DhtMode::Server)
            })
            .start()
            .await
            .unwrap();
        let before = node.identity_document();
        let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
        let Renewal::Renewed(until) = renew_if_due(&node, &wallet, &keys, 30 * DAY, now)
            .await
            .unwrap()
        else {
            panic!("an hour left of 30 days is due");
        };
        assert_eq!(until, now.checked_add(30 * DAY).unwrap());
        let after = node.identity_document();
        assert_ne!(before, after);
        let (old, new) = (
            verify_document(&before, now).unwrap(),
            verify_document(&after, now).unwrap(),
        );
        assert!(new.supersedes(&old));
        assert_eq!(new.key_packages(), old.key_packages());
        assert_eq!(new.devices(), old.devices());
        assert_eq!(
            renew_if_due(&node, &wallet, &keys, 30 * DAY, now)
                .await
                .unwrap(),
            Renewal::NotDue
        );
        node.shutdown().await;
    }
}
