//! `test-dns`: the test DNS server as a process, controlled over HTTP.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use clap::Parser;
use test_dns::TestDns;
use tracing_subscriber::EnvFilter;

/// Authoritative DNS server for tests (UDP and TCP on one port) with an HTTP control API.
#[derive(Debug, Parser)]
#[command(name = "test-dns", version)]
struct Cli {
    /// DNS address (UDP and TCP); port 0 picks a free port (see --ready-file).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// HTTP control API address; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    control_listen: SocketAddr,
    /// File of `name TYPE value` lines, reloaded when it changes.
    #[arg(long)]
    zone_file: Option<PathBuf>,
    /// How often to look at the zone file, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    zone_poll_ms: u64,
    /// TTL of answers and negative answers, in seconds.
    #[arg(long, default_value_t = 5)]
    ttl: u64,
    /// Write `{"dns":"ip:port","control":"http://ip:port"}` here once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();

    let dns = TestDns::start(cli.listen).await?;
    dns.set_ttl(Duration::from_secs(cli.ttl));
    if let Some(path) = &cli.zone_file {
        dns.watch_zone_file(path.clone(), Duration::from_millis(cli.zone_poll_ms.max(10)))?;
    }
    let control = dns.serve_control(cli.control_listen).await?;

    let ready = serde_json::json!({
        "dns": dns.addr().to_string(),
        "control": format!("http://{control}"),
    })
    .to_string();
    println!("{ready}");
    if let Some(path) = &cli.ready_file {
        write_atomically(path, &ready)?;
    }

    wait_for_signal().await?;
    tracing::info!("shutting down");
    dns.shutdown().await;
    Ok(())
}

/// Writes via a temporary file and rename, so a watcher never reads half a file.
fn write_atomically(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, content).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("install SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("wait for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}
