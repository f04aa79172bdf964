//! A test world: DNS, the Auth0 simulator, a cluster (kube-sim or `E2E_KUBECONFIG`), the CRDs, a
//! tenant, and the operator process.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use auth0_sim::{ClientSpec, Counters, Sim, SimConfig};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{DynamicObject, ObjectMeta};
use kube_sim::KubeSim;
use serde_json::{Value, json};
use test_dns::{RecordKind, TestDns};

use crate::binary;
use crate::error::{Error, Result, ensure};
use crate::hygiene::{self, Leak};
use crate::kubectl::{Kubectl, KubectlOutput};
use crate::operator::Operator;
use crate::request_log;
use crate::resources::{self, Record};
use crate::wait::wait_for;

/// How long the operator may take to answer `/readyz` after start.
pub const OPERATOR_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// After this long with `/healthz` answering but `/readyz` not, scenarios go on with a warning
/// (see [`World::wait_operator_ready`]); the strict check is its own test.
pub const READYZ_GRACE: Duration = Duration::from_secs(8);

/// Options of a world; see [`World::builder`].
pub struct WorldBuilder {
    sim: SimConfig,
    operator: bool,
    operator_args: Vec<String>,
    resync: String,
    default_dns_recheck: bool,
    cluster_wide: bool,
}

impl WorldBuilder {
    /// Run the operator without `--namespace` (every namespace's CustomDomains, every tenant's
    /// status), with `POD_NAMESPACE` = the world's namespace as in a Deployment. kube-sim only: on
    /// a shared real cluster it would reconcile the other worlds too.
    pub fn cluster_wide(mut self) -> Self {
        self.cluster_wide = true;
        self
    }

    /// Changes the Auth0 simulator configuration (rate limits, readings, faults at start…).
    pub fn sim(mut self, f: impl FnOnce(SimConfig) -> SimConfig) -> Self {
        self.sim = f(self.sim);
        self
    }

    /// Do not launch the operator (harness self-tests, admission tests).
    pub fn without_operator(mut self) -> Self {
        self.operator = false;
        self
    }

    /// Keep the operator's default `--dns-recheck-max` (30 s) instead of the suite's 5 s; for
    /// the tests that measure the time from DNS visible to Ready as users get it.
    pub fn default_dns_recheck(mut self) -> Self {
        self.default_dns_recheck = true;
        self
    }

    /// Extra `run` flags for the operator.
    pub fn operator_arg(mut self, arg: impl Into<String>) -> Self {
        self.operator_args.push(arg.into());
        self
    }

    /// The tenant's `resyncInterval` (default `30s`, the shortest the CRD allows, so drift and
    /// remote deletion show within a test's time).
    pub fn resync(mut self, interval: &str) -> Self {
        self.resync = interval.into();
        self
    }

    /// Starts everything.
    pub async fn start(self) -> Result<World> {
        World::start(self).await
    }
}

/// One isolated environment. Everything is torn down on drop (the operator is SIGKILLed).
pub struct World {
    /// Short random id used in names (namespace, tenant, cluster id, domains).
    pub tag: String,
    /// Namespace of this world's CustomDomains and credentials Secret.
    pub ns: String,
    /// Name of this world's `Auth0Tenant`.
    pub tenant: String,
    /// Cluster id given to the operator (`--cluster-id`).
    pub cluster_id: String,
    /// Client secret of the tenant credentials (for hygiene checks).
    pub client_secret: String,
    /// kube-rs client for the cluster.
    pub client: kube::Client,
    /// kubectl for the cluster.
    pub kubectl: Kubectl,
    operator: Option<Operator>,
    /// Whether an operator was ever launched (its requests are worth saving).
    launched: bool,
    /// The test that built this world (libtest names its thread after it), for file names.
    test_name: Option<String>,
    /// The operator runs without `--namespace` ([`WorldBuilder::cluster_wide`]).
    cluster_wide: bool,
    seen_keys: Mutex<BTreeSet<String>>,
    kubeconfig: PathBuf,
    /// The operator's own kubeconfig when it differs from the harness's (`E2E_ADMIN_KUBECONFIG`).
    operator_kubeconfig: Option<PathBuf>,
    dns: TestDns,
    sim: Sim,
    kube: Option<KubeSim>,
    // Last: dropped after the servers that write into it.
    dir: tempfile::TempDir,
}

fn start_err(what: &'static str) -> impl Fn(String) -> Error {
    move |message| Error::Start { what, message }
}

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

