//! The tenant's persistent state: domains, issued keys, default domain, settings; and the
//! state file (atomic temp + rename on every change).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::Domain;
use crate::error::Error;

/// A key handed out by a first successful verify (bookkeeping survives deletion of the domain).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IssuedKey {
    /// Domain id.
    pub id: String,
    /// Hostname.
    pub domain: String,
    /// The key.
    pub cname_api_key: String,
    /// ISO 8601 issue time.
    pub issued_at: String,
}

/// Everything that survives a restart.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct World {
    /// Domains by id.
    pub domains: BTreeMap<String, Domain>,
    /// Names of deleted domains by id, so a `from` checkpoint that was deleted still resolves.
    #[serde(default)]
    pub tombstones: BTreeMap<String, String>,
    /// Every key ever issued.
    #[serde(default)]
    pub issued_keys: Vec<IssuedKey>,
    /// Default custom domain (hostname); `None` = the canonical domain.
    #[serde(default)]
    pub default_domain: Option<String>,
    /// Tenant settings object.
    pub settings: Value,
    /// Creation counter.
    #[serde(default)]
    pub seq: u64,
    /// Token generation: tokens of older generations are expired.
    #[serde(default)]
    pub token_generation: u64,
    /// Secret signing access tokens (base64), so tokens survive a restart.
    pub jwt_secret: String,
    /// Domains created since the start of the state.
    #[serde(default)]
    pub domains_created: u64,
    /// Name → id index, rebuilt on load.
    #[serde(skip)]
    names: HashMap<String, String>,
}

/// Default tenant settings.
pub fn default_settings(tenant: &str) -> Value {
    json!({
        "friendly_name": tenant,
        "picture_url": "",
        "support_email": "",
        "support_url": "",
        "allowed_logout_urls": [],
        "session_lifetime": 168,
        "idle_session_lifetime": 72,
        "sandbox_version": "22",
        "default_audience": "",
        "default_directory": "",
        "enabled_locales": ["en"],
        "flags": {
            "enable_client_connections": true,
            "revoke_refresh_token_grant": false,
            "disable_clickjack_protection_headers": false
        },
        "mtls": {"enable_endpoint_aliases": false},
        "customize_mfa_in_postlogin_action": false,
        "pushed_authorization_requests_supported": false
    })
}

/// Random string of `n` alphanumerics.
pub fn random_alnum(rng: &mut impl Rng, n: usize) -> String {
    (0..n).map(|_| char::from(rng.sample(Alphanumeric))).collect()
}

impl World {
    /// A fresh tenant.
    pub fn new(tenant: &str, rng: &mut impl Rng) -> Self {
        use base64::Engine as _;
        let secret: [u8; 32] = rng.random();
        Self {
            domains: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            issued_keys: Vec::new(),
            default_domain: None,
            settings: default_settings(tenant),
            seq: 0,
            token_generation: 0,
            jwt_secret: base64::engine::general_purpose::STANDARD.encode(secret),
            domains_created: 0,
            names: HashMap::new(),
        }
    }

    /// Loads the state file if it exists.
    pub fn load(path: &Path) -> Result<Option<Self>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut world: World = serde_json::from_str(&text).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        })?;
        world.reindex();
        // State written before `created_ms` existed: creation time unknown, use the load time.
        let now = crate::domain::now_ms();
        for d in world.domains.values_mut().filter(|d| d.created_ms == 0) {
            d.created_ms = now;
        }
        Ok(Some(world))
    }

    /// Writes the state atomically (temp file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_vec(self).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tmp = PathBuf::from(path);
        tmp.set_extension(format!("tmp{}", std::process::id()));
        let io = |action, source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, text).map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("rename", e))
    }

    /// Rebuilds the name index.
    pub fn reindex(&mut self) {
        self.names = self
            .domains
            .values()
            .map(|d| (d.domain.clone(), d.id.clone()))
            .collect();
    }

    /// Id of the domain with this hostname.
    pub fn id_by_name(&self, name: &str) -> Option<&String> {
        self.names.get(name)
    }

    /// Inserts a new domain.
    pub fn insert(&mut self, d: Domain) {
        self.names.insert(d.domain.clone(), d.id.clone());
        self.domains.insert(d.id.clone(), d);
    }

    /// Removes a domain; returns it.
    pub fn remove(&mut self, id: &str) -> Option<Domain> {
        let d = self.domains.remove(id)?;
        self.names.remove(&d.domain);
        self.tombstones.insert(d.id.clone(), d.domain.clone());
        if self.default_domain.as_deref() == Some(d.domain.as_str()) {
            self.default_domain = None;
        }
        Some(d)
    }

    /// The key issued for a domain id, if any.
    pub fn key_of(&self, id: &str) -> Option<&IssuedKey> {
        self.issued_keys.iter().rev().find(|k| k.id == id)
    }
}
