//! Who the client is and how it proves it: `client_id` (form or HTTP Basic), the credential it
//! presents, the tenant's application and service principal for it, and the checks of a client
//! secret or a certificate client assertion, in Entra's order (parse, who, for whom, which key,
//! key window, signature, assertion window).

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::refusal::LoginError;
use super::request::TokenRequest;
use crate::directory::ServicePrincipal;
use crate::ids::AppId;
use crate::jose::{self, RsaAlgorithm};
use crate::tenant::Tenant;
use crate::x509::rsa_public_key;

/// The client assertion type of RFC 7523, the only one Entra takes.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on assertion `nbf`/`exp`.
pub const ASSERTION_SKEW: Duration = Duration::minutes(5);

/// How the client proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    Certificate,
    Secret,
    None,
}

impl ClientAuth {
    /// `appidacr`: "2" certificate, "1" secret, "0" public client.
    pub fn acr(self) -> &'static str {
        match self {
            ClientAuth::Certificate => "2",
            ClientAuth::Secret => "1",
            ClientAuth::None => "0",
        }
    }
}

/// A client credential as presented in the request.
pub enum Presented<'f> {
    Assertion(&'f str),
    Secret(String),
    Nothing,
}

/// The client's id: the form's `client_id`, or the user name of HTTP Basic credentials.
pub fn client_id<'f>(req: &'f TokenRequest<'_>) -> Result<&'f str, LoginError> {
    match (req.form.get("client_id"), &req.basic_auth) {
        (Some(id), _) => Ok(id),
        (None, Some((id, _))) if !id.is_empty() => Ok(id.as_str()),
        _ => Err(LoginError::MissingParameter { name: "client_id" }),
    }
}

/// The credential the request presents (an assertion needs the JWT bearer assertion type).
pub fn presented<'f>(req: &'f TokenRequest<'_>) -> Result<Presented<'f>, LoginError> {
    if let Some(assertion) = req.form.get("client_assertion") {
        return match req.form.get("client_assertion_type") {
            None => Err(LoginError::MissingParameter {
                name: "client_assertion_type",
            }),
            Some(t) if t == JWT_BEARER => Ok(Presented::Assertion(assertion)),
            Some(_) => Err(LoginError::UnexpectedAssertionType),
        };
    }
    if let Some(secret) = req.form.get("client_secret") {
        return Ok(Presented::Secret(secret.to_string()));
    }
    if let Some((_, secret)) = &req.basic_auth {
        return Ok(Presented::Secret(secret.clone()));
    }
    Ok(Presented::Nothing)
}

