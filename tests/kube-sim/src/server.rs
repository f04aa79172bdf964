//! The HTTP(S) server: accept loop, authentication, routing to discovery, OpenAPI, verbs and control.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::control::{Control, FaultRule};
use crate::lifecycle::Propagation;
use crate::resources::ResourceType;
use crate::status::ApiError;
use crate::store::World;
use crate::table::{self, Include};
use crate::tls::{self, Certs, TlsError};
use crate::verbs::{self, FieldValidation, ListOpts, PatchKind, WriteOpts};
use crate::watch::{self, WatchParams};
use crate::{discovery, openapi, persist};

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0 = ephemeral).
    pub listen: SocketAddr,
    /// Serve HTTPS with a generated CA (false = plain HTTP).
    pub tls: bool,
    /// Bearer token clients must send (random when None).
    pub token: Option<String>,
    /// Persist the store to this file (atomic writes) and load it at start.
    pub state_file: Option<PathBuf>,
    /// Where to write the kubeconfig (a temp path when None).
    pub kubeconfig: Option<PathBuf>,
    /// Changes kept for watch replay; older resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// How often watches send BOOKMARK events.
    pub bookmark_interval: Duration,
    /// Largest accepted request body (kube-apiserver: 3 MiB).
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            token: None,
            state_file: None,
            kubeconfig: None,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(5),
            max_body_bytes: 3 * 1024 * 1024,
        }
    }
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding or file I/O failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Certificates failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The state file could not be loaded.
    #[error(transparent)]
    State(#[from] persist::LoadError),
}

struct Server {
    world: Arc<Mutex<World>>,
    control: Control,
    token: String,
    addr: SocketAddr,
    cfg: Config,
    persist: Arc<Notify>,
}

/// A running simulator.
#[derive(Debug)]
pub struct KubeSim {
    addr: SocketAddr,
    url: String,
    certs: Option<Certs>,
    token: String,
    control: Control,
    cancel: CancellationToken,
    kubeconfig: PathBuf,
    world: Arc<Mutex<World>>,
    state_file: Option<PathBuf>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts the simulator on a tokio runtime.
pub async fn start(cfg: Config) -> Result<KubeSim, StartError> {
    let mut world = World::new(cfg.history_limit);
    if let Some(p) = &cfg.state_file {
        persist::load(p, &mut world)?;
    }
    let world = Arc::new(Mutex::new(world));
    let listener = TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let certs = if cfg.tls { Some(Certs::generate()?) } else { None };
    let acceptor = match &certs {
        Some(c) => Some(tokio_rustls::TlsAcceptor::from(c.server_config()?)),
        None => None,
    };
    let token = cfg.token.clone().unwrap_or_else(|| {
        let b: [u8; 16] = rand::random();
        b.iter().map(|x| format!("{x:02x}")).collect()
    });
    let url = format!("{}://{addr}", if cfg.tls { "https" } else { "http" });
    let kubeconfig = cfg.kubeconfig.clone().unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("kube-sim-{}-{}", std::process::id(), addr.port()))
            .join("kubeconfig")
    });
    if let Some(dir) = kubeconfig.parent() {
        std::fs::create_dir_all(dir)?;
    }
    tls::write_atomic(
        &kubeconfig,
        tls::kubeconfig(&url, certs.as_ref().map(|c| c.ca_pem.as_str()), &token).as_bytes(),
    )?;
    let control = Control::new(world.clone());
    let cancel = CancellationToken::new();
    let persist_notify = Arc::new(Notify::new());
    if let Some(path) = cfg.state_file.clone() {
        tokio::spawn(persist_loop(
            world.clone(),
            path,
            persist_notify.clone(),
            cancel.clone(),
        ));
    }
    let server = Arc::new(Server {
        world: world.clone(),
        control: control.clone(),
        token: token.clone(),
        addr,
        cfg: cfg.clone(),
        persist: persist_notify,
    });
    let task = tokio::spawn(accept_loop(listener, acceptor, server, cancel.clone()));
    tracing::info!(%url, "kube-sim listening");
    Ok(KubeSim {
        addr,
        url,
        certs,
        token,
        control,
        cancel,
        kubeconfig,
        world,
        state_file: cfg.state_file,
        task: Some(task),
    })
}

