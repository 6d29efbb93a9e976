//! IPNS names resolved for the API (`Node::resolve`): one DHT query per
//! name however many ask, the best valid record kept (the spec's
//! selection), answered when the query ends.
//!
//! [`Resolves`] is the state, sans-IO (query id and reply generic); the
//! `impl Engine` block is the glue.

use std::collections::HashMap;
use std::hash::Hash;

use kaichi_identity::IpnsName;
use kaichi_identity::ipns::{IpnsRecord, validate_record};
use libp2p::kad;

use super::{Engine, now};
use crate::node::{NodeError, Reply};

/// Most names resolved at once.
pub(super) const MAX_RESOLVES: usize = 64;

/// One name being resolved.
struct Resolve<R> {
    name: IpnsName,
    best: Option<IpnsRecord>,
    replies: Vec<R>,
}

/// The names being resolved, by query.
pub(super) struct Resolves<Q, R> {
    running: HashMap<Q, Resolve<R>>,
}

impl<Q: Hash + Eq + Copy, R> Resolves<Q, R> {
    /// None running.
    pub(super) fn new() -> Self {
        Self {
            running: HashMap::new(),
        }
    }

    /// Adds `reply` to the query for `name` if one runs; otherwise gives
    /// it back (start a query and call [`started`](Self::started)), or
    /// `Err` when too many run.
    pub(super) fn join(&mut self, name: IpnsName, reply: R) -> Result<Option<R>, R> {
        if let Some(r) = self.running.values_mut().find(|r| r.name == name) {
            r.replies.push(reply);
            return Ok(None);
        }
        if self.running.len() >= MAX_RESOLVES {
            return Err(reply);
        }
        Ok(Some(reply))
    }

    /// A query for `name` runs.
    pub(super) fn started(&mut self, query: Q, name: IpnsName, reply: R) {
        self.running.insert(
            query,
            Resolve {
                name,
                best: None,
                replies: vec![reply],
            },
        );
    }

    /// The name a query resolves, if it is one of ours.
    pub(super) fn name(&self, query: &Q) -> Option<IpnsName> {
        self.running.get(query).map(|r| r.name)
    }

    /// A valid record was found: kept if it supersedes the best so far.
    pub(super) fn found(&mut self, query: &Q, record: IpnsRecord) {
        if let Some(r) = self.running.get_mut(query)
            && r.best.as_ref().is_none_or(|b| record.supersedes(b))
        {
            r.best = Some(record);
        }
    }

    /// The query ended: the name, its best record and the replies.
    pub(super) fn ended(&mut self, query: &Q) -> Option<(IpnsName, Option<IpnsRecord>, Vec<R>)> {
        self.running
            .remove(query)
            .map(|r| (r.name, r.best, r.replies))
    }
}

impl Engine {
    /// Resolves `name` through the DHT for the API.
    pub(super) fn resolve(&mut self, name: IpnsName, reply: Reply<IpnsRecord>) {
        match self.resolves.join(name, reply) {
            Ok(None) => {}
            Ok(Some(reply)) => {
                let key = kad::RecordKey::new(&name.routing_key());
                let query = self.swarm.behaviour_mut().kad.get_record(key);
                self.resolves.started(query, name, reply);
            }
            Err(reply) => {
                let _ = reply.send(Err(NodeError::TooManyLookups));
            }
        }
    }

    /// A record query progressed; `false` when it is not a resolve's.
    pub(super) fn resolve_progressed(
        &mut self,
        query: kad::QueryId,
        result: &Result<kad::GetRecordOk, kad::GetRecordError>,
        last: bool,
    ) -> bool {
        let Some(name) = self.resolves.name(&query) else {
            return false;
        };
        let mut valid = false;
        if let Ok(kad::GetRecordOk::FoundRecord(found)) = result {
            match validate_record(&found.record.value, &name, now()) {
                Ok(record) => {
                    self.resolves.found(&query, record);
                    valid = true;
                }
                Err(e) => tracing::debug!(%e, %name, "an invalid IPNS record was found"),
            }
        }
        // The first valid record answers (quorum one); an invalid one waits
        // for the rest of the query.
        if (last || valid)
            && let Some((name, best, replies)) = self.resolves.ended(&query)
        {
            for reply in replies {
                let _ = reply.send(best.clone().ok_or(NodeError::NameNotFound(name)));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use kaichi_identity::IpnsKeypair;
    use kaichi_identity::ipns::{RecordParams, create_record};
    use kaichi_test_support::identity::now;

    use super::*;

    fn record(key: &IpnsKeypair, sequence: u64) -> IpnsRecord {
        let now = now();
        let params = RecordParams::new(
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            sequence,
            now.checked_add(Duration::from_secs(60)).unwrap(),
        );
        validate_record(&create_record(key, &params).unwrap(), &key.name(), now).unwrap()
    }

    #[test]
    fn one_query_per_name_keeps_the_best_record() {
        let key = IpnsKeypair::from_seed(&[1; 32]);
        let name = key.name();
        let mut r = Resolves::<u32, &str>::new();
        let first = r.join(name, "a").unwrap().unwrap();
        r.started(7, name, first);
        assert!(r.join(name, "b").unwrap().is_none());
        assert_eq!(r.name(&7), Some(name));
        r.found(&7, record(&key, 2));
        r.found(&7, record(&key, 1));
        let (n, best, replies) = r.ended(&7).unwrap();
        assert_eq!(n, name);
        assert_eq!(best.unwrap().sequence(), 2);
        assert_eq!(replies, vec!["a", "b"]);
        assert!(r.ended(&7).is_none());
        for q in 0..MAX_RESOLVES as u32 {
            let name = IpnsKeypair::from_seed(&[q as u8 + 2; 32]).name();
            let reply = r.join(name, "x").unwrap().unwrap();
            r.started(q, name, reply);
        }
        assert!(
            r.join(IpnsKeypair::from_seed(&[0; 32]).name(), "y")
                .is_err()
        );
    }
}
