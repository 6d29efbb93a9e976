//! One member's groups, driven the same way by a node and by offline
//! (file) commands: [`GroupSession`] owns the group database, the loaded
//! groups, the policy and the known device keys.
//!
//! Drive it like this: call an operation ([`GroupSession::send`],
//! [`GroupSession::add`], [`GroupSession::receive`] then
//! [`GroupSession::drain`], ...), then take every [`SessionOutput`] with
//! [`GroupSession::poll_output`] until it returns `None` and act on it
//! (publish, deliver a Welcome, report). The session never reads a clock:
//! operations that keep messages take `now_ms`.

mod errors;
mod ops;
mod output;
mod receive;

use std::collections::{HashMap, VecDeque};

use kaichi_identity::IpnsName;

use crate::devices::KnownDevices;
use crate::group::{Group, LoadError};
use crate::ids::{GroupId, GroupRef};
use crate::policy::GroupPolicy;
use crate::signer::MemberSigner;
use crate::storage::{DatabaseError, GroupDatabase, SqliteProvider, StoredGroupMessage};

pub use errors::{
    ApplyError, FindError, JoinGroupError, KeyPackagePrepareError, ReceiveError, SessionError,
};
pub use output::SessionOutput;
pub use receive::MAX_DRAIN_ROUNDS;

/// How long a message signed by an unknown device key waits for its
/// identity's document before it is set aside (per identity, in ms).
pub const DOCUMENT_WAIT_MS: u64 = 60_000;
/// Most identities whose document waits are remembered.
const MAX_DOCUMENT_WAITS: usize = 1024;

/// One member's groups over a group database, with one policy.
pub struct GroupSession<P> {
    db: GroupDatabase,
    me: MemberSigner,
    policy: P,
    devices: KnownDevices,
    loaded: HashMap<GroupId, Group>,
    outputs: VecDeque<SessionOutput>,
    auto_commit: bool,
    /// Identities whose document is waited for (an unknown device key).
    document_waits: HashMap<IpnsName, DocumentWaitState>,
}

/// A wait for one identity's document.
#[derive(Debug, Clone, Copy)]
struct DocumentWaitState {
    since_ms: u64,
    resolved: bool,
}

/// What to do with a message signed by a device key no known document
/// grants (see [`GroupSession::wait_for_document`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentWait {
    /// Keep it, and look the identity's document up (reported once per
    /// [`DOCUMENT_WAIT_MS`] as [`SessionOutput::NeedDocument`]).
    Ask,
    /// Keep it: a lookup for that document is under way.
    Pending,
    /// The lookup ended and the key is still unknown: set it aside.
    GiveUp,
}

impl<P> std::fmt::Debug for GroupSession<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSession")
            .field("me", &self.me.name())
            .field("groups", &self.loaded.len())
            .finish_non_exhaustive()
    }
}

/// What a change inside a transaction sees besides its group.
pub(crate) struct Ctx<'a, P> {
    pub(crate) db: &'a GroupDatabase,
    pub(crate) me: &'a MemberSigner,
    pub(crate) policy: &'a P,
    pub(crate) devices: &'a KnownDevices,
}

/// Errors that can say "the group is not loaded".
pub(crate) trait NotLoaded {
    fn not_loaded(id: GroupId) -> Self;
}

impl NotLoaded for SessionError {
    fn not_loaded(id: GroupId) -> Self {
        Self::NotLoaded(id)
    }
}

impl NotLoaded for ApplyError {
    fn not_loaded(id: GroupId) -> Self {
        Self::NotLoaded(id)
    }
}

impl<P: GroupPolicy> GroupSession<P> {
    /// Opens a session over `db` for `me`, applying `policy` to every local
    /// operation and received message; loads every active group.
    pub fn open(db: GroupDatabase, me: MemberSigner, policy: P) -> Result<Self, SessionError> {
        let mut loaded = HashMap::new();
        {
            let p = db.provider();
            for record in db.groups()? {
                // Groups this member was removed from stay on disk, inactive.
                if let Some(g) = Group::load(&p, &record.id)?
                    && g.is_active()
                {
                    loaded.insert(record.id, g);
                }
            }
        }
        Ok(Self {
            db,
            me,
            policy,
            devices: KnownDevices::default(),
            loaded,
            outputs: VecDeque::new(),
            auto_commit: false,
            document_waits: HashMap::new(),
        })
    }

    /// Whether this member, when it is a group's sequencer, commits received
    /// proposals at once (what a node does; offline use commits with
    /// [`Self::commit_pending`]).
    pub fn set_auto_commit(&mut self, on: bool) {
        self.auto_commit = on;
    }

    /// The next output, until `None`. Take them all after every call.
    pub fn poll_output(&mut self) -> Option<SessionOutput> {
        self.outputs.pop_front()
    }

    /// The group database.
    pub fn database(&self) -> &GroupDatabase {
        &self.db
    }

    /// Who this member is.
    pub fn me(&self) -> &MemberSigner {
        &self.me
    }

    /// The policy applied.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The device keys known from verified identity documents.
    pub fn devices_mut(&mut self) -> &mut KnownDevices {
        &mut self.devices
    }

    /// A loaded (active) group.
    pub fn group(&self, id: &GroupId) -> Option<&Group> {
        self.loaded.get(id)
    }