async fn persist_loop(
    world: Arc<Mutex<World>>,
    path: PathBuf,
    notify: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = notify.notified() => {}
            _ = cancel.cancelled() => return,
        }
        // Coalesce bursts of writes into one snapshot.
        tokio::time::sleep(Duration::from_millis(20)).await;
        write_state(&world, &path);
    }
}

fn write_state(world: &Arc<Mutex<World>>, path: &Path) {
    let snap = match world.lock() {
        Ok(w) => persist::snapshot(&w),
        Err(_) => return,
    };
    if let Err(e) = tls::write_atomic(path, snap.as_bytes()) {
        tracing::warn!(error = %e, path = %path.display(), "writing state file failed");
    }
}

impl KubeSim {
    /// Base URL (`https://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Path of the kubeconfig written at start.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Writes a kubeconfig pointing at this simulator to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), std::io::Error> {
        tls::write_atomic(path, self.kubeconfig_yaml().as_bytes())
    }

    /// The kubeconfig text.
    pub fn kubeconfig_yaml(&self) -> String {
        tls::kubeconfig(&self.url, self.ca_pem(), &self.token)
    }

    /// CA certificate (PEM) when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.certs.as_ref().map(|c| c.ca_pem.as_str())
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Fault injection and request log.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops serving, closes watches and writes the state file.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    fn stop(&mut self) {
        self.cancel.cancel();
        self.control.close_watches();
        if let Some(p) = &self.state_file {
            write_state(&self.world, p);
        }
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        if !self.cancel.is_cancelled() {
            self.stop();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    server: Arc<Server>,
    cancel: CancellationToken,
) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = cancel.cancelled() => return,
        };
        let server = server.clone();
        let acceptor = acceptor.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(handle(server, req).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(a) => {
                    let Ok(tls) = a.accept(stream).await else { return };
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    tokio::select! { _ = conn => {}, _ = cancel.cancelled() => {} }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    tokio::select! { _ = conn => {}, _ = cancel.cancelled() => {} }
                }
            }
        });
    }
}

fn respond(code: u16, body: &Value, warnings: &[String]) -> Response<Body> {
    respond_typed(code, body, "application/json", warnings)
}

fn respond_typed(code: u16, body: &Value, content_type: &str, warnings: &[String]) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}

fn error(e: &ApiError) -> Response<Body> {
    respond(e.code, &e.to_status(), &[])
}

