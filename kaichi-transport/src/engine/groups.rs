//! Group chats over the network: a gossipsub topic per group for MLS
//! messages, a per-group log (in the group database) from which members
//! that were away catch up in epoch order, Welcomes sent to the invitee's
//! inbox sealed like DMs with the Welcome and ratchet tree as blocks
//! fetched by CID, and KeyPackages fetched by the CID an identity document
//! references.

use std::collections::HashMap;
use std::path::Path;

use kaichi_groups::storage::StoredGroupMessage;
use kaichi_groups::{
    BalanceSource, Candidate, CredentialError, DeviceDirectory, Group, GroupDatabase, GroupEvent,
    GroupId, JoinError, MemberSigner, MetadataPolicy, NewGroup, Outgoing, ProcessError,
    key_package, message_info,
};
use kaichi_identity::document::VerifiedDocument;
use kaichi_identity::{IdentityKeys, IdentityPublic, IpnsName, IpnsPublicKey};
use kaichi_privatelog::EntryCid;
use kaichi_privatelog::store::{BlockStore as _, SqliteStore};
use libp2p::gossipsub::{IdentTopic, MessageAcceptance, TopicHash};
use libp2p::request_response::OutboundRequestId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::dht::LookupTarget;
use super::{Engine, inbox_topic, random};
use crate::exchange::{BlockRequest, BlockResponse, MAX_RESPONSE_BYTES};
use crate::node::{GroupCommand, GroupSummary, NodeError, NodeEvent};
use crate::notification::{GroupInvitation, Notification};

/// The gossipsub topic of a group.
pub fn group_topic(id: &GroupId) -> IdentTopic {
    IdentTopic::new(format!("{GROUP_TOPIC_PREFIX}{id}"))
}

const GROUP_TOPIC_PREFIX: &str = "/kaichi/group/1/";
/// Most rounds of applying a group's log in one go.
const MAX_DRAIN_ROUNDS: usize = 256;

/// The last-resort KeyPackage this identity publishes: the one recorded in
/// the group database at `groups` while it is still valid, else a new one.
/// It is stored as a block in `store` (so the node serves it); returns its
/// CID bytes for the identity document's KeyPackage list.
pub fn prepare_key_package(
    groups: &Path,
    store: &SqliteStore,
    keys: &IdentityKeys,
) -> Result<Vec<u8>, NodeError> {
    prepare_for(groups, store, &MemberSigner::identity(keys.ipns().clone()))
}

/// [`prepare_key_package`] for a node that is a device of `keys`' identity
/// and signs its group leaves with `device` (see
/// [`crate::config::NodeConfigBuilder::device_signing_key`]).
pub fn prepare_device_key_package(
    groups: &Path,
    store: &SqliteStore,
    keys: &IdentityKeys,
    device: &kaichi_identity::IpnsKeypair,
) -> Result<Vec<u8>, NodeError> {
    prepare_for(
        groups,
        store,
        &MemberSigner::device(keys.ipns().name(), device.clone()),
    )
}

fn prepare_for(
    groups: &Path,
    store: &SqliteStore,
    me: &MemberSigner,
) -> Result<Vec<u8>, NodeError> {
    let db = GroupDatabase::open(groups).map_err(group_err)?;
    let own = OwnKey(me.name(), me.public_key());
    let reusable = db.published_key_package().map_err(group_err)?.filter(|kp| {
        kaichi_groups::parse_key_package(&db.provider(), kp, &own).is_ok_and(|(parsed, name)| {
            name == me.name() && parsed.leaf_node().signature_key().as_slice() == me.public_key()
        })
    });
    let kp = match reusable {
        Some(kp) => kp,
        None => in_tx(&db, |p| {
            let kp = key_package(p, me, true)?;
            db.set_published_key_package(&kp)?;
            Ok(kp)
        })?,
    };
    let cid = EntryCid::of(&kp);
    store.put(&cid.to_cid(), &kp)?;
    store.pin(&cid.to_cid())?;
    Ok(cid.to_bytes().to_vec())
}

/// Vouches for one key of one identity: this node's own device key.
struct OwnKey(IpnsName, [u8; 32]);

impl DeviceDirectory for OwnKey {
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool {
        *identity == self.0 && key.to_bytes() == self.1
    }
}

/// The device keys the node knows from verified identity documents
/// (bounded; this identity's own are kept apart and never dropped).
#[derive(Default)]
pub(super) struct KnownDevices {
    own: Option<(IpnsName, Vec<IpnsPublicKey>)>,
    others: HashMap<IpnsName, Vec<IpnsPublicKey>>,
}

impl KnownDevices {
    /// Records the device signing keys this node's own document grants.
    pub(super) fn remember_own(&mut self, doc: &VerifiedDocument) {
        self.own = Some((doc.public().ipns_name(), device_keys(doc)));
    }