/// The tenant's application and service principal for `client_id`.
pub fn confidential_client<'t>(
    tenant: &'t Tenant,
    client_id: &str,
) -> Result<(AppId, &'t ServicePrincipal), LoginError> {
    let not_found = || LoginError::ApplicationNotFound {
        app_id: client_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let app_id: AppId = client_id.parse().map_err(|_| not_found())?;
    tenant
        .directory
        .application_by_app_id(app_id)
        .ok_or_else(not_found)?;
    let sp = tenant
        .directory
        .service_principal_by_app_id(app_id)
        .ok_or_else(|| LoginError::MissingServicePrincipal {
            app_id: app_id.to_string(),
            tenant_id: tenant.id.to_string(),
        })?;
    if !sp.account_enabled {
        return Err(LoginError::ApplicationDisabled {
            app_id: app_id.to_string(),
        });
    }
    Ok((app_id, sp))
}

/// Verifies the presented credential of a confidential client.
pub fn authenticate(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    app_id: AppId,
    presented: &Presented<'_>,
) -> Result<ClientAuth, LoginError> {
    match presented {
        Presented::Assertion(token) => {
            verify_client_assertion(tenant, req, app_id, token)?;
            Ok(ClientAuth::Certificate)
        }
        Presented::Secret(secret) => {
            verify_client_secret(tenant, app_id, secret)?;
            Ok(ClientAuth::Secret)
        }
        Presented::Nothing => Err(LoginError::ConfidentialClientWithoutCredential),
    }
}

fn verify_client_secret(tenant: &Tenant, app_id: AppId, secret: &str) -> Result<(), LoginError> {
    let app =
        tenant
            .directory
            .application_by_app_id(app_id)
            .ok_or(LoginError::InvalidClientSecret {
                app_id: app_id.to_string(),
            })?;
    let now = tenant.now();
    let matching: Vec<_> = app
        .password_credentials
        .iter()
        .filter(|p| constant_time_eq(&p.secret_text, secret))
        .collect();
    if matching.is_empty() {
        return Err(LoginError::InvalidClientSecret {
            app_id: app_id.to_string(),
        });
    }
    if matching
        .iter()
        .any(|p| p.start_date_time <= now && now < p.end_date_time)
    {
        Ok(())
    } else {
        Err(LoginError::ClientSecretExpired {
            app_id: app_id.to_string(),
        })
    }
}

/// Compares secrets and passwords without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// The certificate client assertion rules, in Entra's order: parse, who, for whom, which key,
/// key window, signature, assertion window.
pub fn verify_client_assertion(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    app_id: AppId,
    token: &str,
) -> Result<(), LoginError> {
    let malformed = |reason: &str| LoginError::MalformedAssertion {
        reason: reason.to_string(),
    };
    let jws = jose::parse(token).map_err(|_| malformed(""))?;
    let alg = RsaAlgorithm::from_header(jws.header.str("alg"))
        .ok_or_else(|| malformed("The token's signing algorithm is not supported."))?;
    let thumbprint = match (jws.header.get("x5t#S256"), jws.header.get("x5t")) {
        (Some(v), _) => jose::thumbprint(v, true),
        (None, Some(v)) => jose::thumbprint(v, false),
        (None, None) => None,
    }
    .ok_or_else(|| malformed("No certificate thumbprint specified in token header."))?;

    let claim_str = |name: &str| match jws.claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(malformed("")),
    };
    let iss = claim_str("iss")?;
    let sub = claim_str("sub")?;
    let aud = claim_str("aud")?.ok_or_else(|| malformed(""))?;
    let exp = match jws.claims.get("exp") {
        Some(v) => jose::numeric_date(v).ok_or_else(|| malformed(""))?,
        None => return Err(malformed("")),
    };
    let nbf = match jws.claims.get("nbf") {
        Some(v) => Some(jose::numeric_date(v).ok_or_else(|| malformed(""))?),
        None => None,
    };

    if iss != sub {
        return Err(LoginError::SubjectMismatchesIssuer);
    }
    if !iss.is_some_and(|i| i.eq_ignore_ascii_case(&app_id.to_string())) {
        return Err(LoginError::AssertionClientIdMismatch);
    }
    if !audience_accepted(tenant, req.base_url, aud) {
        return Err(LoginError::AudienceMismatch);
    }

    let app = tenant
        .directory
        .application_by_app_id(app_id)
        .ok_or_else(|| LoginError::ApplicationNotFound {
            app_id: app_id.to_string(),
            tenant: tenant.id.to_string(),
        })?;
    let key = app
        .key_credentials
        .iter()
        .filter(|k| k.verifies_assertions() && k.has_thumbprint(&thumbprint))
        // Several registrations of one certificate: prefer one that is valid now.
        .max_by_key(|k| k.is_valid_at(tenant.now()))
        .ok_or_else(|| LoginError::KeyNotFound {
            thumbprint: thumbprint.to_hex(),
            app_id: app_id.to_string(),
        })?;
    let now = tenant.now();
    if !key.is_valid_at(now) {
        return Err(LoginError::KeyExpired {
            thumbprint: thumbprint.to_hex(),
            start: key.start_date_time,
            end: key.end_date_time,
        });
    }
    let signature_invalid = || LoginError::SignatureInvalid {
        thumbprint: thumbprint.to_hex(),
        start: key.start_date_time,
        end: key.end_date_time,
    };
    let public = key
        .key
        .as_deref()
        .map(rsa_public_key)
        .and_then(Result::ok)
        .ok_or_else(signature_invalid)?;
    if !alg.verify(
        &public.pkcs1_der,
        jws.signing_input.as_bytes(),
        &jws.signature,
    ) {
        return Err(signature_invalid());
    }

    let now_s = now.unix_timestamp() as f64;
    let skew = ASSERTION_SKEW.whole_seconds() as f64;
    let not_yet = nbf.is_some_and(|n| now_s < n - skew);
    let expired = now_s >= exp + skew;
    if not_yet || expired {
        return Err(LoginError::AssertionOutsideTimeRange {
            now,
            nbf: instant(nbf.unwrap_or(0.0)),
            exp: instant(exp),
        });
    }
    Ok(())
}

/// A NumericDate as an instant for AADSTS700024's message. A NumericDate can be any finite
/// number; one outside .NET's calendar (years 1 to 9999, what Entra prints) is shown at that
/// calendar's end rather than as some other date.
pub fn instant(seconds: f64) -> OffsetDateTime {
    const FIRST: OffsetDateTime = time::macros::datetime!(0001-01-01 0:00 UTC);
    const LAST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.9999999 UTC);
    // `as` saturates at i128's ends, far outside the calendar either way.
    let nanos = (seconds * 1e9) as i128;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_or(if seconds < 0.0 { FIRST } else { LAST }, |t| {
            t.clamp(FIRST, LAST)
        })
}

/// The audiences Entra accepts for a tenant: its token endpoints (v1 and v2) and its issuer
/// URLs, under any name of the tenant, on the host the request came to. Compared without
/// regard to case or a trailing slash.
pub fn accepted_audiences(tenant: &Tenant, base_url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in tenant.names() {
        for suffix in ["/oauth2/v2.0/token", "/oauth2/token", "/v2.0", ""] {
            out.push(format!("{base_url}/{name}{suffix}"));
        }
    }
    out
}

fn audience_accepted(tenant: &Tenant, base_url: &str, aud: &str) -> bool {
    // One trailing slash, not any number of them: `…/token//` names no token endpoint.
    let aud = aud.strip_suffix('/').unwrap_or(aud);
    accepted_audiences(tenant, base_url)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(aud))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::TenantFixture;

    /// Regression (found by `mock-graph/tests/it/prop_assertion.rs`): any number of trailing slashes was
    /// trimmed from `aud`, so `…/oauth2/v2.0/token//` was taken for the token endpoint.
    #[test]
    fn audience_tolerates_one_trailing_slash_only() {
        let tenant = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        let base = "https://127.0.0.1:8443";
        let endpoint = format!("{base}/{}/oauth2/v2.0/token", tenant.id);
        assert!(audience_accepted(&tenant, base, &endpoint));
        assert!(audience_accepted(&tenant, base, &format!("{endpoint}/")));
        assert!(!audience_accepted(&tenant, base, &format!("{endpoint}//")));
    }
}
