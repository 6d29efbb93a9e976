//! A conversation between two identities: append, ingest, merge, view.
//!
//! `Conversation` is sans-IO. Drive it like this: feed it blocks (from the
//! network or the store) with [`Conversation::ingest`]; on `Ok`, persist the
//! returned entry's block if it is new, then ask for [`Conversation::missing`]
//! parents to fetch. To write, call [`Conversation::append`] with fresh random
//! salt, persist the returned block and announce its CID. Nothing is kept
//! unless it verified.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use kaichi_identity::document::VerifiedDocument;
use kaichi_identity::{IdentityKeys, IdentityPublic, IpnsKeypair, IpnsPublicKey};

use crate::entry::{BuildError, Entry, IngestError, MAX_PARENTS, SealedEntry};
use crate::envelope::SALT_BYTES;
use crate::ids::{ConversationId, EntryCid};
use crate::keys::{AuthorTag, ConversationKeyError, ConversationKeys};
use crate::log::{ColdEntries, EntryMeta, InsertError, LogSet, OrderKey};
use crate::message::{Message, MessageBody};
use crate::view::{self, Cursor, Page};

/// A message could not be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The signing key is neither this identity's nor an authorised device's.
    #[error("the signing key may not write for this identity")]
    UnauthorisedSigner,
    /// The message or envelope is invalid.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The log's clock is exhausted (2^64 entries deep).
    #[error("the conversation clock is exhausted")]
    ClockExhausted,
    /// The log refused the new entry.
    #[error("the log refused the entry: {0}")]
    Log(#[from] InsertError),
}

/// The result of ingesting a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The entry.
    pub cid: EntryCid,
    /// False for a duplicate (nothing changed).
    pub new: bool,
    /// Entries removed because this one proved their clocks wrong.
    pub evicted: Vec<EntryCid>,
    /// The opened, verified entry when it is new (persist its block).
    pub entry: Option<Entry>,
}

/// One conversation as seen by one participant.
#[derive(Debug, Clone)]
pub struct Conversation {
    keys: ConversationKeys,
    me: IpnsPublicKey,
    peer: IpnsPublicKey,
    /// Extra signing keys (granted devices) per participant, with the
    /// version of the document that granted them.
    devices: HashMap<
        [u8; 32],
        (
            kaichi_identity::document::DocumentVersion,
            HashSet<[u8; 32]>,
        ),
    >,
    log: LogSet,
    messages: HashMap<EntryCid, Message>,
    /// Edits, deletes and reactions per target.
    annotations: HashMap<EntryCid, Vec<OrderKey>>,
    /// This side's entries the other side acknowledged storing.
    delivered: HashSet<EntryCid>,
    /// This side's entries not in `delivered`, in conversation order.
    pending: BTreeSet<OrderKey>,
    /// The other side's newest read marker: its position and its target.
    peer_marker: Option<(OrderKey, EntryCid)>,
    /// This side's newest read marker: its position and its target.
    own_marker: Option<(OrderKey, EntryCid)>,
}

impl Conversation {
    /// The conversation between `me` and `peer`.
    pub fn new(me: &IdentityKeys, peer: &IdentityPublic) -> Result<Self, ConversationKeyError> {
        Ok(Self {
            keys: ConversationKeys::derive(me, peer)?,
            me: me.ipns().public(),
            peer: peer.ipns,
            devices: HashMap::new(),
            log: LogSet::new(),
            messages: HashMap::new(),
            annotations: HashMap::new(),
            delivered: HashSet::new(),
            pending: BTreeSet::new(),
            peer_marker: None,
            own_marker: None,
        })
    }

    /// The conversation id.
    pub fn id(&self) -> ConversationId {
        self.keys.id()
    }

    /// This side's IPNS key.
    pub fn me(&self) -> &IpnsPublicKey {
        &self.me
    }

    /// The other side's IPNS key.
    pub fn peer(&self) -> &IpnsPublicKey {
        &self.peer
    }

