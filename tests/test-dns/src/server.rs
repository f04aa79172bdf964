//! The server handle: binds UDP and TCP on one port, runs the listeners, exposes the controls.

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{debug, info, warn};

use crate::{
    control,
    error::Error,
    faults::{FaultStatus, FaultUpdate},
    records::{RecordData, RecordEntry, RecordKind, Source},
    response::{self, Reply},
    state::Shared,
    stats::{LoggedQuery, StatsSnapshot, Transport},
    zone_file::parse_zone,
};

/// TTL of every answer unless changed with [`TestDns::set_ttl`].
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// A TCP connection idle this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(30);
/// How long [`TestDns::shutdown`] waits for tasks (e.g. open control connections).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Attempts to find a port free for both UDP and TCP when port 0 is asked for.
const BIND_ATTEMPTS: usize = 20;

/// A running test DNS server: authoritative for every name it holds, never recursive.
///
/// Cheap to clone; all clones control the same server. The server stops on
/// [`TestDns::shutdown`] or when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct TestDns {
    shared: Arc<Shared>,
    addr: SocketAddr,
    life: Arc<Lifecycle>,
}

#[derive(Debug)]
struct Lifecycle {
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl TestDns {
    /// Starts serving UDP and TCP on `bind` (port 0 picks one port free for both).
    pub async fn start(bind: SocketAddr) -> Result<TestDns, Error> {
        let (udp, tcp) = bind_pair(bind).await?;
        let addr = udp
            .local_addr()
            .map_err(|source| Error::Bind { addr: bind, source })?;
        let ttl = u32::try_from(DEFAULT_TTL.as_secs()).unwrap_or(u32::MAX);
        let shared = Arc::new(Shared::new(ttl));
        let life = Arc::new(Lifecycle {
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        life.tasks.spawn(serve_udp(
            Arc::new(udp),
            shared.clone(),
            life.cancel.clone(),
            life.tasks.clone(),
        ));
        life.tasks.spawn(serve_tcp(
            tcp,
            shared.clone(),
            life.cancel.clone(),
            life.tasks.clone(),
        ));
        info!(%addr, "test DNS listening on UDP and TCP");
        Ok(TestDns { shared, addr, life })
    }

    /// The address both UDP and TCP listen on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the TTL of answers and of negative-caching SOAs (whole seconds).
    pub fn set_ttl(&self, ttl: Duration) {
        self.shared
            .set_ttl_secs(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX));
    }

    /// The TTL now used in answers.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.shared.ttl_secs()))
    }

    /// Adds a record, reporting a name that cannot be a DNS name.
    pub fn add(&self, name: &str, data: RecordData) -> Result<(), Error> {
        self.shared.add(name, data)
    }

    /// Adds a TXT value at `name` (several values per name are allowed).
    ///
    /// Like the other `add_*` helpers it does not fail: an invalid name is logged and ignored.
    /// Use [`TestDns::add`] to get the error instead.
    pub fn add_txt(&self, name: &str, value: &str) {
        self.add_logged(name, RecordData::Txt(value.to_string()));
    }

    /// Sets the CNAME of `name` to `target` (replacing an earlier CNAME).
    pub fn add_cname(&self, name: &str, target: &str) {
        match RecordData::parse(RecordKind::Cname, target) {
            Ok(data) => self.add_logged(name, data),
            Err(error) => warn!(%error, "CNAME not added"),
        }
    }

    /// Adds an A record at `name`.
    pub fn add_a(&self, name: &str, ip: Ipv4Addr) {
        self.add_logged(name, RecordData::A(ip));
    }

    /// Adds an AAAA record at `name`.
    pub fn add_aaaa(&self, name: &str, ip: Ipv6Addr) {
        self.add_logged(name, RecordData::Aaaa(ip));
    }

    fn add_logged(&self, name: &str, data: RecordData) {
        if let Err(error) = self.shared.add(name, data) {
            warn!(%error, "record not added");
        }
    }

    /// Removes the records of `kind` at `name` (`None`: every type); returns how many went.
    pub fn remove(&self, name: &str, kind: Option<RecordKind>) -> usize {
        self.shared.remove(name, kind)
    }

    /// Removes one exact record (e.g. one of several TXT values); returns whether it existed.
    pub fn remove_value(&self, name: &str, data: &RecordData) -> bool {
        self.shared.remove_data(name, data)
    }

    /// Removes every record, including those from a zone file (until its next change).
    pub fn clear_records(&self) {
        self.shared.write().clear();
    }

    /// Every record held, sorted by name, type and value.
    pub fn records(&self) -> Vec<RecordEntry> {
        self.shared.read().list()
    }

    /// Delays every answer (including SERVFAILs) by `delay`; zero turns it off.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.faults.set_delay(delay);
    }

