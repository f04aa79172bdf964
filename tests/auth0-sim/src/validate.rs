//! Payload validation with Auth0's (z-schema) wording: `Payload validation error: '…' on property …`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::api_error::ApiError;
use crate::domain::DomainType;

/// Allowed values of `custom_client_ip_header`.
pub const CLIENT_IP_HEADERS: &[&str] = &[
    "true-client-ip",
    "cf-connecting-ip",
    "x-forwarded-for",
    "x-azure-clientip",
    "",
];
/// Maximum `domain_metadata` keys.
pub const MAX_METADATA_KEYS: usize = 10;
/// Maximum length of a `domain_metadata` value.
pub const MAX_METADATA_VALUE: usize = 255;

const CREATE_FIELDS: &[&str] = &[
    "domain",
    "type",
    "verification_method",
    "tls_policy",
    "custom_client_ip_header",
    "domain_metadata",
    "relying_party_identifier",
];
const PATCH_FIELDS: &[&str] = &[
    "tls_policy",
    "custom_client_ip_header",
    "domain_metadata",
    "relying_party_identifier",
];

/// A validated create request.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    /// Hostname.
    pub domain: String,
    /// Type.
    pub kind: DomainType,
    /// `tls_policy`.
    pub tls_policy: Option<String>,
    /// `custom_client_ip_header` (`None` also for an explicit null).
    pub custom_client_ip_header: Option<String>,
    /// `domain_metadata`.
    pub domain_metadata: BTreeMap<String, String>,
    /// `relying_party_identifier`.
    pub relying_party_identifier: Option<String>,
    /// `domain_metadata` was in the body (then it is shown, even empty).
    pub metadata_sent: bool,
}

/// A validated patch: `Some(None)` = remove.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    /// `tls_policy`.
    pub tls_policy: Option<String>,
    /// `custom_client_ip_header`: `Some(None)` = null.
    pub custom_client_ip_header: Option<Option<String>>,
    /// Metadata changes: key → `None` removes.
    pub domain_metadata: Option<BTreeMap<String, Option<String>>>,
    /// `relying_party_identifier`: `Some(None)` = remove.
    pub relying_party_identifier: Option<Option<String>>,
}

fn payload_err(inner: &str, property: Option<&str>) -> ApiError {
    match property {
        Some(p) => ApiError::invalid_body(format!("Payload validation error: '{inner}' on property {p}.")),
        None => ApiError::invalid_body(format!("Payload validation error: '{inner}'.")),
    }
}

/// JSON type name as z-schema spells it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_type(expected: &str, v: &Value, property: Option<&str>) -> ApiError {
    payload_err(
        &format!("Expected type {expected} but found type {}", type_name(v)),
        property,
    )
}

/// Parses a request body into a JSON object, with Auth0's answers for bad JSON.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid_body("Invalid request payload JSON format"))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(wrong_type("object", &other, None)),
    }
}

fn reject_unknown(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(payload_err(
            &format!("Additional properties not allowed: {}", unknown.join(",")),
            None,
        ))
    }
}

/// The API schema's pattern of `domain`.
pub const DOMAIN_PATTERN: &str = "^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9])\\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9])$";

/// True when `s` matches [`DOMAIN_PATTERN`]: dot-separated labels of 1–63 letters, digits and
/// inner hyphens (no wildcard, underscore, empty label or trailing dot).
pub fn matches_domain_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn domain_field(v: &Value) -> Result<String, ApiError> {
    const PROP: &str = "domain (Domain name.)";
    let Value::String(s) = v else {
        return Err(wrong_type("string", v, Some("domain")));
    };
    let n = s.chars().count();
    if n < 3 {
        return Err(payload_err(
            &format!("String is too short ({n} chars), minimum 3"),
            Some(PROP),
        ));
    }
    if n > 255 {
        return Err(payload_err(
            &format!("String is too long ({n} chars), maximum 255"),
            Some(PROP),
        ));
    }
    if !matches_domain_pattern(s) {
        return Err(payload_err(
            &format!("String does not match pattern {DOMAIN_PATTERN}: {s}"),
            Some(PROP),
        ));
    }
    Ok(s.clone())
}

/// The type rule of `tls_policy` (Auth0-managed only) and `custom_client_ip_header`
/// (self-managed only), with the API's 400 texts.
pub fn check_type_fields(kind: DomainType, tls_policy: bool, client_ip_header: bool) -> Result<(), ApiError> {
    if tls_policy && kind == DomainType::SelfManagedCerts {
        return Err(ApiError::invalid_body(
            "The 'tls_policy' cannot be set on self_managed domains",
        ));
    }
    if client_ip_header && kind == DomainType::Auth0ManagedCerts {
        return Err(ApiError::invalid_body(
            "The 'custom_client_ip_header' cannot be set on auth0_managed domains",
        ));
    }
    Ok(())
}

/// `relying_party_identifier` must be the domain itself or a parent domain of it.
pub fn check_relying_party(domain: &str, rp: &str) -> Result<(), ApiError> {
    let domain = domain.to_ascii_lowercase();
    let rp = rp.to_ascii_lowercase();
    if domain == rp || domain.ends_with(&format!(".{rp}")) {
        Ok(())
    } else {
        Err(ApiError::invalid_body(
            "The 'relying_party_identifier' must be equal to or a registrable domain suffix of the domain.",
        ))
    }
}

