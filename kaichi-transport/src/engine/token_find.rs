//! Token-holder groups found by their mint: a sequencer provides
//! [`crate::dht::token_group_key`] of each mint it gates a group on; a
//! holder who knows only the mint looks the key's providers up in the DHT
//! and asks each (over the block exchange, whose connection authenticates
//! the answering sequencer) which of its groups are gated on that mint.
//! What comes back is kept only when it names that mint and the answering
//! peer as sequencer.
//!
//! [`TokenFinds`] is the state, sans-IO (query, request and reply types
//! generic; time as an [`Instant`]).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_groups::GroupId;
use kaichi_identity::{IpnsName, WalletAddress};
use libp2p::PeerId;

use super::Engine;
use crate::exchange::{BlockRequest, TokenGroupAnnouncement};
use crate::node::{NodeError, Reply, TokenGroupInfo};

/// Most finds at once.
pub(super) const MAX_FINDS: usize = 64;
/// Most sequencers asked in one find.
pub(super) const MAX_ASKED: usize = 16;
/// Most groups one sequencer may announce for a mint.
pub(crate) const MAX_ANNOUNCED: usize = 64;
/// How long a find waits for the DHT and the answers.
pub(super) const FIND_TIMEOUT: Duration = Duration::from_secs(20);

struct Find<R> {
    mint: WalletAddress,
    reply: R,
    asked: HashSet<PeerId>,
    waiting: usize,
    lookup_done: bool,
    found: Vec<TokenGroupInfo>,
    since: Instant,
}

/// The finds running.
pub(super) struct TokenFinds<Q, O, R> {
    finds: HashMap<u64, Find<R>>,
    queries: HashMap<Q, u64>,
    requests: HashMap<O, (u64, PeerId)>,
    next: u64,
}

impl<Q: Hash + Eq, O: Hash + Eq, R> TokenFinds<Q, O, R> {
    pub(super) fn new() -> Self {
        Self {
            finds: HashMap::new(),
            queries: HashMap::new(),
            requests: HashMap::new(),
            next: 0,
        }
    }

    /// Whether another find may start.
    pub(super) fn has_room(&self) -> bool {
        self.finds.len() < MAX_FINDS
    }

    /// A find for `mint` whose provider lookup is `query`.
    pub(super) fn start(&mut self, mint: WalletAddress, query: Q, reply: R, now: Instant) {
        self.next += 1;
        self.queries.insert(query, self.next);
        self.finds.insert(
            self.next,
            Find {
                mint,
                reply,
                asked: HashSet::new(),
                waiting: 0,
                lookup_done: false,
                found: Vec::new(),
                since: now,
            },
        );
    }

    /// Whether `query` is a find's provider lookup.
    pub(super) fn is_lookup(&self, query: &Q) -> bool {
        self.queries.contains_key(query)
    }

    /// Providers found (`last`: the lookup ended): the mint and the peers
    /// to ask now (new ones, within [`MAX_ASKED`], never `me`).
    pub(super) fn providers(
        &mut self,
        query: &Q,
        providers: impl IntoIterator<Item = PeerId>,
        last: bool,
        me: &PeerId,
    ) -> Option<(WalletAddress, Vec<PeerId>)> {
        let id = if last {
            self.queries.remove(query)?
        } else {
            *self.queries.get(query)?
        };
        let find = self.finds.get_mut(&id)?;
        find.lookup_done |= last;
        let mut ask = Vec::new();
        for p in providers {
            if p != *me && find.asked.len() < MAX_ASKED && find.asked.insert(p) {
                ask.push(p);
            }
        }
        Some((find.mint, ask))
    }

    /// `request` asks `peer` for the find that `mint`'s lookup `query` ran for.
    pub(super) fn asking(&mut self, query_find: u64, request: O, peer: PeerId) {
        if let Some(find) = self.finds.get_mut(&query_find) {
            find.waiting += 1;
            self.requests.insert(request, (query_find, peer));
        }
    }

    /// The find a lookup belongs to (to pass to [`Self::asking`]).
    pub(super) fn find_of(&self, query: &Q) -> Option<u64> {
        self.queries.get(query).copied()
    }

    /// Whether `request` is a find's question.
    pub(super) fn is_request(&self, request: &O) -> bool {
        self.requests.contains_key(request)
    }

