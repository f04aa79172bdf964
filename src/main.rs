//! Binary entry point: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

use anyhow::Context as _;
use auth0_domain_operator::{
    cli::{Cli, Command, CrdArgs},
    resources, telemetry,
};
use clap::Parser;

/// jemalloc: with 10,000 watched domains glibc's malloc kept 10-15 MiB more resident (its
/// per-thread arenas hold freed memory), see Cargo.toml.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn write_crds(args: &CrdArgs) -> anyhow::Result<()> {
    if !args.write {
        print!("{}", resources::all_yaml()?);
        return Ok(());
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    for (file, crd) in resources::crds() {
        let path = args.dir.join(file);
        std::fs::write(&path, resources::to_yaml(&crd)?)
            .with_context(|| format!("write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn version() -> String {
    let sha = option_env!("AUTH0_DOMAIN_OPERATOR_GIT_SHA").unwrap_or("unknown");
    format!("auth0-domain-operator {} (git {sha})", env!("CARGO_PKG_VERSION"))
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => auth0_domain_operator::operator::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Crd(args) => write_crds(&args).map(|()| ExitCode::SUCCESS),
        Command::Check(args) => {
            // The report already names what failed (once); exit code 1 says so to scripts.
            let (text, ok) = auth0_domain_operator::check::run(&args).await?;
            print!("{text}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Version => {
            println!("{}", version());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = telemetry::logging::init(cli.log_format) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let command = match cli.command_or_run() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // The controller's last words go to its log stream too; a one-shot command prints its error once.
    let log_error = matches!(command, Command::Run(_));
    match dispatch(command).await {
        Ok(code) => code,
        Err(e) => {
            if log_error {
                tracing::error!(error = format!("{e:#}"), "exiting");
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
