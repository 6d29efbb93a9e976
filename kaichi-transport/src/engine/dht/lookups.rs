//! Document lookups on the IPFS DHT, sans-IO: each finds one identity's
//! signed document without any custom DHT namespace.
//!
//! - By IPNS name: resolve the name's IPNS record (`/ipns/<name>`, validated
//!   and selected by the spec's rules), whose value is `/ipfs/<CID of the
//!   root>`, fetch the root (Bitswap), then the document it links, and
//!   verify it.
//! - By wallet: the identity's node provides [`crate::dht::wallet_key`]; each
//!   provider's PeerId is an IPNS name, resolved as above. A candidate
//!   whose document is not that wallet's (a spoofed provider record) is
//!   dropped, reported, and the next one tried.
//!
//! The glue starts what each step returns ([`Next`]) and feeds the results
//! back; one lookup runs per target however many wait on it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kaichi_identity::{IdentityPublic, IpnsName};
use kaichi_privatelog::{BlockCid, Root, RootCid};
use libp2p::PeerId;

use crate::peer::Peer;

/// Most concurrent lookups.
pub(in crate::engine) const MAX_LOOKUPS: usize = 256;
/// Most providers of a wallet key tried, in the order found.
pub(in crate::engine) const MAX_CANDIDATES: usize = 8;
/// How long a step (a record, a document) may take before the lookup moves
/// on to its next candidate.
pub(in crate::engine) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// A lookup's number.
pub(in crate::engine) type LookupId = u64;

/// What the glue starts next for a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::engine) enum Next {
    /// Find the providers of the wallet's key.
    Providers(kaichi_identity::WalletAddress),
    /// Resolve this name's IPNS record.
    Record(IpnsName),
    /// Fetch the root block `cid` (the named identity's node, and whoever
    /// provides the block, hold it).
    Root(IpnsName, RootCid),
    /// Fetch the document block `cid` (the named identity's node, and
    /// whoever provides the block, hold it).
    Document(IpnsName, BlockCid),
    /// Found: answer the waiters with this identity.
    Done(IdentityPublic),
    /// Not found (no candidate left).
    Failed,
}

/// Where a lookup is.
#[derive(Debug, Clone)]
enum Stage {
    Providers,
    Record(IpnsName),
    Root(IpnsName),
    Document(IpnsName),
}

/// A lookup of one identity's document, with what waits on it.
pub(in crate::engine) struct Lookup<W> {
    /// Whose document.
    pub(in crate::engine) target: Peer,
    /// What waits on it, in arrival order.
    pub(in crate::engine) waiters: Vec<W>,
    stage: Stage,
    /// Names still to try (a wallet's providers), next first.
    candidates: Vec<IpnsName>,
    /// When the current step started.
    since: Instant,
    /// The current candidate's root, once fetched.
    pub(in crate::engine) root: Option<Root>,
}

impl<W> Lookup<W> {
    /// Whether `found` is the identity this lookup is for.
    pub(in crate::engine) fn is_for(&self, found: &IdentityPublic) -> bool {
        self.target.names(&found.wallet, &found.ipns_name())
    }
}

/// Why a candidate was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum Dropped {
    /// It has no valid record or document (offline, expired, unreachable).
    Unavailable,
    /// Its document is valid but another identity's (for a wallet: a
    /// spoofed provider record).
    Spoofed,
}

/// The lookups running.
pub(in crate::engine) struct Lookups<W> {
    running: HashMap<LookupId, Lookup<W>>,
    next_id: LookupId,
}

impl<W> Lookups<W> {
    /// None running.
    pub(in crate::engine) fn new() -> Self {
        Self {
            running: HashMap::new(),
            next_id: 0,
        }
    }

    /// Adds `waiter` to the lookup of `target`. `Ok(Some((id, next)))`:
    /// a new lookup, start `next` for it; `Ok(None)`: it joined a running
    /// one; `Err(waiter)`: too many run.
    pub(in crate::engine) fn join(
        &mut self,
        target: Peer,
        waiter: W,
        now: Instant,
    ) -> Result<Option<(LookupId, Next)>, W> {
        if let Some(l) = self.running.values_mut().find(|l| l.target == target) {
            l.waiters.push(waiter);
            return Ok(None);
        }
        if self.running.len() >= MAX_LOOKUPS {
            return Err(waiter);
        }
        let (stage, next) = match target {
            Peer::Wallet(w) => (Stage::Providers, Next::Providers(w)),
            Peer::Name(n) => (Stage::Record(n), Next::Record(n)),
        };
        let id = self.next_id;
        self.next_id += 1;
        self.running.insert(
            id,
            Lookup {
                target,
                waiters: vec![waiter],
                stage,
                candidates: Vec::new(),
                since: now,
                root: None,
            },
        );
        Ok(Some((id, next)))
    }