/// A parsed resource URL.
#[derive(Debug, Clone, Default)]
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_resource_path(segs: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segs {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let mut t = Target {
        group: group.clone(),
        version,
        ..Default::default()
    };
    match rest {
        [] => return None,
        ["namespaces", ns, plural, more @ ..]
            if !(group.is_empty() && more.is_empty() && matches!(*plural, "status" | "finalize")) =>
        {
            t.namespace = Some(ns.to_string());
            t.plural = plural.to_string();
            t.name = more.first().map(|s| s.to_string());
            t.sub = more.get(1).map(|s| s.to_string());
            if more.len() > 2 {
                return None;
            }
        }
        [plural, more @ ..] => {
            t.plural = plural.to_string();
            t.name = more.first().map(|s| s.to_string());
            t.sub = more.get(1).map(|s| s.to_string());
            if more.len() > 2 {
                return None;
            }
        }
    }
    Some(t)
}

fn user_agent(req: &Request<Incoming>) -> String {
    req.headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn handle(server: Arc<Server>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
        let mut r = Response::new(Body::from("ok"));
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return r;
    }
    let authorized = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == server.token);
    if !authorized {
        return error(&ApiError::unauthorized());
    }
    let accept = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
    let seg_refs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let ["__sim", rest @ ..] = seg_refs.as_slice() {
        let method = req.method().clone();
        let body = read_body(req, server.cfg.max_body_bytes)
            .await
            .unwrap_or_default();
        return control_endpoint(&server, &method, rest, &body);
    }
    let types: Vec<Arc<ResourceType>> = match server.world.lock() {
        Ok(w) => w.types.values().cloned().collect(),
        Err(_) => return error(&ApiError::internal("store poisoned")),
    };
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    match seg_refs.as_slice() {
        ["version"] => return respond(200, &discovery::version(), &[]),
        ["api"] if aggregated => {
            return respond_typed(
                200,
                &discovery::aggregated(&types, true),
                discovery::AGGREGATED,
                &[],
            );
        }
        ["api"] => return respond(200, &discovery::core_versions(&server.addr.to_string()), &[]),
        ["apis"] if aggregated => {
            return respond_typed(
                200,
                &discovery::aggregated(&types, false),
                discovery::AGGREGATED,
                &[],
            );
        }
        ["apis"] => return respond(200, &discovery::group_list(&types), &[]),
        ["apis", g] => {
            return discovery::group(&types, g)
                .map(|d| respond(200, &d, &[]))
                .unwrap_or_else(|| error(&ApiError::no_resource()));
        }
        ["api", v] => {
            return discovery::resource_list(&types, "", v)
                .map(|d| respond(200, &d, &[]))
                .unwrap_or_else(|| error(&ApiError::no_resource()));
        }
        ["apis", g, v] => {
            return discovery::resource_list(&types, g, v)
                .map(|d| respond(200, &d, &[]))
                .unwrap_or_else(|| error(&ApiError::no_resource()));
        }
        ["openapi", "v2"] => {
            // An empty document: kubectl only needs it to exist (for kinds no server knows, it
            // then reports "no matches for kind"); CRD schemas are served through v3.
            if accept.contains("protobuf") {
                let mut r = Response::new(Body::from(Bytes::new()));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
                );
                return r;
            }
            return respond(
                200,
                &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {}, "definitions": {}}),
                &[],
            );
        }
        ["openapi", "v3"] => return respond(200, &openapi::root(&types), &[]),
        ["openapi", "v3", rest @ ..] => {
            return openapi::group_version(&types, &rest.join("/"))
                .map(|d| respond(200, &d, &[]))
                .unwrap_or_else(|| error(&ApiError::no_resource()));
        }
        _ => {}
    }
    let Some(target) = parse_resource_path(&seg_refs) else {
        return error(&ApiError::no_resource());
    };
    let ua = user_agent(&req);
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let is_watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (&method, target.name.is_some()) {
        (&Method::GET, false) if is_watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "unknown",
    };
    if content_type.starts_with("application/cbor")
        || (content_type.starts_with(crate::protobuf::CONTENT_TYPE) && verb != "create")
    {
        // Protobuf is understood only for the creates kubectl's typed sub-commands send.
        let e = ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        );
        record(&server, verb, &target, &ua, 415);
        return error(&e);
    }
    let body = if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        match read_body(req, server.cfg.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                record(&server, verb, &target, &ua, e.code);
                return error(&e);
            }
        }
    } else {
        Bytes::new()
    };
    let resp = dispatch(&server, &target, verb, &query, &accept, &content_type, &ua, &body).await;
    record(&server, verb, &target, &ua, resp.status().as_u16());
    if matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    ) && server.cfg.state_file.is_some()
    {
        server.persist.notify_one();
    }
    resp
}

fn record(server: &Server, verb: &str, t: &Target, ua: &str, code: u16) {
    server.control.record(crate::control::RequestRecord {
        verb: verb.into(),
        group: t.group.clone(),
        version: t.version.clone(),
        resource: t.plural.clone(),
        subresource: t.sub.clone().unwrap_or_default(),
        namespace: t.namespace.clone().unwrap_or_default(),
        name: t.name.clone().unwrap_or_default(),
        user_agent: ua.into(),
        code,
    });
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::too_large(limit));
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(ApiError::too_large(limit))
        }
        Err(e) => Err(ApiError::bad_request(format!("reading request body: {e}"))),
    }
}

