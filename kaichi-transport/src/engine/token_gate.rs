//! Token-holder groups at their sequencer: join requests admitted or
//! refused on the requester's balance, and members re-checked on a
//! schedule (those under the minimum removed in one commit).
//!
//! Balances come from [`crate::solana::SolanaRpc`], read off the node task
//! (the reads are async); their results come back through a bounded
//! channel ([`TokenGate::results`]) and the policy then reads them from
//! the client's cache. Without an RPC the configured balance source (a
//! snapshot) is read at once. Fail closed: a balance that could not be
//! read admits nobody and removes nobody.
//!
//! [`JoinChecks`] is the sans-IO part: replay and rate bounds on requests,
//! and the bookkeeping of reads in flight and re-check rounds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use kaichi_groups::{Candidate, GroupId};
use kaichi_identity::{IdentityPublic, IpnsName, WalletAddress};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::cooldown::Cooldown;
use super::{Engine, inbox_topic, random};
use crate::node::{JoinRefused, NodeEvent};
use crate::notification::{JoinRefusal, JoinRequest, Notification};
use crate::rejection::Rejection;

/// Most balance reads in flight.
pub(super) const MAX_READS: usize = 4_096;
/// Largest KeyPackage accepted in a join request.
pub(super) const MAX_JOIN_KEY_PACKAGE: usize = 64 * 1024;
/// How old (or how far ahead) a join request may be.
pub(super) const JOIN_REQUEST_WINDOW: Duration = Duration::from_secs(600);
/// One join request per identity per this long.
pub(super) const JOIN_REQUEST_INTERVAL: Duration = Duration::from_secs(5);
/// Nonces remembered against replays (older ones are past the window).
const MAX_NONCES: usize = 65_536;

/// What waits on a balance read.
#[derive(Debug, Clone)]
pub(super) enum ReadFor {
    /// A join request.
    Join {
        group: GroupId,
        member: Box<IdentityPublic>,
        key_package: Vec<u8>,
        nonce: Vec<u8>,
    },
    /// A member's re-check in a round.
    Recheck { group: GroupId, name: IpnsName },
}

/// A balance read's result, sent back to the node task.
#[derive(Debug)]
pub(super) struct BalanceRead {
    id: u64,
    result: Result<u64, crate::solana::RpcError>,
}

/// A re-check round of one group: the members not read yet, the reads in
/// flight, and those found under the minimum.
#[derive(Debug)]
struct Round {
    mint: WalletAddress,
    queue: VecDeque<(IpnsName, WalletAddress)>,
    waiting: usize,
    under: Vec<IpnsName>,
}

/// Most reads in flight for re-checks, all groups together (the rest of
/// [`MAX_READS`] stays free for join requests).
pub(super) const MAX_RECHECK_READS: usize = MAX_READS / 2;

/// Replay and rate bounds, reads in flight, re-check rounds (sans-IO).
pub(super) struct JoinChecks {
    nonces: HashSet<(IpnsName, Vec<u8>)>,
    nonce_order: VecDeque<(IpnsName, Vec<u8>)>,
    cooldown: Cooldown<IpnsName>,
    reads: HashMap<u64, ReadFor>,
    next_read: u64,
    rounds: HashMap<GroupId, Round>,
}

/// Why a join request is dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drop {
    /// Seen before.
    Replay,
    /// Outside the time window.
    Stale,
}

impl JoinChecks {
    pub(super) fn new() -> Self {
        Self {
            nonces: HashSet::new(),
            nonce_order: VecDeque::new(),
            cooldown: Cooldown::new(JOIN_REQUEST_INTERVAL, 65_536),
            reads: HashMap::new(),
            next_read: 0,
            rounds: HashMap::new(),
        }
    }

    /// Whether a request (by `name`, with `nonce`, sent at `sent_at_ms`)
    /// is fresh and new; a new one is remembered.
    pub(super) fn fresh(
        &mut self,
        name: IpnsName,
        nonce: &[u8],
        sent_at_ms: u64,
        now_ms: u64,
    ) -> Result<(), Drop> {
        let window = JOIN_REQUEST_WINDOW.as_millis() as u64;
        if sent_at_ms.abs_diff(now_ms) > window {
            return Err(Drop::Stale);
        }
        let key = (name, nonce.to_vec());
        if self.nonces.contains(&key) {
            return Err(Drop::Replay);
        }
        if self.nonce_order.len() >= MAX_NONCES
            && let Some(old) = self.nonce_order.pop_front()
        {
            self.nonces.remove(&old);
        }
        self.nonces.insert(key.clone());
        self.nonce_order.push_back(key);
        Ok(())
    }

