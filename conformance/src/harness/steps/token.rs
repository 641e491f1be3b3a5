//! Steps about the token endpoint: tenants and applications with certificates or secrets,
//! token requests (valid, or changed in one named way), and what the endpoint answered.
//!
//! A request "with <change>" starts from the assertion MSAL.NET would send (PS256, `x5t#S256`,
//! `aud` = the v2 token endpoint) and changes one thing; `CHANGES` lists every phrase.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cucumber::{given, then, when};
use mock_graph::core::ids::Thumbprint;
use mock_graph::testing::{Alg, GenerateAsync as _, TestCertificate};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::harness::world::{EntraWorld, ScenarioApp};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const FORM: &str = "application/x-www-form-urlencoded";

#[given("a tenant")]
async fn a_tenant(w: &mut EntraWorld) -> anyhow::Result<()> {
    w.start_tenant().await
}

#[given(expr = "the tenant from fixture {string}")]
async fn tenant_from_fixture(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    w.start_tenant_from_fixture(&name).await
}

/// Takes an application that a fixture brought, with the test key shipped for it in
/// `fixtures/keys/<key>.{crt,key}.pem`, so the scenario can sign as that application.
#[given(expr = "the fixture's application {string} signs with the key {string}")]
async fn fixture_application(w: &mut EntraWorld, name: String, key: String) -> anyhow::Result<()> {
    let dir = crate::harness::from_root("fixtures").join("keys");
    let read = |ext: &str| {
        let path = dir.join(format!("{key}.{ext}.pem"));
        std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    let certificate = TestCertificate::from_pem(&read("crt")?, &read("key")?)?;
    let directory = w.tenant().directory().await?;
    let app = directory
        .applications
        .iter()
        .find(|a| a.display_name == name)
        .ok_or_else(|| anyhow::anyhow!("the fixture has no application named {name:?}"))?;
    let (app_id, object_id) = (app.app_id, app.id);
    let service_principal_id = directory.service_principal_by_app_id(app_id).map(|s| s.id);
    w.apps.insert(
        name,
        ScenarioApp {
            app_id,
            object_id,
            service_principal_id,
            certificate,
        },
    );
    Ok(())
}

async fn register(
    w: &mut EntraWorld,
    name: &str,
    from_days_ago: i64,
    for_days: i64,
    with_sp: bool,
) -> anyhow::Result<()> {
    let now = w.tenant().now().await?;
    let start = now - Duration::days(from_days_ago);
    let end = start + Duration::days(for_days);
    let certificate = TestCertificate::generate_async(start, end).await?;
    let r = w
        .tenant()
        .register_application(name, &certificate.der, start, end, with_sp)
        .await?;
    w.apps.insert(
        name.to_string(),
        ScenarioApp {
            app_id: r.app_id,
            object_id: r.object_id,
            service_principal_id: r.service_principal_id,
            certificate,
        },
    );
    Ok(())
}

#[given(expr = "an application {string} with a certificate")]
async fn app_with_certificate(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    register(w, &name, 1, 366, true).await
}

#[given(
    expr = "an application {string} with a certificate valid from {int} days ago for {int} days"
)]
async fn app_with_certificate_window(
    w: &mut EntraWorld,
    name: String,
    ago: i64,
    days: i64,
) -> anyhow::Result<()> {
    register(w, &name, ago, days, true).await
}

#[given(expr = "an application {string} with a certificate but no service principal")]
async fn app_without_sp(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    register(w, &name, 1, 366, false).await
}

#[given(expr = "the application {string} has a client secret {string} that expires in {int} days")]
async fn client_secret(
    w: &mut EntraWorld,
    name: String,
    secret: String,
    days: i64,
) -> anyhow::Result<()> {
    add_secret(w, &name, &secret, days).await
}

#[given(expr = "the application {string} has a client secret {string} that expired {int} days ago")]
async fn expired_client_secret(
    w: &mut EntraWorld,
    name: String,
    secret: String,
    days: i64,
) -> anyhow::Result<()> {
    add_secret(w, &name, &secret, -days).await
}

/// A secret the scenario chooses, added as a fixture would (Graph's addPassword makes its own).
async fn add_secret(
    w: &mut EntraWorld,
    name: &str,
    secret: &str,
    expires_in_days: i64,
) -> anyhow::Result<()> {
    let object_id = w.app(name).object_id;
    w.tenant()
        .add_client_secret(object_id, secret, Duration::days(expires_in_days))
        .await
}

