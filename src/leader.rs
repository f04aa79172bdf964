//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one replica reconciles.
//!
//! The protocol is the one client-go's `leaderelection` package speaks, so `kubectl get lease`
//! reads the same way: the holder writes `holderIdentity`, `acquireTime`, `renewTime` (MicroTime),
//! `leaseDurationSeconds` and bumps `leaseTransitions` when the holder changes. Every write is a
//! full `replace` carrying the `resourceVersion` just read, so two replicas racing for the Lease
//! cannot both win: the loser gets 409 Conflict, re-reads, and sees the winner.
//!
//! A Lease counts as expired once `renewTime + leaseDurationSeconds` has passed. The leader renews
//! every [`ElectionConfig::renew_interval`] and steps down by itself when no renewal has
//! succeeded for [`ElectionConfig::renew_deadline`], which is shorter than the lease duration:
//! the gap tolerates that much clock skew between replicas. On graceful shutdown the leader
//! clears `holderIdentity` so a standby takes over at its next poll instead of waiting for
//! expiry.
//!
//! (`kube-lease-manager` 0.13 supports kube 5, but it takes an expired Lease with a
//! strategic-merge patch that carries no `resourceVersion`, so two standbys can both believe they
//! won until the next renewal; this module keeps every write conditional.)

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::telemetry::http::Readiness;

/// Readiness component that turns true once this replica knows who leads.
pub const READINESS_COMPONENT: &str = "leader";

/// Timing of the election. Defaults: a 12 s lease renewed every 4 s, so a standby takes over
/// within 15 s of a leader's crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Written as `leaseDurationSeconds`: how long a Lease stays valid after its `renewTime`.
    pub lease_duration: Duration,
    /// How often the leader renews.
    pub renew_interval: Duration,
    /// The leader steps down when no renewal succeeded for this long (< `lease_duration`).
    pub renew_deadline: Duration,
    /// How often a standby re-reads the Lease, and the pause after a failed request.
    pub retry_period: Duration,
}

impl Default for ElectionConfig {
    fn default() -> Self {
        Self {
            // 12 s keeps a takeover after a crash under 15 s even when the leader died right
            // after renewing (takeover = lease duration − time since the last renewal).
            lease_duration: Duration::from_secs(12),
            renew_interval: Duration::from_secs(4),
            renew_deadline: Duration::from_secs(8),
            retry_period: Duration::from_secs(1),
        }
    }
}

impl ElectionConfig {
    /// Checks `retry_period, renew_interval < renew_deadline < lease_duration` and that the
    /// duration is a whole number of seconds (the Lease stores seconds).
    pub fn validate(&self) -> Result<(), Error> {
        if self.lease_duration.subsec_nanos() != 0 || self.lease_duration.as_secs() == 0 {
            return Err(Error::Config(
                "lease duration must be a whole number of seconds, at least 1",
            ));
        }
        if i32::try_from(self.lease_duration.as_secs()).is_err() {
            return Err(Error::Config("lease duration does not fit leaseDurationSeconds"));
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(Error::Config(
                "renew deadline must be shorter than the lease duration",
            ));
        }
        if self.renew_interval >= self.renew_deadline || self.renew_interval.is_zero() {
            return Err(Error::Config(
                "renew interval must be positive and shorter than the renew deadline",
            ));
        }
        if self.retry_period >= self.renew_deadline || self.retry_period.is_zero() {
            return Err(Error::Config(
                "retry period must be positive and shorter than the renew deadline",
            ));
        }
        Ok(())
    }

    fn lease_duration_seconds(&self) -> i32 {
        // validate() guarantees the value fits.
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// What this replica currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// No answer from the API server yet.
    Undecided,
    /// This replica holds the Lease and may write.
    Leader,
    /// Another replica holds the Lease (or this one stepped down): do not write.
    Standby,
}

/// Leader-election errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The timing does not make a safe election.
    #[error("invalid leader-election timing: {0}")]
    Config(&'static str),
    /// A request for the Lease failed.
    #[error("{action} Lease {namespace}/{name}: {source}")]
    Kube {
        /// What was attempted ("read", "create", "update").
        action: &'static str,
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The client error (boxed: `kube::Error` is large).
        #[source]
        source: Box<kube::Error>,
    },
    /// A request for the Lease took longer than the time left.
    #[error("Lease {namespace}/{name}: no answer within {timeout:?}")]
    Timeout {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The time that was left.
        timeout: Duration,
    },
}

/// What [`decide`] concluded from the Lease as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Write this spec (renewal of our Lease, or taking a free/expired one).
    Write(LeaseSpec),
    /// Someone else holds a valid Lease, for `expires_in` more at most.
    HeldBy {
        /// The holder's identity.
        holder: String,
        /// Time until the Lease expires if the holder stops renewing.
        expires_in: Duration,
    },
}