    /// Whether `name` may have a request answered now.
    pub(super) fn may_request(&mut self, name: IpnsName, now: Instant) -> bool {
        self.cooldown.try_now(name, now)
    }

    /// A read starts for `what`: its id, or `None` when too many run.
    pub(super) fn start_read(&mut self, what: ReadFor) -> Option<u64> {
        if self.reads.len() >= MAX_READS {
            return None;
        }
        self.next_read += 1;
        self.reads.insert(self.next_read, what);
        Some(self.next_read)
    }

    /// A re-check round of `group` (gated on `mint`) over `members` (name,
    /// wallet); `false` when one runs already or there is nobody to read.
    pub(super) fn start_round(
        &mut self,
        group: GroupId,
        mint: WalletAddress,
        members: Vec<(IpnsName, WalletAddress)>,
    ) -> bool {
        if self.rounds.contains_key(&group) || members.is_empty() {
            return false;
        }
        self.rounds.insert(
            group,
            Round {
                mint,
                queue: members.into(),
                waiting: 0,
                under: Vec::new(),
            },
        );
        true
    }

    /// The next reads of `group`'s round to start (read id, wallet, mint),
    /// as many as [`MAX_RECHECK_READS`] allows: a round of any size goes
    /// through in turns.
    pub(super) fn next_rechecks(
        &mut self,
        group: GroupId,
    ) -> Vec<(u64, WalletAddress, WalletAddress)> {
        let in_flight: usize = self.rounds.values().map(|r| r.waiting).sum();
        let mut room = MAX_RECHECK_READS
            .saturating_sub(in_flight)
            .min(MAX_READS.saturating_sub(self.reads.len()));
        let mut out = Vec::new();
        let Some(round) = self.rounds.get_mut(&group) else {
            return out;
        };
        while room > 0 {
            let Some((name, wallet)) = round.queue.pop_front() else {
                break;
            };
            self.next_read += 1;
            self.reads
                .insert(self.next_read, ReadFor::Recheck { group, name });
            round.waiting += 1;
            room -= 1;
            out.push((self.next_read, wallet, round.mint));
        }
        out
    }

    /// Whether a re-check round of `group` is running.
    pub(super) fn rechecking(&self, group: &GroupId) -> bool {
        self.rounds.contains_key(group)
    }

    /// A read ended: what waited on it.
    pub(super) fn read_done(&mut self, id: u64) -> Option<ReadFor> {
        self.reads.remove(&id)
    }

    /// A re-checked member's result (`under`: below the minimum, read for
    /// sure); the members to remove when the round is over.
    pub(super) fn recheck_result(
        &mut self,
        group: GroupId,
        name: IpnsName,
        under: bool,
    ) -> Option<Vec<IpnsName>> {
        let round = self.rounds.get_mut(&group)?;
        round.waiting = round.waiting.saturating_sub(1);
        if under {
            round.under.push(name);
        }
        if round.waiting > 0 || !round.queue.is_empty() {
            return None;
        }
        self.rounds.remove(&group).map(|r| r.under)
    }
}

/// The node's token-holder work.
pub(super) struct TokenGate {
    pub(super) checks: JoinChecks,
    /// Where read results come back (taken by the run loop).
    pub(super) results: Option<mpsc::Receiver<BalanceRead>>,
    results_tx: mpsc::Sender<BalanceRead>,
}

impl TokenGate {
    pub(super) fn new() -> Self {
        let (results_tx, results) = mpsc::channel(MAX_READS);
        Self {
            checks: JoinChecks::new(),
            results: Some(results),
            results_tx,
        }
    }
}

fn now_ms() -> u64 {
    super::now().unix_nanos() / 1_000_000
}