#[given(expr = "the application {string} is granted {string} on {string}")]
async fn granted(
    w: &mut EntraWorld,
    name: String,
    role: String,
    resource: String,
) -> anyhow::Result<()> {
    let sp = w
        .app(&name)
        .service_principal_id
        .ok_or_else(|| anyhow::anyhow!("{name} has no service principal"))?;
    w.tenant().grant_app_role(sp, &resource, &role).await
}

#[given(expr = "the tenant clock moves forward {int} days")]
async fn clock_forward(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    w.tenant().advance_clock(Duration::days(days)).await
}

/// Everything about one token request that a change can alter.
struct TokenCall {
    v1: bool,
    tenant: String,
    query: Option<String>,
    content_type: String,
    form: Vec<(String, String)>,
    header: Value,
    claims: Value,
    alg: Alg,
    /// Signs instead of the registered certificate.
    other_signer: Option<TestCertificate>,
    /// Replaces the signed assertion altogether.
    raw: Option<String>,
    /// Applied to the assertion after signing.
    after_signing: Option<fn(String) -> String>,
}

impl TokenCall {
    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.form.push((name.into(), value.into()));
    }

    fn remove(&mut self, name: &str) {
        self.form.retain(|(k, _)| k != name);
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The token URL of `tenant` on this mock.
fn token_url(base: &str, tenant: &str, v1: bool) -> String {
    if v1 {
        format!("{base}/{tenant}/oauth2/token")
    } else {
        format!("{base}/{tenant}/oauth2/v2.0/token")
    }
}

/// Every change a scenario can name, for `features/README.md` and for error messages.
pub const CHANGES: &[&str] = &[
    "nothing changed",
    "RS256 and x5t",
    "a padded x5t",
    "a standard base64 x5t",
    "a padded x5t#S256",
    "x5c as a string",
    "x5c as an array",
    "x5c with line breaks",
    "float times and no nbf",
    "string times and no iat",
    "no typ",
    "an unrelated kid",
    "nbf 4 minutes ahead",
    "exp 4 minutes ago",
    "aud naming the tenant by domain",
    "aud naming the v1 token endpoint",
    "aud naming the tenant issuer",
    "aud in upper case with a trailing slash",
    "unknown form fields",
    "a charset in the content type",
    "a query string on the token URL",
    "an upper-case client id",
    "the v1 endpoint",
    "the v1 endpoint and the resource by appId",
    "the tenant named by domain",
    "an unknown tenant id",
    "an unknown tenant domain",
    "a malformed tenant",
    "the common endpoint",
    "no grant_type",
    "an unsupported grant_type",
    "no client_id",
    "no scope",
    "no client_assertion_type",
    "a wrong client_assertion_type",
    "no credential",
    "an unknown client id",
    "a token that is not a JWT",
    "alg none",
    "HS256 keyed with the certificate",
    "no thumbprint header",
    "aud as an array",
    "a duplicated aud claim",
    "no exp",
    "iss and sub naming another application",
    "sub differing from iss",
    "aud naming another tenant",
    "aud naming another host",
    "a certificate not registered on the application",
    "a signature by another key",
    "a tampered payload",
    "exp 6 minutes ago",
    "nbf 6 minutes ahead",
    "a scope without /.default",
    "a scope for an unknown resource",
    "scopes for two resources",
    "only OpenID scopes",
];

async fn apply(
    change: &str,
    call: &mut TokenCall,
    app: &ScenarioApp,
    base: &str,
    (tenant_id, domain): (&str, &str),
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let cert = &app.certificate;
    let sha1 = Thumbprint::sha1_of(&cert.der);
    let t = now.unix_timestamp();
    match change {
        "nothing changed" => {}
        "RS256 and x5t" => {
            call.alg = Alg::Rs256;
            call.header = cert.header(Alg::Rs256);
        }
        "a padded x5t" => {
            call.alg = Alg::Rs256;
            call.header = json!({"alg": "RS256", "typ": "JWT", "x5t": format!("{}=", cert.x5t())});
        }
        "a standard base64 x5t" => {
            call.alg = Alg::Rs256;
            call.header =
                json!({"alg": "RS256", "typ": "JWT", "x5t": STANDARD.encode(sha1.as_bytes())});
        }
        "a padded x5t#S256" => call.header["x5t#S256"] = json!(format!("{}=", cert.x5t_s256())),
        "x5c as a string" => call.header["x5c"] = json!(cert.x5c()),
        "x5c as an array" => call.header["x5c"] = json!([cert.x5c()]),
        "x5c with line breaks" => {
            let b64 = cert.x5c();
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect();
            call.header["x5c"] = json!([lines.join("\n")]);
        }
        "float times and no nbf" => {
            call.claims["iat"] = json!(t as f64 + 0.25);
            call.claims["exp"] = json!(t as f64 + 600.25);
            remove(&mut call.claims, "nbf");
        }
        "string times and no iat" => {
            call.claims["nbf"] = json!(t.to_string());
            call.claims["exp"] = json!((t + 600).to_string());
            remove(&mut call.claims, "iat");
        }
        "no typ" => remove(&mut call.header, "typ"),
        "an unrelated kid" => call.header["kid"] = json!("some-key-id"),
        "nbf 4 minutes ahead" => {
            call.claims["nbf"] = json!(t + 240);
            call.claims["exp"] = json!(t + 840);
        }
        "exp 4 minutes ago" => {
            call.claims["nbf"] = json!(t - 840);
            call.claims["exp"] = json!(t - 240);
        }
        "aud naming the tenant by domain" => {
            call.claims["aud"] = json!(token_url(base, domain, false));
        }
        "aud naming the v1 token endpoint" => {
            call.claims["aud"] = json!(token_url(base, tenant_id, true))
        }
        "aud naming the tenant issuer" => {
            call.claims["aud"] = json!(format!("{base}/{tenant_id}/v2.0"))
        }
        "aud in upper case with a trailing slash" => {
            call.claims["aud"] = json!(format!(
                "{}/",
                token_url(base, tenant_id, false).to_uppercase()
            ));
        }
        "unknown form fields" => {
            call.set("client_info", "1");
            call.set("x-client-SKU", "MSAL.Python");
            call.set(
                "claims",
                r#"{"access_token": {"xms_cc": {"values": ["CP1"]}}}"#,
            );
        }
        "a charset in the content type" => call.content_type = format!("{FORM};charset=utf-8"),
        "a query string on the token URL" => {
            call.query = Some(format!("client-request-id={}", uuid::Uuid::new_v4()))
        }
        "an upper-case client id" => call.set("client_id", &app.app_id.to_string().to_uppercase()),
        "the v1 endpoint" | "the v1 endpoint and the resource by appId" => {
            call.v1 = true;
            let scope = call.get("scope").unwrap_or_default().to_string();
            call.remove("scope");
            let resource = if change.ends_with("appId") {
                "00000003-0000-0000-c000-000000000000".to_string()
            } else {
                scope.trim_end_matches("/.default").to_string()
            };
            call.set("resource", &resource);
            call.claims["aud"] = json!(token_url(base, tenant_id, true));
        }
        "the tenant named by domain" => call.tenant = domain.into(),
        "an unknown tenant id" => call.tenant = uuid::Uuid::new_v4().to_string(),
        "an unknown tenant domain" => call.tenant = "fabrikam.onmicrosoft.com".into(),
        "a malformed tenant" => call.tenant = "not_a_tenant".into(),
        "the common endpoint" => call.tenant = "common".into(),
        "no grant_type" => call.remove("grant_type"),
        "an unsupported grant_type" => call.set("grant_type", "urn:example:magic"),
        "no client_id" => call.remove("client_id"),
        "no scope" => call.remove("scope"),
        "no client_assertion_type" => call.remove("client_assertion_type"),
        "a wrong client_assertion_type" => call.set(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        "no credential" => {
            call.remove("client_assertion");
            call.remove("client_assertion_type");
        }
        "an unknown client id" => {
            let other = uuid::Uuid::new_v4().to_string();
            call.set("client_id", &other);
            call.claims["iss"] = json!(other);
            call.claims["sub"] = json!(other);
        }
        "a token that is not a JWT" => call.raw = Some("this-is-not-a-jwt".into()),
        "alg none" => {
            let mut header = call.header.clone();
            header["alg"] = json!("none");
            call.raw = Some(format!("{}.{}.", b64(&header), b64(&call.claims)));
        }
        "HS256 keyed with the certificate" => {
            // The classic confusion attack: an HMAC keyed with public material.
            let mut header = call.header.clone();
            header["alg"] = json!("HS256");
            let input = format!("{}.{}", b64(&header), b64(&call.claims));
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &cert.der);
            let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
            call.raw = Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())));
        }
        "no thumbprint header" => {
            remove(&mut call.header, "x5t#S256");
            remove(&mut call.header, "x5t");
        }
        "aud as an array" => {
            let aud = call.claims["aud"].clone();
            call.claims["aud"] = json!([aud.clone(), aud]);
        }
        "a duplicated aud claim" => {
            call.after_signing = None;
            let text = call.claims.to_string();
            let duplicated = format!("{{\"aud\":\"https://evil.example/token\",{}", &text[1..]);
            let input = format!(
                "{}.{}",
                b64(&call.header),
                URL_SAFE_NO_PAD.encode(duplicated)
            );
            let sig = cert.sign_bytes(input.as_bytes(), call.alg);
            call.raw = Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)));
        }
        "no exp" => remove(&mut call.claims, "exp"),
        "iss and sub naming another application" => {
            let other = uuid::Uuid::new_v4().to_string();
            call.claims["iss"] = json!(other);
            call.claims["sub"] = json!(other);
        }
        "sub differing from iss" => call.claims["sub"] = json!(uuid::Uuid::new_v4().to_string()),
        "aud naming another tenant" => {
            call.claims["aud"] = json!(token_url(base, &uuid::Uuid::new_v4().to_string(), false));
        }
        "aud naming another host" => {
            call.claims["aud"] = json!(token_url(
                "https://login.microsoftonline.com",
                tenant_id,
                false
            ));
        }
        "a certificate not registered on the application" => {
            let other =
                TestCertificate::generate_async(now - Duration::days(1), now + Duration::days(30))
                    .await?;
            call.header = other.header(call.alg);
            call.other_signer = Some(other);
        }
        "a signature by another key" => {
            call.other_signer = Some(
                TestCertificate::generate_async(now - Duration::days(1), now + Duration::days(30))
                    .await?,
            );
        }
        "a tampered payload" => {
            call.after_signing = Some(|token| {
                let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
                let mut claims: Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap_or_default())
                        .unwrap_or(json!({}));
                claims["jti"] = json!("tampered");
                parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
                parts.join(".")
            })
        }
        "exp 6 minutes ago" => {
            call.claims["nbf"] = json!(t - 960);
            call.claims["exp"] = json!(t - 360);
        }
        "nbf 6 minutes ahead" => {
            call.claims["nbf"] = json!(t + 360);
            call.claims["exp"] = json!(t + 960);
        }
        "a scope without /.default" => call.set(
            "scope",
            "https://graph.microsoft.com/Application.ReadWrite.All",
        ),
        "a scope for an unknown resource" => {
            call.set("scope", "https://unknown.example.com/.default")
        }
        "scopes for two resources" => call.set(
            "scope",
            "https://graph.microsoft.com/.default 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default",
        ),
        "only OpenID scopes" => call.set("scope", "openid profile"),
        other => anyhow::bail!(
            "unknown change {other:?}; the known ones are: {}",
            CHANGES.join(", ")
        ),
    }
    Ok(())
}