fn parse_body(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if content_type.starts_with(crate::protobuf::CONTENT_TYPE) {
        return crate::protobuf::decode(body);
    }
    parse_json_or_yaml(body)
}

fn parse_json_or_yaml(body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) => serde_yaml_ng::from_slice::<Value>(body).map_err(|_| {
            ApiError::bad_request(format!("the object provided is unrecognized (must be of type object): couldn't get version/kind; json parse error: {json_err}"))
        }),
    }
}

fn write_opts(query: &HashMap<String, String>, ua: &str, body_dry_run: bool) -> Result<WriteOpts, ApiError> {
    let validation = match query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some("Ignore") => FieldValidation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation must be one of Ignore, Warn, or Strict, got {other:?}"
            )));
        }
    };
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => body_dry_run,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}: supported values: \"All\""
            )));
        }
    };
    let explicit = query.get("fieldManager").filter(|m| !m.is_empty()).cloned();
    let manager = explicit
        .clone()
        .unwrap_or_else(|| ua.split('/').next().unwrap_or_default().to_string());
    Ok(WriteOpts {
        dry_run,
        manager,
        manager_explicit: explicit.is_some(),
        validation,
        force: matches!(query.get("force").map(String::as_str), Some("true" | "1")),
    })
}

fn list_opts(query: &HashMap<String, String>, rt: &ResourceType) -> Result<ListOpts, ApiError> {
    let fields = query
        .get("fieldSelector")
        .filter(|s| !s.is_empty())
        .map(|s| crate::selectors::FieldSelector::parse(s))
        .transpose()?;
    if let Some(f) = &fields {
        for label in f.labels() {
            rt.check_field_label(label).map_err(ApiError::bad_request)?;
        }
    }
    Ok(ListOpts {
        labels: query
            .get("labelSelector")
            .filter(|s| !s.is_empty())
            .map(|s| crate::selectors::LabelSelector::parse(s))
            .transpose()?,
        fields,
        limit: query.get("limit").and_then(|s| s.parse().ok()),
        continue_token: query.get("continue").filter(|s| !s.is_empty()).cloned(),
    })
}

/// `PartialObjectMetadata` form of an object (`Accept: ...;as=PartialObjectMetadata...`).
pub(crate) fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata").cloned().unwrap_or(json!({}))})
}

