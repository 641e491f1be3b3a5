//! Which resource a token request is for: `resource` on v1, `scope` on v2 (`{resource}/.default`
//! for app-only requests, named permissions and OpenID scopes for users), and the refusals of a
//! scope that names no resource, a permission without `/.default`, or several resources.

use super::refusal::LoginError;
use super::request::{Endpoint, TokenRequest};
use crate::directory::ServicePrincipal;
use crate::tenant::Tenant;

/// Scopes that ask for OpenID Connect artefacts, not for a resource.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email"];

/// A v2 `scope` split into the resource it names and its OpenID scopes.
pub struct ScopeRequest {
    pub resource: String,
    pub oidc: Vec<String>,
}

/// Splits `scope`; a permission without a resource is for `default_resource` when there is one.
pub fn parse_scope(
    scope: &str,
    default_resource: Option<&str>,
) -> Result<ScopeRequest, LoginError> {
    let invalid = || LoginError::InvalidScope {
        scope: scope.to_string(),
    };
    let mut resource: Option<String> = None;
    let mut oidc = Vec::new();
    for item in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()) {
            oidc.push(item.to_ascii_lowercase());
            continue;
        }
        let res = match item.rfind('/') {
            Some(i) if i > 0 && i + 1 < item.len() => item[..i].to_string(),
            Some(_) => return Err(invalid()),
            None => default_resource.ok_or_else(invalid)?.to_string(),
        };
        match &resource {
            Some(r)
                if !r
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(res.trim_end_matches('/')) =>
            {
                return Err(LoginError::MultipleResources);
            }
            _ => resource = Some(res),
        }
    }
    let resource = resource.ok_or_else(invalid)?;
    Ok(ScopeRequest { resource, oidc })
}

/// Whether a v2 `scope` asks for a permission other than `.default` on a named resource.
fn names_a_permission(scope: &str) -> bool {
    scope
        .split_whitespace()
        .filter(|item| !OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()))
        .filter_map(|item| match item.rfind('/') {
            Some(i) if i > 0 && i + 1 < item.len() => Some(&item[i + 1..]),
            _ => None,
        })
        .any(|permission| permission != ".default")
}

/// `resource` (v1) or `scope` (v2), which must be present.
pub fn resource_parameter<'f>(req: &'f TokenRequest<'_>) -> Result<&'f str, LoginError> {
    match req.endpoint {
        Endpoint::V1 => req.form.require("resource"),
        Endpoint::V2 => req.form.require("scope"),
    }
}

/// The resource service principal a request names, or AADSTS500011 with the name it used.
pub fn named_resource<'t>(
    tenant: &'t Tenant,
    name: &str,
) -> Result<&'t ServicePrincipal, LoginError> {
    tenant
        .directory
        .resource(name)
        .ok_or_else(|| LoginError::ResourceNotFound {
            resource: name.to_string(),
            tenant: tenant.id.to_string(),
        })
}

/// The resource of an app-only request: `{resource}/.default` on v2, `resource` on v1.
pub fn app_resource<'t>(
    tenant: &'t Tenant,
    endpoint: Endpoint,
    param: &str,
) -> Result<(String, &'t ServicePrincipal), LoginError> {
    let name = match endpoint {
        Endpoint::V1 => param.trim().to_string(),
        Endpoint::V2 => {
            // A named permission is refused before the resources are compared (1002012, then
            // 700022), in the documented order of checks.
            if names_a_permission(param) {
                return Err(LoginError::ScopeWithoutDefault {
                    scope: param.to_string(),
                });
            }
            parse_scope(param, None)?.resource
        }
    };
    let sp = named_resource(tenant, &name)?;
    Ok((name, sp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::TenantFixture;

    /// Regression (found by `mock-graph/tests/it/prop_assertion.rs`): a named permission and a second
    /// resource in one scope gave 700022; the documented order says 1002012 comes first.
    #[test]
    fn named_permission_is_refused_before_multiple_resources() {
        let tenant = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        let scope = "https://graph.microsoft.com/User.Read https://unknown.example.com/.default";
        assert!(matches!(
            app_resource(&tenant, Endpoint::V2, scope),
            Err(LoginError::ScopeWithoutDefault { .. })
        ));
        assert!(matches!(
            app_resource(
                &tenant,
                Endpoint::V2,
                "https://graph.microsoft.com/.default https://unknown.example.com/.default"
            ),
            Err(LoginError::MultipleResources)
        ));
    }

    #[test]
    fn scopes() {
        let s = parse_scope("https://graph.microsoft.com/.default openid", None)
            .ok()
            .unwrap();
        assert_eq!(s.resource, "https://graph.microsoft.com");
        assert!(!names_a_permission(
            "https://graph.microsoft.com/.default openid"
        ));
        assert!(names_a_permission(
            "https://graph.microsoft.com/User.Read openid"
        ));
        assert_eq!(s.oidc, vec!["openid"]);
        assert!(matches!(
            parse_scope(
                "https://a.example/.default https://b.example/.default",
                None
            ),
            Err(LoginError::MultipleResources)
        ));
        assert!(matches!(
            parse_scope("openid", None),
            Err(LoginError::InvalidScope { .. })
        ));
        let d = parse_scope("User.Read", Some("https://graph.microsoft.com"))
            .ok()
            .unwrap();
        assert_eq!(d.resource, "https://graph.microsoft.com");
    }
}
