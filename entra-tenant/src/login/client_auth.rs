//! Who the client is and how it proves it: `client_id` (form or HTTP Basic), the credential it
//! presents, the tenant's application and service principal for it, and the checks of a client
//! secret or a certificate client assertion, in Entra's order (parse, audience count, required
//! claims, algorithm, key locator, who, for whom, which key, key window, signature, assertion
//! window; ARCHITECTURE.md lists it).

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::refusal::LoginError;
use super::request::TokenRequest;
use crate::directory::{Application, KeyCredential, PasswordCredential, ServicePrincipal};
use crate::ids::{AppId, Thumbprint};
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
    let not_found = || application_not_found(tenant, client_id);
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
            app_name: sp.display_name.clone(),
        });
    }
    Ok((app_id, sp))
}

/// AADSTS700016 for `client_id`, naming the tenant by its display name.
pub fn application_not_found(tenant: &Tenant, client_id: &str) -> LoginError {
    LoginError::ApplicationNotFound {
        app_id: client_id.to_string(),
        tenant: tenant.display_name.clone(),
    }
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
    let now = tenant.now();
    let matching: Vec<&PasswordCredential> = credentials_of(
        tenant,
        app_id,
        |a| &a.password_credentials,
        |s| &s.password_credentials,
    )
    .into_iter()
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

/// How an assertion's header names the certificate that signed it. Entra's AADSTS5002723 names
/// the three: "certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId".
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyLocator {
    /// `x5t#S256`: the bytes sent, matched against SHA-256 thumbprints only.
    Sha256(Vec<u8>),
    /// `x5t`: matched against SHA-1 thumbprints only (a SHA-256 digest there is not found,
    /// as live Entra answers it).
    Sha1(Vec<u8>),
    /// `kid`: a credential's `keyId`, or the SHA-1 thumbprint in hex or base64url.
    KeyId(String),
}

impl KeyLocator {
    /// The locator of `header`: `x5t#S256` before `x5t` before `kid`.
    fn of(header: &jose::JsonObject) -> Result<KeyLocator, LoginError> {
        let bytes = |v: &Value| jose::thumbprint_bytes(v).ok_or(LoginError::MalformedAssertion);
        if let Some(v) = header.get("x5t#S256") {
            return Ok(KeyLocator::Sha256(bytes(v)?));
        }
        if let Some(v) = header.get("x5t") {
            return Ok(KeyLocator::Sha1(bytes(v)?));
        }
        match header.get("kid") {
            Some(Value::String(kid)) if !kid.trim().is_empty() => {
                Ok(KeyLocator::KeyId(kid.trim().to_string()))
            }
            Some(Value::String(_)) | None => Err(LoginError::NoKeyLocator),
            Some(_) => Err(LoginError::MalformedAssertion),
        }
    }

    /// What "Thumbprint of key used by client" prints: the digest sent, in uppercase hex.
    fn printed(&self) -> String {
        match self {
            KeyLocator::Sha256(b) | KeyLocator::Sha1(b) => hex::encode_upper(b),
            KeyLocator::KeyId(kid) => kid.to_ascii_uppercase(),
        }
    }

    fn names(&self, k: &KeyCredential) -> bool {
        let Some(der) = k.key.as_deref() else {
            return false;
        };
        match self {
            KeyLocator::Sha256(b) => Thumbprint::sha256_of(der).as_bytes() == b.as_slice(),
            KeyLocator::Sha1(b) => Thumbprint::sha1_of(der).as_bytes() == b.as_slice(),
            KeyLocator::KeyId(kid) => {
                let sha1 = Thumbprint::sha1_of(der);
                kid.parse::<uuid::Uuid>().is_ok_and(|id| id == k.key_id)
                    || kid.eq_ignore_ascii_case(&sha1.to_hex())
                    || jose::thumbprint(&Value::String(kid.clone()), false)
                        .is_some_and(|t| t == sha1)
            }
        }
    }
}

/// A string claim: absent, a string, or (anything else) a malformed assertion.
fn string_claim<'j>(
    claims: &'j jose::JsonObject,
    name: &str,
) -> Result<Option<&'j str>, LoginError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(LoginError::MalformedAssertion),
    }
}

/// `aud`: one string, or an array of them. Several values are refused (5002741); an array of
/// one is read as that value; an empty array counts as no `aud`.
fn audience(claims: &jose::JsonObject) -> Result<Option<&str>, LoginError> {
    match claims.get("aud") {
        Some(Value::Array(values)) => {
            if values.len() > 1 {
                return Err(LoginError::TooManyAudiences {
                    count: values.len(),
                });
            }
            match values.first() {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(LoginError::MalformedAssertion),
            }
        }
        _ => string_claim(claims, "aud"),
    }
}

