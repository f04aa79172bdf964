//! Auth0 Management API simulator for tests: token endpoint, custom domains (with real DNS
//! verification and the one-time `cname_api_key`), default domain, tenant settings, Auth0's rate
//! limits and error bodies, an edge origin for self-managed domains, and a control API for faults.
//!
//! Start it in-process with [`start`] (port 0 everywhere) or run the `auth0-sim` binary.
//! The behaviour follows the real Management API as recorded in `tests/auth0-sim/captures/`;
//! uncertain points are switches in [`Readings`].

pub mod api;
pub mod api_error;
pub mod config;
pub mod control;
pub mod custom_domains;
pub mod dns;
pub mod domain;
pub mod edge;
pub mod error;
pub mod faults;
pub mod listing;
pub mod ratelimit;
pub mod server;
pub mod settings;
pub mod tenant;
pub mod tls;
pub mod token;
pub mod validate;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ClientSpec, RateSpec, Readings, SimConfig};
pub use control::{Control, ControlError, DomainRecord};
pub use error::Error;
pub use faults::{Counters, Faults};

/// A running simulator.
#[derive(Debug)]
pub struct Sim {
    url: String,
    tenant_domain: String,
    edge_addr: SocketAddr,
    edge_url: Option<String>,
    ca_pem: String,
    ca_file: Option<PathBuf>,
    control: Control,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Binds the listeners, prepares TLS and state, and serves; returns once listening.
pub async fn start(cfg: SimConfig) -> Result<Sim, Error> {
    let api_listener = bind(cfg.listen).await?;
    let api_addr = api_listener.local_addr().map_err(|source| Error::Bind {
        addr: cfg.listen,
        source,
    })?;
    let edge_listener = match cfg.edge_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let edge_addr = match &edge_listener {
        Some(l) => l.local_addr().map_err(|source| Error::Bind {
            addr: api_addr,
            source,
        })?,
        None => SocketAddr::from(([0, 0, 0, 0], 0)),
    };
    // A wildcard listener is reached through loopback; a specific address is used as is.
    let host = match api_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let tenant_domain = cfg
        .tenant_domain
        .clone()
        .unwrap_or_else(|| format!("{host}:{}", api_addr.port()));

    let mut tmp = None;
    let tls = if cfg.plain_http {
        None
    } else {
        let dir = match &cfg.tls_dir {
            Some(d) => d.clone(),
            None => {
                let t = tempfile::tempdir().map_err(|source| Error::Io {
                    action: "create",
                    path: std::env::temp_dir(),
                    source,
                })?;
                let p = t.path().to_path_buf();
                tmp = Some(t);
                p
            }
        };
        let suffix = &cfg.origin_suffix;
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            api_addr.ip().to_string(),
            tenant_domain.clone(),
            format!("*.edge.tenants.{suffix}"),
            format!("edge.tenants.{suffix}"),
        ];
        Some(tls::prepare(&dir, &names)?)
    };

    let tenant = Arc::new(tenant::Tenant::new(cfg.clone(), tenant_domain.clone())?);
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let router = api::router(tenant.clone());
    let t = tenant.clone();
    let handler: server::Handler =
        Arc::new(move |req| Box::pin(api::front_door(t.clone(), router.clone(), req)));
    let server_cfg = tls.as_ref().map(|m| m.server_config.clone());
    tasks.push(tokio::spawn(server::serve(
        api_listener,
        server_cfg.clone(),
        handler,
        rx.clone(),
    )));
    if let Some(l) = edge_listener {
        let handler = server::from_router(edge::router(tenant.clone()));
        tasks.push(tokio::spawn(server::serve(l, server_cfg, handler, rx.clone())));
    }
    if !cfg.recheck_interval.is_zero() {
        tasks.push(tokio::spawn(recheck_loop(
            tenant.clone(),
            cfg.recheck_interval,
            rx.clone(),
        )));
    }
    let scheme = if cfg.plain_http { "http" } else { "https" };
    tracing::info!(url = %format!("{scheme}://{api_addr}"), edge = %edge_addr, "auth0-sim listening");
    Ok(Sim {
        url: format!("{scheme}://{api_addr}"),
        tenant_domain,
        edge_addr,
        edge_url: cfg.edge_listen.map(|_| format!("{scheme}://{edge_addr}")),
        ca_pem: tls.as_ref().map(|m| m.ca_pem.clone()).unwrap_or_default(),
        ca_file: tls.map(|m| m.ca_file),
        control: Control { tenant },
        shutdown: tx,
        tasks,
        _tmp: tmp,
    })
}

/// Auth0's background re-check of ready Auth0-managed domains, every `interval` until shutdown.
async fn recheck_loop(
    tenant: Arc<tenant::Tenant>,
    interval: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => tenant.recheck().await,
            r = stop.changed() => {
                if r.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

impl Sim {
    /// Base URL of the API server, e.g. `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Domain to give SDKs (`127.0.0.1:PORT` unless configured); also the canonical domain.
    pub fn tenant_domain(&self) -> String {
        self.tenant_domain.clone()
    }

    /// Address of the edge listener (`0.0.0.0:0` when the edge is disabled).
    pub fn edge_addr(&self) -> SocketAddr {
        self.edge_addr
    }

    /// Base URL of the edge, when enabled.
    pub fn edge_url(&self) -> Option<String> {
        self.edge_url.clone()
    }

    /// PEM of the CA that signed the API and edge certificates (empty with plain HTTP).
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Path of `ca.pem` (none with plain HTTP).
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.ca_file.clone()
    }

    /// In-process control (faults, drift, counters, keys, reset).
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops both listeners and cuts open connections.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
