//! Blocks by CID for the API (`Node::get_block`): the local store first,
//! then Bitswap from the connected peers and the providers found in the
//! DHT, within a deadline.
//!
//! [`BlockGets`] is the state, sans-IO (time as an [`Instant`], the query id
//! generic); the `impl Engine` block is the glue.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_privatelog::store::BlockStore as _;
use libp2p::kad;

use super::Engine;
use crate::node::{NodeError, Reply};

/// Most block requests from the API in flight.
pub(super) const MAX_BLOCK_GETS: usize = 256;
/// How long a block request waits for the block.
pub(super) const BLOCK_GET_TIMEOUT: Duration = Duration::from_secs(30);
/// A request older than this looks the block's providers up in the DHT.
const BLOCK_GET_STALE: Duration = Duration::from_secs(3);

/// One request waiting for a block.
struct Get<R> {
    cid: cid::Cid,
    since: Instant,
    looked_up: bool,
    reply: R,
}

/// The API's block requests in flight, and the provider lookups made for
/// them.
pub(super) struct BlockGets<Q, R, L = kad::QueryId> {
    gets: HashMap<Q, Get<R>>,
    lookups: HashSet<L>,
}

impl<Q: Hash + Eq + Copy, R, L: Hash + Eq> BlockGets<Q, R, L> {
    /// None in flight.
    pub(super) fn new() -> Self {
        Self {
            gets: HashMap::new(),
            lookups: HashSet::new(),
        }
    }

    /// A provider lookup runs for a request (at most [`MAX_BLOCK_GETS`]
    /// remembered; an older one's answer is then ignored).
    pub(super) fn lookup_started(&mut self, lookup: L) {
        if self.lookups.len() >= MAX_BLOCK_GETS {
            self.lookups.clear();
        }
        self.lookups.insert(lookup);
    }

    /// Whether `lookup` was made for a request (`last`: it ends now).
    pub(super) fn is_lookup(&mut self, lookup: &L, last: bool) -> bool {
        if last {
            self.lookups.remove(lookup)
        } else {
            self.lookups.contains(lookup)
        }
    }

    /// Whether another request may start.
    pub(super) fn has_room(&self) -> bool {
        self.gets.len() < MAX_BLOCK_GETS
    }

    /// `query` asks for `cid` on behalf of `reply`.
    pub(super) fn started(&mut self, query: Q, cid: cid::Cid, reply: R, now: Instant) {
        self.gets.insert(
            query,
            Get {
                cid,
                since: now,
                looked_up: false,
                reply,
            },
        );
    }

    /// Whether `query` is one of the API's.
    pub(super) fn contains(&self, query: &Q) -> bool {
        self.gets.contains_key(query)
    }

    /// The reply waiting on a finished query (`None`: not an API request).
    pub(super) fn finished(&mut self, query: &Q) -> Option<(cid::Cid, R)> {
        self.gets.remove(query).map(|g| (g.cid, g.reply))
    }

    /// The CIDs wanted for longer than [`BLOCK_GET_STALE`] whose providers
    /// were not looked up yet (each once).
    pub(super) fn due_for_lookup(&mut self, now: Instant) -> Vec<cid::Cid> {
        self.gets
            .values_mut()
            .filter(|g| !g.looked_up && now.duration_since(g.since) >= BLOCK_GET_STALE)
            .map(|g| {
                g.looked_up = true;
                g.cid
            })
            .collect()
    }

    /// The requests past [`BLOCK_GET_TIMEOUT`], removed: cancel each query
    /// and answer its reply.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<(Q, cid::Cid, R)> {
        let old: Vec<Q> = self
            .gets
            .iter()
            .filter(|(_, g)| now.duration_since(g.since) >= BLOCK_GET_TIMEOUT)
            .map(|(q, _)| *q)
            .collect();
        old.into_iter()
            .filter_map(|q| self.gets.remove(&q).map(|g| (q, g.cid, g.reply)))
            .collect()
    }
}