impl Engine {
    /// A join request arrived (its sender's document verified).
    pub(super) fn join_request(
        &mut self,
        from: &IdentityPublic,
        req: &JoinRequest,
    ) -> Result<(), Rejection> {
        let group = GroupId::from_slice(&req.group).map_err(|_| Rejection::BadInvitation)?;
        if req.nonce.len() != 16 || req.key_package.len() > MAX_JOIN_KEY_PACKAGE {
            return Err(Rejection::BadInvitation);
        }
        let name = from.ipns_name();
        tracing::debug!(%name, %group, "a join request");
        if self
            .token
            .checks
            .fresh(name, &req.nonce, req.sent_at_ms, now_ms())
            .is_err()
        {
            // A replay or a stale request: nothing to answer.
            tracing::debug!(%name, "a stale or replayed join request");
            return Ok(());
        }
        let refuse = |e: &mut Self, reason| {
            e.refuse_join(from, group, &req.nonce, reason);
            Ok(())
        };
        let Some(g) = self.groups.session.group(&group) else {
            return refuse(self, JoinRefused::UnknownGroup);
        };
        let me = self.groups.session.me();
        if g.is_sequencer(me) && g.is_member(&name) {
            // A member's device (its identity is in already).
            self.admit_device(from, group, req);
            return Ok(());
        }
        let Some(gate) = g.metadata().token_gate.filter(|_| g.is_sequencer(me)) else {
            return refuse(self, JoinRefused::NotOpen);
        };
        if g.is_member(&name) {
            return refuse(self, JoinRefused::AlreadyMember);
        }
        if !self.token.checks.may_request(name, Instant::now()) {
            return refuse(self, JoinRefused::TooManyRequests);
        }
        let what = ReadFor::Join {
            group,
            member: Box::new(*from),
            key_package: req.key_package.clone(),
            nonce: req.nonce.clone(),
        };
        match self.config.solana_rpc.clone() {
            Some(rpc) => {
                let Some(id) = self.token.checks.start_read(what) else {
                    return refuse(self, JoinRefused::TooManyRequests);
                };
                let tx = self.token.results_tx.clone();
                let (wallet, mint) = (from.wallet, gate.mint);
                tokio::spawn(async move {
                    let result = rpc.fetch_balance(&wallet, &mint).await;
                    let _ = tx.send(BalanceRead { id, result }).await;
                });
            }
            // A snapshot (or nothing): the policy reads it at once.
            None => self.admit(what, None),
        }
        Ok(())
    }

    /// A balance read came back.
    pub(super) fn balance_read(&mut self, read: BalanceRead) {
        let Some(what) = self.token.checks.read_done(read.id) else {
            return;
        };
        match what {
            ReadFor::Join { .. } => self.admit(what, Some(read.result)),
            ReadFor::Recheck { group, name } => {
                let minimum = self
                    .groups
                    .session
                    .group(&group)
                    .and_then(|g| g.metadata().token_gate)
                    .map(|g| g.minimum);
                // Fail closed: a wallet whose balance could not be read stays.
                let under = match (&read.result, minimum) {
                    (Ok(held), Some(min)) => *held < min,
                    (Err(e), _) => {
                        tracing::debug!(%name, %e, "a member's balance could not be read: kept");
                        false
                    }
                    _ => false,
                };
                match self.token.checks.recheck_result(group, name, under) {
                    Some(remove) => self.remove_under_minimum(group, &remove),
                    None => self.spawn_rechecks(group),
                }
            }
        }
    }

    /// Adds a requester whose balance was read (`read`: the RPC's answer;
    /// `None`: the configured source is read by the policy itself), or
    /// refuses it.
    fn admit(&mut self, what: ReadFor, read: Option<Result<u64, crate::solana::RpcError>>) {
        let ReadFor::Join {
            group,
            member,
            key_package,
            nonce,
        } = what
        else {
            return;
        };
        let needed = self
            .groups
            .session
            .group(&group)
            .and_then(|g| g.metadata().token_gate)
            .map(|g| g.minimum);
        match (read, needed) {
            (Some(Err(e)), _) => {
                tracing::info!(name = %member.ipns_name(), %e, "a join request waits: no balance");
                return self.refuse_join(&member, group, &nonce, JoinRefused::BalanceUnavailable);
            }
            (Some(Ok(held)), Some(needed)) if held < needed => {
                return self.refuse_join(
                    &member,
                    group,
                    &nonce,
                    JoinRefused::InsufficientBalance { held, needed },
                );
            }
            _ => {}
        }
        let candidate = Candidate::new(key_package).with_wallet(member.wallet);
        let result = self.groups.session.add(group, &[candidate]);
        self.pump_groups();
        if let Err(e) = result {
            let reason = match e.denied() {
                Some(kaichi_groups::policy::Denied::InsufficientBalance {
                    held, needed, ..
                }) => JoinRefused::InsufficientBalance {
                    held: *held,
                    needed: *needed,
                },
                Some(kaichi_groups::policy::Denied::Balance(_)) => JoinRefused::BalanceUnavailable,
                _ => JoinRefused::Policy,
            };
            tracing::info!(name = %member.ipns_name(), %e, "a join request was refused");
            self.refuse_join(&member, group, &nonce, reason);
        }
    }