    /// Accepts new entries signed by the devices a participant's verified
    /// identity document grants, and by no others: a newer document (by
    /// [`kaichi_identity::document::DocumentVersion`]) replaces what an older one granted, so a device its
    /// identity revoked writes nothing more here; an older document changes
    /// nothing. Entries kept before stay. Documents of other identities are
    /// ignored.
    pub fn authorise_devices(&mut self, document: &VerifiedDocument) {
        let author = document.public().ipns;
        if author != self.me && author != self.peer {
            return;
        }
        let version = document.version();
        if self
            .devices
            .get(&author.to_bytes())
            .is_some_and(|(seen, _)| *seen > version)
        {
            return;
        }
        let keys = document
            .devices()
            .iter()
            .map(|g| g.request().signing_key().to_bytes())
            .collect();
        self.devices.insert(author.to_bytes(), (version, keys));
    }

    fn may_sign(&self, author: &IpnsPublicKey, signer: Option<&IpnsPublicKey>) -> bool {
        match signer {
            None => true,
            Some(s) => self
                .devices
                .get(&author.to_bytes())
                .is_some_and(|(_, d)| d.contains(&s.to_bytes())),
        }
    }

    /// Writes a message as this identity, signed by `signing` (this
    /// identity's IPNS key, or an authorised device's own key), on top of
    /// every current head. `salt` must be fresh random bytes.
    pub fn append(
        &mut self,
        signing: &IpnsKeypair,
        message: &Message,
        salt: &[u8; SALT_BYTES],
    ) -> Result<Entry, AppendError> {
        let signer = signing.public();
        if signer != self.me && !self.may_sign(&self.me, Some(&signer)) {
            return Err(AppendError::UnauthorisedSigner);
        }
        // Parents: this side's outbox heads (linked in the block) and the
        // other side's heads of the conversation (inside the envelope), at
        // most MAX_PARENTS in all.
        let me = self.me.to_bytes();
        let mut heads: Vec<(OrderKey, bool)> = self
            .log
            .outbox_heads(&me)
            .filter_map(|c| self.log.key_of(c))
            .map(|k| (k, true))
            .chain(
                self.log
                    .heads()
                    .filter_map(|c| self.log.key_of(c))
                    .filter(|k| k.author != me)
                    .map(|k| (k, false)),
            )
            .collect();
        // Own heads first (so the outbox stays one DAG), then newest first.
        heads.sort_unstable_by(|(x, x_own), (y, y_own)| y_own.cmp(x_own).then(y.cmp(x)));
        heads.truncate(MAX_PARENTS);
        let clock = match heads.iter().map(|(k, _)| k.clock).max() {
            Some(c) => c.checked_add(1).ok_or(AppendError::ClockExhausted)?,
            None => 1,
        };
        let (mut prev, mut seen): (Vec<EntryCid>, Vec<EntryCid>) = (Vec::new(), Vec::new());
        for (k, own) in heads {
            if own {
                prev.push(k.cid)
            } else {
                seen.push(k.cid)
            }
        }
        prev.sort_unstable();
        seen.sort_unstable();
        let entry = Entry::build(
            &self.keys, signing, self.me, clock, prev, seen, message, salt,
        )?;
        self.insert(&entry, message.clone())?;
        Ok(entry)
    }

    /// Verifies a block (CID when `expected` is given, size, fields,
    /// signature, author, signer, clock, decryption) and adds it. On error
    /// nothing changes.
    pub fn ingest(
        &mut self,
        block: &[u8],
        expected: Option<&EntryCid>,
    ) -> Result<Ingested, IngestError> {
        if let Some(cid) = expected.filter(|c| self.log.contains(c)) {
            // Known CID: the bytes must still be what it names.
            if EntryCid::of(block) != *cid {
                return Err(IngestError::CidMismatch {
                    expected: *cid,
                    actual: EntryCid::of(block),
                });
            }
            return Ok(Ingested {
                cid: *cid,
                new: false,
                evicted: Vec::new(),
                entry: None,
            });
        }
        let sealed = SealedEntry::decode(block, expected)?;
        self.accept(&sealed, true)
    }