/// Pure election step: given the Lease spec as read (None = no spec), our identity and the time,
/// either the spec to write or who holds it.
pub fn decide(
    current: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    config: &ElectionConfig,
) -> Decision {
    let duration = config.lease_duration_seconds();
    let stamp = MicroTime(now);
    let fresh = |transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_string()),
        acquire_time: Some(stamp.clone()),
        renew_time: Some(stamp.clone()),
        lease_duration_seconds: Some(duration),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(spec) = current else {
        return Decision::Write(fresh(0));
    };
    let transitions = spec.lease_transitions.unwrap_or(0);
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == identity {
        return Decision::Write(LeaseSpec {
            renew_time: Some(stamp.clone()),
            lease_duration_seconds: Some(duration),
            acquire_time: spec.acquire_time.clone().or(Some(stamp.clone())),
            lease_transitions: Some(transitions),
            ..spec.clone()
        });
    }
    if holder.is_empty() {
        // Released (or never held): free to take; a transition only when someone held it.
        let bump = i32::from(spec.acquire_time.is_some());
        return Decision::Write(fresh(transitions.saturating_add(bump)));
    }
    let expires_in = remaining(spec, now, config);
    if expires_in.is_zero() {
        Decision::Write(fresh(transitions.saturating_add(1)))
    } else {
        Decision::HeldBy {
            holder: holder.to_string(),
            expires_in,
        }
    }
}

/// Time left on another holder's Lease: `renewTime` (else `acquireTime`) plus its duration
/// (else ours), capped at one duration so a clock ahead of ours cannot stretch it.
fn remaining(spec: &LeaseSpec, now: Timestamp, config: &ElectionConfig) -> Duration {
    let Some(MicroTime(renewed)) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return Duration::ZERO;
    };
    let seconds = spec
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .unwrap_or_else(|| config.lease_duration_seconds());
    let total_ms = i64::from(seconds) * 1000;
    let elapsed_ms = now.as_millisecond() - renewed.as_millisecond();
    let left_ms = (total_ms - elapsed_ms.max(0)).clamp(0, total_ms);
    Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
}

/// Outcome of one read-decide-write round.
#[derive(Debug)]
enum Attempt {
    Leading,
    HeldBy { holder: String, expires_in: Duration },
    Conflict,
}

/// Takes and keeps a Lease; see the module docs.
#[derive(Clone, Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    config: ElectionConfig,
}

