//! Received MLS messages: logged, then applied in epoch order (what cannot
//! apply yet waits, what fails is set aside), and Welcomes.

use kaichi_identity::IpnsName;

use super::{AnyGroup, ApplyError, GroupSession, JoinGroupError, ReceiveError, SessionOutput};
use crate::group::{Group, GroupEvent};
use crate::ids::GroupId;
use crate::mlsrs::RsPolicy;
use crate::storage::StoredGroupMessage;
use crate::wire::message_info;

/// Most rounds of applying a group's log in one [`GroupSession::drain`].
pub const MAX_DRAIN_ROUNDS: usize = 256;

impl<P: RsPolicy> GroupSession<P> {
    /// Puts a received MLS message in its group's log (a grow-only set) for
    /// [`Self::drain`]; `expected` is the group it arrived for, when known.
    /// Returns the group and whether the message was new.
    pub fn receive(
        &mut self,
        expected: Option<GroupId>,
        bytes: &[u8],
    ) -> Result<(GroupId, bool), ReceiveError> {
        let info = message_info(bytes)?;
        if let Some(expected) = expected
            && expected != info.group
        {
            return Err(ReceiveError::WrongGroup {
                expected,
                got: info.group,
            });
        }
        if !self.loaded.contains_key(&info.group) {
            return Err(ReceiveError::NotInGroup(info.group));
        }
        Ok((info.group, self.db.log_message(&info, bytes, false)?))
    }