    /// Adds an entry already decoded with [`SealedEntry::decode`]: opens it,
    /// checks author, signer, signature, clock and message.
    pub fn ingest_sealed(&mut self, sealed: &SealedEntry) -> Result<Ingested, IngestError> {
        self.accept(sealed, true)
    }

    /// Opens and checks an entry (signature, author, signer, message) as
    /// [`Self::ingest_sealed`] does, without adding it: to see whose it is
    /// before deciding to keep it.
    pub fn verify_sealed(&self, sealed: &SealedEntry) -> Result<Entry, IngestError> {
        let (entry, _) = sealed.open(&self.keys, true)?;
        if !self.may_sign(entry.author(), entry.signer()) {
            return Err(IngestError::UnauthorisedSigner);
        }
        Ok(entry)
    }

    /// Adds a block this process verified before (loaded from its own
    /// store): the signature is not re-checked, everything else is.
    pub fn ingest_stored(&mut self, block: &[u8]) -> Result<Ingested, IngestError> {
        let sealed = SealedEntry::decode(block, None)?;
        self.accept(&sealed, false)
    }

    fn accept(&mut self, sealed: &SealedEntry, verify: bool) -> Result<Ingested, IngestError> {
        if self.log.try_contains(&sealed.cid())? {
            return Ok(Ingested {
                cid: sealed.cid(),
                new: false,
                evicted: Vec::new(),
                entry: None,
            });
        }
        let (entry, message) = sealed.open(&self.keys, verify)?;
        // A stored block was authorised when it arrived: a device revoked
        // since keeps what it wrote before.
        if verify && !self.may_sign(entry.author(), entry.signer()) {
            return Err(IngestError::UnauthorisedSigner);
        }
        let meta = meta_of(&entry);
        self.log.check(&meta).map_err(|v| IngestError::ClockRule {
            clock: v.clock,
            expected: v.expected,
        })?;
        let inserted = self.insert(&entry, message).map_err(|e| match e {
            InsertError::ClockRule(v) => IngestError::ClockRule {
                clock: v.clock,
                expected: v.expected,
            },
            InsertError::PreviouslyRejected => IngestError::PreviouslyRejected,
            InsertError::Cold(e) => IngestError::Settled(e),
        })?;
        Ok(Ingested {
            entry: inserted.new.then_some(entry),
            ..inserted
        })
    }

    fn insert(&mut self, entry: &Entry, message: Message) -> Result<Ingested, InsertError> {
        let meta = meta_of(entry);
        let key = meta.key();
        let ins = self.log.insert(meta)?;
        if ins.new {
            if let Some(target) = annotation_target(&message) {
                self.annotations.entry(target).or_default().push(key);
            }
            self.track_delivery(key, &message);
            self.messages.insert(entry.cid(), message);
        }
        for gone in &ins.evicted {
            self.pending.retain(|k| k.cid != *gone);
            if let Some(m) = self.messages.remove(gone)
                && let Some(t) = annotation_target(&m)
                && let Some(list) = self.annotations.get_mut(&t)
            {
                list.retain(|k| k.cid != *gone);
            }
        }
        if self
            .peer_marker
            .is_some_and(|(k, _)| ins.evicted.contains(&k.cid))
        {
            self.peer_marker = self.find_marker(&self.peer);
        }
        if self
            .own_marker
            .is_some_and(|(k, _)| ins.evicted.contains(&k.cid))
        {
            self.own_marker = self.find_marker(&self.me);
        }
        Ok(Ingested {
            cid: entry.cid(),
            new: ins.new,
            evicted: ins.evicted,
            entry: None,
        })
    }

