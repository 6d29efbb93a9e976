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

mod any;
mod errors;
mod ops;
mod output;
mod receive;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use kaichi_identity::IpnsName;

use crate::devices::KnownDevices;
use crate::group::{Group, LoadError};
use crate::ids::{GroupId, GroupRef};
use crate::mlsrs::{RsMember, RsPolicy, RsStore};
use crate::signer::MemberSigner;
use crate::storage::{DatabaseError, GroupDatabase, SqliteProvider, StoredGroupMessage};
use crate::{GroupEngine, MlsError};

pub use any::AnyGroup;

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

/// The device keys a session knows, shared with its mls-rs engine.
pub type SharedKnownDevices = Arc<RwLock<KnownDevices>>;

/// One member's groups over a group database, with one policy. Each group
/// is held by the engine it was created or joined with
/// ([`GroupEngine`]); new groups use [`GroupSession::set_engine`]'s
/// (mls-rs by default).
pub struct GroupSession<P: RsPolicy> {
    db: GroupDatabase,
    me: MemberSigner,
    policy: P,
    devices: SharedKnownDevices,
    rs: RsMember<P>,
    engine: GroupEngine,
    loaded: HashMap<GroupId, AnyGroup<P>>,
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

impl<P: RsPolicy> std::fmt::Debug for GroupSession<P> {
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
    pub(crate) devices: &'a RwLock<KnownDevices>,
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

impl<P: RsPolicy> GroupSession<P> {
    /// Opens a session over `db` for `me`, applying `policy` to every local
    /// operation and received message; loads every active group, each in
    /// its engine.
    pub fn open(db: GroupDatabase, me: MemberSigner, policy: P) -> Result<Self, SessionError> {
        let devices: SharedKnownDevices = Arc::default();
        let store = RsStore::default();
        // One snapshot for every group's state and tree: a node may be
        // writing the same file.
        let (rs, loaded) = db.read(|| -> Result<_, SessionError> {
            store
                .restore(db.mlsrs_contents()?)
                .map_err(|e| SessionError::Database(e.into()))?;
            let rs = RsMember::with_store(&me, policy.clone(), devices.clone(), store);
            if let Some(kp) = db.published_key_package()? {
                rs.keep(&kp);
            }
            let mut loaded = HashMap::new();
            let p = db.provider();
            for record in db.groups()? {
                // Groups this member was removed from stay on disk, inactive.
                if let Some(g) = load(&db, &p, &rs, &record.id, record.engine)?
                    && g.is_active()
                {
                    loaded.insert(record.id, g);
                }
            }
            Ok((rs, loaded))
        })?;
        Ok(Self {
            db,
            me,
            policy,
            devices,
            rs,
            engine: GroupEngine::default(),
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
    pub fn devices_mut(&mut self) -> std::sync::RwLockWriteGuard<'_, KnownDevices> {
        // A panic while holding it left it consistent: it only caches.
        self.devices
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The engine new groups use.
    pub fn engine(&self) -> GroupEngine {
        self.engine
    }

    /// Sets the engine new groups use (created here; a joined group uses
    /// the engine whose KeyPackage its Welcome names).
    pub fn set_engine(&mut self, engine: GroupEngine) {
        self.engine = engine;
    }

    /// A loaded (active) group.
    pub fn group(&self, id: &GroupId) -> Option<&AnyGroup<P>> {
        self.loaded.get(id)
    }

    /// The loaded (active) groups, in no order.
    pub fn groups(&self) -> impl Iterator<Item = &AnyGroup<P>> {
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

    /// A new KeyPackage for this member (an `MLSMessage`) from the
    /// session's engine, its private keys stored in one transaction;
    /// `last_resort` marks it reusable.
    pub fn key_package(&self, last_resort: bool) -> Result<Vec<u8>, KeyPackagePrepareError> {
        match self.engine {
            GroupEngine::OpenMls => new_key_package(&self.db, &self.me, last_resort),
            _ => rs_key_package(&self.db, &self.rs, last_resort),
        }
    }

    /// The last-resort KeyPackage this member publishes (see
    /// [`published_key_package`]).
    pub fn published_key_package(&self) -> Result<Vec<u8>, KeyPackagePrepareError> {
        let rs = (self.engine == GroupEngine::MlsRs).then_some(&self.rs);
        published_with(&self.db, &self.me, rs)
    }

    /// The reference of the KeyPackage this member publishes, when one was
    /// recorded (what an invitee looks its shard of a split Welcome up by;
    /// see [`crate::welcome`]). Reads only: nothing is made.
    pub fn published_key_package_ref(&self) -> Option<crate::KeyPackageRef> {
        let kp = self.db.published_key_package().ok().flatten()?;
        crate::welcome::key_package_ref(&kp).ok()
    }

    /// Runs `f` on a loaded group in one database transaction. On error the
    /// transaction rolls back and the group is reloaded, so whatever `f` did
    /// in memory is dropped too.
    pub(crate) fn in_group<T, E>(
        &mut self,
        id: GroupId,
        f: impl FnOnce(&mut AnyGroup<P>, &SqliteProvider<'_>, &Ctx<'_, P>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DatabaseError> + From<LoadError> + NotLoaded,
    {
        let Self {
            db,
            me,
            policy,
            devices,
            rs,
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
        let result = db.transaction(|p| {
            let v = f(group, p, &ctx)?;
            persist(db, rs, group)?;
            Ok(v)
        });
        if result.is_err() {
            let engine = group.engine();
            if engine == GroupEngine::MlsRs {
                // Drop whatever the engine wrote in memory; the database
                // has the state as of the last commit.
                let _ = rs.store().take_journal();
                restore_group(db, rs, &id)?;
            }
            match load(db, &db.provider(), rs, &id, engine)? {
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

/// Loads a group from the engine holding it (`None`: none stored).
fn load<P: RsPolicy>(
    db: &GroupDatabase,
    p: &SqliteProvider<'_>,
    rs: &RsMember<P>,
    id: &GroupId,
    engine: GroupEngine,
) -> Result<Option<AnyGroup<P>>, LoadError> {
    match engine {
        GroupEngine::OpenMls => Ok(Group::load(p, id)?.map(|g| AnyGroup::OpenMls(Box::new(g)))),
        _ => {
            let Some(tree) = db
                .mlsrs_tree(id.as_bytes())
                .map_err(|e| LoadError::Storage(MlsError::storage(e)))?
            else {
                return Ok(None);
            };
            Ok(Some(AnyGroup::MlsRs(Box::new(rs.load(id, &tree)?))))
        }
    }
}

/// Writes an mls-rs group's state (and its tree, when a commit changed it)
/// through the engine's store into the database; nothing for openmls,
/// whose provider writes as it goes.
fn persist<P: RsPolicy>(
    db: &GroupDatabase,
    rs: &RsMember<P>,
    group: &mut AnyGroup<P>,
) -> Result<(), DatabaseError> {
    let AnyGroup::MlsRs(g) = group else {
        return Ok(());
    };
    if !g.is_active() {
        // Removed: nothing of it is kept (a later Welcome starts afresh).
        let _ = rs.store().take_journal();
        rs.store().forget_group(g.id().as_bytes())?;
        return db.forget_mlsrs_group(g.id().as_bytes());
    }
    let tree = g
        .persist()
        .map_err(|e| DatabaseError::Migration(e.to_string()))?;
    db.write_mlsrs(&rs.store().take_journal())?;
    if let Some(tree) = tree {
        db.set_mlsrs_tree(g.id().as_bytes(), &tree)?;
    }
    Ok(())
}

/// Puts group `id`'s stored state back in the engine's store.
fn restore_group<P: RsPolicy>(
    db: &GroupDatabase,
    rs: &RsMember<P>,
    id: &GroupId,
) -> Result<(), DatabaseError> {
    rs.store().forget_group(id.as_bytes())?;
    let mine = db.mlsrs_states(Some(id.as_bytes()))?;
    rs.store().restore(mine)?;
    Ok(())
}

/// The last-resort KeyPackage `me` publishes (referenced from its identity
/// document): the one recorded in `db` while it is still valid, `me`'s and
/// its private keys still held, else a new one from `engine`, recorded (so
/// Welcomes naming it join through `engine`).
pub fn published_key_package(
    db: &GroupDatabase,
    me: &MemberSigner,
    engine: GroupEngine,
) -> Result<Vec<u8>, KeyPackagePrepareError> {
    let rs = (engine == GroupEngine::MlsRs)
        .then(|| {
            let store = RsStore::default();
            // A KeyPackage needs no group state: only the keys are loaded.
            store.restore(db.mlsrs_key_packages()?)?;
            let devices: crate::mlsrs::SharedDevices = Arc::new(crate::NoDevices);
            Ok::<_, DatabaseError>(RsMember::with_store(me, crate::AdminPolicy, devices, store))
        })
        .transpose()?;
    published_with(db, me, rs.as_ref())
}

fn published_with<P: RsPolicy>(
    db: &GroupDatabase,
    me: &MemberSigner,
    rs: Option<&RsMember<P>>,
) -> Result<Vec<u8>, KeyPackagePrepareError> {
    let own = OwnKey(me.name(), me.public_key());
    let reusable = db.published_key_package()?.filter(|kp| {
        let ours =
            crate::parse_key_package(&db.provider(), kp, &own).is_ok_and(|(parsed, name)| {
                name == me.name()
                    && parsed.leaf_node().signature_key().as_slice() == me.public_key()
            });
        // An mls-rs KeyPackage is only as good as the keys kept for it; an
        // openmls one stays usable (its Welcomes join through openmls).
        ours && rs.is_none_or(|rs| rs.holds(kp) || !rs_made(db, kp))
    });
    if let Some(kp) = reusable {
        return Ok(kp);
    }
    let kp = match rs {
        Some(rs) => rs_key_package(db, rs, true)?,
        None => new_key_package(db, me, true)?,
    };
    db.set_published_key_package(&kp)?;
    Ok(kp)
}

/// Whether `kp` came from mls-rs: openmls keeps it in its own tables.
fn rs_made(db: &GroupDatabase, kp: &[u8]) -> bool {
    // openmls finds the private keys of its own KeyPackages.
    !crate::keypackage::openmls_holds(&db.provider(), kp)
}

/// A KeyPackage from the mls-rs engine, its private keys written to `db`
/// in one transaction.
fn rs_key_package<P: RsPolicy>(
    db: &GroupDatabase,
    rs: &RsMember<P>,
    last_resort: bool,
) -> Result<Vec<u8>, KeyPackagePrepareError> {
    let made = db.transaction(|_| {
        let kp = if last_resort {
            rs.last_resort_key_package()?
        } else {
            rs.key_package()?
        };
        db.write_mlsrs(&rs.store().take_journal())?;
        Ok::<_, KeyPackagePrepareError>(kp)
    });
    if made.is_err() {
        let _ = rs.store().take_journal();
    }
    made
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