    /// A sequencer answered (`None`: the request failed). Announcements
    /// for another mint are dropped; the answering peer is the sequencer.
    pub(super) fn answered(&mut self, request: &O, groups: Option<&[TokenGroupAnnouncement]>) {
        let Some((id, peer)) = self.requests.remove(request) else {
            return;
        };
        let Some(find) = self.finds.get_mut(&id) else {
            return;
        };
        find.waiting = find.waiting.saturating_sub(1);
        for a in groups.unwrap_or_default().iter().take(MAX_ANNOUNCED) {
            let (Ok(group), Ok(mint)) = (
                GroupId::from_slice(&a.group),
                <[u8; 32]>::try_from(a.mint.as_slice()).map(WalletAddress::from_bytes),
            ) else {
                continue;
            };
            if mint != find.mint || find.found.iter().any(|f| f.group == group) {
                continue;
            }
            // A name no longer than a group's may be, cut at a character.
            let mut name = a.name.clone();
            let mut at = kaichi_groups::metadata::MAX_NAME_BYTES.min(name.len());
            while !name.is_char_boundary(at) {
                at -= 1;
            }
            name.truncate(at);
            find.found.push(TokenGroupInfo {
                group,
                name,
                sequencer: IpnsName::from_peer_id(peer),
                mint,
                minimum: a.minimum,
            });
        }
    }

    /// The finds that are over (every sequencer answered after the lookup
    /// ended, or the time is up): their replies and what they found.
    pub(super) fn finished(&mut self, now: Instant) -> Vec<(R, Vec<TokenGroupInfo>)> {
        let done: Vec<u64> = self
            .finds
            .iter()
            .filter(|(_, f)| {
                (f.lookup_done && f.waiting == 0) || now.duration_since(f.since) >= FIND_TIMEOUT
            })
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in done {
            if let Some(f) = self.finds.remove(&id) {
                self.queries.retain(|_, v| *v != id);
                self.requests.retain(|_, (v, _)| *v != id);
                out.push((f.reply, f.found));
            }
        }
        out
    }
}

impl Engine {
    /// Finds the token-holder groups gated on `mint` (see the module).
    pub(super) fn find_token_groups(
        &mut self,
        mint: WalletAddress,
        reply: Reply<Vec<TokenGroupInfo>>,
    ) {
        if !self.token_finds.has_room() {
            let _ = reply.send(Err(NodeError::TooManyLookups));
            return;
        }
        let key = libp2p::kad::RecordKey::new(&crate::dht::token_group_key(&mint));
        let query = self.swarm.behaviour_mut().kad.get_providers(key);
        self.token_finds.start(mint, query, reply, Instant::now());
    }

    /// A find's lookup progressed: ask the new providers.
    pub(super) fn token_group_providers(
        &mut self,
        query: &libp2p::kad::QueryId,
        result: &Result<libp2p::kad::GetProvidersOk, libp2p::kad::GetProvidersError>,
        last: bool,
    ) -> bool {
        if !self.token_finds.is_lookup(query) {
            return false;
        }
        let providers = match result {
            Ok(libp2p::kad::GetProvidersOk::FoundProviders { providers, .. }) => providers.clone(),
            _ => Default::default(),
        };
        let Some(find) = self.token_finds.find_of(query) else {
            return true;
        };
        let me = *self.swarm.local_peer_id();
        let Some((mint, ask)) = self.token_finds.providers(query, providers, last, &me) else {
            return true;
        };
        for peer in ask {
            let request = BlockRequest {
                token_groups: mint.to_bytes().to_vec(),
                ..Default::default()
            };
            let id = self
                .swarm
                .behaviour_mut()
                .blocks
                .send_request(&peer, request);
            self.token_finds.asking(find, id, peer);
        }
        self.finish_token_finds();
        true
    }

    /// Answers the finds that are over.
    pub(super) fn finish_token_finds(&mut self) {
        for (reply, found) in self.token_finds.finished(Instant::now()) {
            let _ = reply.send(Ok(found));
        }
    }