/// True when `s` is a lower-case DNS hostname with at least two labels and no wildcard.
pub fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 || s.ends_with('.') {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    // An IPv4 address is not a domain.
    if labels
        .iter()
        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

fn string_enum(v: &Value, allowed: &[&str], property: &str, description: &str) -> Result<String, ApiError> {
    let Value::String(s) = v else {
        return Err(wrong_type("string", v, Some(property)));
    };
    if allowed.contains(&s.as_str()) {
        Ok(s.clone())
    } else {
        Err(payload_err(
            &format!("No enum match for: \"{s}\""),
            Some(&format!("{property} ({description})")),
        ))
    }
}

fn client_ip_header(v: &Value) -> Result<Option<String>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    string_enum(
        v,
        CLIENT_IP_HEADERS,
        "custom_client_ip_header",
        "The HTTP header to fetch the client's IP address",
    )
    .map(Some)
}

fn tls_policy(v: &Value) -> Result<String, ApiError> {
    string_enum(v, &["recommended"], "tls_policy", "recommended includes TLS 1.2")
}

fn metadata_object(v: &Value, allow_null: bool) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let Value::Object(m) = v else {
        return Err(wrong_type("object", v, Some("domain_metadata")));
    };
    if m.len() > MAX_METADATA_KEYS {
        return Err(payload_err(
            &format!(
                "Too many properties defined ({}), maximum {MAX_METADATA_KEYS}",
                m.len()
            ),
            Some("domain_metadata"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, val) in m {
        let prop = format!("domain_metadata.{k}");
        if k.is_empty() || k.len() > MAX_METADATA_VALUE {
            return Err(payload_err("Metadata keys must be 1-255 characters", Some(&prop)));
        }
        match val {
            Value::Null if allow_null => {
                out.insert(k.clone(), None);
            }
            Value::String(s) if s.chars().count() > MAX_METADATA_VALUE => {
                return Err(payload_err(
                    &format!(
                        "String is too long ({} chars), maximum {MAX_METADATA_VALUE}",
                        s.chars().count()
                    ),
                    Some(&prop),
                ));
            }
            Value::String(s) => {
                out.insert(k.clone(), Some(s.clone()));
            }
            other => return Err(wrong_type("string", other, Some(&prop))),
        }
    }
    Ok(out)
}

fn relying_party(v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if is_hostname(s) => Ok(Some(s.clone())),
        Value::String(_) => Err(payload_err(
            "Object didn't pass validation for format hostname: not a domain!",
            Some(
                "relying_party_identifier (Relying Party ID (rpId) to be used for Passkeys on this custom domain.)",
            ),
        )),
        other => Err(wrong_type("string", other, Some("relying_party_identifier"))),
    }
}

/// Validates `POST /custom-domains`.
pub fn create(body: &[u8], strict_type_fields: bool) -> Result<CreateRequest, ApiError> {
    let obj = parse_object(body)?;
    reject_unknown(&obj, CREATE_FIELDS)?;
    for required in ["domain", "type"] {
        if !obj.contains_key(required) {
            return Err(payload_err(
                &format!("Missing required property: {required}"),
                None,
            ));
        }
    }
    let domain = domain_field(&obj["domain"])?;
    let kind = match string_enum(
        &obj["type"],
        &["auth0_managed_certs", "self_managed_certs"],
        "type",
        "Custom domain provisioning type. Must be `auth0_managed_certs` or `self_managed_certs`.",
    )?
    .as_str()
    {
        "auth0_managed_certs" => DomainType::Auth0ManagedCerts,
        _ => DomainType::SelfManagedCerts,
    };
    if let Some(v) = obj.get("verification_method") {
        string_enum(
            v,
            &["txt"],
            "verification_method",
            "Custom domain verification method. Must be `txt`.",
        )?;
    }
    let tls_policy = obj.get("tls_policy").map(tls_policy).transpose()?;
    let custom_client_ip_header = match obj.get("custom_client_ip_header") {
        Some(v) => client_ip_header(v)?,
        None => None,
    };
    if strict_type_fields {
        check_type_fields(kind, tls_policy.is_some(), custom_client_ip_header.is_some())?;
    }
    let domain_metadata = match obj.get("domain_metadata") {
        Some(v) => metadata_object(v, false)?
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        None => BTreeMap::new(),
    };
    let relying_party_identifier = match obj.get("relying_party_identifier") {
        Some(v) => relying_party(v)?,
        None => None,
    };
    if let Some(rp) = &relying_party_identifier {
        check_relying_party(&domain, rp)?;
    }
    Ok(CreateRequest {
        metadata_sent: obj.contains_key("domain_metadata"),
        domain,
        kind,
        tls_policy,
        custom_client_ip_header,
        domain_metadata,
        relying_party_identifier,
    })
}

/// Validates `PATCH /custom-domains/{id}`.
pub fn patch(body: &[u8]) -> Result<PatchRequest, ApiError> {
    let obj = parse_object(body)?;
    reject_unknown(&obj, PATCH_FIELDS)?;
    let mut req = PatchRequest::default();
    if let Some(v) = obj.get("tls_policy") {
        req.tls_policy = Some(tls_policy(v)?);
    }
    if let Some(v) = obj.get("custom_client_ip_header") {
        req.custom_client_ip_header = Some(client_ip_header(v)?);
    }
    if let Some(v) = obj.get("domain_metadata") {
        req.domain_metadata = Some(metadata_object(v, true)?);
    }
    if let Some(v) = obj.get("relying_party_identifier") {
        req.relying_party_identifier = Some(relying_party(v)?);
    }
    Ok(req)
}

/// Applies metadata changes; `merge` keeps keys not sent. Errors when the result has too many keys.
pub fn apply_metadata(
    current: &BTreeMap<String, String>,
    changes: &BTreeMap<String, Option<String>>,
    merge: bool,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = if merge { current.clone() } else { BTreeMap::new() };
    for (k, v) in changes {
        match v {
            Some(v) => {
                out.insert(k.clone(), v.clone());
            }
            None => {
                out.remove(k);
            }
        }
    }
    if out.len() > MAX_METADATA_KEYS {
        return Err(payload_err(
            &format!(
                "Too many properties defined ({}), maximum {MAX_METADATA_KEYS}",
                out.len()
            ),
            Some("domain_metadata"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for ok in ["login.example.com", "a-b.c.io", "x1.y2"] {
            assert!(is_hostname(ok), "{ok}");
        }
        for bad in [
            "*.example.com",
            "example",
            "Login.example.com",
            "-a.com",
            "a..com",
            "1.2.3.4",
            "a.com.",
            "",
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
        assert!(!is_hostname(&format!("{}.com", "a".repeat(64))));
    }

    #[test]
    fn domain_pattern() {
        for ok in [
            "login.example.com",
            "Login.Example.com",
            "a-b.c.io",
            "x1.y2",
            "localhost",
        ] {
            assert!(matches_domain_pattern(ok), "{ok}");
        }
        for bad in [
            "*.example.com",
            "a_b.example.com",
            "-a.com",
            "a..com",
            "a.com.",
            "",
        ] {
            assert!(!matches_domain_pattern(bad), "{bad}");
        }
        assert!(!matches_domain_pattern(&format!("{}.com", "a".repeat(64))));
        let e = create(
            br#"{"domain":"a_b.example.com","type":"self_managed_certs"}"#,
            true,
        )
        .unwrap_err();
        assert!(
            e.message.contains("String does not match pattern"),
            "{}",
            e.message
        );
        let e = create(br#"{"domain":"ab","type":"self_managed_certs"}"#, true).unwrap_err();
        assert!(e.message.contains("too short"), "{}", e.message);
    }

    #[test]
    fn type_fields_and_relying_party() {
        let e = create(
            br#"{"domain":"a.example.com","type":"self_managed_certs","tls_policy":"recommended"}"#,
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "The 'tls_policy' cannot be set on self_managed domains"
        );
        assert!(
            create(
                br#"{"domain":"a.example.com","type":"self_managed_certs","tls_policy":"recommended"}"#,
                false,
            )
            .is_ok()
        );
        let e = create(
            br#"{"domain":"a.example.com","type":"auth0_managed_certs","custom_client_ip_header":"cf-connecting-ip"}"#,
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "The 'custom_client_ip_header' cannot be set on auth0_managed domains"
        );
        assert!(check_relying_party("login.example.com", "example.com").is_ok());
        assert!(check_relying_party("login.example.com", "login.example.com").is_ok());
        assert!(check_relying_party("login.example.com", "other.com").is_err());
        assert!(check_relying_party("login.example.com", "ample.com").is_err());
    }

    #[test]
    fn create_messages() {
        let e = create(br#"{"domain":"a.com","type":"x"}"#, false).unwrap_err();
        assert!(
            e.message
                .starts_with("Payload validation error: 'No enum match for: \"x\"' on property type")
        );
        let e = create(
            br#"{"domain":"a.com","type":"self_managed_certs","nope":1}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Payload validation error: 'Additional properties not allowed: nope'."
        );
        let e = create(br#"{"type":"self_managed_certs"}"#, false).unwrap_err();
        assert_eq!(
            e.message,
            "Payload validation error: 'Missing required property: domain'."
        );
        let e = create(b"{", false).unwrap_err();
        assert_eq!(e.error_code, Some("invalid_body"));
    }

    #[test]
    fn metadata_merge_and_replace() {
        let cur: BTreeMap<String, String> = [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let ch: BTreeMap<String, Option<String>> =
            [("a".into(), None), ("c".into(), Some("3".into()))].into();
        let merged = apply_metadata(&cur, &ch, true).unwrap();
        assert_eq!(merged.keys().collect::<Vec<_>>(), ["b", "c"]);
        let replaced = apply_metadata(&cur, &ch, false).unwrap();
        assert_eq!(replaced.keys().collect::<Vec<_>>(), ["c"]);
    }
}