fn remove(v: &mut Value, name: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(name);
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

async fn request_token(
    w: &mut EntraWorld,
    name: &str,
    scope: &str,
    change: &str,
) -> anyhow::Result<()> {
    let base = w.tenant().base_url.clone();
    let tenant_id = w.tenant().tenant_id.clone();
    let domain = w.tenant().domain.clone();
    let now = w.tenant().now().await?;
    let app = w.app(name);
    let client_id = app.app_id.to_string();
    let mut call = TokenCall {
        v1: false,
        tenant: tenant_id.clone(),
        query: None,
        content_type: FORM.into(),
        form: vec![
            ("grant_type".into(), "client_credentials".into()),
            ("client_id".into(), client_id.clone()),
            ("scope".into(), scope.into()),
            ("client_assertion_type".into(), JWT_BEARER.into()),
            ("client_assertion".into(), String::new()),
        ],
        header: app.certificate.header(Alg::Ps256),
        claims: TestCertificate::claims(&client_id, &token_url(&base, &tenant_id, false), now),
        alg: Alg::Ps256,
        other_signer: None,
        raw: None,
        after_signing: None,
    };
    apply(change, &mut call, app, &base, (&tenant_id, &domain), now).await?;
    if call.get("client_assertion").is_some() {
        let signer = call.other_signer.as_ref().unwrap_or(&app.certificate);
        let mut assertion = match call.raw.take() {
            Some(raw) => raw,
            None => signer.sign(&call.header, &call.claims, call.alg),
        };
        if let Some(f) = call.after_signing {
            assertion = f(assertion);
        }
        call.set("client_assertion", &assertion);
    }
    w.last_thumbprint = header_thumbprint(&call.header);
    send(w, &base, &call).await
}

/// The thumbprint an assertion header names (`x5t#S256` before `x5t`, as Entra reads them), as
/// uppercase hex; padding and either base64 alphabet accepted.
fn header_thumbprint(header: &Value) -> Option<String> {
    let value = header
        .get("x5t#S256")
        .or_else(|| header.get("x5t"))?
        .as_str()?;
    let url_safe: String = value
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = URL_SAFE_NO_PAD.decode(url_safe).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

async fn send(w: &mut EntraWorld, base: &str, call: &TokenCall) -> anyhow::Result<()> {
    w.last_client_id = call.get("client_id").map(str::to_string);
    let mut url = token_url(base, &call.tenant, call.v1);
    if let Some(q) = &call.query {
        url = format!("{url}?{q}");
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&call.form)
        .finish();
    w.post_form(&url, &call.content_type, body).await
}

#[when(expr = "{string} requests a token for {string}")]
async fn requests_token(w: &mut EntraWorld, name: String, scope: String) -> anyhow::Result<()> {
    request_token(w, &name, &scope, "nothing changed").await
}

/// `with the client secret "…"` authenticates with a secret; any other `with …` is a change
/// to the certificate assertion request (see `CHANGES`).
#[when(regex = r#"^"([^"]*)" requests a token for "([^"]*)" with (.+)$"#)]
async fn requests_token_with(
    w: &mut EntraWorld,
    name: String,
    scope: String,
    change: String,
) -> anyhow::Result<()> {
    match change
        .strip_prefix("the client secret \"")
        .and_then(|s| s.strip_suffix('"'))
    {
        Some(secret) => requests_token_with_secret(w, name, scope, secret.to_string()).await,
        None => request_token(w, &name, &scope, &change).await,
    }
}

async fn requests_token_with_secret(
    w: &mut EntraWorld,
    name: String,
    scope: String,
    secret: String,
) -> anyhow::Result<()> {
    let form = vec![
        ("grant_type".into(), "client_credentials".into()),
        ("client_id".into(), w.app(&name).app_id.to_string()),
        ("scope".into(), scope),
        ("client_secret".into(), secret),
    ];
    send_form(w, form).await
}

#[when(expr = "{string} signs in with the password {string} through {string} for {string}")]
async fn password_sign_in(
    w: &mut EntraWorld,
    upn: String,
    password: String,
    client: String,
    scope: String,
) -> anyhow::Result<()> {
    sign_in(w, &upn, &password, &client, &scope, None).await
}

#[when(
    expr = "{string} signs in with the password {string} through {string} for {string} presenting the client secret {string}"
)]
async fn password_sign_in_with_secret(
    w: &mut EntraWorld,
    upn: String,
    password: String,
    client: String,
    scope: String,
    secret: String,
) -> anyhow::Result<()> {
    sign_in(w, &upn, &password, &client, &scope, Some(&secret)).await
}

