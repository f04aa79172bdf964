//! The simulator's own CA and the server certificate it signs (API and edge share it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::Error;

/// Files written to the TLS directory.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// PEM of the CA clients must trust.
    pub ca_pem: String,
    /// Path of `ca.pem`.
    pub ca_file: PathBuf,
    /// rustls configuration serving the server certificate.
    pub server_config: Arc<rustls::ServerConfig>,
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

// Deterministic so a CA key loaded from disk yields the same issuer name as the stored ca.pem.
fn ca_params() -> Result<CertificateParams, Error> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "auth0-sim test CA");
    dn.push(DnType::OrganizationName, "auth0-domain-operator tests");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2040, 1, 1);
    Ok(p)
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

fn load_ca(ca_file: &Path, key_file: &Path) -> Option<(String, KeyPair)> {
    let pem = std::fs::read_to_string(ca_file).ok()?;
    let key = KeyPair::from_pem(&std::fs::read_to_string(key_file).ok()?).ok()?;
    Some((pem, key))
}

/// Loads the CA of `dir`, or creates it. Several simulators may start at once on one directory
/// (the conformance suites do): the key is claimed with an exclusive hard link, so exactly one
/// process creates the CA and the others wait for its `ca.pem`.
fn ca(dir: &Path) -> Result<(String, KeyPair), Error> {
    let ca_file = dir.join("ca.pem");
    let key_file = dir.join("ca-key.pem");
    if let Some(found) = load_ca(&ca_file, &key_file) {
        return Ok(found);
    }
    let key = KeyPair::generate().map_err(tls_err)?;
    let pem = ca_params()?.self_signed(&key).map_err(tls_err)?.pem();
    let tag = format!("{}-{}", std::process::id(), rand::random::<u64>());
    let key_tmp = dir.join(format!(".ca-key.pem.{tag}"));
    let ca_tmp = dir.join(format!(".ca.pem.{tag}"));
    write(&key_tmp, &key.serialize_pem())?;
    write(&ca_tmp, &pem)?;
    let claimed = std::fs::hard_link(&key_tmp, &key_file).is_ok();
    let _ = std::fs::remove_file(&key_tmp);
    if claimed {
        std::fs::rename(&ca_tmp, &ca_file).map_err(|source| Error::Io {
            action: "rename",
            path: ca_file.clone(),
            source,
        })?;
        return Ok((pem, key));
    }
    let _ = std::fs::remove_file(&ca_tmp);
    // Another process owns the key; its ca.pem follows right after.
    for _ in 0..500 {
        if let Some(found) = load_ca(&ca_file, &key_file) {
            return Ok(found);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(Error::Tls(format!(
        "{} exists but {} never appeared",
        key_file.display(),
        ca_file.display()
    )))
}

/// Loads the CA from `dir` (or creates it) and issues a server certificate for `names`
/// (DNS names and IP addresses; wildcards allowed). Only `ca.pem` and `ca-key.pem` are written.
pub fn prepare(dir: &Path, names: &[String]) -> Result<TlsMaterial, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let ca_file = dir.join("ca.pem");
    let (ca_pem, ca_key) = ca(dir)?;
    let issuer = Issuer::new(ca_params()?, ca_key);

    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    params.distinguished_name.push(DnType::CommonName, "auth0-sim");
    for n in names {
        let host = n.split(':').next().unwrap_or(n);
        let san = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.to_string().try_into().map_err(tls_err)?),
        };
        if !params.subject_alt_names.contains(&san) {
            params.subject_alt_names.push(san);
        }
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2039, 1, 1);
    let key = KeyPair::generate().map_err(tls_err)?;
    let cert = params.signed_by(&key, &issuer).map_err(tls_err)?;

    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key_der = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(tls_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem,
        ca_file,
        server_config: Arc::new(config),
    })
}