    /// Adds every entry of `other` (another replica of this conversation).
    /// Returns the CIDs added.
    pub fn merge(&mut self, other: &Conversation) -> Vec<EntryCid> {
        if other.id() != self.id() {
            return Vec::new();
        }
        let added = self.log.merge(&other.log);
        for cid in &added {
            if let (Some(m), Some(key)) = (other.messages.get(cid), self.log.key_of(cid)) {
                if let Some(t) = annotation_target(m) {
                    self.annotations.entry(t).or_default().push(key);
                }
                self.track_delivery(key, m);
                self.messages.insert(*cid, m.clone());
            }
        }
        added
    }

    /// Moves this conversation's oldest entries out of memory, keeping
    /// about the newest `keep` (see [`LogSet::settle`]); from then on they
    /// are looked up in `cold`, the store that holds them
    /// ([`crate::store::SettledEntries`]). Kept too: this side's entries
    /// waiting for a receipt, and edits, deletes and reactions of entries
    /// still held. Every answer stays the same except that pages
    /// ([`Self::page`]) and [`Self::message`] cover the entries held, and
    /// [`Self::merge`] merges those of `other`. Returns how many moved.
    pub fn settle(&mut self, cold: Arc<dyn ColdEntries>, keep: usize) -> usize {
        let mut hold: HashSet<EntryCid> = self.pending.iter().map(|k| k.cid).collect();
        for (target, notes) in &self.annotations {
            if self.log.contains(target) {
                hold.extend(notes.iter().map(|k| k.cid));
            }
        }
        let moved = self.log.settle(cold, keep, |k| hold.contains(&k.cid));
        // Edits, deletes and reactions come after what they change, so the
        // newest `keep` entries show their messages as the whole does.
        for k in &moved {
            self.delivered.remove(&k.cid);
            self.annotations.remove(&k.cid);
            if let Some(m) = self.messages.remove(&k.cid)
                && let Some(t) = annotation_target(&m)
                && let Some(list) = self.annotations.get_mut(&t)
            {
                list.retain(|n| n.cid != k.cid);
                if list.is_empty() {
                    self.annotations.remove(&t);
                }
            }
        }
        moved.len()
    }

