//! `kube-sim` binary: serves the simulator and writes a kubeconfig pointing at itself.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Kubernetes API server simulator for tests.
#[derive(Debug, Parser)]
#[command(name = "kube-sim", version)]
struct Args {
    /// Address to listen on (port 0 = ephemeral).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the kubeconfig.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Persist the store in this file.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Written (with the URL) once the server accepts requests.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Bearer token (random by default).
    #[arg(long, env = "KUBE_SIM_TOKEN")]
    token: Option<String>,
    /// Seconds between watch BOOKMARK events.
    #[arg(long, default_value_t = 5)]
    bookmark_interval: u64,
    /// Watch history length (older resourceVersions get 410 Gone).
    #[arg(long, default_value_t = 10_000)]
    history: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = kube_sim::Config {
        listen: args.listen,
        tls: !args.plain_http,
        token: args.token,
        state_file: args.state,
        kubeconfig: Some(args.kubeconfig),
        history_limit: args.history,
        bookmark_interval: std::time::Duration::from_secs(args.bookmark_interval.max(1)),
        ..Default::default()
    };
    let sim = kube_sim::start(cfg).await?;
    if let Some(p) = &args.ready_file {
        kube_sim::tls::write_atomic(p, format!("{}\n", sim.url()).as_bytes())?;
    }
    println!("kube-sim listening on {}", sim.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
