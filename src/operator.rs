//! `auth0-domain-operator run`: starts the controllers.

use crate::cli::RunArgs;

/// Runs the operator until shutdown.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    tracing::info!(namespace = ?args.namespace, "starting");
    anyhow::bail!("controllers are not wired yet")
}