async fn sign_in(
    w: &mut EntraWorld,
    upn: &str,
    password: &str,
    client: &str,
    scope: &str,
    secret: Option<&str>,
) -> anyhow::Result<()> {
    let mut form = vec![
        ("grant_type".to_string(), "password".to_string()),
        ("client_id".to_string(), client.to_string()),
        ("username".to_string(), w.tenant().user(upn)),
        ("password".to_string(), password.to_string()),
        ("scope".to_string(), scope.to_string()),
    ];
    if let Some(s) = secret {
        form.push(("client_secret".into(), s.into()));
    }
    send_form(w, form).await
}

/// POSTs `form` as it is to the tenant's v2 token endpoint (no assertion is built).
async fn send_form(w: &mut EntraWorld, form: Vec<(String, String)>) -> anyhow::Result<()> {
    w.last_thumbprint = None;
    let base = w.tenant().base_url.clone();
    let call = TokenCall {
        v1: false,
        tenant: w.tenant().tenant_id.clone(),
        query: None,
        content_type: FORM.into(),
        form,
        header: json!({}),
        claims: json!({}),
        alg: Alg::Ps256,
        other_signer: None,
        raw: None,
        after_signing: None,
    };
    send(w, &base, &call).await
}

/// The claims of the access token in the last answer (signature checked elsewhere).
fn access_claims(w: &EntraWorld) -> anyhow::Result<Value> {
    let token = w.last().body["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no access_token"))?;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("not a JWT"))?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