impl Engine {
    /// The block `cid`: from the store, or wanted over Bitswap.
    pub(super) fn get_block(&mut self, cid: cid::Cid, reply: Reply<Vec<u8>>) {
        match self.store.get(&cid) {
            Ok(Some(block)) => {
                let _ = reply.send(Ok(block));
                return;
            }
            Ok(None) => {}
            Err(e) => {
                let _ = reply.send(Err(NodeError::Blocks(Box::new(e))));
                return;
            }
        }
        if !self.block_gets.has_room() {
            let _ = reply.send(Err(NodeError::TooManyBlockRequests));
            return;
        }
        let query = self.swarm.behaviour_mut().bitswap.get(&cid);
        self.block_gets.started(query, cid, reply, Instant::now());
    }

    /// A Bitswap query of the API ended; `false` when it was not the API's.
    pub(super) fn block_got(
        &mut self,
        query: &beetswap::QueryId,
        result: Result<Vec<u8>, beetswap::Error>,
    ) -> bool {
        let Some((cid, reply)) = self.block_gets.finished(query) else {
            return false;
        };
        let _ = reply.send(result.map_err(|e| match e {
            beetswap::Error::Blockstore(e) => NodeError::Blocks(Box::new(e)),
            _ => NodeError::BlockNotFound(cid),
        }));
        true
    }

    /// Runs on the retry timer: stale requests look their block's
    /// providers up; expired ones are cancelled and answered.
    pub(super) fn check_block_gets(&mut self) {
        let now = Instant::now();
        for (query, cid, reply) in self.block_gets.expired(now) {
            self.swarm.behaviour_mut().bitswap.cancel(query);
            let _ = reply.send(Err(NodeError::BlockNotFound(cid)));
        }
        for cid in self.block_gets.due_for_lookup(now) {
            let key = kad::RecordKey::new(&cid.hash().to_bytes());
            let lookup = self.swarm.behaviour_mut().kad.get_providers(key);
            self.block_gets.lookup_started(lookup);
        }
    }

    /// Providers found for a request's block: dial them (a new connection
    /// gets the whole wantlist). `false` when the lookup was not one of ours.
    pub(super) fn block_providers_found(
        &mut self,
        lookup: &kad::QueryId,
        result: &Result<kad::GetProvidersOk, kad::GetProvidersError>,
        last: bool,
    ) -> bool {
        if !self.block_gets.is_lookup(lookup, last) {
            return false;
        }
        if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result {
            self.dial_all(providers.iter().copied());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cid(n: u8) -> cid::Cid {
        kaichi_privatelog::EntryCid::of(&[n]).to_cid()
    }

    #[test]
    fn requests_look_providers_up_once_then_expire_and_are_bounded() {
        let mut g = BlockGets::<u32, &str, u8>::new();
        let t0 = Instant::now();
        g.started(1, cid(1), "one", t0);
        g.started(2, cid(2), "two", t0 + BLOCK_GET_STALE);
        assert!(g.due_for_lookup(t0).is_empty());
        assert_eq!(g.due_for_lookup(t0 + BLOCK_GET_STALE), vec![cid(1)]);
        assert!(g.due_for_lookup(t0 + BLOCK_GET_STALE).is_empty());
        assert!(g.contains(&2));
        assert_eq!(g.finished(&2), Some((cid(2), "two")));
        assert!(!g.contains(&2));
        assert_eq!(g.finished(&2), None);
        let expired = g.expired(t0 + BLOCK_GET_TIMEOUT);
        assert_eq!(expired.len(), 1);
        assert_eq!((expired[0].0, expired[0].2), (1, "one"));
        assert!(g.expired(t0 + BLOCK_GET_TIMEOUT * 2).is_empty());
        for q in 0..MAX_BLOCK_GETS as u32 {
            assert!(g.has_room());
            g.started(q, cid(3), "x", t0);
        }
        assert!(!g.has_room());
        g.lookup_started(7);
        assert!(g.is_lookup(&7, false));
        assert!(g.is_lookup(&7, true));
        assert!(!g.is_lookup(&7, false));
    }
}