    /// Applies whatever the group's log holds that can be applied now, in
    /// epoch order. A message that fails is set aside for good
    /// ([`SessionOutput::Refused`]), except one signed by a device key no
    /// known document grants, which waits for the document
    /// ([`SessionOutput::NeedDocument`], then [`super::DocumentWait`]).
    pub fn drain(&mut self, id: GroupId, now_ms: u64) -> Result<(), ApplyError> {
        for _ in 0..MAX_DRAIN_ROUNDS {
            let Some(epoch) = self.loaded.get(&id).map(AnyGroup::epoch) else {
                return Ok(());
            };
            let pending = self.db.pending_messages(&id, epoch)?;
            if pending.is_empty() {
                return Ok(());
            }
            for bytes in pending {
                match self.apply(id, &bytes, now_ms) {
                    Ok(_) => self.db.message_done(&bytes)?,
                    Err(e) => {
                        if let Some(name) = e.unbound() {
                            match self.wait_for_document(name, now_ms) {
                                super::DocumentWait::Ask => {
                                    self.outputs
                                        .push_back(SessionOutput::NeedDocument { group: id, name });
                                    return Ok(());
                                }
                                super::DocumentWait::Pending => return Ok(()),
                                super::DocumentWait::GiveUp => {}
                            }
                        }
                        self.db.message_done(&bytes)?;
                        match e {
                            ApplyError::Process(error) => self
                                .outputs
                                .push_back(SessionOutput::Refused { group: id, error }),
                            other => return Err(other),
                        }
                    }
                }
                match self.loaded.get(&id) {
                    None => return Ok(()),
                    // A commit moved the epoch: ask for what is pending again.
                    Some(g) if g.epoch() != epoch => break,
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Applies one received message now (no log; offline use), keeping an
    /// application message, and outputs what it did. On error the group is
    /// unchanged.
    pub fn apply(
        &mut self,
        id: GroupId,
        bytes: &[u8],
        now_ms: u64,
    ) -> Result<GroupEvent, ApplyError> {
        let event = self.in_group(id, |group, p, ctx| {
            let event = group.process(p, ctx, bytes)?;
            match &event {
                GroupEvent::Message { from, text, epoch } => ctx.db.save_message(
                    &id,
                    &StoredGroupMessage {
                        epoch: *epoch,
                        sender: from.to_string(),
                        body: text.clone(),
                        at_ms: now_ms,
                    },
                )?,
                GroupEvent::Commit {
                    metadata_changed: true,
                    ..
                } => ctx
                    .db
                    .record_group_with(&id, &group.metadata().name, group.engine())?,
                _ => {}
            }
            Ok::<_, ApplyError>(event)
        })?;
        self.report(id, &event);
        Ok(event)
    }

    fn report(&mut self, id: GroupId, event: &GroupEvent) {
        let output = match event {
            GroupEvent::Message { from, text, epoch } => SessionOutput::Message {
                group: id,
                from: *from,
                text: text.clone(),
                epoch: *epoch,
            },
            GroupEvent::Commit {
                epoch,
                added,
                removed,
                ..
            } => SessionOutput::Changed {
                group: id,
                epoch: *epoch,
                added: added.clone(),
                removed: removed.clone(),
            },
            GroupEvent::Proposal { from } => {
                self.outputs.push_back(SessionOutput::Proposal {
                    group: id,
                    from: *from,
                });
                let sequencer = self
                    .loaded
                    .get(&id)
                    .is_some_and(|g| g.is_sequencer(&self.me));
                if self.auto_commit
                    && sequencer
                    && let Err(error) = self.commit_pending(id)
                {
                    // The proposal stays pending; the group is unchanged.
                    self.outputs
                        .push_back(SessionOutput::NotCommitted { group: id, error });
                }
                return;
            }
            GroupEvent::RemovedSelf { .. } => {
                self.loaded.remove(&id);
                SessionOutput::Removed { group: id }
            }
        };
        self.outputs.push_back(output);
    }

    /// Joins a group from a Welcome and its ratchet tree, checking every
    /// leaf's credential, and records it; `expected` is the group an
    /// invitation named. Outputs [`SessionOutput::Joined`].
    pub fn join(
        &mut self,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
        expected: Option<GroupId>,
    ) -> Result<GroupId, JoinGroupError> {
        self.join_with(welcome, ratchet_tree.map(Tree::Bytes), expected)
    }

    /// [`Self::join`] with the ratchet tree decoded already (by a
    /// [`crate::TreeDecoder`], chunk by chunk as it arrived): a large
    /// group's tree is never held whole as bytes.
    pub fn join_tree(
        &mut self,
        welcome: &[u8],
        tree: &crate::RatchetTree,
        expected: Option<GroupId>,
    ) -> Result<GroupId, JoinGroupError> {
        self.join_with(welcome, Some(Tree::Decoded(tree)), expected)
    }

    fn join_with(
        &mut self,
        welcome: &[u8],
        tree: Option<Tree<'_>>,
        expected: Option<GroupId>,
    ) -> Result<GroupId, JoinGroupError> {
        let group = self.db.transaction(|p| {
            // The engine that made the KeyPackage the Welcome is for holds
            // its private keys: mls-rs first, openmls when mls-rs has none.
            let joined = match tree {
                None => self.rs.join(welcome, None),
                Some(Tree::Bytes(b)) => self.rs.join(welcome, Some(b)),
                Some(Tree::Decoded(t)) => self.rs.join_tree(welcome, Some(t)),
            };
            let mut group = match joined {
                Ok(g) => AnyGroup::MlsRs(Box::new(g)),
                Err(crate::JoinError::NotForMe) => {
                    // openmls takes the encoding (its groups are small).
                    let encoded = match tree {
                        Some(Tree::Decoded(t)) => Some(std::borrow::Cow::Owned(t.to_bytes())),
                        Some(Tree::Bytes(b)) => Some(std::borrow::Cow::Borrowed(b)),
                        None => None,
                    };
                    AnyGroup::OpenMls(Box::new(Group::join(
                        p,
                        welcome,
                        encoded.as_deref(),
                        &*self.devices,
                    )?))
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(expected) = expected
                && group.id() != expected
            {
                return Err(JoinGroupError::WrongGroup {
                    expected,
                    got: group.id(),
                });
            }
            super::persist(&self.db, &self.rs, &mut group)?;
            self.db
                .record_group_with(&group.id(), &group.metadata().name, group.engine())?;
            Ok(group)
        });
        if group.is_err() {
            let _ = self.rs.store().take_journal();
        }
        let group = group?;
        let (id, name) = (group.id(), group.metadata().name.clone());
        self.loaded.insert(id, group);
        self.outputs
            .push_back(SessionOutput::Joined { group: id, name });
        Ok(id)
    }

    /// A group's logged messages from `since_epoch` on (at most `max_bytes`),
    /// for `requester` when it is a member; empty otherwise.
    pub fn log_for(
        &self,
        id: &GroupId,
        requester: &IpnsName,
        since_epoch: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, crate::storage::DatabaseError> {
        match self.loaded.get(id) {
            Some(g) if g.is_member(requester) => self.db.log_since(id, since_epoch, max_bytes),
            _ => Ok(Vec::new()),
        }
    }
}

/// A ratchet tree as a join takes it.
#[derive(Clone, Copy)]
enum Tree<'a> {
    /// TLS-encoded.
    Bytes(&'a [u8]),
    /// Decoded as it arrived.
    Decoded(&'a crate::RatchetTree),
}