/// 200 with an access token for the client that asked (`appid`), in this tenant (`tid`).
#[then("a token is issued")]
async fn token_issued(w: &mut EntraWorld) -> anyhow::Result<()> {
    let last = w.last();
    anyhow::ensure!(
        last.status == 200,
        "expected a token, got {}: {}",
        last.status,
        last.body
    );
    let claims = access_claims(w)?;
    let client = w
        .last_client_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the last request named no client_id"))?;
    anyhow::ensure!(
        claims["appid"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(&client)),
        "the token is for appid {}, the request was from {client}",
        claims["appid"]
    );
    let tenant = w.tenant().tenant_id.clone();
    anyhow::ensure!(
        claims["tid"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(&tenant)),
        "the token is for tenant {}, not {tenant}",
        claims["tid"]
    );
    Ok(())
}

#[then(expr = "a token is issued with the roles {string}")]
async fn token_with_roles(w: &mut EntraWorld, roles: String) -> anyhow::Result<()> {
    token_issued(w).await?;
    let expected: Vec<&str> = roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty() && *r != "none")
        .collect();
    let claims = access_claims(w)?;
    let actual: Vec<&str> = claims["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    anyhow::ensure!(
        actual == expected,
        "roles {actual:?}, expected {expected:?}"
    );
    Ok(())
}

