//! `GET/PATCH /tenants/settings`.

use serde_json::{Map, Value};

use crate::api_error::ApiError;
use crate::tenant::{Tenant, lock};
use crate::validate::{self, type_name};

/// Top-level settings a PATCH may carry besides those in the default object.
const EXTRA_SETTINGS: &[&str] = &[
    "default_redirection_uri",
    "session_cookie",
    "error_page",
    "device_flow",
    "guardian_mfa_page",
    "change_password",
    "universal_login",
    "sessions",
    "oidc_logout",
    "acr_values_supported",
    "allow_organization_name_in_authentication_api",
    "default_token_quota",
];

fn bad(msg: String) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: '{msg}'."))
}

fn bad_prop(msg: String, prop: &str) -> ApiError {
    ApiError::invalid_body(format!("Payload validation error: '{msg}' on property {prop}."))
}

/// Deep-merges `patch` into `into`, checking types against what is there.
fn merge(into: &mut Map<String, Value>, patch: Map<String, Value>, path: &str) -> Result<(), ApiError> {
    for (k, v) in patch {
        let prop = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match (into.get_mut(&k), v) {
            (Some(Value::Object(cur)), Value::Object(p)) => merge(cur, p, &prop)?,
            (Some(cur), v) if !cur.is_null() && !v.is_null() && type_name(cur) != type_name(&v) => {
                let want = type_name(cur);
                // integers are numbers too
                if !(want == "number" && type_name(&v) == "integer") {
                    return Err(bad_prop(
                        format!("Expected type {want} but found type {}", type_name(&v)),
                        &prop,
                    ));
                }
                into.insert(k, v);
            }
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
    Ok(())
}

impl Tenant {
    /// `GET /tenants/settings` with optional `fields`/`include_fields`.
    pub fn get_settings(&self, raw_query: Option<&str>) -> Result<Value, ApiError> {
        let mut fields: Vec<String> = Vec::new();
        let mut include = true;
        for (k, v) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "fields" => fields = v.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                "include_fields" => include = v != "false",
                other => {
                    return Err(ApiError::invalid_query(format!(
                        "Query validation error: 'Additional properties not allowed: {other}'."
                    )));
                }
            }
        }
        let settings = lock(&self.world).settings.clone();
        if fields.is_empty() {
            return Ok(settings);
        }
        let Value::Object(m) = settings else {
            return Ok(settings);
        };
        Ok(Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.contains(k) == include)
                .collect(),
        ))
    }

    /// `PATCH /tenants/settings`.
    pub fn patch_settings(&self, body: &[u8]) -> Result<Value, ApiError> {
        let patch = validate::parse_object(body)?;
        let mut world = lock(&self.world);
        let Value::Object(current) = &world.settings else {
            return Err(bad("settings are corrupt".into()));
        };
        let unknown: Vec<&str> = patch
            .keys()
            .map(String::as_str)
            .filter(|k| !current.contains_key(*k) && !EXTRA_SETTINGS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(bad(format!(
                "Additional properties not allowed: {}",
                unknown.join(",")
            )));
        }
        if let Some(mtls) = patch.get("mtls") {
            let Value::Object(m) = mtls else {
                return Err(bad_prop(
                    format!("Expected type object but found type {}", type_name(mtls)),
                    "mtls",
                ));
            };
            if let Some(extra) = m.keys().find(|k| k.as_str() != "enable_endpoint_aliases") {
                return Err(bad_prop(
                    format!("Additional properties not allowed: {extra}"),
                    "mtls",
                ));
            }
            if let Some(v) = m.get("enable_endpoint_aliases").filter(|v| !v.is_boolean()) {
                return Err(bad_prop(
                    format!("Expected type boolean but found type {}", type_name(v)),
                    "mtls.enable_endpoint_aliases",
                ));
            }
        }
        let mut next = current.clone();
        merge(&mut next, patch, "")?;
        world.settings = Value::Object(next);
        self.persist(&world)?;
        Ok(world.settings.clone())
    }
}