    /// The providers of a wallet lookup's key were found (all of them, or
    /// the query ended with none).
    pub(in crate::engine) fn providers(
        &mut self,
        id: LookupId,
        providers: impl IntoIterator<Item = PeerId>,
        now: Instant,
    ) -> Option<Next> {
        let l = self.running.get_mut(&id)?;
        if !matches!(l.stage, Stage::Providers) {
            return None;
        }
        let mut names: Vec<IpnsName> = Vec::new();
        for p in providers {
            let name = IpnsName::from_peer_id(p);
            if names.len() < MAX_CANDIDATES && !names.contains(&name) {
                names.push(name);
            }
        }
        names.reverse();
        l.candidates = names;
        Some(self.next_candidate(id, now))
    }

    /// A lookup's current name resolved to a root CID (`None`: no valid
    /// record).
    pub(in crate::engine) fn record(
        &mut self,
        id: LookupId,
        cid: Option<RootCid>,
        now: Instant,
    ) -> Option<Next> {
        let l = self.running.get_mut(&id)?;
        let Stage::Record(name) = l.stage.clone() else {
            return None;
        };
        Some(match cid {
            Some(cid) => {
                l.stage = Stage::Root(name);
                l.since = now;
                Next::Root(name, cid)
            }
            None => self.next_candidate(id, now),
        })
    }

    /// Whether a lookup waits for a root block (else for a document).
    pub(in crate::engine) fn wants_root(&self, id: LookupId) -> bool {
        self.running
            .get(&id)
            .is_some_and(|l| matches!(l.stage, Stage::Root(_)))
    }

    /// A lookup's root block arrived (`None`: it was not a valid root, or
    /// did not arrive): on to the document it links.
    pub(in crate::engine) fn root(
        &mut self,
        id: LookupId,
        root: Option<Root>,
        now: Instant,
    ) -> Option<Next> {
        let l = self.running.get_mut(&id)?;
        let Stage::Root(name) = l.stage else {
            return None;
        };
        Some(match root {
            Some(root) => {
                let cid = root.document();
                l.root = Some(root);
                l.stage = Stage::Document(name);
                l.since = now;
                Next::Document(name, cid)
            }
            None => self.next_candidate(id, now),
        })
    }

    /// A lookup's document block arrived and verified as `found` (`None`:
    /// it did not verify). Returns the next step and, when the candidate is
    /// dropped, why.
    pub(in crate::engine) fn document(
        &mut self,
        id: LookupId,
        found: Option<IdentityPublic>,
        now: Instant,
    ) -> Option<(Next, Option<(IpnsName, Dropped)>)> {
        let l = self.running.get(&id)?;
        let Stage::Document(name) = l.stage else {
            return None;
        };
        match found {
            Some(public) if public.ipns_name() == name && l.is_for(&public) => {
                Some((Next::Done(public), None))
            }
            Some(_) => Some((self.next_candidate(id, now), Some((name, Dropped::Spoofed)))),
            None => Some((
                self.next_candidate(id, now),
                Some((name, Dropped::Unavailable)),
            )),
        }
    }

    /// The lookups whose current record or document step is older than
    /// [`STEP_TIMEOUT`]: each moves to its next candidate.
    pub(in crate::engine) fn timed_out(&mut self, now: Instant) -> Vec<(LookupId, Next)> {
        let late: Vec<LookupId> = self
            .running
            .iter()
            .filter(|(_, l)| {
                !matches!(l.stage, Stage::Providers) && now.duration_since(l.since) >= STEP_TIMEOUT
            })
            .map(|(id, _)| *id)
            .collect();
        late.into_iter()
            .map(|id| (id, self.next_candidate(id, now)))
            .collect()
    }

    /// A finished lookup (after [`Next::Done`] or [`Next::Failed`]).
    pub(in crate::engine) fn finish(&mut self, id: LookupId) -> Option<Lookup<W>> {
        self.running.remove(&id)
    }

    /// Moves a lookup to its next candidate name, or fails it.
    fn next_candidate(&mut self, id: LookupId, now: Instant) -> Next {
        let Some(l) = self.running.get_mut(&id) else {
            return Next::Failed;
        };
        match l.candidates.pop() {
            Some(name) => {
                l.stage = Stage::Record(name);
                l.since = now;
                l.root = None;
                Next::Record(name)
            }
            None => Next::Failed,
        }
    }
}

#[cfg(test)]
#[path = "lookups_tests.rs"]
mod tests;