    /// The loaded (active) groups, in no order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.loaded.values()
    }

    /// A group by its hex id or, when unique, its name.
    pub fn find(&self, which: impl Into<GroupRef>) -> Result<GroupId, FindError> {
        let which = which.into();
        if let GroupRef::Id(id) = &which
            && self.loaded.contains_key(id)
        {
            return Ok(*id);
        }
        // An id not loaded may still be the name of a group.
        let name = which.to_string();
        let matches: Vec<GroupId> = self
            .loaded
            .iter()
            .filter(|(_, g)| g.metadata().name == name)
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [id] => Ok(*id),
            [] => Err(FindError::NoSuchGroup(name)),
            _ => Err(FindError::Ambiguous {
                name,
                count: matches.len(),
            }),
        }
    }

    /// The newest `limit` kept messages of a group, oldest first.
    pub fn messages(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<StoredGroupMessage>, DatabaseError> {
        self.db.messages(id, limit)
    }

    /// What to do about a message waiting for `name`'s identity document
    /// (an unknown device key): ask for it once per [`DOCUMENT_WAIT_MS`],
    /// keep waiting while the lookup runs, give up once the caller said it
    /// ended ([`document_resolved`](Self::document_resolved)) and the key is
    /// still unknown.
    pub fn wait_for_document(&mut self, name: IpnsName, now_ms: u64) -> DocumentWait {
        match self.document_waits.get(&name) {
            Some(w) if w.resolved => {
                self.document_waits.remove(&name);
                DocumentWait::GiveUp
            }
            Some(w) if now_ms.saturating_sub(w.since_ms) < DOCUMENT_WAIT_MS => {
                DocumentWait::Pending
            }
            _ => {
                if self.document_waits.len() >= MAX_DOCUMENT_WAITS {
                    self.document_waits.clear();
                }
                let wait = DocumentWaitState {
                    since_ms: now_ms,
                    resolved: false,
                };
                self.document_waits.insert(name, wait);
                DocumentWait::Ask
            }
        }
    }

    /// The lookup of `name`'s document ended (found and given to
    /// [`devices_mut`](Self::devices_mut), or not found): the next drain
    /// applies what waited on it, or sets it aside.
    pub fn document_resolved(&mut self, name: &IpnsName) {
        if let Some(w) = self.document_waits.get_mut(name) {
            w.resolved = true;
        }
    }

    /// A new KeyPackage for this member (an `MLSMessage`), its private keys
    /// stored in one transaction; `last_resort` marks it reusable.
    pub fn key_package(&self, last_resort: bool) -> Result<Vec<u8>, KeyPackagePrepareError> {
        new_key_package(&self.db, &self.me, last_resort)
    }

    /// The last-resort KeyPackage this member publishes (see
    /// [`published_key_package`]).
    pub fn published_key_package(&self) -> Result<Vec<u8>, KeyPackagePrepareError> {
        published_key_package(&self.db, &self.me)
    }

    /// Runs `f` on a loaded group in one database transaction. On error the
    /// transaction rolls back and the group is reloaded, so whatever `f` did
    /// in memory is dropped too.
    pub(crate) fn in_group<T, E>(
        &mut self,
        id: GroupId,
        f: impl FnOnce(&mut Group, &SqliteProvider<'_>, &Ctx<'_, P>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DatabaseError> + From<LoadError> + NotLoaded,
    {
        let Self {
            db,
            me,
            policy,
            devices,
            loaded,
            ..
        } = self;
        let group = loaded.get_mut(&id).ok_or_else(|| E::not_loaded(id))?;
        let ctx = Ctx {
            db,
            me,
            policy,
            devices,
        };
        let result = db.transaction(|p| f(group, p, &ctx));
        if result.is_err() {
            match Group::load(&db.provider(), &id)? {
                Some(fresh) if fresh.is_active() => {
                    loaded.insert(id, fresh);
                }
                _ => {
                    loaded.remove(&id);
                }
            }
        }
        result
    }
}

/// The last-resort KeyPackage `me` publishes (referenced from its identity
/// document): the one recorded in `db` while it is still valid and `me`'s,
/// else a new one, recorded.
pub fn published_key_package(
    db: &GroupDatabase,
    me: &MemberSigner,
) -> Result<Vec<u8>, KeyPackagePrepareError> {
    let own = OwnKey(me.name(), me.public_key());
    let reusable = db.published_key_package()?.filter(|kp| {
        crate::parse_key_package(&db.provider(), kp, &own).is_ok_and(|(parsed, name)| {
            name == me.name() && parsed.leaf_node().signature_key().as_slice() == me.public_key()
        })
    });
    if let Some(kp) = reusable {
        return Ok(kp);
    }
    let kp = new_key_package(db, me, true)?;
    db.set_published_key_package(&kp)?;
    Ok(kp)
}

fn new_key_package(
    db: &GroupDatabase,
    me: &MemberSigner,
    last_resort: bool,
) -> Result<Vec<u8>, KeyPackagePrepareError> {
    db.transaction(|p| Ok(crate::key_package(p, me, last_resort)?))
}

/// Vouches for one key of one identity: this member's own leaf key.
struct OwnKey(IpnsName, [u8; 32]);

impl crate::DeviceDirectory for OwnKey {
    fn is_device_of(&self, identity: &IpnsName, key: &kaichi_identity::IpnsPublicKey) -> bool {
        *identity == self.0 && key.to_bytes() == self.1
    }
}
