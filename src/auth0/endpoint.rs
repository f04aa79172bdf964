//! The Management API calls this client makes, with their route templates.

use super::budget::Priority;
use super::error::CREATE_ROUTE;

/// The Management API calls, each with its route template (the `endpoint` metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `POST /oauth/token`
    Token,
    /// `GET /custom-domains` (plain or paged)
    ListDomains,
    /// `POST /custom-domains`
    CreateDomain,
    /// `GET /custom-domains/{id}`
    GetDomain,
    /// `PATCH /custom-domains/{id}`
    PatchDomain,
    /// `DELETE /custom-domains/{id}`
    DeleteDomain,
    /// `POST /custom-domains/{id}/verify`
    VerifyDomain,
    /// `GET /custom-domains/default`
    GetDefaultDomain,
    /// `PATCH /custom-domains/default`
    SetDefaultDomain,
    /// `GET /tenants/settings`
    GetTenantSettings,
    /// `PATCH /tenants/settings`
    PatchTenantSettings,
}

impl Endpoint {
    /// Route template, e.g. `POST /custom-domains/{id}/verify`.
    pub fn route(self) -> &'static str {
        match self {
            Self::Token => "POST /oauth/token",
            Self::ListDomains => "GET /custom-domains",
            Self::CreateDomain => CREATE_ROUTE,
            Self::GetDomain => "GET /custom-domains/{id}",
            Self::PatchDomain => "PATCH /custom-domains/{id}",
            Self::DeleteDomain => "DELETE /custom-domains/{id}",
            Self::VerifyDomain => "POST /custom-domains/{id}/verify",
            Self::GetDefaultDomain => "GET /custom-domains/default",
            Self::SetDefaultDomain => "PATCH /custom-domains/default",
            Self::GetTenantSettings => "GET /tenants/settings",
            Self::PatchTenantSettings => "PATCH /tenants/settings",
        }
    }

    pub(crate) fn method(self) -> reqwest::Method {
        match self {
            Self::ListDomains | Self::GetDomain | Self::GetDefaultDomain | Self::GetTenantSettings => {
                reqwest::Method::GET
            }
            Self::Token | Self::CreateDomain | Self::VerifyDomain => reqwest::Method::POST,
            Self::PatchDomain | Self::SetDefaultDomain | Self::PatchTenantSettings => reqwest::Method::PATCH,
            Self::DeleteDomain => reqwest::Method::DELETE,
        }
    }

    pub(crate) fn is_verify(self) -> bool {
        self == Self::VerifyDomain
    }

    /// A create starts new work; everything else moves work in progress forward.
    pub(crate) fn priority(self) -> Priority {
        match self {
            Self::CreateDomain => Priority::Start,
            _ => Priority::Finish,
        }
    }
}