    /// Number of entries held in memory ([`Self::len`] counts the settled
    /// ones too).
    pub fn hot_len(&self) -> usize {
        self.log.hot_len()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    /// Whether an entry is present.
    pub fn contains(&self, cid: &EntryCid) -> bool {
        self.log.contains(cid)
    }

    /// The current heads (entries nothing builds on yet), sorted.
    pub fn heads(&self) -> Vec<EntryCid> {
        self.log.heads().copied().collect()
    }

    /// The heads of this side's outbox (its entries none of its own builds
    /// on), sorted: what its IPNS root links, so a recursive pin of the root
    /// holds every entry this side wrote.
    pub fn outbox_heads(&self) -> Vec<EntryCid> {
        self.log
            .outbox_heads(&self.me.to_bytes())
            .copied()
            .collect()
    }

    /// The tag this side's entries carry (its outbox in this conversation).
    pub fn outbox_tag(&self) -> AuthorTag {
        // `me` is a participant by construction.
        self.keys.author_tag(&self.me).unwrap_or(AuthorTag([0; 32]))
    }

    /// The tag the other side's entries carry.
    pub fn peer_tag(&self) -> AuthorTag {
        self.keys
            .author_tag(&self.peer)
            .unwrap_or(AuthorTag([0; 32]))
    }

    /// Parents referenced but not held: what sync should fetch.
    pub fn missing(&self) -> Vec<EntryCid> {
        self.log.missing().copied().collect()
    }

    /// The underlying CRDT state.
    pub fn log(&self) -> &LogSet {
        &self.log
    }

    /// The decrypted message of an entry.
    pub fn message(&self, cid: &EntryCid) -> Option<&Message> {
        self.messages.get(cid)
    }

    /// A page of the conversation view, newest first, starting before
    /// `cursor` (from the newest when `None`).
    pub fn page(&self, cursor: Option<&Cursor>, limit: usize) -> Page {
        view::page(self, cursor, limit)
    }

    /// The page [`Self::page`] gives, when every message on it and every
    /// edit, delete and reaction of them is in memory (always, until
    /// [`Self::settle`] moved entries out); `None` when the page reaches
    /// settled entries: read it from the conversation loaded whole
    /// ([`Self::load`]).
    pub fn held_page(&self, cursor: Option<&Cursor>, limit: usize) -> Option<Page> {
        let page = self.page(cursor, limit);
        let Some(below) = self.log.settled_below() else {
            return Some(page);
        };
        let full = page.messages.len() == limit.clamp(1, view::MAX_PAGE);
        let last = page.messages.last()?.cursor;
        (full && last.0 > below).then_some(Page {
            next: Some(last),
            ..page
        })
    }

    /// The latest entry `author` (either participant) marked as read up to
    /// (by conversation order of the markers), if any.
    pub fn read_marker(&self, author: &IpnsPublicKey) -> Option<EntryCid> {
        if *author == self.me {
            self.own_marker.map(|(_, t)| t)
        } else if *author == self.peer {
            self.peer_marker.map(|(_, t)| t)
        } else {
            None
        }
    }

    pub(crate) fn delivered(&self) -> &HashSet<EntryCid> {
        &self.delivered
    }

    /// Marks `key` (an entry of this side) delivered; whether it was not.
    pub(crate) fn set_delivered(&mut self, key: OrderKey) -> bool {
        self.pending.remove(&key);
        self.delivered.insert(key.cid)
    }

    /// This side's entries not acknowledged, in conversation order.
    pub(crate) fn pending(&self) -> &BTreeSet<OrderKey> {
        &self.pending
    }

    /// The target of the other side's newest read marker.
    pub(crate) fn peer_marker_target(&self) -> Option<EntryCid> {
        self.peer_marker.map(|(_, target)| target)
    }

    /// Keeps the delivery state current as an entry comes in: this side's
    /// entries wait for a receipt; each side's newest read marker is
    /// remembered.
    fn track_delivery(&mut self, key: OrderKey, message: &Message) {
        let mine = key.author == self.me.to_bytes();
        if mine && !self.delivered.contains(&key.cid) {
            self.pending.insert(key);
        }
        if let MessageBody::ReadMarker { up_to } = &message.body {
            let marker = if mine {
                &mut self.own_marker
            } else {
                &mut self.peer_marker
            };
            if marker.is_none_or(|(k, _)| key > k) {
                *marker = Some((key, *up_to));
            }
        }
    }

    /// The newest read marker of `author` among the entries held.
    fn find_marker(&self, author: &IpnsPublicKey) -> Option<(OrderKey, EntryCid)> {
        let author = author.to_bytes();
        self.log
            .iter()
            .rev()
            .filter(|k| k.author == author)
            .find_map(|k| match self.messages.get(&k.cid).map(|m| &m.body) {
                Some(MessageBody::ReadMarker { up_to }) => Some((*k, *up_to)),
                _ => None,
            })
    }

    pub(crate) fn annotations(&self, cid: &EntryCid) -> &[OrderKey] {
        self.annotations.get(cid).map_or(&[], Vec::as_slice)
    }
}

fn meta_of(entry: &Entry) -> EntryMeta {
    EntryMeta {
        cid: entry.cid(),
        author: entry.author().to_bytes(),
        clock: entry.clock(),
        parents: entry.parents().to_vec(),
    }
}

fn annotation_target(m: &Message) -> Option<EntryCid> {
    match &m.body {
        MessageBody::Edit { target, .. }
        | MessageBody::Delete { target }
        | MessageBody::Reaction { target, .. } => Some(*target),
        _ => None,
    }
}