fn table_include(accept: &str, query: &HashMap<String, String>) -> Option<Include> {
    accept
        .contains("as=Table")
        .then(|| Include::parse(query.get("includeObject").map(String::as_str)))
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    server: &Arc<Server>,
    t: &Target,
    verb: &str,
    query: &HashMap<String, String>,
    accept: &str,
    content_type: &str,
    ua: &str,
    body: &Bytes,
) -> Response<Body> {
    let rt = match server.world.lock() {
        Ok(w) => w.rtype(&t.group, &t.plural),
        Err(_) => return error(&ApiError::internal("store poisoned")),
    };
    let Some(rt) = rt.filter(|rt| rt.version == t.version) else {
        return error(&ApiError::no_resource());
    };
    if verb == "unknown" {
        return error(&ApiError::method_not_allowed());
    }
    if let Some(sub) = &t.sub
        && !((sub == "status" && rt.status_subresource) || (sub == "scale" && rt.scale.is_some()))
    {
        return error(&ApiError::no_resource());
    }
    if rt.review {
        return match verb {
            "create" => review_response(&rt, body, content_type),
            _ => error(&ApiError::method_not_allowed()),
        };
    }
    if t.sub.is_some() && !matches!(verb, "get" | "update" | "patch") {
        return error(&ApiError::method_not_allowed());
    }
    // Namespaced types need a namespace for single-object and create requests.
    let ns = if rt.namespaced {
        match &t.namespace {
            Some(n) => Some(n.clone()),
            None if matches!(verb, "list" | "watch" | "deletecollection") => None,
            None => return error(&ApiError::no_resource()),
        }
    } else {
        if t.namespace.is_some() {
            return error(&ApiError::no_resource());
        }
        None
    };
    if let Some((status, latency)) = server.control.match_fault(verb, &t.plural, ns.as_deref()) {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(code) = status {
            let reason = match code {
                429 => "TooManyRequests",
                500 => "InternalError",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "InternalError",
            };
            return error(&ApiError::new(
                code,
                reason,
                format!("injected fault: {verb} {}", t.plural),
            ));
        }
    }
    let is_write = matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    );
    if is_write && server.control.take_conflict() {
        let name = t.name.clone().unwrap_or_default();
        return error(&ApiError::conflict(crate::status::Target {
            group: &rt.group,
            plural: &rt.plural,
            name: &name,
        }));
    }
    let nsr = ns.as_deref().unwrap_or("");
    let name = t.name.clone().unwrap_or_default();
    let sub = t.sub.clone().unwrap_or_default();
    let table = table_include(accept, query);
    let meta_only = accept.contains("as=PartialObjectMetadata");
    match verb {
        "get" => {
            let Ok(w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            if sub == "scale" {
                return match crate::scale::get(&w, &rt, nsr, &name) {
                    Ok(o) => respond(200, &o, &[]),
                    Err(e) => error(&e),
                };
            }
            match verbs::get(&w, &rt, nsr, &name) {
                Ok(o) if meta_only => respond(200, &partial_metadata(&o), &[]),
                Ok(o) => match table {
                    Some(inc) => respond(
                        200,
                        &table::table(&rt, &[&o], inc, json!({"resourceVersion": w.rv.to_string()})),
                        &[],
                    ),
                    None => respond(200, &o, &[]),
                },
                Err(e) => error(&e),
            }
        }
        "list" => {
            let lo = match list_opts(query, &rt) {
                Ok(l) => l,
                Err(e) => return error(&e),
            };
            let Ok(w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            match verbs::list(&w, &rt, ns.as_deref(), &lo) {
                Ok((items, meta)) if meta_only => {
                    let items: Vec<Value> = items.iter().map(partial_metadata).collect();
                    respond(
                        200,
                        &json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items}),
                        &[],
                    )
                }
                Ok((items, meta)) => match table {
                    Some(inc) => {
                        let refs: Vec<&Value> = items.iter().collect();
                        respond(200, &table::table(&rt, &refs, inc, meta), &[])
                    }
                    None => respond(
                        200,
                        &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": meta, "items": items}),
                        &[],
                    ),
                },
                Err(e) => error(&e),
            }
        }
        "watch" => watch_response(server, rt, ns, query, table, meta_only),
        "create" => {
            let obj = match parse_body(body, content_type) {
                Ok(v) => v,
                Err(e) => return error(&e),
            };
            let opts = match write_opts(query, ua, false) {
                Ok(o) => o,
                Err(e) => return error(&e),
            };
            let Ok(mut w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            match verbs::create(&mut w, &rt, nsr, obj, &opts, false) {
                Ok(o) => respond(o.code, &o.obj, &o.warnings),
                Err(e) => error(&e),
            }
        }
        "update" => {
            let obj = match parse_json_or_yaml(body) {
                Ok(v) => v,
                Err(e) => return error(&e),
            };
            let opts = match write_opts(query, ua, false) {
                Ok(o) => o,
                Err(e) => return error(&e),
            };
            let Ok(mut w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            if sub == "scale" {
                return match crate::scale::update(&mut w, &rt, nsr, &name, &obj, &opts) {
                    Ok(o) => respond(o.code, &o.obj, &o.warnings),
                    Err(e) => error(&e),
                };
            }
            match verbs::replace(&mut w, &rt, nsr, &name, obj, &sub, &opts) {
                Ok(o) => respond(o.code, &o.obj, &o.warnings),
                Err(e) => error(&e),
            }
        }
        "patch" => {
            let kind = match PatchKind::from_content_type(content_type) {
                Ok(k) => k,
                Err(e) => return error(&e),
            };
            let opts = match write_opts(query, ua, false) {
                Ok(o) => o,
                Err(e) => return error(&e),
            };
            let Ok(mut w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            if sub == "scale" {
                return match crate::scale::patch(&mut w, &rt, nsr, &name, kind, body, &opts) {
                    Ok(o) => respond(o.code, &o.obj, &o.warnings),
                    Err(e) => error(&e),
                };
            }
            match verbs::patch(&mut w, &rt, nsr, &name, kind, body, &sub, &opts) {
                Ok(o) => respond(o.code, &o.obj, &o.warnings),
                Err(e) => error(&e),
            }
        }
        "delete" | "deletecollection" => {
            let opts_body: Value = if body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(body).unwrap_or(json!({}))
            };
            let prop = Propagation::parse(
                query
                    .get("propagationPolicy")
                    .map(String::as_str)
                    .or_else(|| opts_body.get("propagationPolicy").and_then(Value::as_str)),
            );
            let prop = if opts_body.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
                Propagation::Orphan
            } else {
                prop
            };
            let body_dry = opts_body
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v == "All"));
            let opts = match write_opts(query, ua, body_dry) {
                Ok(o) => o,
                Err(e) => return error(&e),
            };
            let pre_rv = opts_body
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
            if verb == "delete" {
                let Ok(mut w) = server.world.lock() else {
                    return error(&ApiError::internal("store poisoned"));
                };
                return match verbs::delete(&mut w, &rt, nsr, &name, prop, pre_rv.as_deref(), opts.dry_run) {
                    Ok(o) => respond(200, &o, &[]),
                    Err(e) => error(&e),
                };
            }
            let lo = match list_opts(query, &rt) {
                Ok(l) => l,
                Err(e) => return error(&e),
            };
            let Ok(mut w) = server.world.lock() else {
                return error(&ApiError::internal("store poisoned"));
            };
            let (items, _) = match verbs::list(
                &w,
                &rt,
                ns.as_deref(),
                &ListOpts {
                    limit: None,
                    continue_token: None,
                    ..lo
                },
            ) {
                Ok(x) => x,
                Err(e) => return error(&e),
            };
            let mut out = Vec::new();
            for o in items {
                let (ons, oname) = crate::store::obj_key(&o);
                if let Ok(d) = verbs::delete(&mut w, &rt, &ons, &oname, prop, None, opts.dry_run) {
                    out.push(d);
                }
            }
            respond(
                200,
                &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": {"resourceVersion": w.rv.to_string()}, "items": out}),
                &[],
            )
        }
        _ => error(&ApiError::method_not_allowed()),
    }
}