impl LeaderElector {
    /// An elector for Lease `namespace/name` under `identity` (unique per replica, e.g.
    /// [`default_identity`]). Fails on an unsafe `config`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: impl Into<String>,
        config: ElectionConfig,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.into(),
            config,
        })
    }

    /// This replica's `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Runs [`run`](Self::run) on a task; returns the role channel and the task. Cancelling
    /// `release` makes the task publish [`Role::Standby`], give the Lease back and end; aborting
    /// the task instead leaves the Lease to expire.
    pub fn spawn(self, release: CancellationToken) -> (watch::Receiver<Role>, JoinHandle<()>) {
        let (tx, rx) = watch::channel(Role::Undecided);
        let task = tokio::spawn(self.run(tx, release));
        (rx, task)
    }

    /// The election loop: publishes every role change on `role` until `release` is cancelled,
    /// then publishes [`Role::Standby`] and clears `holderIdentity` if this replica holds it.
    pub async fn run(self, role: watch::Sender<Role>, release: CancellationToken) {
        let publish = |new: Role| {
            role.send_if_modified(|r| {
                let changed = *r != new;
                *r = new;
                changed
            });
        };
        // Start of the last round that renewed the Lease, while leading. The renewTime written in
        // that round is later than this instant, so counting from here errs on the safe side.
        let mut renewed_at: Option<Instant> = None;
        let mut conflicts: u32 = 0;
        loop {
            if let Some(at) = renewed_at
                && at.elapsed() >= self.config.renew_deadline
            {
                warn!(lease = %self.name, identity = %self.identity, "could not renew the Lease in time; stepping down");
                renewed_at = None;
                publish(Role::Standby);
            }
            let started = Instant::now();
            let budget = match renewed_at {
                Some(at) => self.config.renew_deadline.saturating_sub(at.elapsed()),
                None => self.config.renew_deadline,
            };
            let round = tokio::select! {
                biased;
                () = release.cancelled() => break,
                r = self.round(budget) => r,
            };
            let wait = match round {
                Ok(Attempt::Leading) => {
                    conflicts = 0;
                    if renewed_at.is_none() {
                        info!(lease = %self.name, identity = %self.identity, "acquired the Lease; leading");
                    }
                    renewed_at = Some(started);
                    publish(Role::Leader);
                    self.config.renew_interval
                }
                Ok(Attempt::HeldBy { holder, expires_in }) => {
                    conflicts = 0;
                    if renewed_at.take().is_some() {
                        warn!(lease = %self.name, identity = %self.identity, %holder, "the Lease was taken over; stepping down");
                    } else {
                        debug!(lease = %self.name, %holder, ?expires_in, "Lease held by another replica");
                    }
                    publish(Role::Standby);
                    // Wake right after expiry when that comes before the next poll.
                    self.config
                        .retry_period
                        .min(expires_in + Duration::from_millis(20))
                }
                Ok(Attempt::Conflict) => {
                    // Someone wrote in between: re-read at once, a few times, then back off.
                    conflicts += 1;
                    debug!(lease = %self.name, conflicts, "Lease changed under us (409); re-reading");
                    if conflicts <= 3 {
                        Duration::ZERO
                    } else {
                        self.config.retry_period
                    }
                }
                Err(e) => {
                    warn!(error = %e, "leader election round failed");
                    self.config.retry_period
                }
            };
            // A leader never sleeps past its renew deadline.
            let wait = match renewed_at {
                Some(at) => wait.min(self.config.renew_deadline.saturating_sub(at.elapsed())),
                None => wait,
            };
            tokio::select! {
                biased;
                () = release.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        // Stop writing before anyone else may start.
        publish(Role::Standby);
        match tokio::time::timeout(
            self.config.retry_period.max(Duration::from_secs(2)),
            self.release(),
        )
        .await
        {
            Ok(Ok(true)) => info!(lease = %self.name, identity = %self.identity, "released the Lease"),
            Ok(Ok(false)) => debug!(lease = %self.name, "not holding the Lease; nothing to release"),
            Ok(Err(e)) => warn!(error = %e, "releasing the Lease failed; it expires by itself"),
            Err(_) => warn!(lease = %self.name, "releasing the Lease timed out; it expires by itself"),
        }
    }

    /// One read-decide-write round bounded by `budget`.
    async fn round(&self, budget: Duration) -> Result<Attempt, Error> {
        match tokio::time::timeout(budget, self.try_acquire_or_renew()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                timeout: budget,
            }),
        }
    }

    async fn try_acquire_or_renew(&self) -> Result<Attempt, Error> {
        let current = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.kube_error("read", e))?;
        let now = Timestamp::now();
        let Some(mut lease) = current else {
            let Decision::Write(spec) = decide(None, &self.identity, now, &self.config) else {
                return Ok(Attempt::Conflict);
            };
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Leading),
                Err(e) if is_conflict(&e) => Ok(Attempt::Conflict),
                Err(e) => Err(self.kube_error("create", e)),
            };
        };
        match decide(lease.spec.as_ref(), &self.identity, now, &self.config) {
            Decision::HeldBy { holder, expires_in } => Ok(Attempt::HeldBy { holder, expires_in }),
            Decision::Write(spec) => {
                lease.spec = Some(spec);
                // `replace` sends the resourceVersion we read: a concurrent write makes it 409.
                match self.api.replace(&self.name, &PostParams::default(), &lease).await {
                    Ok(_) => Ok(Attempt::Leading),
                    Err(e) if is_conflict(&e) => Ok(Attempt::Conflict),
                    Err(e) => Err(self.kube_error("update", e)),
                }
            }
        }
    }

    /// Clears `holderIdentity` when this replica holds the Lease; true when it did.
    async fn release(&self) -> Result<bool, Error> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.name)
            .await
            .map_err(|e| self.kube_error("read", e))?
        else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        spec.holder_identity = None;
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| self.kube_error("release", e))?;
        Ok(true)
    }

    fn kube_error(&self, action: &'static str, source: kube::Error) -> Error {
        Error::Kube {
            action,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            source: Box::new(source),
        }
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 409)
}

