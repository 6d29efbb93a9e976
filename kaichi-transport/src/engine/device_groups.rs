//! An identity's devices in its groups. A node whose identity has devices
//! tells them, on its own inbox, which groups the identity is in (when a
//! peer subscribes to that inbox: a device coming online, or a relay that
//! holds it for one); a device not in one asks the group's sequencer with
//! a join request carrying its own KeyPackage; the sequencer admits a
//! device of an existing member whose document grants the device's key.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kaichi_groups::{Candidate, GroupId, MemoryProvider};
use kaichi_identity::{IdentityPublic, IpnsName};

use super::Engine;
use crate::node::JoinRefused;
use crate::notification::{JoinRequest, MAX_NOTIFICATION_ITEMS, Notification, OwnGroup};
use crate::rejection::Rejection;

/// Least time between two announcements of the identity's groups.
const SHARE_INTERVAL: Duration = Duration::from_secs(10);

/// What a node remembers about its devices and groups.
#[derive(Debug, Default)]
pub(super) struct DeviceGroups {
    last_share: Option<Instant>,
    /// Groups this device asked to join, once per run.
    asked: HashSet<GroupId>,
    /// When this node last verified an entry another device of this
    /// identity signed, by signing key (`None`: the identity's own key).
    /// Bounded: only keys the identity's document grants get here.
    pub(super) seen: std::collections::HashMap<Option<[u8; 32]>, kaichi_identity::Timestamp>,
}

impl Engine {
    /// When each other device of this identity was last heard from.
    pub(super) fn devices_seen(&self) -> Vec<crate::node::DeviceSeen> {
        self.device_groups
            .seen
            .iter()
            .filter_map(|(key, at)| {
                let signing_key = match key {
                    None => None,
                    Some(k) => Some(kaichi_identity::IpnsPublicKey::from_bytes(k).ok()?),
                };
                Some(crate::node::DeviceSeen {
                    signing_key,
                    at: *at,
                })
            })
            .collect()
    }

    /// Another device of this identity (or a relay holding its inbox) came
    /// online: tell it this identity's groups, at most once per
    /// [`SHARE_INTERVAL`]. (What this device wrote while the other was
    /// away reaches it without this: self-sync notifications published
    /// with no subscriber wait in the bounded pending queue, flushed when
    /// one subscribes.)
    pub(super) fn own_device_online(&mut self) {
        let now = Instant::now();
        if !self.has_devices
            || self
                .device_groups
                .last_share
                .is_some_and(|t| now.duration_since(t) < SHARE_INTERVAL)
        {
            return;
        }
        self.device_groups.last_share = Some(now);
        self.share_groups_with_devices();
    }

    /// Tells this identity's other devices which groups it is in (those
    /// with a sequencer; at most [`MAX_NOTIFICATION_ITEMS`]).
    fn share_groups_with_devices(&mut self) {
        let own_groups: Vec<OwnGroup> = self
            .groups
            .session
            .groups()
            .filter(|g| g.is_active())
            .filter_map(|g| {
                let sequencer = g.metadata().sequencer?;
                Some(OwnGroup {
                    group: g.id().as_bytes().to_vec(),
                    sequencer: sequencer.to_bytes(),
                })
            })
            .take(MAX_NOTIFICATION_ITEMS)
            .collect();
        if own_groups.is_empty() {
            return;
        }
        tracing::debug!(
            groups = own_groups.len(),
            "telling this identity's devices its groups"
        );
        let notification = Notification {
            sender_document: self.document.clone(),
            own_groups,
            ..Default::default()
        };
        self.publish_to_own_devices(&notification);
    }

    /// Another device of this identity listed its groups: this device asks
    /// to join each one it is not in (once per run each). The list proves
    /// nothing (anyone can seal to this inbox): a sequencer admits only a
    /// device of a member.
    pub(super) fn join_own_groups(&mut self, list: &[OwnGroup]) -> Result<(), Rejection> {
        if self.config.device_signing_key.is_none() {
            // Only a device joins this way; the primary was invited.
            return Ok(());
        }
        for g in list.iter().take(MAX_NOTIFICATION_ITEMS) {
            let (Ok(group), Ok(sequencer)) = (
                GroupId::from_slice(&g.group),
                IpnsName::from_bytes(&g.sequencer),
            ) else {
                return Err(Rejection::BadInvitation);
            };
            if self.groups.session.group(&group).is_some()
                || !self.device_groups.asked.insert(group)
            {
                continue;
            }
            tracing::debug!(%group, %sequencer, "asking to join a group of this identity");
            let (reply, _) = tokio::sync::oneshot::channel();
            self.request_join(group, crate::Peer::Name(sequencer), reply);
        }
        Ok(())
    }

    /// As sequencer: a member's device asks to join `group`. Its KeyPackage
    /// must name the member and sign with a key the member's document
    /// grants (the group's credential rules check the grant again).
    pub(super) fn admit_device(
        &mut self,
        from: &IdentityPublic,
        group: GroupId,
        req: &JoinRequest,
    ) {
        let name = from.ipns_name();
        let named = {
            let devices = self.groups.session.devices_mut();
            kaichi_groups::parse_key_package(
                &MemoryProvider::default(),
                &req.key_package,
                &*devices,
            )
            .map(|(_, n)| n)
        };
        if named.as_ref().ok() != Some(&name) {
            tracing::info!(%name, "a device's join request with another identity's KeyPackage");
            return self.refuse_join(from, group, &req.nonce, JoinRefused::Policy);
        }
        if !self.token.checks.may_request(name, Instant::now()) {
            return self.refuse_join(from, group, &req.nonce, JoinRefused::TooManyRequests);
        }
        let candidate = Candidate::new(req.key_package.clone()).with_wallet(from.wallet);
        let result = self.groups.session.add(group, &[candidate]);
        self.pump_groups();
        tracing::debug!(%name, %group, ok = result.is_ok(), "a member's device asked to join");
        if let Err(e) = result {
            tracing::info!(%name, %e, "a device's join request was refused");
            self.refuse_join(from, group, &req.nonce, JoinRefused::Policy);
        }
    }
}