/// Access reviews: kube-sim has no RBAC, so every question is answered "allowed".
fn review_response(rt: &ResourceType, body: &Bytes, content_type: &str) -> Response<Body> {
    let mut obj = match parse_body(body, content_type) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    if let Err(e) = verbs::check_type(rt, &obj) {
        return error(&e);
    }
    let status = if rt.kind == "SelfSubjectRulesReview" {
        json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        })
    } else {
        json!({"allowed": true, "reason": "kube-sim has no RBAC: every authenticated user may do everything"})
    };
    obj["status"] = status;
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    respond(201, &obj, &[])
}

fn watch_response(
    server: &Arc<Server>,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    query: &HashMap<String, String>,
    table: Option<Include>,
    meta_only: bool,
) -> Response<Body> {
    let lo = match list_opts(query, &rt) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let params = WatchParams {
        namespace: ns,
        list: lo,
        resource_version: query.get("resourceVersion").cloned().unwrap_or_default(),
        bookmarks: matches!(
            query.get("allowWatchBookmarks").map(String::as_str),
            Some("true" | "1")
        ),
        send_initial_events: matches!(
            query.get("sendInitialEvents").map(String::as_str),
            Some("true" | "1")
        ),
        timeout: query
            .get("timeoutSeconds")
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs),
        table,
        meta_only,
        name: None,
    };
    let (tx, rx) = futures::channel::mpsc::channel::<Bytes>(256);
    let start = if server.control.take_gone() {
        let rv = params.resource_version.parse().unwrap_or(0);
        Err(ApiError::gone(rv, server.world.lock().map(|w| w.rv).unwrap_or(0)))
    } else {
        match server.world.lock() {
            Ok(w) => watch::start(&w, &rt, &params),
            Err(_) => Err(ApiError::internal("store poisoned")),
        }
    };
    match start {
        Ok((first, brx, rv)) => {
            tokio::spawn(watch::run(
                rt,
                params,
                first,
                brx,
                rv,
                server.control.clone(),
                server.cfg.bookmark_interval,
                tx,
            ));
        }
        Err(e) if e.code == 410 => {
            // Like kube-apiserver: 200 with a single ERROR event, then the stream ends.
            let mut tx = tx;
            let line = watch::error_line(&e);
            tokio::spawn(async move {
                use futures::SinkExt;
                let _ = tx.send(line).await;
            });
        }
        Err(e) => return error(&e),
    }
    let stream = futures::StreamExt::map(rx, Ok::<Bytes, Infallible>);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        http::header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    r
}

