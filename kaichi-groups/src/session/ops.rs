//! This member's own operations: create, send, add, remove, admins,
//! self-update, leave, and the sequencer's commit of pending proposals.

use std::collections::HashSet;

use kaichi_identity::IpnsName;

use super::{AnyGroup, Ctx, GroupSession, SessionError, SessionOutput};
use crate::group::{Candidate, Group, NewGroup, Outgoing};
use crate::ids::GroupId;
use crate::mlsrs::RsPolicy;
use crate::storage::{SqliteProvider, StoredGroupMessage};
use crate::wire::message_info;
use crate::{GroupEngine, MemberInfo};

impl<P: RsPolicy> GroupSession<P> {
    /// Creates a group (this member is its admin and sequencer) in the
    /// session's engine ([`GroupSession::set_engine`]) and records it.
    pub fn create(&mut self, new: NewGroup) -> Result<GroupId, SessionError> {
        self.create_with(new, self.engine)
    }

    /// Creates a group held by `engine`.
    pub fn create_with(
        &mut self,
        new: NewGroup,
        engine: GroupEngine,
    ) -> Result<GroupId, SessionError> {
        let name = new.name.clone();
        let group = self.db.transaction(|p| {
            let mut group = match engine {
                GroupEngine::OpenMls => {
                    AnyGroup::OpenMls(Box::new(Group::create(p, &self.me, new)?))
                }
                _ => AnyGroup::MlsRs(Box::new(self.rs.create(new)?)),
            };
            super::persist(&self.db, &self.rs, &mut group)?;
            self.db.record_group_with(&group.id(), &name, engine)?;
            Ok::<_, SessionError>(group)
        });
        if group.is_err() {
            let _ = self.rs.store().take_journal();
        }
        let group = group?;
        let id = group.id();
        self.loaded.insert(id, group);
        Ok(id)
    }

    /// Sends an application message and keeps it; outputs
    /// [`SessionOutput::Publish`].
    pub fn send(&mut self, id: GroupId, text: &[u8], now_ms: u64) -> Result<(), SessionError> {
        let bytes = self.in_group(id, |group, p, ctx| {
            let bytes = group.send(p, ctx, text)?;
            ctx.db.save_message(
                &id,
                &StoredGroupMessage {
                    epoch: group.epoch(),
                    sender: ctx.me.name().to_string(),
                    body: text.to_vec(),
                    at_ms: now_ms,
                },
            )?;
            log_own(ctx, &bytes)?;
            Ok::<_, SessionError>(bytes)
        })?;
        self.outputs.push_back(SessionOutput::Publish {
            group: id,
            message: bytes,
        });
        Ok(())
    }