    /// Answers SERVFAIL to the next `n` queries (replaces the remaining count).
    pub fn servfail_next(&self, n: u32) {
        self.shared.faults.servfail_next(n);
    }

    /// Answers SERVFAIL to every query for `window` from now (zero ends a window).
    pub fn servfail_for(&self, window: Duration) {
        self.shared.faults.servfail_for(window);
    }

    /// Sends no answer at all to the next `n` queries (replaces the remaining count).
    pub fn drop_next(&self, n: u32) {
        self.shared.faults.drop_next(n);
    }

    /// Applies a fault change as `POST /faults` does.
    pub fn apply_faults(&self, update: &FaultUpdate) {
        self.shared.faults.apply(update);
    }

    /// Clears every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// The fault settings now in force.
    pub fn faults(&self) -> FaultStatus {
        self.shared.faults.status()
    }

    /// Queries received since start (or the last [`TestDns::reset_stats`]), whatever their fate.
    pub fn queries(&self) -> u64 {
        self.shared.stats.total()
    }

    /// Queries received for `name` (any case, with or without trailing dot), any type.
    pub fn queries_for(&self, name: &str) -> u64 {
        self.shared.queries_for(name)
    }

    /// Queries received for `name` asking for type `kind` (a CNAME-chasing A query counts as A).
    pub fn queries_for_kind(&self, name: &str, kind: RecordKind) -> u64 {
        self.shared.queries_for_type(name, kind.as_str())
    }

    /// All counters at once.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats_snapshot()
    }

    /// The last 10,000 queries, oldest first.
    pub fn query_log(&self) -> Vec<LoggedQuery> {
        self.shared.stats.log()
    }

    /// Sets every counter to zero and empties the query log.
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Serves the HTTP control API (see [`crate::control`]) on `bind`; returns its address.
    ///
    /// It stops with the server.
    pub async fn serve_control(&self, bind: SocketAddr) -> Result<SocketAddr, Error> {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| Error::ControlBind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::ControlBind { addr: bind, source })?;
        let app = control::router(self.shared.clone());
        let cancel = self.life.cancel.clone();
        self.life.tasks.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(error) = served {
                warn!(%error, "control API stopped");
            }
        });
        info!(%addr, "test DNS control API listening");
        Ok(addr)
    }

    /// Replaces the zone-file records by those in `path`; returns how many it holds.
    ///
    /// Records added through the API are kept. On error nothing changes.
    pub fn load_zone_file(&self, path: &Path) -> Result<usize, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ZoneFileRead {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_zone_text(path, &text)
    }

    fn load_zone_text(&self, path: &Path, text: &str) -> Result<usize, Error> {
        let records = parse_zone(text).map_err(|(line, reason)| Error::ZoneFileSyntax {
            path: path.to_path_buf(),
            line,
            reason,
        })?;
        let count = records.len();
        self.shared.write().replace_source(Source::ZoneFile, records);
        Ok(count)
    }

    /// Loads `path` now, then re-reads it every `poll` and reloads when its content changed.
    ///
    /// A bad later version is logged and the previous records stay; a deleted file keeps
    /// the previous records too. Watching stops with the server.
    pub fn watch_zone_file(&self, path: impl Into<PathBuf>, poll: Duration) -> Result<usize, Error> {
        let path = path.into();
        let mut last = std::fs::read_to_string(&path).map_err(|source| Error::ZoneFileRead {
            path: path.clone(),
            source,
        })?;
        let count = self.load_zone_text(&path, &last)?;
        info!(path = %path.display(), records = count, "zone file loaded");
        // The watcher must not keep the server alive, so it holds the state, not a handle.
        let watcher = ZoneWatcher {
            shared: self.shared.clone(),
            path,
        };
        let cancel = self.life.cancel.clone();
        self.life.tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(poll) => {}
                }
                match tokio::fs::read_to_string(&watcher.path).await {
                    Ok(text) if text != last => {
                        watcher.reload(&text);
                        last = text;
                    }
                    Ok(_) => {}
                    Err(error) => debug!(path = %watcher.path.display(), %error, "zone file unreadable"),
                }
            }
        });
        Ok(count)
    }

    /// Stops the listeners and the control API and waits (briefly) for them to finish.
    pub async fn shutdown(self) {
        self.life.cancel.cancel();
        self.life.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.life.tasks.wait())
            .await
            .is_err()
        {
            warn!("test DNS tasks still running after shutdown grace period");
        }
    }
}