/// `holderIdentity` for this process: `POD_NAME` when set (a restarted container of the leader
/// resumes at once), else `<hostname>_<pid>`.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.trim().is_empty()
    {
        return pod.trim().to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string());
    format!("{host}_{}", std::process::id())
}

/// Namespace of the Lease: `explicit`, else `POD_NAMESPACE`, else the service account's
/// namespace file, else `default`.
pub fn lease_namespace(explicit: Option<&str>) -> String {
    let from_env = || std::env::var("POD_NAMESPACE").ok();
    let from_sa = || std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace").ok();
    let clean = |n: String| Some(n.trim().to_string()).filter(|n| !n.is_empty());
    explicit
        .and_then(|n| clean(n.to_string()))
        .or_else(|| from_env().and_then(clean))
        .or_else(|| from_sa().and_then(clean))
        .unwrap_or_else(|| "default".to_string())
}

/// A running election for the operator: wait for [`Leadership::lost`] while reconciling, call
/// [`Leadership::release`] after the controllers stopped.
#[derive(Debug)]
pub struct Leadership {
    role: watch::Receiver<Role>,
    release: CancellationToken,
    task: JoinHandle<()>,
}

impl Leadership {
    /// Starts `elector` and waits until this replica leads. `/readyz` (component
    /// [`READINESS_COMPONENT`]) turns ready once the Lease is decided either way; while standing
    /// by, `leader_components` count as ready too (a standby has no watches to sync), and they
    /// are reset to not-ready the moment this replica becomes leader. Returns None if `stop`
    /// fires first (the Lease is not held then).
    pub async fn acquire(
        elector: LeaderElector,
        readiness: &Readiness,
        leader_components: &[&'static str],
        stop: impl std::future::Future<Output = ()>,
    ) -> Option<Self> {
        let identity = elector.identity().to_string();
        let release = CancellationToken::new();
        let (mut role, task) = elector.spawn(release.clone());
        readiness.set(READINESS_COMPONENT, false);
        info!(%identity, "waiting for the leader-election Lease");
        let wait = async {
            loop {
                let current = *role.borrow_and_update();
                match current {
                    Role::Leader => {
                        for c in leader_components {
                            readiness.set(c, false);
                        }
                        readiness.set(READINESS_COMPONENT, true);
                        return true;
                    }
                    Role::Standby => {
                        for c in leader_components {
                            readiness.set(c, true);
                        }
                        readiness.set(READINESS_COMPONENT, true);
                    }
                    Role::Undecided => {}
                }
                if role.changed().await.is_err() {
                    return false;
                }
            }
        };
        let won = tokio::select! {
            won = wait => won,
            () = stop => false,
        };
        if won {
            return Some(Self { role, release, task });
        }
        release.cancel();
        let _ = task.await;
        None
    }

    /// Resolves as soon as this replica is no longer the leader (or the election ended).
    pub async fn lost(&mut self) {
        // An error means the elector is gone, which is as good as lost.
        let _ = self.role.wait_for(|r| *r != Role::Leader).await;
    }

    /// Gives the Lease back (clears `holderIdentity`) and waits for the elector to end.
    pub async fn release(self) {
        self.release.cancel();
        if let Err(e) = self.task.await {
            warn!(error = %e, "leader election task");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn held(
        holder: Option<&str>,
        renewed: Option<&str>,
        duration: Option<i32>,
        transitions: i32,
    ) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            acquire_time: renewed.map(|r| MicroTime(at(r))),
            renew_time: renewed.map(|r| MicroTime(at(r))),
            lease_duration_seconds: duration,
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn decide_table() {
        // The rows are written for a 15 s lease.
        let cfg = ElectionConfig {
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(1),
        };
        let now = "2026-01-01T00:00:20Z";
        struct Row {
            name: &'static str,
            current: Option<LeaseSpec>,
            // Some((holder, transitions, acquire changed)) for a write, None for held.
            want_write: Option<(&'static str, i32, bool)>,
            want_expires_ms: Option<u64>,
        }
        let rows = [
            Row {
                name: "no spec: take it",
                current: None,
                want_write: Some(("me", 0, true)),
                want_expires_ms: None,
            },
            Row {
                name: "never held: take it without a transition",
                current: Some(held(None, None, None, 0)),
                want_write: Some(("me", 0, true)),
                want_expires_ms: None,
            },
            Row {
                name: "released by other: take it, one transition",
                current: Some(held(None, Some("2026-01-01T00:00:19Z"), Some(15), 2)),
                want_write: Some(("me", 3, true)),
                want_expires_ms: None,
            },
            Row {
                name: "ours: renew, keep acquireTime and transitions",
                current: Some(held(Some("me"), Some("2026-01-01T00:00:10Z"), Some(15), 4)),
                want_write: Some(("me", 4, false)),
                want_expires_ms: None,
            },
            Row {
                name: "other, fresh: held for the rest",
                current: Some(held(Some("other"), Some("2026-01-01T00:00:10Z"), Some(15), 1)),
                want_write: None,
                want_expires_ms: Some(5_000),
            },
            Row {
                name: "other, expired: take over",
                current: Some(held(Some("other"), Some("2026-01-01T00:00:04Z"), Some(15), 1)),
                want_write: Some(("me", 2, true)),
                want_expires_ms: None,
            },
            Row {
                name: "other, exactly at expiry: take over",
                current: Some(held(Some("other"), Some("2026-01-01T00:00:05Z"), Some(15), 1)),
                want_write: Some(("me", 2, true)),
                want_expires_ms: None,
            },
            Row {
                name: "other, renewTime ahead of our clock: at most one duration",
                current: Some(held(Some("other"), Some("2026-01-01T00:01:00Z"), Some(15), 1)),
                want_write: None,
                want_expires_ms: Some(15_000),
            },
            Row {
                name: "other, no duration: ours applies",
                current: Some(held(Some("other"), Some("2026-01-01T00:00:19Z"), None, 1)),
                want_write: None,
                want_expires_ms: Some(14_000),
            },
            Row {
                name: "other, no times at all: expired",
                current: Some(held(Some("other"), None, Some(15), 1)),
                want_write: Some(("me", 2, true)),
                want_expires_ms: None,
            },
        ];
        for row in rows {
            let got = decide(row.current.as_ref(), "me", at(now), &cfg);
            match (got, row.want_write, row.want_expires_ms) {
                (Decision::Write(spec), Some((holder, transitions, acquired_now)), None) => {
                    assert_eq!(spec.holder_identity.as_deref(), Some(holder), "{}", row.name);
                    assert_eq!(spec.lease_transitions, Some(transitions), "{}", row.name);
                    assert_eq!(spec.lease_duration_seconds, Some(15), "{}", row.name);
                    assert_eq!(spec.renew_time, Some(MicroTime(at(now))), "{}", row.name);
                    assert_eq!(
                        spec.acquire_time == Some(MicroTime(at(now))),
                        acquired_now,
                        "{}",
                        row.name
                    );
                }
                (Decision::HeldBy { holder, expires_in }, None, Some(ms)) => {
                    assert_eq!(holder, "other", "{}", row.name);
                    assert_eq!(expires_in, Duration::from_millis(ms), "{}", row.name);
                }
                (got, _, _) => panic!("{}: unexpected {got:?}", row.name),
            }
        }
    }

    #[test]
    fn config_validation() {
        assert!(ElectionConfig::default().validate().is_ok());
        let bad = [
            ElectionConfig {
                renew_deadline: Duration::from_secs(15),
                ..ElectionConfig::default()
            },
            ElectionConfig {
                renew_interval: Duration::from_secs(10),
                ..ElectionConfig::default()
            },
            ElectionConfig {
                retry_period: Duration::ZERO,
                ..ElectionConfig::default()
            },
            ElectionConfig {
                lease_duration: Duration::from_millis(15_500),
                ..ElectionConfig::default()
            },
        ];
        for cfg in bad {
            assert!(matches!(cfg.validate(), Err(Error::Config(_))), "{cfg:?}");
        }
    }

    #[test]
    fn lease_namespace_prefers_explicit() {
        assert_eq!(lease_namespace(Some("ops")), "ops");
        assert!(!lease_namespace(Some("  ")).trim().is_empty());
    }
}