    /// Records the device signing keys a verified document grants.
    pub(super) fn remember(&mut self, doc: &VerifiedDocument) {
        let name = doc.public().ipns_name();
        let keys = device_keys(doc);
        if let Some((own, k)) = &mut self.own
            && *own == name
        {
            *k = keys;
            return;
        }
        if self.others.len() >= super::MAX_CACHED_DOCUMENTS {
            self.others.clear();
        }
        self.others.insert(name, keys);
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
        own.or_else(|| self.others.get(identity))
            .is_some_and(|keys| keys.contains(key))
    }
}

fn group_err(e: impl std::fmt::Display) -> NodeError {
    NodeError::Group(e.to_string())
}

/// An error inside a database transaction.
pub(super) struct TxError(String, Option<IpnsName>);

impl<E: std::error::Error> From<E> for TxError {
    fn from(e: E) -> Self {
        Self(e.to_string(), None)
    }
}

impl TxError {
    /// A received message or Welcome refused because a leaf of `name`
    /// signs with a key no document the node holds grants: worth looking
    /// `name`'s current document up and trying again.
    fn from_process(e: ProcessError) -> Self {
        let unknown = match &e {
            ProcessError::Credential(CredentialError::Unbound(name)) => Some(*name),
            _ => None,
        };
        Self(e.to_string(), unknown)
    }

    fn from_join(e: JoinError) -> Self {
        let unknown = match &e {
            JoinError::Credential {
                error: CredentialError::Unbound(name),
                ..
            } => Some(*name),
            _ => None,
        };
        Self(e.to_string(), unknown)
    }
}

/// What waits for an identity's document to learn its device keys.
pub(super) enum DeviceRetry {
    /// Apply the group's log again.
    Drain(GroupId),
    /// Join again from a Welcome and tree kept in the block store.
    Join {
        inviter: PeerId,
        group: GroupId,
        welcome: EntryCid,
        tree: EntryCid,
    },
}

