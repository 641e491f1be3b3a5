//! Shared helpers of the Graph, service and control-plane tests: a mock over real HTTPS, a
//! client that trusts its CA, tokens from the real token endpoint, test certificates (the
//! shared `TestCertificate`, with the Graph bodies these tests send), proofs of possession, and
//! one `call` helper that every test goes through.

use std::ops::Deref;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mock_graph::core::fixture::TenantFixture;
use mock_graph::core::ids::ObjectId;
use mock_graph::testing::{Alg, TestCertificate, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

pub const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
pub const SYNC_SERVICE: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
pub const PASSWORD_RESET: &str = "93625bc8-bfe2-437a-97e0-3d0060024faa";
pub const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
pub const PASSWORD: &str = "Passw0rd!";

/// A running mock and an HTTPS client that trusts it.
pub struct Env {
    pub server: TestServer,
    pub http: reqwest::Client,
}

/// An answer: status, headers and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Graph error with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "{:#}",
            self.body
        );
        assert!(
            self.body["error"]["innerError"]["request-id"].is_string(),
            "{:#}",
            self.body
        );
        assert!(self.header("request-id").is_some());
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        &self.body
    }
}

pub fn client_for(server: &TestServer) -> reqwest::Client {
    let pem = server.ca_pem_text().expect("the test server runs TLS");
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client")
}

impl Env {
    pub async fn start() -> Env {
        Self::with(TenantFixture::default_fixture()).await
    }

    pub async fn with(fixture: TenantFixture) -> Env {
        let server = TestServer::start_with(fixture, true).await.expect("server");
        let http = client_for(&server);
        Env { server, http }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.server.with_tenant(|t| t.now())
    }

    pub fn domain(&self) -> String {
        self.server.with_tenant(|t| t.initial_domain.clone())
    }

    /// Any request to the mock; `path` starts with `/`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A delegated Graph token for `upn` (ROPC through Microsoft Graph Command Line Tools).
    pub async fn user_token(&self, upn: &str) -> String {
        self.user_token_for(upn, "https://graph.microsoft.com/.default")
            .await
    }

    pub async fn user_token_for(&self, upn: &str, scope: &str) -> String {
        self.user_token_with(upn, PASSWORD, scope).await
    }

    pub async fn user_token_with(&self, upn: &str, password: &str, scope: &str) -> String {
        let upn = if upn.contains('@') {
            upn.to_string()
        } else {
            format!("{upn}@{}", self.domain())
        };
        let client = if scope.starts_with("https://graph") {
            GRAPH_CLI
        } else {
            "cb1056e2-e479-49de-ae31-7812af012ed8"
        };
        let form = [
            ("grant_type", "password"),
            ("client_id", client),
            ("username", &upn),
            ("password", password),
            ("scope", scope),
        ];
        let resp = self
            .http
            .post(self.server.token_url_v2())
            .form(&form)
            .send()
            .await
            .expect("token request");
        let body: Value = resp.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {body:#}"))
            .to_string()
    }

    /// An app-only token for `app_id` signed with `cert` for `resource/.default`.
    pub async fn app_token(&self, app_id: &str, cert: &TestCert, resource: &str) -> String {
        let body = self.app_token_answer(app_id, cert, resource).await;
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {body:#}"))
            .to_string()
    }

    pub async fn app_token_answer(&self, app_id: &str, cert: &TestCert, resource: &str) -> Value {
        let aud = self.server.token_url_v2();
        let now = self.now().unix_timestamp();
        let assertion = cert.jwt(
            json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t()}),
            json!({"aud": aud, "iss": app_id, "sub": app_id, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now - 60, "exp": now + 600}),
        );
        let scope = format!("{resource}/.default");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("scope", &scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ];
        let resp = self
            .http
            .post(self.server.token_url_v2())
            .form(&form)
            .send()
            .await
            .expect("token request");
        resp.json().await.expect("token json")
    }

    /// Registers an application with its service principal and a certificate, in-process.
    pub fn register_app(
        &self,
        name: &str,
        cert: &TestCert,
    ) -> mock_graph::core::tenant::RegisteredApplication {
        self.server.with_tenant(|t| {
            let app = t.register_application(name);
            let now = t.now();
            t.add_certificate(
                app.application_id,
                &cert.der,
                now - Duration::days(1),
                now + Duration::days(300),
            )
            .unwrap();
            app
        })
    }

    /// Grants Graph application roles to a service principal, in-process.
    pub fn grant_graph_roles(&self, sp: ObjectId, roles: &[&str]) {
        self.server.with_tenant(|t| {
            for r in roles {
                t.assign_app_role(sp, GRAPH.parse().unwrap(), r).unwrap();
            }
        })
    }
}

/// Claims of a JWT, unverified.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

/// A test certificate and its private key (RSA 2048, SHA-256): the shared
/// `TestCertificate` (every method of it through `Deref`), with the private key's PKCS#8 bytes
/// and the Graph bodies these tests send.
pub struct TestCert {
    pub pkcs8: Vec<u8>,
    cert: TestCertificate,
}

impl Deref for TestCert {
    type Target = TestCertificate;

    fn deref(&self) -> &TestCertificate {
        &self.cert
    }
}

impl TestCert {
    pub fn new(cn: &str) -> TestCert {
        let now = OffsetDateTime::now_utc();
        Self::valid(cn, now - Duration::days(30), now + Duration::days(3650))
    }

    pub fn valid(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> TestCert {
        Self::wrap(TestCertificate::generate_named(cn, not_before, not_after).expect("certificate"))
    }

    /// A certificate from shipped DER and PKCS#8 bytes.
    pub fn from_parts(der: Vec<u8>, pkcs8: Vec<u8>) -> TestCert {
        Self::wrap(TestCertificate::from_der(der, &pkcs8).expect("pkcs8"))
    }

    fn wrap(cert: TestCertificate) -> TestCert {
        let pkcs8 = cert.private_key_pkcs8().expect("pkcs8");
        TestCert { pkcs8, cert }
    }

    /// The certificate in standard base64, as Graph's `key` property takes it.
    pub fn key_b64(&self) -> String {
        self.x5c()
    }

    /// An RS256 signature over `input`.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        self.sign_bytes(input, Alg::Rs256)
    }

    /// A JWT of `header` and `claims` as given, signed RS256.
    pub fn jwt(&self, header: Value, claims: Value) -> String {
        self.cert.sign(&header, &claims, Alg::Rs256)
    }

    /// A proof of possession for addKey/removeKey on `object_id`, valid for ten minutes.
    pub fn proof(&self, object_id: &str, now: OffsetDateTime) -> String {
        let n = now.unix_timestamp();
        self.jwt(
            json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t(), "kid": self.sha1_hex()}),
            json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id, "nbf": n, "exp": n + 600}),
        )
    }

    /// The keyCredential body of addKey / PATCH for this certificate.
    pub fn key_credential(&self) -> Value {
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": self.key_b64()})
    }
}