    /// Seals a refusal to the requester's inbox.
    pub(super) fn refuse_join(
        &mut self,
        to: &IdentityPublic,
        group: GroupId,
        nonce: &[u8],
        reason: JoinRefused,
    ) {
        let (code, held, needed) = reason.to_wire();
        let notification = Notification {
            sender_document: self.document.clone(),
            join_refusal: Some(JoinRefusal {
                group: group.as_bytes().to_vec(),
                nonce: nonce.to_vec(),
                reason: code,
                held,
                needed,
            }),
            ..Default::default()
        };
        match random::<32>().and_then(|seed| {
            notification
                .seal(&to.dm, Zeroizing::new(seed))
                .map_err(Into::into)
        }) {
            Ok(sealed) => self.publish(inbox_topic(&to.ipns_name()).hash(), sealed),
            Err(e) => tracing::warn!(%e, "could not seal a join refusal"),
        }
    }

    /// A refusal of our join request arrived.
    pub(super) fn join_refused(
        &mut self,
        from: &IdentityPublic,
        refusal: &JoinRefusal,
    ) -> Result<(), Rejection> {
        let group = GroupId::from_slice(&refusal.group).map_err(|_| Rejection::BadInvitation)?;
        if !self.join_requests.remove(&(group, refusal.nonce.clone())) {
            // Not an answer to a request of ours (or answered already).
            return Ok(());
        }
        self.emit(NodeEvent::JoinRefused {
            group,
            by: from.ipns_name(),
            reason: JoinRefused::from_wire(refusal.reason, refusal.held, refusal.needed),
        });
        Ok(())
    }

    /// Sends a join request for `group` to its sequencer `to`.
    pub(super) fn send_join_request(
        &mut self,
        to: &IdentityPublic,
        group: GroupId,
    ) -> Result<(), crate::node::NodeError> {
        let key_package = self.groups.session.published_key_package()?;
        let nonce = random::<16>()?.to_vec();
        if self.join_requests.len() >= MAX_NONCES {
            self.join_requests.clear();
        }
        self.join_requests.insert((group, nonce.clone()));
        let notification = Notification {
            sender_document: self.document.clone(),
            join_request: Some(JoinRequest {
                group: group.as_bytes().to_vec(),
                key_package,
                nonce,
                sent_at_ms: now_ms(),
            }),
            ..Default::default()
        };
        let sealed = notification.seal(&to.dm, Zeroizing::new(random::<32>()?))?;
        self.publish(inbox_topic(&to.ipns_name()).hash(), sealed);
        Ok(())
    }

    /// Re-checks the members of every token-holder group this node
    /// sequences (whose round is not still running).
    pub(super) fn recheck_members(&mut self) {
        if self.config.solana_rpc.is_none() {
            return;
        }
        let me = self.groups.session.me();
        let gated: Vec<(GroupId, WalletAddress, Vec<IpnsName>)> = self
            .groups
            .session
            .groups()
            .filter(|g| g.is_active() && g.is_sequencer(me))
            .filter_map(|g| {
                let gate = g.metadata().token_gate?;
                Some((g.id(), gate.mint, g.member_names()))
            })
            .collect();
        let own = self.keys.ipns().name();
        for (group, mint, names) in gated {
            if self.token.checks.rechecking(&group) {
                continue;
            }
            let mut seen = HashSet::new();
            let mut members = Vec::new();
            for name in names {
                // The sequencer itself, and each identity once (its devices
                // count under its wallet).
                if name == own || !seen.insert(name) {
                    continue;
                }
                match self.known_peer(&name) {
                    Some(peer) => members.push((name, peer.wallet)),
                    None => tracing::debug!(%name, "a member's wallet is unknown: not re-checked"),
                }
            }
            if self.token.checks.start_round(group, mint, members) {
                self.spawn_rechecks(group);
            }
        }
    }

    /// Starts the next reads of `group`'s re-check round.
    fn spawn_rechecks(&mut self, group: GroupId) {
        let Some(rpc) = self.config.solana_rpc.clone() else {
            return;
        };
        for (id, wallet, mint) in self.token.checks.next_rechecks(group) {
            let (rpc, tx) = (rpc.clone(), self.token.results_tx.clone());
            tokio::spawn(async move {
                let result = rpc.fetch_balance(&wallet, &mint).await;
                let _ = tx.send(BalanceRead { id, result }).await;
            });
        }
    }

    /// Removes the members a re-check found under the minimum, in one commit.
    fn remove_under_minimum(&mut self, group: GroupId, names: &[IpnsName]) {
        if names.is_empty() {
            return;
        }
        tracing::info!(%group, removed = names.len(), "members under the token minimum removed");
        if let Err(e) = self.groups.session.remove(group, names) {
            tracing::warn!(%group, %e, "could not remove members under the token minimum");
        }
        self.pump_groups();
    }
}

#[cfg(test)]
#[path = "token_gate_tests.rs"]
mod tests;