    /// Adds members (the sequencer commits and outputs the Welcome for them;
    /// anyone else proposes). Returns the group's epoch afterwards.
    pub fn add(&mut self, id: GroupId, candidates: &[Candidate]) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| Ok(group.add(p, ctx, candidates)?))
    }

    /// Removes every leaf of the named identities (committed by the
    /// sequencer, proposed by anyone else).
    pub fn remove(&mut self, id: GroupId, members: &[IpnsName]) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| Ok(group.remove(p, ctx, members)?))
    }

    /// Removes the leaves of `member` that sign with one of `keys`: devices
    /// its identity's newer document no longer grants (committed by the
    /// sequencer, proposed by anyone else; nothing when it has none).
    pub fn remove_devices(
        &mut self,
        id: GroupId,
        member: &IpnsName,
        keys: &[kaichi_identity::IpnsPublicKey],
    ) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| {
            Ok(group.remove_devices(p, ctx, member, keys)?)
        })
    }

    /// Makes a member an admin, or no longer one (a metadata change).
    pub fn set_admin(
        &mut self,
        id: GroupId,
        member: IpnsName,
        admin: bool,
    ) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| {
            if admin && !group.is_member(&member) {
                return Err(SessionError::NotAMember(member));
            }
            let mut metadata = group.metadata().clone();
            metadata.admins.retain(|a| *a != member);
            if admin {
                metadata.admins.push(member);
            }
            Ok(group.set_metadata(p, ctx, metadata)?)
        })
    }

    /// Refreshes this member's leaf keys (post-compromise security).
    pub fn update(&mut self, id: GroupId) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| Ok(group.self_update(p, ctx)?))
    }

    /// Proposes to leave (the sequencer commits it).
    pub fn leave(&mut self, id: GroupId) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| {
            Ok(Outgoing::Proposals(vec![group.leave(p, ctx)?]))
        })
    }

    /// The sequencer commits the proposals it received.
    pub fn commit_pending(&mut self, id: GroupId) -> Result<u64, SessionError> {
        self.change(id, |group, p, ctx| {
            Ok(Outgoing::Commit(group.commit_pending(p, ctx)?))
        })
    }

    /// Runs one change of this member's in a transaction, logs what it
    /// produced as its own, and outputs it (with the Welcome and the
    /// membership diff of a commit). Returns the epoch afterwards.
    fn change(
        &mut self,
        id: GroupId,
        f: impl FnOnce(
            &mut AnyGroup<P>,
            &SqliteProvider<'_>,
            &Ctx<'_, P>,
        ) -> Result<Outgoing, SessionError>,
    ) -> Result<u64, SessionError> {
        let (out, epoch, added, removed, welcomed) = self.in_group(id, |group, p, ctx| {
            // Only the sequencer's operations commit (and change members).
            let before = group.commits_directly(ctx.me).then(|| group.members());
            let out = f(group, p, ctx)?;
            match &out {
                Outgoing::Commit(c) => log_own(ctx, &c.commit)?,
                Outgoing::Proposals(ps) => {
                    for m in ps {
                        log_own(ctx, m)?;
                    }
                }
            }
            let (added, removed, welcomed) = match (&out, before) {
                (Outgoing::Commit(_), Some(before)) => {
                    ctx.db
                        .record_group_with(&id, &group.metadata().name, group.engine())?;
                    let after = group.members();
                    let names = |m: &[MemberInfo]| m.iter().map(|m| m.name).collect::<Vec<_>>();
                    let (added, removed) = membership_diff(&names(&before), &names(&after));
                    // The Welcome goes to every identity with a new leaf,
                    // a new device of a member too.
                    let old: HashSet<(u32, IpnsName)> =
                        before.iter().map(|m| (m.leaf, m.name)).collect();
                    let mut welcomed: Vec<IpnsName> = after
                        .iter()
                        .filter(|m| !old.contains(&(m.leaf, m.name)))
                        .map(|m| m.name)
                        .collect();
                    welcomed.sort();
                    welcomed.dedup();
                    (added, removed, welcomed)
                }
                _ => Default::default(),
            };
            Ok::<_, SessionError>((out, group.epoch(), added, removed, welcomed))
        })?;
        match out {
            Outgoing::Commit(c) => {
                self.outputs.push_back(SessionOutput::Publish {
                    group: id,
                    message: c.commit,
                });
                if let (Some(welcome), Some(ratchet_tree)) = (c.welcome, c.ratchet_tree) {
                    self.outputs.push_back(SessionOutput::Welcome {
                        group: id,
                        welcome,
                        ratchet_tree,
                        to: welcomed,
                    });
                }
                self.outputs.push_back(SessionOutput::Changed {
                    group: id,
                    epoch,
                    added,
                    removed,
                });
            }
            Outgoing::Proposals(ps) => {
                for message in ps {
                    self.outputs
                        .push_back(SessionOutput::Publish { group: id, message });
                }
            }
        }
        Ok(epoch)
    }
}

/// Who joined and who left between two member lists (linear: groups are large).
fn membership_diff(before: &[IpnsName], after: &[IpnsName]) -> (Vec<IpnsName>, Vec<IpnsName>) {
    let (was, is): (HashSet<&IpnsName>, HashSet<&IpnsName>) =
        (before.iter().collect(), after.iter().collect());
    (
        after.iter().filter(|n| !was.contains(n)).copied().collect(),
        before.iter().filter(|n| !is.contains(n)).copied().collect(),
    )
}

/// Puts one of this member's own messages in its group's log, as applied.
fn log_own<P>(ctx: &Ctx<'_, P>, bytes: &[u8]) -> Result<(), crate::storage::DatabaseError> {
    // Our own output always has a readable header; if it did not, there is
    // nothing to log it under.
    if let Ok(info) = message_info(bytes) {
        ctx.db.log_message(&info, bytes, true)?;
    }
    Ok(())
}