/// Runs `f` in one group-database transaction.
fn in_tx<T>(
    db: &GroupDatabase,
    f: impl FnOnce(&kaichi_groups::SqliteProvider<'_>) -> Result<T, TxError>,
) -> Result<T, NodeError> {
    db.transaction(f)
        .map_err(|e: TxError| NodeError::Group(e.0))
}

/// A Welcome stored as blocks, waiting to be announced to a new member.
#[derive(Debug, Clone)]
pub(super) struct PendingWelcome {
    pub(super) group: GroupId,
    welcome: EntryCid,
    tree: EntryCid,
}

/// What a block request made for groups is waiting for.
pub(super) enum GroupFetch {
    /// An invitee's KeyPackage, for an invite in progress.
    KeyPackage {
        group: GroupId,
        member: IdentityPublic,
        cid: EntryCid,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    /// A Welcome and ratchet tree, for an invitation received.
    Invitation {
        inviter: PeerId,
        group: GroupId,
        welcome: EntryCid,
        tree: EntryCid,
    },
    /// A group's log, to catch up.
    Log,
}

/// A block request made for groups, kept to resend it once after a DHT
/// lookup of the peer's addresses when the first dial fails.
pub(super) struct GroupRequest {
    peer: PeerId,
    request: BlockRequest,
    fetch: GroupFetch,
    retried: bool,
}

/// The group state the node task keeps.
pub(super) struct Groups {
    pub(super) db: GroupDatabase,
    pub(super) me: MemberSigner,
    pub(super) loaded: HashMap<GroupId, Group>,
    /// KeyPackage references from contacts' identity documents.
    pub(super) key_packages: HashMap<IpnsName, Vec<Vec<u8>>>,
    pub(super) fetches: HashMap<OutboundRequestId, GroupRequest>,
    /// DHT lookups of a peer's addresses, with the request to resend.
    pub(super) lookups: HashMap<libp2p::kad::QueryId, GroupRequest>,
    /// Device keys granted in the documents the node has verified.
    pub(super) devices: KnownDevices,
    /// When an identity's document was last looked up because one of its
    /// leaves signed with a key the node did not know (once a minute at most).
    device_lookups: HashMap<IpnsName, std::time::Instant>,
    /// The rules applied to every operation and received message.
    pub(super) policy: NodePolicy,
}

/// The rules a node applies: the group metadata's (admins; a token gate
/// with balances from the configured source).
pub(super) type NodePolicy = MetadataPolicy<std::sync::Arc<dyn BalanceSource + Send + Sync>>;

/// How often an identity's document is looked up for an unknown device key.
const DEVICE_LOOKUP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

impl Groups {
    pub(super) fn open(
        path: Option<&Path>,
        keys: &IdentityKeys,
        device: Option<kaichi_identity::IpnsKeypair>,
        balances: std::sync::Arc<dyn BalanceSource + Send + Sync>,
    ) -> Result<Self, NodeError> {
        let db = match path {
            Some(p) => GroupDatabase::open(p),
            None => GroupDatabase::open_in_memory(),
        }
        .map_err(group_err)?;
        let mut loaded = HashMap::new();
        {
            let p = db.provider();
            for record in db.groups().map_err(group_err)? {
                if let Ok(Some(g)) = Group::load(&p, &record.id)
                    && g.is_active()
                {
                    loaded.insert(record.id, g);
                }
            }
        }
        let me = match device {
            Some(key) => MemberSigner::device(keys.ipns().name(), key),
            None => MemberSigner::identity(keys.ipns().clone()),
        };
        Ok(Self {
            db,
            me,
            loaded,
            key_packages: HashMap::new(),
            fetches: HashMap::new(),
            lookups: HashMap::new(),
            devices: KnownDevices::default(),
            device_lookups: HashMap::new(),
            policy: MetadataPolicy::new(balances),
        })
    }

    /// Whether to look `name`'s document up now for an unknown device key
    /// (records the attempt).
    fn should_look_up_devices(&mut self, name: IpnsName) -> bool {
        let now = std::time::Instant::now();
        if self
            .device_lookups
            .get(&name)
            .is_some_and(|at| now.duration_since(*at) < DEVICE_LOOKUP_INTERVAL)
        {
            return false;
        }
        if self.device_lookups.len() >= 1024 {
            self.device_lookups.clear();
        }
        self.device_lookups.insert(name, now);
        true
    }

    /// A group by hex id or unique name.
    fn find(&self, which: &str) -> Result<GroupId, NodeError> {
        if let Ok(id) = which.parse::<GroupId>()
            && self.loaded.contains_key(&id)
        {
            return Ok(id);
        }
        let matches: Vec<GroupId> = self
            .loaded
            .iter()
            .filter(|(_, g)| g.metadata().name == which)
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [id] => Ok(*id),
            [] => Err(NodeError::Group(format!("not in a group {which:?}"))),
            _ => Err(NodeError::Group(format!(
                "several groups are named {which:?}: use the id"
            ))),
        }
    }
}

fn summary(g: &Group) -> GroupSummary {
    GroupSummary {
        id: g.id(),
        name: g.metadata().name.clone(),
        description: g.metadata().description.clone(),
        epoch: g.epoch(),
        members: g.member_names(),
        sequencer: g.metadata().sequencer,
        token_gate: g.metadata().token_gate,
    }
}

fn now_ms() -> u64 {
    super::now().unix_nanos() / 1_000_000
}

impl Engine {
    /// Sends a group block request to `peer`.
    fn group_request(&mut self, peer: PeerId, request: BlockRequest, fetch: GroupFetch) {
        self.send_group_request(GroupRequest {
            peer,
            request,
            fetch,
            retried: false,
        });
    }

    fn send_group_request(&mut self, r: GroupRequest) {
        let id = self
            .swarm
            .behaviour_mut()
            .blocks
            .send_request(&r.peer, r.request.clone());
        self.groups.fetches.insert(id, r);
    }

    /// A DHT lookup for a peer's addresses finished: resend the request.
    pub(super) fn group_lookup_done(
        &mut self,
        query: libp2p::kad::QueryId,
        found: Vec<libp2p::kad::PeerInfo>,
    ) {
        let Some(mut r) = self.groups.lookups.remove(&query) else {
            return;
        };
        for info in found {
            for addr in info.addrs {
                self.swarm.add_peer_address(info.peer_id, addr);
            }
        }
        r.retried = true;
        self.send_group_request(r);
    }

    /// Whether a DHT query is one of ours.
    pub(super) fn is_group_lookup(&self, query: &libp2p::kad::QueryId) -> bool {
        self.groups.lookups.contains_key(query)
    }

    /// Subscribes to the topics of every group loaded at start.
    pub(super) fn subscribe_groups(&mut self) {
        let ids: Vec<GroupId> = self.groups.loaded.keys().copied().collect();
        for id in ids {
            let _ = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&group_topic(&id));
        }
    }

    /// Records the KeyPackage references of a verified document.
    pub(super) fn remember_key_packages(&mut self, name: IpnsName, refs: &[Vec<u8>]) {
        if self.groups.key_packages.len() >= super::MAX_CACHED_DOCUMENTS {
            self.groups.key_packages.clear();
        }
        self.groups.key_packages.insert(name, refs.to_vec());
    }

    pub(super) fn group_command(&mut self, command: GroupCommand) {
        match command {
            GroupCommand::Create { new, reply } => {
                let _ = reply.send(self.create_group(new));
            }
            GroupCommand::Invite {
                group,
                member,
                reply,
            } => self.invite(&group, &member, reply),
            GroupCommand::Send { group, text, reply } => {
                let _ = reply.send(self.send_group(&group, &text));
            }
            GroupCommand::Read {
                group,
                limit,
                reply,
            } => {
                let r = self
                    .groups
                    .find(&group)
                    .and_then(|id| self.groups.db.messages(&id, limit).map_err(group_err));
                let _ = reply.send(r);
            }
            GroupCommand::List { reply } => {
                let mut list: Vec<GroupSummary> =
                    self.groups.loaded.values().map(summary).collect();
                list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                let _ = reply.send(Ok(list));
            }
            GroupCommand::Remove {
                group,
                member,
                reply,
            } => {
                let _ = reply.send(self.remove_member(&group, &member));
            }
            GroupCommand::Leave { group, reply } => {
                let _ = reply.send(self.leave_group(&group));
            }
            GroupCommand::Admin {
                group,
                member,
                admin,
                reply,
            } => {
                let _ = reply.send(self.set_admin(&group, &member, admin));
            }
            GroupCommand::Update { group, reply } => {
                let _ = reply.send(self.update_keys(&group));
            }
        }
    }

    fn create_group(&mut self, new: NewGroup) -> Result<GroupSummary, NodeError> {
        let name = new.name.clone();
        let g = &mut self.groups;
        let group = in_tx(&g.db, |p| {
            let group = Group::create(p, &g.me, new)?;
            g.db.record_group(&group.id(), &name)?;
            Ok(group)
        })?;
        let s = summary(&group);
        self.groups.loaded.insert(group.id(), group);
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&group_topic(&s.id));
        Ok(s)
    }

    /// Logs one of this node's MLS messages and publishes it on the group topic.
    fn publish_group(&mut self, id: &GroupId, bytes: Vec<u8>) {
        if let Ok(info) = message_info(&bytes) {
            let _ = self.groups.db.log_message(&info, &bytes, true);
        }
        self.publish(group_topic(id).hash(), bytes);
    }

    fn send_group(&mut self, which: &str, text: &str) -> Result<(), NodeError> {
        let id = self.groups.find(which)?;
        let g = &mut self.groups;
        let group = g
            .loaded
            .get_mut(&id)
            .ok_or_else(|| group_err("not loaded"))?;
        let bytes = in_tx(&g.db, |p| {
            let bytes = group.send(p, &g.me, text.as_bytes())?;
            g.db.save_message(
                &id,
                &StoredGroupMessage {
                    epoch: group.epoch(),
                    sender: g.me.name().to_string(),
                    body: text.as_bytes().to_vec(),
                    at_ms: now_ms(),
                },
            )?;
            Ok(bytes)
        })?;
        self.publish_group(&id, bytes);
        Ok(())
    }

    fn invite(
        &mut self,
        which: &str,
        member: &str,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    ) {
        match self.find_contact(member) {
            // A contact whose document we hold lists no KeyPackage (it came
            // from a file, say): look up the one its node published.
            Ok(contact)
                if self
                    .groups
                    .key_packages
                    .get(&contact.peer.ipns_name())
                    .is_none_or(|r| r.is_empty()) =>
            {
                self.lookup_for_invite(
                    LookupTarget::Wallet(contact.peer.wallet),
                    which.to_owned(),
                    reply,
                );
            }
            Ok(_) => self.invite_known(which, member, reply),
            // Not a contact: find their document by wallet or IPNS name.
            Err(_) => {
                let target = if let Ok(w) = member.parse() {
                    LookupTarget::Wallet(w)
                } else if let Ok(n) = member.parse() {
                    LookupTarget::Name(n)
                } else {
                    let _ = reply.send(Err(NodeError::NotAContact(member.to_owned())));
                    return;
                };
                self.lookup_for_invite(target, which.to_owned(), reply);
            }
        }
    }

    /// Invites a member whose KeyPackage references are known (or fails).
    pub(super) fn invite_known(
        &mut self,
        which: &str,
        member: &str,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    ) {
        let prepared = (|| {
            let id = self.groups.find(which)?;
            if !self.groups.loaded.contains_key(&id) {
                return Err(group_err("not loaded"));
            }
            let contact = self.find_contact(member)?;
            let name = contact.peer.ipns_name();
            let cid = self
                .groups
                .key_packages
                .get(&name)
                .and_then(|refs| refs.iter().find_map(|r| EntryCid::from_bytes(r).ok()))
                .ok_or_else(|| {
                    group_err(format!(
                        "{member} publishes no KeyPackage (their identity document lists none)"
                    ))
                })?;
            Ok((id, contact.peer, cid))
        })();
        let (group, member, cid) = match prepared {
            Ok(v) => v,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let request = BlockRequest {
            want: vec![cid.to_bytes().to_vec()],
            ..Default::default()
        };
        let peer = *member.ipns_name().peer_id();
        self.group_request(
            peer,
            request,
            GroupFetch::KeyPackage {
                group,
                member,
                cid,
                reply,
            },
        );
    }

    /// The invitee's KeyPackage arrived: add them (the sequencer commits and
    /// sends them the invitation; another member proposes, and the
    /// sequencer's node sends the invitation when it commits). Returns the
    /// epoch they joined in, or the current epoch for a proposal.
    fn finish_invite(
        &mut self,
        group: GroupId,
        member: IdentityPublic,
        kp: Vec<u8>,
    ) -> Result<u64, NodeError> {
        let g = &mut self.groups;
        let grp = g
            .loaded
            .get_mut(&group)
            .ok_or_else(|| group_err("not loaded"))?;
        let out = in_tx(&g.db, |p| {
            let candidate = Candidate::new(kp).with_wallet(member.wallet);
            grp.add(p, &g.me, &g.policy, &g.devices, &[candidate])
                .map_err(TxError::from)
        })?;
        let epoch = grp.epoch();
        let c = match out {
            Outgoing::Commit(c) => c,
            proposals => {
                self.publish_outgoing(&group, proposals);
                return Ok(epoch);
            }
        };
        let (Some(welcome), Some(tree)) = (c.welcome, c.ratchet_tree) else {
            return Err(group_err("no Welcome produced"));
        };
        self.publish_group(&group, c.commit);
        let pending = self.store_welcome(group, &welcome, &tree)?;
        self.send_invitation(&member, &pending);
        Ok(c.epoch)
    }

    /// Stores a Welcome and its ratchet tree as blocks this node serves.
    fn store_welcome(
        &mut self,
        group: GroupId,
        welcome: &[u8],
        tree: &[u8],
    ) -> Result<PendingWelcome, NodeError> {
        let (welcome_cid, tree_cid) = (EntryCid::of(welcome), EntryCid::of(tree));
        for (cid, block) in [(welcome_cid, welcome), (tree_cid, tree)] {
            self.store.put(&cid.to_cid(), block)?;
        }
        Ok(PendingWelcome {
            group,
            welcome: welcome_cid,
            tree: tree_cid,
        })
    }

    /// Sends `member` a sealed invitation to fetch a stored Welcome.
    pub(super) fn send_invitation(&mut self, member: &IdentityPublic, w: &PendingWelcome) {
        let notification = Notification {
            sender_document: self.document.clone(),
            invitation: Some(GroupInvitation {
                group: w.group.as_bytes().to_vec(),
                welcome: w.welcome.to_bytes().to_vec(),
                ratchet_tree: w.tree.to_bytes().to_vec(),
                addresses: self.listen_addrs.iter().map(|a| a.to_vec()).collect(),
            }),
            ..Default::default()
        };
        let sealed = match random::<32>().and_then(|seed| {
            notification
                .seal(&member.dm, Zeroizing::new(seed))
                .map_err(Into::into)
        }) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::debug!(%e, "could not seal an invitation");
                return;
            }
        };
        self.publish(inbox_topic(&member.ipns_name()).hash(), sealed);
    }

    /// Announces a Welcome this node's commit produced to each new member
    /// (looking up the documents of those it does not know).
    fn deliver_welcome(&mut self, pending: &PendingWelcome, added: &[IpnsName]) {
        for name in added {
            match self.cached_document(name) {
                Some(peer) => self.send_invitation(&peer, pending),
                None => {
                    if !self.lookup_for_welcome(*name, pending.clone()) {
                        tracing::debug!(%name, "too many lookups: the Welcome is not delivered");
                    }
                }
            }
        }
    }

    /// A member named by IPNS name, or a contact's wallet or name.
    fn member_name(&mut self, member: &str) -> Result<IpnsName, NodeError> {
        match member.parse() {
            Ok(n) => Ok(n),
            Err(_) => Ok(self.find_contact(member)?.peer.ipns_name()),
        }
    }

    /// Runs one change of this member's to a group in a database
    /// transaction, publishes what it produced, and returns the epoch (the
    /// current one when it produced proposals).
    fn change_group(
        &mut self,
        which: &str,
        change: impl FnOnce(
            &mut Group,
            &kaichi_groups::SqliteProvider<'_>,
            &MemberSigner,
            &NodePolicy,
        ) -> Result<Outgoing, TxError>,
    ) -> Result<u64, NodeError> {
        let id = self.groups.find(which)?;
        let g = &mut self.groups;
        let group = g
            .loaded
            .get_mut(&id)
            .ok_or_else(|| group_err("not loaded"))?;
        let out = in_tx(&g.db, |p| change(group, p, &g.me, &g.policy))?;
        let epoch = group.epoch();
        self.publish_outgoing(&id, out);
        Ok(epoch)
    }

    fn set_admin(&mut self, which: &str, member: &str, admin: bool) -> Result<u64, NodeError> {
        let name = self.member_name(member)?;
        self.change_group(which, |group, p, me, policy| {
            if admin && !group.is_member(&name) {
                return Err(TxError(format!("{name} is not a member"), None));
            }
            let mut metadata = group.metadata().clone();
            metadata.admins.retain(|a| *a != name);
            if admin {
                metadata.admins.push(name);
            }
            Ok(group.set_metadata(p, me, policy, metadata)?)
        })
    }

    fn update_keys(&mut self, which: &str) -> Result<u64, NodeError> {
        self.change_group(which, |group, p, me, _| Ok(group.self_update(p, me)?))
    }

    fn remove_member(&mut self, which: &str, member: &str) -> Result<u64, NodeError> {
        let name = self.member_name(member)?;
        self.change_group(which, |group, p, me, policy| {
            Ok(group.remove(p, me, policy, &[name])?)
        })
    }

    fn leave_group(&mut self, which: &str) -> Result<(), NodeError> {
        self.change_group(which, |group, p, me, _| {
            Ok(Outgoing::Proposals(vec![group.leave(p, me)?]))
        })
        .map(|_| ())
    }

    fn publish_outgoing(&mut self, id: &GroupId, out: Outgoing) {
        match out {
            Outgoing::Commit(c) => self.publish_group(id, c.commit),
            Outgoing::Proposals(ps) => {
                for p in ps {
                    self.publish_group(id, p);
                }
            }
            _ => {}
        }
    }

    /// Whether a topic is a group topic, and which group.
    pub(super) fn group_of_topic(&self, topic: &TopicHash) -> Option<GroupId> {
        topic
            .as_str()
            .strip_prefix(GROUP_TOPIC_PREFIX)
            .and_then(|hex| hex.parse().ok())
            .filter(|id| self.groups.loaded.contains_key(id))
    }

    /// A message on one of our group topics.
    pub(super) fn group_gossip(&mut self, id: GroupId, data: &[u8]) -> MessageAcceptance {
        match message_info(data) {
            Ok(info) if info.group == id => {
                if self
                    .groups
                    .db
                    .log_message(&info, data, false)
                    .unwrap_or(false)
                {
                    self.drain_group(id);
                }
                MessageAcceptance::Accept
            }
            _ => MessageAcceptance::Reject,
        }
    }

    /// Applies whatever the group's log holds that can be applied now, in
    /// epoch order; a message that fails is set aside for good.
    pub(super) fn drain_group(&mut self, id: GroupId) {
        for _ in 0..MAX_DRAIN_ROUNDS {
            let Some(epoch) = self.groups.loaded.get(&id).map(|g| g.epoch()) else {
                return;
            };
            let Ok(pending) = self.groups.db.pending_messages(&id, epoch) else {
                return;
            };
            if pending.is_empty() {
                return;
            }
            for bytes in pending {
                let g = &mut self.groups;
                let Some(group) = g.loaded.get_mut(&id) else {
                    return;
                };
                let before = group.epoch();
                let result = g.db.transaction(|p| {
                    let event = group
                        .process(p, &g.policy, &g.devices, &bytes)
                        .map_err(TxError::from_process)?;
                    if let GroupEvent::Message { from, text, epoch } = &event {
                        g.db.save_message(
                            &id,
                            &StoredGroupMessage {
                                epoch: *epoch,
                                sender: from.to_string(),
                                body: text.clone(),
                                at_ms: now_ms(),
                            },
                        )?;
                    }
                    Ok(event)
                });
                let after = group.epoch();
                match result {
                    Ok(event) => {
                        let _ = g.db.message_done(&bytes);
                        self.group_event(id, event);
                    }
                    Err(TxError(e, unknown)) => {
                        // Whatever the failed operation did in memory is dropped.
                        if let Ok(Some(fresh)) = Group::load(&self.groups.db.provider(), &id) {
                            self.groups.loaded.insert(id, fresh);
                        }
                        // A device key we do not know yet: the message stays
                        // pending while the identity's document is looked up.
                        if let Some(name) = unknown
                            && self.groups.should_look_up_devices(name)
                            && self.lookup_for_devices(name, DeviceRetry::Drain(id))
                        {
                            tracing::debug!(group = %id, %name, "unknown device key: looking up the document");
                            return;
                        }
                        tracing::debug!(group = %id, %e, "group message refused");
                        let _ = self.groups.db.message_done(&bytes);
                    }
                }
                if !self.groups.loaded.contains_key(&id) {
                    return;
                }
                if after != before {
                    break;
                }
            }
        }
    }

    fn group_event(&mut self, id: GroupId, event: GroupEvent) {
        match event {
            GroupEvent::Message { from, text, .. } => self.emit(NodeEvent::GroupMessage {
                group: id,
                from,
                text: String::from_utf8_lossy(&text).into_owned(),
            }),
            GroupEvent::Commit {
                epoch,
                added,
                removed,
                metadata_changed,
                ..
            } => {
                if metadata_changed && let Some(g) = self.groups.loaded.get(&id) {
                    let _ = self.groups.db.record_group(&id, &g.metadata().name);
                }
                self.emit(NodeEvent::GroupChanged {
                    group: id,
                    epoch,
                    added,
                    removed,
                });
            }
            GroupEvent::Proposal { .. } => self.commit_proposals(id),
            GroupEvent::RemovedSelf { .. } => {
                self.groups.loaded.remove(&id);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .unsubscribe(&group_topic(&id));
                self.emit(NodeEvent::GroupRemoved { group: id });
            }
            _ => {}
        }
    }

    /// The sequencer commits proposals as they arrive.
    fn commit_proposals(&mut self, id: GroupId) {
        let g = &mut self.groups;
        let Some(group) = g.loaded.get_mut(&id) else {
            return;
        };
        if !group.is_sequencer(&g.me) {
            return;
        }
        let before = group.member_names();
        let result = g.db.transaction(|p| {
            group
                .commit_pending(p, &g.me, &g.policy)
                .map_err(TxError::from)
        });
        let after = group.member_names();
        match result {
            Ok(c) => {
                let epoch = c.epoch;
                let added: Vec<IpnsName> = after
                    .iter()
                    .filter(|n| !before.contains(n))
                    .copied()
                    .collect();
                let removed: Vec<IpnsName> = before
                    .iter()
                    .filter(|n| !after.contains(n))
                    .copied()
                    .collect();
                self.publish_group(&id, c.commit);
                if let (Some(welcome), Some(tree)) = (&c.welcome, &c.ratchet_tree) {
                    match self.store_welcome(id, welcome, tree) {
                        Ok(pending) => self.deliver_welcome(&pending, &added),
                        Err(e) => tracing::debug!(%e, "could not store a Welcome"),
                    }
                }
                self.emit(NodeEvent::GroupChanged {
                    group: id,
                    epoch,
                    added,
                    removed,
                });
            }
            Err(TxError(e, _)) => tracing::debug!(group = %id, %e, "could not commit proposals"),
        }
    }

    /// A peer subscribed to one of our group topics: catch up from it.
    pub(super) fn group_peer_subscribed(&mut self, id: GroupId, peer: PeerId) {
        let Some(epoch) = self.groups.loaded.get(&id).map(|g| g.epoch()) else {
            return;
        };
        let request = BlockRequest {
            group: id.as_bytes().to_vec(),
            since_epoch: epoch,
            ..Default::default()
        };
        self.group_request(peer, request, GroupFetch::Log);
    }

    /// Serves a group's log to a member.
    pub(super) fn serve_group_log(&self, peer: &PeerId, request: &BlockRequest) -> Vec<Vec<u8>> {
        let Ok(id) = GroupId::from_slice(&request.group) else {
            return Vec::new();
        };
        let Some(group) = self.groups.loaded.get(&id) else {
            return Vec::new();
        };
        if !group.is_member(&IpnsName::from_peer_id(*peer)) {
            return Vec::new();
        }
        self.groups
            .db
            .log_since(&id, request.since_epoch, MAX_RESPONSE_BYTES / 2)
            .unwrap_or_default()
    }

    /// An invitation arrived (its sender's document verified): fetch the
    /// Welcome and tree from the inviter.
    pub(super) fn invitation(
        &mut self,
        inviter: &IdentityPublic,
        inv: &GroupInvitation,
    ) -> Result<(), String> {
        let group = GroupId::from_slice(&inv.group).map_err(|e| e.to_string())?;
        let welcome = EntryCid::from_bytes(&inv.welcome).map_err(|e| e.to_string())?;
        let tree = EntryCid::from_bytes(&inv.ratchet_tree).map_err(|e| e.to_string())?;
        if self.groups.loaded.contains_key(&group) {
            return Ok(());
        }
        let peer = *inviter.ipns_name().peer_id();
        for addr in inv.addresses.iter().take(16) {
            if let Ok(a) = Multiaddr::try_from(addr.clone()) {
                self.swarm.add_peer_address(peer, a);
            }
        }
        let request = BlockRequest {
            want: vec![welcome.to_bytes().to_vec(), tree.to_bytes().to_vec()],
            ..Default::default()
        };
        self.group_request(
            peer,
            request,
            GroupFetch::Invitation {
                inviter: peer,
                group,
                welcome,
                tree,
            },
        );
        Ok(())
    }

    /// A block request made for groups failed: the first time the peer
    /// could not be dialled, look its addresses up in the DHT and try again.
    pub(super) fn group_fetch_failed(
        &mut self,
        r: GroupRequest,
        error: &libp2p::request_response::OutboundFailure,
    ) {
        if !r.retried
            && matches!(
                error,
                libp2p::request_response::OutboundFailure::DialFailure
            )
            && self.groups.lookups.len() < 64
        {
            let query = self.swarm.behaviour_mut().kad.get_closest_peers(r.peer);
            self.groups.lookups.insert(query, r);
            return;
        }
        let reason = error.to_string();
        if let GroupFetch::KeyPackage { reply, .. } = r.fetch {
            let _ = reply.send(Err(group_err(format!(
                "could not fetch the invitee's KeyPackage: {reason}"
            ))));
        }
    }

    /// A block response to a group request.
    pub(super) fn group_response(&mut self, r: GroupRequest, response: &BlockResponse) {
        let fetch = r.fetch;
        let find = |cid: &EntryCid| response.blocks.iter().find(|b| EntryCid::of(b) == *cid);
        match fetch {
            GroupFetch::KeyPackage {
                group,
                member,
                cid,
                reply,
            } => {
                let result = match find(&cid) {
                    Some(kp) => self.finish_invite(group, member, kp.clone()),
                    None => Err(group_err("the invitee did not send its KeyPackage")),
                };
                let _ = reply.send(result);
            }
            GroupFetch::Invitation {
                inviter,
                group,
                welcome,
                tree,
            } => {
                let (Some(w), Some(t)) = (find(&welcome), find(&tree)) else {
                    tracing::debug!(%group, "the inviter did not send the Welcome and tree");
                    return;
                };
                self.join_group(inviter, group, w, t);
            }
            GroupFetch::Log => {}
        }
        for bytes in &response.group_messages {
            if let Ok(info) = message_info(bytes)
                && self.groups.loaded.contains_key(&info.group)
            {
                let _ = self.groups.db.log_message(&info, bytes, false);
            }
        }
        let ids: std::collections::BTreeSet<GroupId> = response
            .group_messages
            .iter()
            .filter_map(|b| message_info(b).ok().map(|i| i.group))
            .collect();
        for id in ids {
            self.drain_group(id);
        }
    }

    fn join_group(&mut self, inviter: PeerId, expected: GroupId, welcome: &[u8], tree: &[u8]) {
        let g = &mut self.groups;
        let joined = g.db.transaction(|p| {
            let group =
                Group::join(p, welcome, Some(tree), &g.devices).map_err(TxError::from_join)?;
            if group.id() != expected {
                return Err(TxError("the Welcome is for another group".into(), None));
            }
            g.db.record_group(&group.id(), &group.metadata().name)?;
            Ok(group)
        });
        match joined {
            Ok(group) => {
                let (id, name) = (group.id(), group.metadata().name.clone());
                self.groups.loaded.insert(id, group);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .subscribe(&group_topic(&id));
                self.emit(NodeEvent::GroupJoined { group: id, name });
                self.group_peer_subscribed(id, inviter);
            }
            Err(TxError(e, Some(name))) if self.groups.should_look_up_devices(name) => {
                // A member's device key we do not know: keep the Welcome and
                // tree, look the member's document up, and try again.
                let (w, t) = (EntryCid::of(welcome), EntryCid::of(tree));
                let kept = self.store.put(&w.to_cid(), welcome).is_ok()
                    && self.store.put(&t.to_cid(), tree).is_ok();
                let retry = DeviceRetry::Join {
                    inviter,
                    group: expected,
                    welcome: w,
                    tree: t,
                };
                if !kept || !self.lookup_for_devices(name, retry) {
                    tracing::debug!(%e, "could not join from an invitation");
                }
            }
            Err(TxError(e, _)) => tracing::debug!(%e, "could not join from an invitation"),
        }
    }

    /// An identity's document was looked up (found or not) for its device
    /// keys: try again what waited on it.
    pub(super) fn retry_after_devices(&mut self, retry: DeviceRetry) {
        match retry {
            DeviceRetry::Drain(id) => self.drain_group(id),
            DeviceRetry::Join {
                inviter,
                group,
                welcome,
                tree,
            } => {
                let blocks = (
                    self.store.get(&welcome.to_cid()),
                    self.store.get(&tree.to_cid()),
                );
                if let (Ok(Some(w)), Ok(Some(t))) = blocks {
                    self.join_group(inviter, group, &w, &t);
                }
            }
        }
    }
}