struct ZoneWatcher {
    shared: Arc<Shared>,
    path: PathBuf,
}

impl ZoneWatcher {
    fn reload(&self, text: &str) {
        match parse_zone(text) {
            Ok(records) => {
                let count = records.len();
                self.shared.write().replace_source(Source::ZoneFile, records);
                info!(path = %self.path.display(), records = count, "zone file reloaded");
            }
            Err((line, reason)) => {
                warn!(path = %self.path.display(), line, %reason, "zone file not reloaded");
            }
        }
    }
}

/// Binds UDP, then TCP on the same port; with port 0, retries until a port is free for both.
async fn bind_pair(bind: SocketAddr) -> Result<(UdpSocket, TcpListener), Error> {
    let bind_err = |source| Error::Bind { addr: bind, source };
    let attempts = if bind.port() == 0 { BIND_ATTEMPTS } else { 1 };
    let mut last_error = io::Error::new(io::ErrorKind::AddrInUse, "no port free for UDP and TCP");
    for _ in 0..attempts {
        let udp = UdpSocket::bind(bind).await.map_err(bind_err)?;
        let local = udp.local_addr().map_err(bind_err)?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = error,
        }
    }
    Err(bind_err(last_error))
}

async fn serve_udp(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tasks: TaskTracker,
) {
    // Large enough for any UDP datagram, so oversized queries are read whole and rejected.
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, peer) = tokio::select! {
            _ = cancel.cancelled() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok(got) => got,
                Err(error) => {
                    // Linux reports ICMP errors from earlier sends here; they concern one peer.
                    debug!(%error, "UDP receive failed");
                    continue;
                }
            },
        };
        match response::handle(&shared, &buf[..len], Transport::Udp) {
            Reply::Silent => {}
            Reply::Send { bytes, delay } if delay.is_zero() => {
                if let Err(error) = socket.send_to(&bytes, peer).await {
                    debug!(%error, %peer, "UDP send failed");
                }
            }
            Reply::Send { bytes, delay } => {
                // Delayed answers must not hold up other queries.
                let socket = socket.clone();
                let cancel = cancel.clone();
                tasks.spawn(async move {
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = tokio::time::sleep(delay) => {
                            if let Err(error) = socket.send_to(&bytes, peer).await {
                                debug!(%error, %peer, "UDP send failed");
                            }
                        }
                    }
                });
            }
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(got) => got,
                Err(error) => {
                    warn!(%error, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                result = serve_tcp_connection(stream, &shared) => {
                    if let Err(error) = result {
                        debug!(%error, %peer, "TCP connection ended");
                    }
                }
            }
        });
    }
}

/// Serves length-prefixed messages one after another until the peer closes or idles.
async fn serve_tcp_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Err(_) => return Ok(()),
            Ok(Err(error)) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(result) => {
                result?;
            }
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut message))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP message incomplete"))??;
        if let Reply::Send { bytes, delay } = response::handle(shared, &message, Transport::Tcp) {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let prefix = u16::try_from(bytes.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response over 65535 bytes"))?;
            let mut framed = Vec::with_capacity(bytes.len() + 2);
            framed.extend_from_slice(&prefix.to_be_bytes());
            framed.extend_from_slice(&bytes);
            stream.write_all(&framed).await?;
        }
    }
}
