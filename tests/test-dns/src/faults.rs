//! Fault injection: answer delay, SERVFAIL bursts and windows, dropped queries.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// What to do with one query, decided when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Answer from the records.
    Answer,
    /// Answer SERVFAIL.
    ServFail,
    /// Send nothing.
    Drop,
}

/// A change to the fault settings; absent fields stay as they are.
///
/// This is the body of `POST /faults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultUpdate {
    /// Delay every answer by this many milliseconds (0 turns the delay off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Answer SERVFAIL to the next N queries (replaces the remaining count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servfail_next: Option<u32>,
    /// Answer SERVFAIL to every query for this many milliseconds from now (0 ends a window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servfail_for_ms: Option<u64>,
    /// Drop (never answer) the next N queries (replaces the remaining count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_next: Option<u32>,
    /// Clear every fault before applying the other fields.
    #[serde(default)]
    pub clear: bool,
}

/// The fault settings now in force (answer of `GET /faults` and `POST /faults`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultStatus {
    /// Delay before each answer, in milliseconds.
    pub delay_ms: u64,
    /// Queries still to be answered SERVFAIL by count.
    pub servfail_next: u32,
    /// Milliseconds left in the SERVFAIL window (0 = no window).
    pub servfail_remaining_ms: u64,
    /// Queries still to be dropped.
    pub drop_next: u32,
}

#[derive(Debug, Default)]
struct State {
    delay: Duration,
    servfail_next: u32,
    servfail_until: Option<Instant>,
    drop_next: u32,
}

/// Fault settings shared by the UDP and TCP paths.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

impl Faults {
    /// Decides the fate of one query and consumes a count if one applies.
    ///
    /// Drops win over SERVFAIL (a dropped query never reaches the SERVFAIL counter); the
    /// count-based SERVFAIL is consumed before the time window is consulted.
    pub(crate) fn decide(&self) -> (Verdict, Duration) {
        let mut state = self.lock();
        let delay = state.delay;
        if state.drop_next > 0 {
            state.drop_next -= 1;
            return (Verdict::Drop, delay);
        }
        if state.servfail_next > 0 {
            state.servfail_next -= 1;
            return (Verdict::ServFail, delay);
        }
        if let Some(until) = state.servfail_until {
            if Instant::now() < until {
                return (Verdict::ServFail, delay);
            }
            state.servfail_until = None;
        }
        (Verdict::Answer, delay)
    }

    pub(crate) fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub(crate) fn servfail_next(&self, n: u32) {
        self.lock().servfail_next = n;
    }

    pub(crate) fn servfail_for(&self, window: Duration) {
        self.lock().servfail_until = if window.is_zero() {
            None
        } else {
            Some(Instant::now() + window)
        };
    }

    pub(crate) fn drop_next(&self, n: u32) {
        self.lock().drop_next = n;
    }

    pub(crate) fn clear(&self) {
        *self.lock() = State::default();
    }

    pub(crate) fn apply(&self, update: &FaultUpdate) {
        if update.clear {
            self.clear();
        }
        if let Some(ms) = update.delay_ms {
            self.set_delay(Duration::from_millis(ms));
        }
        if let Some(n) = update.servfail_next {
            self.servfail_next(n);
        }
        if let Some(ms) = update.servfail_for_ms {
            self.servfail_for(Duration::from_millis(ms));
        }
        if let Some(n) = update.drop_next {
            self.drop_next(n);
        }
    }

    pub(crate) fn status(&self) -> FaultStatus {
        let state = self.lock();
        let remaining = state
            .servfail_until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        FaultStatus {
            delay_ms: u64::try_from(state.delay.as_millis()).unwrap_or(u64::MAX),
            servfail_next: state.servfail_next,
            servfail_remaining_ms: u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
            drop_next: state.drop_next,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counters inconsistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_consumed_in_order_drop_then_servfail() {
        let faults = Faults::default();
        faults.drop_next(1);
        faults.servfail_next(2);
        let verdicts: Vec<Verdict> = (0..4).map(|_| faults.decide().0).collect();
        assert_eq!(
            verdicts,
            vec![
                Verdict::Drop,
                Verdict::ServFail,
                Verdict::ServFail,
                Verdict::Answer
            ]
        );
    }

    #[test]
    fn servfail_window_ends() {
        let faults = Faults::default();
        faults.servfail_for(Duration::from_millis(30));
        assert_eq!(faults.decide().0, Verdict::ServFail);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(faults.decide().0, Verdict::Answer);
        assert_eq!(faults.status().servfail_remaining_ms, 0);
    }

    #[test]
    fn update_applies_fields_and_clear() {
        let faults = Faults::default();
        faults.apply(&FaultUpdate {
            delay_ms: Some(25),
            drop_next: Some(3),
            ..FaultUpdate::default()
        });
        assert_eq!(faults.decide(), (Verdict::Drop, Duration::from_millis(25)));
        faults.apply(&FaultUpdate {
            clear: true,
            ..FaultUpdate::default()
        });
        assert_eq!(faults.status(), FaultStatus::default());
    }
}