fn control_endpoint(server: &Server, method: &Method, path: &[&str], body: &[u8]) -> Response<Body> {
    let c = &server.control;
    let v: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let count = v.get("count").and_then(Value::as_u64).unwrap_or(1);
    let ok = || respond(200, &json!({"ok": true}), &[]);
    match (method, path) {
        (&Method::POST, ["conflicts"]) => {
            c.conflict_next_writes(count);
            ok()
        }
        (&Method::POST, ["watches", "close"]) => {
            c.close_watches();
            ok()
        }
        (&Method::POST, ["watches", "gone"]) => {
            c.gone_next_watches(count);
            ok()
        }
        (&Method::POST, ["watches", "bookmark"]) => {
            c.send_bookmarks();
            ok()
        }
        (&Method::POST, ["history", "expire"]) => {
            c.expire_history();
            ok()
        }
        (&Method::POST, ["faults"]) => match serde_json::from_value::<FaultRule>(v) {
            Ok(rule) => {
                c.add_fault(rule);
                ok()
            }
            Err(e) => error(&ApiError::bad_request(e.to_string())),
        },
        (&Method::DELETE, ["faults"]) => {
            c.clear_faults();
            ok()
        }
        (&Method::GET, ["requests"]) => respond(200, &json!(c.requests()), &[]),
        (&Method::DELETE, ["requests"]) => {
            c.clear_requests();
            ok()
        }
        (&Method::GET, ["counters"]) => respond(200, &json!(c.counters()), &[]),
        _ => error(&ApiError::no_resource()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths() {
        let t =
            parse_resource_path(&["api", "v1", "namespaces", "default", "secrets", "s"]).unwrap_or_default();
        assert_eq!(
            (t.plural.as_str(), t.namespace.as_deref(), t.name.as_deref()),
            ("secrets", Some("default"), Some("s"))
        );
        let t = parse_resource_path(&["api", "v1", "namespaces", "foo", "status"]).unwrap_or_default();
        assert_eq!(
            (t.plural.as_str(), t.name.as_deref(), t.sub.as_deref()),
            ("namespaces", Some("foo"), Some("status"))
        );
        let t = parse_resource_path(&["apis", "g.dev", "v1", "things"]).unwrap_or_default();
        assert_eq!(
            (t.group.as_str(), t.plural.as_str(), t.name),
            ("g.dev", "things", None)
        );
    }
}