fn random_tag() -> String {
    let b: [u8; 4] = rand::random();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl World {
    /// Defaults: generous Auth0 rate limits, fast certificates, operator launched.
    pub fn builder() -> WorldBuilder {
        let tag = random_tag();
        let sim = SimConfig::default()
            .tenant(format!("e2e-{tag}"))
            .rate_limit(200.0, 200)
            .verify_limit(100, Duration::from_secs(60))
            .cert_delay(Duration::from_millis(300))
            .seed(u64::from_str_radix(&tag, 16).unwrap_or(1));
        let mut sim = sim;
        sim.tenant_domain = Some(format!("e2e-{tag}.eu.auth0local.dev"));
        WorldBuilder {
            sim,
            operator: true,
            operator_args: Vec::new(),
            resync: "30s".into(),
            default_dns_recheck: false,
            cluster_wide: false,
        }
    }

    /// A world with the defaults.
    pub async fn start_default() -> Result<World> {
        Self::builder().start().await
    }

    async fn start(b: WorldBuilder) -> Result<World> {
        // kube (ring) and reqwest share rustls; pick the provider once for the whole process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tag = b
            .sim
            .tenant
            .strip_prefix("e2e-")
            .map(str::to_string)
            .unwrap_or_else(random_tag);
        let dir = tempfile::Builder::new()
            .prefix(&format!("e2e-{tag}-"))
            // E2E_KEEP=1 keeps the directory (operator log, kubeconfig) for a look afterwards.
            .disable_cleanup(std::env::var_os("E2E_KEEP").is_some())
            .tempdir()
            .map_err(|source| Error::Io {
                action: "create",
                path: std::env::temp_dir(),
                source,
            })?;
        let dns = TestDns::start(
            "127.0.0.1:0"
                .parse()
                .map_err(|_| Error::Check("bad addr".into()))?,
        )
        .await
        .map_err(|e| start_err("test-dns")(e.to_string()))?;

        let client_id = format!("e2e-client-{tag}");
        let secret_bytes: [u8; 18] = rand::random();
        let client_secret: String = format!(
            "e2e-secret-{}",
            secret_bytes
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
        );
        let sim_cfg = b
            .sim
            .dns_server(dns.addr())
            .client(ClientSpec::new(&client_id, &client_secret));
        let sim = auth0_sim::start(sim_cfg)
            .await
            .map_err(|e| start_err("auth0-sim")(e.to_string()))?;

        let kubeconfig = dir.path().join("kubeconfig");
        // On a real cluster the operator may run with a kubeconfig of lesser rights (the
        // deploy/base ServiceAccount's) than the harness's own setup needs: E2E_ADMIN_KUBECONFIG,
        // when set, is the harness's (kube-rs client and kubectl); E2E_KUBECONFIG the operator's.
        let mut operator_kubeconfig = None;
        let kube = match std::env::var_os("E2E_KUBECONFIG") {
            Some(path) => {
                let copy = |from: &std::ffi::OsStr, to: &Path| {
                    std::fs::copy(from, to).map(|_| ()).map_err(|source| Error::Io {
                        action: "copy E2E_KUBECONFIG / E2E_ADMIN_KUBECONFIG to",
                        path: to.to_path_buf(),
                        source,
                    })
                };
                match std::env::var_os("E2E_ADMIN_KUBECONFIG") {
                    Some(admin) => {
                        copy(&admin, &kubeconfig)?;
                        let op = dir.path().join("operator.kubeconfig");
                        copy(&path, &op)?;
                        operator_kubeconfig = Some(op);
                    }
                    None => copy(&path, &kubeconfig)?,
                }
                None
            }
            None => {
                let cfg = kube_sim::Config {
                    kubeconfig: Some(kubeconfig.clone()),
                    ..kube_sim::Config::default()
                };
                Some(
                    kube_sim::start(cfg)
                        .await
                        .map_err(|e| start_err("kube-sim")(e.to_string()))?,
                )
            }
        };
        let client = client_for(&kubeconfig).await?;
        let cache = dir.path().join("kubectl-cache");
        let kubectl = Kubectl::new(&kubeconfig, &cache);

        let ns = format!("e2e-{tag}");
        let mut world = World {
            tenant: format!("e2e-{tag}"),
            cluster_id: format!("e2e-cluster-{tag}"),
            tag,
            ns,
            client_secret,
            client,
            kubectl,
            operator: None,
            launched: false,
            test_name: std::thread::current().name().map(str::to_string),
            cluster_wide: b.cluster_wide,
            seen_keys: Mutex::new(BTreeSet::new()),
            kubeconfig,
            operator_kubeconfig,
            dns,
            sim,
            kube,
            dir,
        };
        world.install(&client_id, &b.resync).await?;
        if b.operator {
            let mut args = b.operator_args;
            if !b.default_dns_recheck {
                // Keeps the suite short: DNS re-checks at most every 5 s instead of 30 s.
                args.push("--dns-recheck-max=5s".into());
            }
            world.launch_operator(args)?;
            world.wait_operator_started().await?;
        }
        Ok(world)
    }

    /// Applies the CRDs, creates the namespace, the credentials Secret and the tenant.
    async fn install(&self, client_id: &str, resync: &str) -> Result<()> {
        let crds = binary::workspace_root().join("crds");
        let crds = crds.to_string_lossy().into_owned();
        self.kubectl.ok(&["apply", "-f", &crds], None).await?;
        self.kubectl
            .wait_established(&[
                "crd/customdomains.auth0.domain-operator.dev",
                "crd/auth0tenants.auth0.domain-operator.dev",
            ])
            .await?;
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(self.ns.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .map_err(kube_err(format!("create namespace {}", self.ns)))?;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let creds = Secret {
            metadata: ObjectMeta {
                name: Some("auth0-credentials".into()),
                ..ObjectMeta::default()
            },
            string_data: Some(
                [
                    ("client_id".to_string(), client_id.to_string()),
                    ("client_secret".to_string(), self.client_secret.clone()),
                ]
                .into(),
            ),
            type_: Some("Opaque".into()),
            ..Secret::default()
        };
        secrets
            .create(&PostParams::default(), &creds)
            .await
            .map_err(kube_err("create credentials Secret"))?;
        if self.operator_kubeconfig.is_some() {
            self.grant_operator_namespace().await?;
        }
        let tenant = json!({
            "apiVersion": format!("{}/{}", resources::GROUP, resources::VERSION),
            "kind": "Auth0Tenant",
            "metadata": {"name": self.tenant},
            "spec": {
                "domain": self.sim.tenant_domain(),
                "managementApiUrl": self.sim.url(),
                "credentialsSecretRef": {"namespace": self.ns, "name": "auth0-credentials"},
                "rateLimit": {"requestsPerSecond": 100, "burst": 100},
                "resyncInterval": resync,
            }
        });
        self.apply_json(&tenant).await?;
        Ok(())
    }

    /// On a real cluster with the operator's own identity (`E2E_ADMIN_KUBECONFIG`): the world's
    /// namespace plays the operator's namespace, so it gets deploy/base's credentials Role there
    /// (Secrets get/list/watch/create/patch/delete) bound to the operator's ServiceAccount
    /// (`E2E_OPERATOR_SERVICEACCOUNT` = `namespace:name`, default deploy/base's).
    async fn grant_operator_namespace(&self) -> Result<()> {
        let sa = std::env::var("E2E_OPERATOR_SERVICEACCOUNT")
            .unwrap_or_else(|_| "auth0-domain-operator:auth0-domain-operator".into());
        let (sa_ns, sa_name) = sa
            .split_once(':')
            .unwrap_or(("auth0-domain-operator", sa.as_str()));
        let yaml = format!(
            r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: auth0-domain-operator-credentials, namespace: {ns}}}
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: auth0-domain-operator-credentials, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: auth0-domain-operator-credentials}}
subjects:
- {{kind: ServiceAccount, name: {sa_name}, namespace: {sa_ns}}}
"#,
            ns = self.ns
        );
        self.apply_yaml(&yaml).await.map(|_| ())
    }

    /// Launches the operator (flags from the world plus `extra`); see [`WorldBuilder::without_operator`].
    pub fn launch_operator(&mut self, extra: Vec<String>) -> Result<()> {
        let op = self.spawn_operator(extra, "operator.log")?;
        self.operator = Some(op);
        self.launched = true;
        Ok(())
    }

    /// Launches one more operator process with the world's flags plus `extra`, output in
    /// `<dir>/<log>`, owned by the caller (a second replica for leader election); the world's own
    /// operator stays [`operator`](Self::operator).
    pub fn spawn_operator(&self, extra: Vec<String>, log: &str) -> Result<Operator> {
        let bin = binary::operator_binary()?;
        let mut args: Vec<String> = [
            "--log-format",
            "json",
            "run",
            "--cluster-id",
            &self.cluster_id,
            "--dns-nameservers",
            &self.dns.addr().to_string(),
            "--allow-insecure-auth0",
            // The simulator's tenants are `*.auth0local.dev` hosts served at the simulator's URL.
            "--extra-tenant-domain-suffix=auth0local.dev",
            "--metrics-addr",
            "127.0.0.1:0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // The world's namespace is the operator's own: its credentials Secret lives there.
        // `extra` may name another namespace (`--namespace=<ns>`): a second operator of its own.
        let own_ns = extra
            .iter()
            .find_map(|a| a.strip_prefix("--namespace="))
            .unwrap_or(&self.ns)
            .to_string();
        if !self.cluster_wide && !extra.iter().any(|a| a.starts_with("--namespace")) {
            args.extend(["--namespace".to_string(), self.ns.clone()]);
        }
        // The world's tenant names the simulator's URL in spec.managementApiUrl, which needs the
        // operator's opt-in (`extra` may say `--allow-custom-api-url=false`).
        if !extra.iter().any(|a| a.starts_with("--allow-custom-api-url")) {
            args.push("--allow-custom-api-url".into());
        }
        // The operator's verify budget matches the world's simulator (100 per minute): with Auth0's
        // 5 per minute every world would wait 12 s for its first verify (the budget starts empty).
        if !extra.iter().any(|a| a.starts_with("--verify-limit")) {
            args.push("--verify-limit=100:60".into());
        }
        args.extend(extra);
        let mut envs = vec![
            (
                "KUBECONFIG".to_string(),
                self.operator_kubeconfig().to_string_lossy().into_owned(),
            ),
            (
                "RUST_LOG".to_string(),
                std::env::var("E2E_OPERATOR_LOG")
                    .unwrap_or_else(|_| "info,auth0_domain_operator=debug".into()),
            ),
        ];
        if let Some(ca) = self.sim.ca_file() {
            envs.push(("SSL_CERT_FILE".into(), ca.to_string_lossy().into_owned()));
        }
        envs.push(("POD_NAMESPACE".into(), own_ns));
        Operator::spawn(&bin, args, envs, self.dir.path().join(log))
    }

    /// Namespace for a leader-election Lease, created if missing: `E2E_LEASE_NAMESPACE`, else
    /// deploy/base's `auth0-domain-operator`, the only namespace its Role allows Leases in (so the
    /// requests saved for `make test-deploy`'s RBAC check, and a real cluster's authorizer, agree).
    pub async fn lease_namespace(&self) -> Result<String> {
        let ns = std::env::var("E2E_LEASE_NAMESPACE")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "auth0-domain-operator".to_string());
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        if namespaces
            .get_opt(&ns)
            .await
            .map_err(kube_err(format!("get namespace {ns}")))?
            .is_none()
        {
            let obj = Namespace {
                metadata: ObjectMeta {
                    name: Some(ns.clone()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            };
            match namespaces.create(&PostParams::default(), &obj).await {
                Ok(_) => {}
                // Another world of this cluster made it meanwhile.
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(kube_err(format!("create namespace {ns}"))(e)),
            }
        }
        Ok(ns)
    }

    /// Waits until the current operator process answers `/readyz` with 200.
    pub async fn wait_operator_ready(&mut self) -> Result<()> {
        self.wait_readyz(false).await
    }

    /// Like [`wait_operator_ready`](Self::wait_operator_ready), but once `/healthz` has answered
    /// for [`READYZ_GRACE`] while `/readyz` still says 503, goes on with a printed warning, so a
    /// readiness bug does not hide every other scenario's result.
    pub async fn wait_operator_started(&mut self) -> Result<()> {
        self.wait_readyz(true).await
    }

    async fn wait_readyz(&mut self, lenient: bool) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|source| Error::Http {
                what: "client".into(),
                source,
            })?;
        let op = self
            .operator
            .as_mut()
            .ok_or_else(|| Error::Check("no operator launched".into()))?;
        let start = Instant::now();
        let mut last = String::from("<no metrics address logged yet>");
        loop {
            if let Some(status) = op.exited() {
                return Err(Error::Check(format!(
                    "operator exited before it was ready ({status})\n{}",
                    op.log_tail(40)
                )));
            }
            if let Some(addr) = op.metrics_addr() {
                match http.get(format!("http://{addr}/readyz")).send().await {
                    Ok(r) if r.status().is_success() => return Ok(()),
                    Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                    Err(e) => last = e.to_string(),
                }
                let healthy = http
                    .get(format!("http://{addr}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if lenient && healthy && start.elapsed() > READYZ_GRACE {
                    println!(
                        "WARNING: operator /readyz still not ready after {:.0}s ({}) while /healthz is ok; going on",
                        start.elapsed().as_secs_f64(),
                        last.trim()
                    );
                    return Ok(());
                }
            }
            if start.elapsed() > OPERATOR_READY_TIMEOUT {
                return Err(Error::Timeout {
                    what: "operator /readyz".into(),
                    seconds: start.elapsed().as_secs_f64(),
                    context: format!("last /readyz answer: {last}\n{}", op.log_tail(40)),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The operator process (when launched).
    pub fn operator(&mut self) -> Result<&mut Operator> {
        self.operator
            .as_mut()
            .ok_or_else(|| Error::Check("no operator launched".into()))
    }

    /// Operator log tail for failure messages (empty without an operator).
    pub fn log_tail(&self) -> String {
        self.operator.as_ref().map(|o| o.log_tail(40)).unwrap_or_default()
    }

    /// The whole operator log (all starts).
    pub fn operator_log(&self) -> String {
        self.operator.as_ref().map(Operator::log).unwrap_or_default()
    }

    /// The test DNS server.
    pub fn dns(&self) -> &TestDns {
        &self.dns
    }

    /// The Auth0 simulator.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Auth0 simulator counters now.
    pub fn counters(&self) -> Counters {
        self.sim.control().counters()
    }

    /// kube-sim, unless running against `E2E_KUBECONFIG`. Tests that need it print why they skip.
    pub fn kube_sim(&self) -> Option<&KubeSim> {
        self.kube.as_ref()
    }

    /// Returns kube-sim, or prints that `what` is skipped on a real cluster and returns `None`.
    pub fn kube_sim_or_skip(&self, what: &str) -> Option<&KubeSim> {
        if self.kube.is_none() {
            println!("SKIPPED on E2E_KUBECONFIG cluster (needs kube-sim's control endpoint): {what}");
        }
        self.kube.as_ref()
    }

    /// Path of the kubeconfig in use.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Path of the kubeconfig the operator runs with: `E2E_KUBECONFIG`'s copy when
    /// `E2E_ADMIN_KUBECONFIG` gives the harness another, else [`kubeconfig`](Self::kubeconfig).
    pub fn operator_kubeconfig(&self) -> &Path {
        self.operator_kubeconfig.as_deref().unwrap_or(&self.kubeconfig)
    }

    /// The world's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A domain name unique to this world: `<label>.<tag>.e2e.example.com`.
    pub fn domain(&self, label: &str) -> String {
        format!("{label}.{}.e2e.example.com", self.tag)
    }

    /// `kubectl args…` in this world's namespace (exit code not checked).
    pub async fn kubectl(&self, args: &[&str]) -> Result<KubectlOutput> {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        self.kubectl.run(&all, None).await
    }

    /// `kubectl get KIND NAME -o json` in this world's namespace; `None` when it does not exist.
    pub async fn get_json(&self, kind: &str, name: &str) -> Result<Option<Value>> {
        let out = self.kubectl(&["get", kind, name, "-o", "json"]).await?;
        if !out.success() {
            if out.stderr.contains("NotFound") || out.stderr.contains("not found") {
                return Ok(None);
            }
            return Err(Error::Check(format!(
                "kubectl get {kind} {name}: {}",
                out.stderr.trim()
            )));
        }
        serde_json::from_str(&out.stdout)
            .map(Some)
            .map_err(|e| Error::Check(format!("kubectl get {kind} {name}: not JSON ({e})")))
    }

    /// Applies a third party's CRD from `tests/fixtures/<dir>` and waits until `crd` is Established.
    pub async fn apply_fixture_crd(&self, dir: &str, crd: &str) -> Result<()> {
        let path = crate::binary::workspace_root().join("tests/fixtures").join(dir);
        let path = path.to_string_lossy().into_owned();
        self.kubectl.ok(&["apply", "-f", &path], None).await?;
        self.kubectl.wait_established(&[crd]).await?;
        Ok(())
    }

    /// `kubectl apply -f -` of `yaml` in this world's namespace (exit code not checked).
    pub async fn try_apply_yaml(&self, yaml: &str) -> Result<KubectlOutput> {
        self.kubectl
            .run(&["-n", &self.ns, "apply", "-f", "-"], Some(yaml))
            .await
    }

    /// `kubectl apply -f -` of `yaml` in this world's namespace; fails unless it succeeds.
    pub async fn apply_yaml(&self, yaml: &str) -> Result<KubectlOutput> {
        self.kubectl
            .ok(&["-n", &self.ns, "apply", "-f", "-"], Some(yaml))
            .await
    }

    /// Applies a JSON object with kubectl (JSON is YAML).
    pub async fn apply_json(&self, obj: &Value) -> Result<KubectlOutput> {
        self.apply_yaml(&obj.to_string()).await
    }

    /// A CustomDomain manifest in this world's namespace and tenant. `spec_extra` is merged into
    /// the spec (e.g. `{"deletionPolicy":"Orphan"}`).
    pub fn custom_domain(&self, name: &str, domain: &str, type_: &str, spec_extra: Value) -> Value {
        let mut spec = json!({
            "tenantRef": {"name": self.tenant},
            "domain": domain,
            "type": type_,
        });
        if let (Some(s), Value::Object(extra)) = (spec.as_object_mut(), spec_extra) {
            s.extend(extra);
        }
        json!({
            "apiVersion": format!("{}/{}", resources::GROUP, resources::VERSION),
            "kind": "CustomDomain",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": spec,
        })
    }

    /// CustomDomains of this world's namespace.
    pub fn cd_api(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.ns,
            &resources::custom_domain_resource(),
        )
    }

    /// The CustomDomain `name`, if it exists.
    pub async fn get_cd(&self, name: &str) -> Result<Option<DynamicObject>> {
        self.cd_api()
            .get_opt(name)
            .await
            .map_err(kube_err(format!("get customdomain {name}")))
    }

    /// The Secret `name` in this world's namespace, if it exists.
    pub async fn secret(&self, name: &str) -> Result<Option<Secret>> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let s = api
            .get_opt(name)
            .await
            .map_err(kube_err(format!("get secret {name}")))?;
        if let Some(s) = &s
            && let Some(key) = resources::secret_strings(s).get("cname-api-key")
        {
            self.remember_key(key);
        }
        Ok(s)
    }

    fn remember_key(&self, key: &str) {
        if let Ok(mut k) = self.seen_keys.lock() {
            k.insert(key.to_string());
        }
    }

    /// Waits until the CustomDomain `name` satisfies `pred`; the timeout error shows the last
    /// status seen and the operator log tail.
    pub async fn wait_cd(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&DynamicObject) -> bool,
    ) -> Result<DynamicObject> {
        let last = Mutex::new(String::from("<not read yet>"));
        let res = wait_for(
            &format!("customdomain {name}: {what}"),
            timeout,
            || async {
                match self.get_cd(name).await {
                    Ok(Some(obj)) => {
                        if let Ok(mut l) = last.lock() {
                            *l = resources::status_summary(&obj);
                        }
                        pred(&obj).then_some(obj)
                    }
                    Ok(None) => {
                        if let Ok(mut l) = last.lock() {
                            *l = "<absent>".into();
                        }
                        None
                    }
                    Err(e) => {
                        if let Ok(mut l) = last.lock() {
                            *l = format!("<read failed: {e}>");
                        }
                        None
                    }
                }
            },
            String::new,
        )
        .await;
        res.map_err(|e| self.with_context(e, &last))
    }

    fn with_context(&self, e: Error, last: &Mutex<String>) -> Error {
        match e {
            Error::Timeout { what, seconds, .. } => Error::Timeout {
                what,
                seconds,
                context: format!(
                    "last status: {}\n{}",
                    last.lock().map(|l| l.clone()).unwrap_or_default(),
                    self.log_tail()
                ),
            },
            other => other,
        }
    }

    /// Waits until the CustomDomain `name` no longer exists.
    pub async fn wait_cd_gone(&self, name: &str, timeout: Duration) -> Result<()> {
        let last = Mutex::new(String::new());
        wait_for(
            &format!("customdomain {name} to be deleted"),
            timeout,
            || async {
                match self.get_cd(name).await {
                    Ok(None) => Some(()),
                    Ok(Some(o)) => {
                        if let Ok(mut l) = last.lock() {
                            *l = format!(
                                "finalizers {:?}, status {}",
                                o.metadata.finalizers,
                                resources::status_summary(&o)
                            );
                        }
                        None
                    }
                    Err(_) => None,
                }
            },
            String::new,
        )
        .await
        .map_err(|e| self.with_context(e, &last))
    }

    /// Waits for status to name the verification records, publishes each in test DNS (TXT or
    /// CNAME, as the status says) and returns them with the instant they became visible.
    pub async fn publish_records(&self, name: &str, timeout: Duration) -> Result<(Vec<Record>, Instant)> {
        let obj = self
            .wait_cd(name, "status.verification.records", timeout, |o| {
                !resources::records(o).is_empty()
            })
            .await?;
        let recs = resources::records(&obj);
        for r in &recs {
            // Replace what an earlier publish left (a recreated domain gets a new origin).
            match r.type_.to_ascii_uppercase().as_str() {
                "TXT" => {
                    self.dns.remove(&r.name, Some(RecordKind::Txt));
                    self.dns.add_txt(&r.name, &r.value)
                }
                "CNAME" => {
                    self.dns.remove(&r.name, Some(RecordKind::Cname));
                    self.dns.add_cname(&r.name, &r.value)
                }
                other => {
                    return Err(Error::Check(format!(
                        "status asks for an unknown record type {other}"
                    )));
                }
            }
        }
        Ok((recs, Instant::now()))
    }

    /// Sends a request to the simulator's edge as a proxy would: `Host` = `domain` and header
    /// `cname-api-key`. Returns the HTTP status.
    pub async fn edge_request(&self, domain: &str, key: &str) -> Result<u16> {
        let url = self
            .sim
            .edge_url()
            .ok_or_else(|| Error::Check("the simulator runs without an edge".into()))?;
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(5));
        if !self.sim.ca_pem().is_empty() {
            let ca = reqwest::Certificate::from_pem(self.sim.ca_pem().as_bytes()).map_err(|source| {
                Error::Http {
                    what: "edge CA".into(),
                    source,
                }
            })?;
            b = b.add_root_certificate(ca);
        }
        let http = b.build().map_err(|source| Error::Http {
            what: "edge client".into(),
            source,
        })?;
        let resp = http
            .get(format!("{url}/authorize?client_id=e2e"))
            .header("host", domain)
            .header("cname-api-key", key)
            .send()
            .await
            .map_err(|source| Error::Http {
                what: format!("edge GET for {domain}"),
                source,
            })?;
        Ok(resp.status().as_u16())
    }

    /// Creates a domain directly through the simulator's Management API, as a human or another
    /// tool would (no ownership marker unless `metadata` has one). Returns the domain object.
    pub async fn create_remote_domain(
        &self,
        domain: &str,
        auth0_type: &str,
        metadata: Value,
    ) -> Result<Value> {
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if !self.sim.ca_pem().is_empty() {
            let ca = reqwest::Certificate::from_pem(self.sim.ca_pem().as_bytes()).map_err(|source| {
                Error::Http {
                    what: "sim CA".into(),
                    source,
                }
            })?;
            b = b.add_root_certificate(ca);
        }
        let http = b.build().map_err(|source| Error::Http {
            what: "sim client".into(),
            source,
        })?;
        let http_err = |what: &str| {
            let what = what.to_string();
            move |source| Error::Http { what, source }
        };
        let client_id = format!("e2e-client-{}", self.tag);
        let token: Value = http
            .post(format!("{}/oauth/token", self.sim.url()))
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": self.client_secret,
                "audience": format!("https://{}/api/v2/", self.sim.tenant_domain()),
            }))
            .send()
            .await
            .map_err(http_err("token"))?
            .json()
            .await
            .map_err(http_err("token body"))?;
        let access = token.get("access_token").and_then(Value::as_str).ok_or_else(|| {
            Error::Check(format!(
                "no access_token in the token answer (keys: {:?})",
                token.as_object().map(|o| o.keys().collect::<Vec<_>>())
            ))
        })?;
        let resp = http
            .post(format!("{}/api/v2/custom-domains", self.sim.url()))
            .bearer_auth(access)
            .json(&json!({"domain": domain, "type": auth0_type, "domain_metadata": metadata}))
            .send()
            .await
            .map_err(http_err("create domain"))?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.map_err(http_err("create body"))?;
        ensure(status == 201, || {
            format!("creating {domain} directly answered {status}: {body}")
        })?;
        Ok(body)
    }

    /// Deletes the CustomDomain `name` (background).
    pub async fn delete_cd(&self, name: &str) -> Result<()> {
        self.cd_api()
            .delete(name, &DeleteParams::default())
            .await
            .map(|_| ())
            .map_err(kube_err(format!("delete customdomain {name}")))
    }

    /// Every Event (core/v1 and events.k8s.io/v1, all namespaces) as JSON text.
    pub async fn events_text(&self) -> Result<String> {
        let core: Api<k8s_openapi::api::core::v1::Event> = Api::all(self.client.clone());
        let a = core
            .list(&ListParams::default())
            .await
            .map_err(kube_err("list core/v1 events"))?;
        let new: Api<k8s_openapi::api::events::v1::Event> = Api::all(self.client.clone());
        let b = new
            .list(&ListParams::default())
            .await
            .map_err(kube_err("list events.k8s.io/v1 events"))?;
        let mut text = String::new();
        for e in &a.items {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        for e in &b.items {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        Ok(text)
    }

    /// Every secret this world knows of: the client secret, the kube-sim bearer token and every
    /// `cname_api_key` the simulator issued or a test read from a Secret.
    pub fn known_secrets(&self) -> Vec<(String, String)> {
        let mut out = vec![("client secret".to_string(), self.client_secret.clone())];
        if let Some(k) = &self.kube {
            out.push(("kube-sim bearer token".into(), k.token().to_string()));
        }
        for d in self.sim.control().domains() {
            if let Some(k) = d.cname_api_key {
                self.remember_key(&k);
            }
        }
        if let Ok(keys) = self.seen_keys.lock() {
            for k in keys.iter() {
                out.push(("cname_api_key".into(), k.clone()));
            }
        }
        out
    }

    /// Scans the operator log and every Event for known secrets and access tokens.
    pub async fn leaks(&self) -> Result<Vec<Leak>> {
        let secrets = self.known_secrets();
        let log = self.operator_log();
        let events = self.events_text().await?;
        let mut out = hygiene::find_leaks(&secrets, "operator log", &log);
        out.extend(hygiene::find_jwts("operator log", &log));
        out.extend(hygiene::find_leaks(&secrets, "events", &events));
        out.extend(hygiene::find_jwts("events", &events));
        Ok(out)
    }

    /// Fails if [`leaks`](Self::leaks) finds anything; prints what was scanned.
    pub async fn assert_no_leaks(&self) -> Result<()> {
        let leaks = self.leaks().await?;
        let secrets = self.known_secrets();
        println!(
            "hygiene: scanned {} operator log lines and the Events for {} secrets ({} cname_api_keys) and JWTs",
            self.operator_log().lines().count(),
            secrets.len(),
            secrets.iter().filter(|(l, _)| l == "cname_api_key").count()
        );
        ensure(leaks.is_empty(), || format!("secrets leaked: {leaks:#?}"))
    }
}

impl World {
    /// With `E2E_REQUEST_LOG_DIR` set, writes the Kubernetes requests the operator made in this
    /// world (kube-sim's request log without the test's own) to
    /// `<dir>/<test name>.<tag>.json`; see [`request_log`]. Called on drop; returns the file
    /// written, if any.
    pub fn save_request_log(&self) -> Result<Option<PathBuf>> {
        let (Some(dir), Some(kube)) = (request_log::dir_from_env(), self.kube.as_ref()) else {
            return Ok(None);
        };
        if !self.launched {
            return Ok(None);
        }
        let file = request_log::file_name(self.test_name.as_deref(), &self.tag);
        request_log::save(&dir, &file, &kube.control().requests())?;
        Ok(Some(dir.join(file)))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Stop the operator first so the log holds everything it did.
        if let Some(op) = self.operator.as_mut() {
            let _ = op.kill();
        }
        if let Err(e) = self.save_request_log() {
            eprintln!("WARNING: saving the operator's request log failed: {e}");
        }
        // A real cluster outlives the world: delete its Auth0Tenant (cluster-scoped, no
        // finalizer), which every other world's operator would otherwise go on reconciling
        // against this world's stopped Auth0 simulator. The namespace stays (its CustomDomains'
        // finalizers have no operator left to remove them).
        if self.kube.is_none() {
            let tenant = format!("auth0tenant/{}", self.tenant);
            let _ = self.kubectl.run_blocking(&[
                "delete",
                &tenant,
                "--wait=false",
                "--ignore-not-found",
                "--request-timeout=10s",
            ]);
        }
    }
}

async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| Error::Start {
        what: "kube client",
        message: format!("read {}: {e}", kubeconfig.display()),
    })?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Start {
            what: "kube client",
            message: e.to_string(),
        })?;
    // Tells the harness's requests from the operator's in kube-sim's request log.
    let mut cfg = cfg;
    cfg.headers.push((
        reqwest::header::USER_AGENT,
        reqwest::header::HeaderValue::from_static(request_log::HARNESS_USER_AGENT),
    ));
    kube::Client::try_from(cfg).map_err(kube_err("build kube client"))
}
