//! Query counters and a bounded query log, so tests can assert how many lookups happened.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};

/// How many queries the log keeps (oldest go first).
const LOG_CAPACITY: usize = 10_000;

/// Transport a query arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP.
    Tcp,
}

/// What the server did with a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// NOERROR with at least one answer record.
    Answer,
    /// NOERROR without answers: the name exists with other types.
    NoData,
    /// NXDOMAIN: the server holds nothing at that name.
    NxDomain,
    /// SERVFAIL injected by a fault.
    ServFail,
    /// No answer sent (injected drop).
    Dropped,
    /// FORMERR, NOTIMP or REFUSED: the query itself was not one this server answers.
    Rejected,
}

/// One logged query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedQuery {
    /// Query name, lower case without trailing dot (empty when the message had no question).
    pub name: String,
    /// Query type as DNS writes it (`TXT`, `A`, ...).
    #[serde(rename = "type")]
    pub qtype: String,
    /// Transport used.
    pub transport: Transport,
    /// What the server did.
    pub outcome: Outcome,
}

/// Counters at one instant (answer of `GET /stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Every DNS message received as a query, whatever happened to it.
    pub queries: u64,
    /// Of which over UDP.
    pub udp: u64,
    /// Of which over TCP.
    pub tcp: u64,
    /// Answered NOERROR with records.
    pub answered: u64,
    /// Answered NOERROR without records.
    pub nodata: u64,
    /// Answered NXDOMAIN.
    pub nxdomain: u64,
    /// Answered SERVFAIL (injected).
    pub servfail: u64,
    /// Not answered (injected drop).
    pub dropped: u64,
    /// Answered FORMERR, NOTIMP or REFUSED.
    pub rejected: u64,
    /// Queries per name (lower case, no trailing dot).
    pub by_name: BTreeMap<String, u64>,
    /// Records held right now.
    pub records: usize,
}

#[derive(Debug, Default)]
struct Counters {
    snapshot: StatsSnapshot,
    by_name: HashMap<String, u64>,
    by_name_type: HashMap<(String, String), u64>,
    log: VecDeque<LoggedQuery>,
}

/// Counters shared by both transports.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: Mutex<Counters>,
}

impl Stats {
    pub(crate) fn record(&self, entry: LoggedQuery) {
        let mut c = self.lock();
        let s = &mut c.snapshot;
        s.queries += 1;
        match entry.transport {
            Transport::Udp => s.udp += 1,
            Transport::Tcp => s.tcp += 1,
        }
        match entry.outcome {
            Outcome::Answer => s.answered += 1,
            Outcome::NoData => s.nodata += 1,
            Outcome::NxDomain => s.nxdomain += 1,
            Outcome::ServFail => s.servfail += 1,
            Outcome::Dropped => s.dropped += 1,
            Outcome::Rejected => s.rejected += 1,
        }
        if !entry.name.is_empty() {
            *c.by_name.entry(entry.name.clone()).or_default() += 1;
            *c.by_name_type
                .entry((entry.name.clone(), entry.qtype.clone()))
                .or_default() += 1;
        }
        if c.log.len() == LOG_CAPACITY {
            c.log.pop_front();
        }
        c.log.push_back(entry);
    }

    pub(crate) fn total(&self) -> u64 {
        self.lock().snapshot.queries
    }

    pub(crate) fn for_name(&self, key: &str) -> u64 {
        self.lock().by_name.get(key).copied().unwrap_or(0)
    }

    pub(crate) fn for_name_type(&self, key: &str, qtype: &str) -> u64 {
        self.lock()
            .by_name_type
            .get(&(key.to_string(), qtype.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn snapshot(&self, records: usize) -> StatsSnapshot {
        let c = self.lock();
        let mut snapshot = c.snapshot.clone();
        snapshot.by_name = c.by_name.iter().map(|(k, v)| (k.clone(), *v)).collect();
        snapshot.records = records;
        snapshot
    }

    pub(crate) fn log(&self) -> Vec<LoggedQuery> {
        self.lock().log.iter().cloned().collect()
    }

    pub(crate) fn reset(&self) {
        *self.lock() = Counters::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // Counters stay usable even if a holder panicked; they are only numbers.
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(name: &str, outcome: Outcome) -> LoggedQuery {
        LoggedQuery {
            name: name.into(),
            qtype: "TXT".into(),
            transport: Transport::Udp,
            outcome,
        }
    }

    #[test]
    fn counts_by_outcome_and_name_and_resets() {
        let stats = Stats::default();
        stats.record(q("a.test", Outcome::Answer));
        stats.record(q("a.test", Outcome::ServFail));
        stats.record(q("b.test", Outcome::NxDomain));
        let s = stats.snapshot(7);
        assert_eq!((s.queries, s.answered, s.servfail, s.nxdomain), (3, 1, 1, 1));
        assert_eq!(s.by_name.get("a.test"), Some(&2));
        assert_eq!(stats.for_name_type("a.test", "TXT"), 2);
        assert_eq!(stats.for_name_type("a.test", "A"), 0);
        assert_eq!(s.records, 7);
        assert_eq!(stats.log().len(), 3);
        stats.reset();
        assert_eq!(stats.total(), 0);
        assert_eq!(stats.for_name("a.test"), 0);
    }
}