/// A claim the assertion must carry: AADSTS90014 names it when it is missing.
fn required<'a>(value: Option<&'a str>, field: &'static str) -> Result<&'a str, LoginError> {
    value.ok_or(LoginError::MissingCredentialField { field })
}

/// A NumericDate claim: absent, a number, or (anything else) a malformed assertion.
fn date_claim(claims: &jose::JsonObject, name: &str) -> Result<Option<f64>, LoginError> {
    claims
        .get(name)
        .map(|v| jose::numeric_date(v).ok_or(LoginError::MalformedAssertion))
        .transpose()
}

/// The credentials of `app_id` in this tenant: the application's, then its service
/// principal's. Entra authenticates an application with a `Verify` certificate or a secret held
/// on its service principal too (the app instance property lock documentation lists them as
/// "an OIDC client credentials flow"), which is how a credential hides from the application's
/// view. Which one wins when both hold the same certificate is not documented; the first valid
/// one does here.
fn credentials_of<'t, T>(
    tenant: &'t Tenant,
    app_id: AppId,
    app: impl Fn(&'t Application) -> &'t [T],
    sp: impl Fn(&'t ServicePrincipal) -> &'t [T],
) -> Vec<&'t T> {
    let d = &tenant.directory;
    let on_app = d
        .application_by_app_id(app_id)
        .map(&app)
        .unwrap_or_default();
    let on_sp = d
        .service_principal_by_app_id(app_id)
        .map(&sp)
        .unwrap_or_default();
    on_app.iter().chain(on_sp).collect()
}

/// The certificate credentials that may verify an assertion of `app_id`.
fn assertion_keys(tenant: &Tenant, app_id: AppId) -> Vec<&KeyCredential> {
    credentials_of(
        tenant,
        app_id,
        |a| &a.key_credentials,
        |s| &s.key_credentials,
    )
}

/// The certificate client assertion rules, in Entra's order: parse, audience count, required
/// claims, algorithm, key locator, who, for whom, which key, key window, signature, assertion
/// window.
pub fn verify_client_assertion(
    tenant: &Tenant,
    req: &TokenRequest<'_>,
    app_id: AppId,
    token: &str,
) -> Result<(), LoginError> {
    let jws = jose::parse(token).map_err(|_| LoginError::MalformedAssertion)?;
    let aud = audience(&jws.claims)?;
    let iss = string_claim(&jws.claims, "iss")?;
    let sub = string_claim(&jws.claims, "sub")?;
    let exp = date_claim(&jws.claims, "exp")?;
    let nbf = date_claim(&jws.claims, "nbf")?;
    let iss = required(iss, "iss")?;
    let sub = required(sub, "sub")?;
    let aud = required(aud, "aud")?;
    let alg = match jws.header.get("alg") {
        Some(Value::String(name)) => RsaAlgorithm::from_header(Some(name))
            .ok_or_else(|| LoginError::UnsupportedAlgorithm { alg: name.clone() })?,
        _ => return Err(LoginError::MalformedAssertion),
    };
    let locator = KeyLocator::of(&jws.header)?;

    if iss != sub {
        return Err(LoginError::SubjectMismatchesIssuer);
    }
    if !iss.eq_ignore_ascii_case(&app_id.to_string()) {
        return Err(LoginError::AssertionClientIdMismatch);
    }
    if !audience_accepted(tenant, req.base_url, aud) {
        return Err(LoginError::AudienceMismatch);
    }

    let now = tenant.now();
    let thumbprint = locator.printed();
    let key = assertion_keys(tenant, app_id)
        .into_iter()
        .filter(|k| k.verifies_assertions() && locator.names(k))
        // Several registrations of one certificate: prefer one that is valid now.
        .max_by_key(|k| k.is_valid_at(now))
        .ok_or_else(|| LoginError::KeyNotFound {
            thumbprint: thumbprint.clone(),
            app_id: app_id.to_string(),
        })?;
    if !key.is_valid_at(now) {
        return Err(LoginError::KeyExpired {
            thumbprint,
            start: key.start_date_time,
            end: key.end_date_time,
        });
    }
    let signature_invalid = || LoginError::SignatureInvalid {
        thumbprint: thumbprint.clone(),
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

    // A missing `exp` is an expiry at 1970 (MSAL.NET's captured `BadTimeRangeError700024`); a
    // missing `nbf` is valid from 1970.
    let exp = exp.unwrap_or(0.0);
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