#[then(expr = "the token's {string} claim is {string}")]
async fn token_claim(w: &mut EntraWorld, claim: String, value: String) -> anyhow::Result<()> {
    let claims = access_claims(w)?;
    let actual = match &claims[&claim] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    anyhow::ensure!(
        actual == value,
        "claim {claim} is {actual:?}, expected {value:?}"
    );
    Ok(())
}

#[then(regex = r#"^the request is refused with AADSTS(\d+), error "([a-z_]+)" and status (\d+)$"#)]
async fn refused(w: &mut EntraWorld, code: u32, error: String, status: u16) -> anyhow::Result<()> {
    let last = w.last();
    let body = &last.body;
    let got_code = body["error_codes"].get(0).and_then(Value::as_u64);
    anyhow::ensure!(
        last.status == status && body["error"] == error.as_str() && got_code == Some(code as u64),
        "expected AADSTS{code} {error} {status}, got {} {}",
        last.status,
        body
    );
    let description = body["error_description"].as_str().unwrap_or_default();
    anyhow::ensure!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "description: {description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id"] {
        anyhow::ensure!(body[field].is_string(), "the error lacks {field}: {body}");
    }
    Ok(())
}

#[then(expr = "the error description mentions {string}")]
async fn error_mentions(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    let description = w.last().body["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        description.contains(&text),
        "{description:?} does not mention {text:?}"
    );
    Ok(())
}

fn description(w: &EntraWorld) -> String {
    w.last().body["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The thumbprint comes from the assertion the scenario sent (its header), not from the answer.
#[then("the error description names the thumbprint the client used")]
async fn names_thumbprint(w: &mut EntraWorld) -> anyhow::Result<()> {
    let thumbprint = w
        .last_thumbprint
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the last request sent no assertion naming a thumbprint"))?;
    let description = description(w);
    let expected = format!("Thumbprint of key used by client: '{thumbprint}'");
    anyhow::ensure!(
        description.contains(&expected),
        "{description:?} does not say {expected:?}"
    );
    Ok(())
}

/// The window of the application's certificate credential, read from Graph, is the one the
/// description says it found (`Found key 'Start=MM/dd/yyyy HH:mm:ss, End=…'`, UTC).
#[then(
    expr = "the error description names the certificate credential of {string} as the key that was found"
)]
async fn names_found_key(w: &mut EntraWorld, app: String) -> anyhow::Result<()> {
    let keys = crate::harness::steps::graph::key_credentials(w, &app).await?;
    let date = |v: &Value| -> anyhow::Result<String> {
        let text = v
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("a keyCredential without its dates: {keys:?}"))?;
        let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)?
            .to_offset(time::UtcOffset::UTC);
        Ok(t.format(time::macros::format_description!(
            "[month]/[day]/[year] [hour]:[minute]:[second]"
        ))?)
    };
    let description = description(w);
    let mut windows = Vec::new();
    for k in &keys {
        let window = format!(
            "Found key 'Start={}, End={}'",
            date(&k["startDateTime"])?,
            date(&k["endDateTime"])?
        );
        if description.contains(&window) {
            return Ok(());
        }
        windows.push(window);
    }
    anyhow::bail!("{description:?} names none of {app}'s credentials: {windows:?}")
}
