//! Shared by the root integration tests that need a Kubernetes API: an in-process kube-sim and a
//! kube-rs client for it.

use kube::Client;

/// Boxed error of the tests.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts a kube-sim (dropped with the returned handle) and a client that talks to it.
pub async fn kube_sim() -> Result<(kube_sim::KubeSim, Client), BoxError> {
    let sim = kube_sim::start(kube_sim::Config::default()).await?;
    let kc = kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    Ok((sim, Client::try_from(config)?))
}