    /// The token groups this node sequences gated on `mint` (an answer to
    /// a find), within [`MAX_ANNOUNCED`].
    pub(super) fn announce_token_groups(&self, mint: &[u8]) -> Vec<TokenGroupAnnouncement> {
        let Ok(mint) = <[u8; 32]>::try_from(mint).map(WalletAddress::from_bytes) else {
            return Vec::new();
        };
        let me = self.groups.session.me();
        self.groups
            .session
            .groups()
            .filter(|g| g.is_active() && g.is_sequencer(me))
            .filter_map(|g| {
                let gate = g.metadata().token_gate.filter(|t| t.mint == mint)?;
                Some(TokenGroupAnnouncement {
                    group: g.id().as_bytes().to_vec(),
                    name: g.metadata().name.clone(),
                    mint: mint.to_bytes().to_vec(),
                    minimum: gate.minimum,
                })
            })
            .take(MAX_ANNOUNCED)
            .collect()
    }

    /// Provides the mint key of every token-holder group this node
    /// sequences (at DHT join and with each publication of the identity).
    pub(super) fn provide_token_groups(&mut self) {
        let me = self.groups.session.me();
        let mints: HashSet<WalletAddress> = self
            .groups
            .session
            .groups()
            .filter(|g| g.is_active() && g.is_sequencer(me))
            .filter_map(|g| g.metadata().token_gate.map(|t| t.mint))
            .collect();
        for mint in mints {
            let key = libp2p::kad::RecordKey::new(&crate::dht::token_group_key(&mint));
            if let Err(e) = self.swarm.behaviour_mut().kad.start_providing(key) {
                tracing::debug!(%e, "could not provide a token group's mint");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ann(group: u8, mint: u8) -> TokenGroupAnnouncement {
        TokenGroupAnnouncement {
            group: vec![group; 32],
            name: "holders".into(),
            mint: vec![mint; 32],
            minimum: 5,
        }
    }

    #[test]
    fn answers_for_the_mint_are_kept_once_and_the_find_ends() {
        let mut f: TokenFinds<u32, u32, &str> = TokenFinds::new();
        let t0 = Instant::now();
        let (me, a, b) = (PeerId::random(), PeerId::random(), PeerId::random());
        f.start(WalletAddress::from_bytes([9; 32]), 1, "reply", t0);
        let find = f.find_of(&1).unwrap();
        let (_, ask) = f.providers(&1, [me, a, a, b], false, &me).unwrap();
        assert_eq!(ask, vec![a, b]);
        f.asking(find, 10, a);
        f.asking(find, 11, b);
        assert!(f.finished(t0).is_empty());
        let (_, again) = f.providers(&1, [a], true, &me).unwrap();
        assert!(again.is_empty());
        // Another mint's group is dropped; a group announced twice kept once.
        f.answered(&10, Some(&[ann(1, 9), ann(2, 8), ann(1, 9)]));
        assert!(f.finished(t0).is_empty());
        f.answered(&11, None);
        let done = f.finished(t0);
        assert_eq!(done.len(), 1);
        let (reply, found) = &done[0];
        assert_eq!(*reply, "reply");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].sequencer, IpnsName::from_peer_id(a));
        assert_eq!(found[0].minimum, 5);
    }

    #[test]
    fn a_long_non_ascii_name_is_cut_at_a_character() {
        let mut f: TokenFinds<u32, u32, ()> = TokenFinds::new();
        let t0 = Instant::now();
        let (me, a) = (PeerId::random(), PeerId::random());
        f.start(WalletAddress::from_bytes([9; 32]), 1, (), t0);
        let find = f.find_of(&1).unwrap();
        f.providers(&1, [a], true, &me).unwrap();
        f.asking(find, 10, a);
        let mut long = ann(1, 9);
        long.name = "ü".repeat(1_000);
        f.answered(&10, Some(&[long]));
        let (_, found) = f.finished(t0).pop().unwrap();
        assert!(found[0].name.len() <= kaichi_groups::metadata::MAX_NAME_BYTES);
        assert!(found[0].name.starts_with('ü'));
    }

    #[test]
    fn a_find_ends_at_its_deadline() {
        let mut f: TokenFinds<u32, u32, ()> = TokenFinds::new();
        let t0 = Instant::now();
        f.start(WalletAddress::from_bytes([9; 32]), 1, (), t0);
        assert!(f.finished(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(f.finished(t0 + FIND_TIMEOUT).len(), 1);
        assert!(!f.is_lookup(&1));
    }
}
