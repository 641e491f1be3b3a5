//! The tenant a scenario talks to, behind one interface. By default it is the scenario's own
//! in-process mock (its own server, tenant and clock). With `ENTRA_HARNESS_TARGET=<base URL>`
//! it is a tenant somewhere else (another `mock-graph serve`, or a real tenant), arranged only
//! through Microsoft Graph with an administrator's token; scenarios that need the mock's
//! control plane (the clock, faults, the journal) are tagged `@mock-only` and skipped there.
//!
//! Remote target settings (environment):
//! - `ENTRA_HARNESS_TARGET`: login base URL, e.g. `https://127.0.0.1:8443`;
//! - `ENTRA_HARNESS_GRAPH`: Graph base URL (default: the target URL);
//! - `ENTRA_HARNESS_TENANT`: tenant id (default: the mock's default tenant);
//! - `ENTRA_HARNESS_DOMAIN`: a verified domain (default: `contoso.onmicrosoft.com`);
//! - `ENTRA_HARNESS_CA_FILE`: an extra CA to trust (PEM);
//! - `ENTRA_HARNESS_ADMIN_UPN` / `ENTRA_HARNESS_ADMIN_PASSWORD`: an Application Administrator
//!   or Global Administrator (default: the default fixture's `admin@<domain>` / `Passw0rd!`).

use anyhow::{Context as _, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mock_graph::TenantFixture;
use mock_graph::core::ids::{AppId, ObjectId};
use mock_graph::testing::TestServer;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microsoft Graph Command Line Tools: the public client administrators sign in through.
const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const DEFAULT_TENANT: &str = "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d";
const DEFAULT_DOMAIN: &str = "contoso.onmicrosoft.com";

/// What an application registration gave back.
#[derive(Clone, Copy, Debug)]
pub struct Registered {
    pub app_id: AppId,
    pub object_id: ObjectId,
    pub service_principal_id: Option<ObjectId>,
}

enum Backend {
    Mock(Box<TestServer>),
    Remote {
        graph_url: String,
        admin_upn: String,
        admin_password: String,
    },
}

/// The tenant of one scenario.
pub struct TenantTarget {
    /// Login base URL (`scheme://host:port`).
    pub base_url: String,
    pub tenant_id: String,
    /// A verified domain of the tenant.
    pub domain: String,
    pub http: reqwest::Client,
    backend: Backend,
}

/// Whether this run talks to a remote target instead of in-process mocks.
pub fn remote_target() -> Option<String> {
    std::env::var("ENTRA_HARNESS_TARGET")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

fn http_client(ca_pem: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?);
    }
    Ok(builder.build()?)
}

impl TenantTarget {
    /// This scenario's tenant: a fresh mock with the default fixture, or the remote target.
    pub async fn start() -> anyhow::Result<Self> {
        match remote_target() {
            Some(url) => Self::remote(url),
            None => Self::mock(TenantFixture::default_fixture()).await,
        }
    }

    /// A fresh in-process mock holding `fixture`.
    pub async fn mock(fixture: TenantFixture) -> anyhow::Result<Self> {
        let domain = fixture.tenant.initial_domain.clone();
        let server = TestServer::start_with(fixture, true).await?;
        let ca_pem = server.ca_pem_text();
        Ok(TenantTarget {
            base_url: server.url.clone(),
            tenant_id: server.tenant_id.to_string(),
            domain,
            http: http_client(ca_pem.as_deref())?,
            backend: Backend::Mock(Box::new(server)),
        })
    }

    fn remote(url: String) -> anyhow::Result<Self> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let ca_pem = match env("ENTRA_HARNESS_CA_FILE") {
            Some(path) => {
                Some(std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?)
            }
            None => None,
        };
        let domain = env("ENTRA_HARNESS_DOMAIN").unwrap_or_else(|| DEFAULT_DOMAIN.into());
        let base_url = url.trim_end_matches('/').to_string();
        Ok(TenantTarget {
            http: http_client(ca_pem.as_deref())?,
            tenant_id: env("ENTRA_HARNESS_TENANT").unwrap_or_else(|| DEFAULT_TENANT.into()),
            backend: Backend::Remote {
                graph_url: env("ENTRA_HARNESS_GRAPH").unwrap_or_else(|| base_url.clone()),
                admin_upn: env("ENTRA_HARNESS_ADMIN_UPN")
                    .unwrap_or_else(|| format!("admin@{domain}")),
                admin_password: env("ENTRA_HARNESS_ADMIN_PASSWORD")
                    .unwrap_or_else(|| "Passw0rd!".into()),
            },
            domain,
            base_url,
        })
    }

    /// The in-process mock, for steps that need its control plane.
    pub fn test_server(&self) -> anyhow::Result<&TestServer> {
        match &self.backend {
            Backend::Mock(server) => Ok(server),
            Backend::Remote { .. } => bail!(
                "this step needs the mock's control plane (clock, faults, direct state); tag the scenario @mock-only"
            ),
        }
    }

    /// The tenant's current time: the mock's clock, or the system clock for a remote tenant.
    pub fn now(&self) -> OffsetDateTime {
        match &self.backend {
            Backend::Mock(server) => server.with_tenant(|t| t.now()),
            Backend::Remote { .. } => OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
        }
    }

    pub fn token_url(&self, tenant: &str, v1: bool) -> String {
        if v1 {
            format!("{}/{tenant}/oauth2/token", self.base_url)
        } else {
            format!("{}/{tenant}/oauth2/v2.0/token", self.base_url)
        }
    }

    /// Registers an application (and, unless told not to, its service principal) with a
    /// certificate credential valid from `start` to `end`.
    pub async fn register_application(
        &self,
        name: &str,
        certificate_der: &[u8],
        start: OffsetDateTime,
        end: OffsetDateTime,
        with_service_principal: bool,
    ) -> anyhow::Result<Registered> {
        match &self.backend {
            Backend::Mock(server) => Ok(server.with_tenant(|t| {
                let r = t.register_application(name);
                t.add_certificate(r.application_id, certificate_der, start, end);
                if !with_service_principal {
                    t.directory
                        .service_principals
                        .retain(|s| s.id != r.service_principal_id);
                }
                Registered {
                    app_id: r.app_id,
                    object_id: r.application_id,
                    service_principal_id: with_service_principal.then_some(r.service_principal_id),
                }
            })),
            Backend::Remote { graph_url, .. } => {
                let token = self.admin_token().await?;
                let app = self
                    .graph(
                        &token,
                        "POST",
                        &format!("{graph_url}/v1.0/applications"),
                        Some(json!({"displayName": name})),
                    )
                    .await?;
                let object_id: ObjectId = field(&app, "id")?.parse()?;
                let app_id: AppId = field(&app, "appId")?.parse()?;
                let key = json!({"keyCredentials": [{
                    "type": "AsymmetricX509Cert",
                    "usage": "Verify",
                    "key": STANDARD.encode(certificate_der),
                    "startDateTime": start.format(&Rfc3339)?,
                    "endDateTime": end.format(&Rfc3339)?,
                    "displayName": format!("CN={name}"),
                }]});
                self.graph(
                    &token,
                    "PATCH",
                    &format!("{graph_url}/v1.0/applications/{object_id}"),
                    Some(key),
                )
                .await?;
                let service_principal_id = if with_service_principal {
                    let sp = self
                        .graph(
                            &token,
                            "POST",
                            &format!("{graph_url}/v1.0/servicePrincipals"),
                            Some(json!({"appId": app_id.to_string()})),
                        )
                        .await?;
                    Some(field(&sp, "id")?.parse()?)
                } else {
                    None
                };
                Ok(Registered {
                    app_id,
                    object_id,
                    service_principal_id,
                })
            }
        }
    }

    /// Assigns the app role `role` of the service principal of `resource` to `principal`.
    pub async fn grant_app_role(
        &self,
        principal: ObjectId,
        resource: &str,
        role: &str,
    ) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Mock(server) => server.with_tenant(|t| {
                t.assign_app_role(principal, resource.parse()?, role)
                    .map(|_| ())
                    .ok_or_else(|| anyhow!("unknown resource {resource} or role {role}"))
            }),
            Backend::Remote { graph_url, .. } => {
                let token = self.admin_token().await?;
                let sp = self
                    .graph(&token, "GET", &format!("{graph_url}/v1.0/servicePrincipals(appId='{resource}')?$select=id,appRoles"), None)
                    .await?;
                let role_id = sp["appRoles"]
                    .as_array()
                    .and_then(|roles| roles.iter().find(|r| r["value"] == role))
                    .and_then(|r| r["id"].as_str())
                    .ok_or_else(|| anyhow!("{resource} has no app role {role}"))?;
                let body = json!({"principalId": principal.to_string(), "resourceId": field(&sp, "id")?, "appRoleId": role_id});
                self.graph(
                    &token,
                    "POST",
                    &format!("{graph_url}/v1.0/servicePrincipals/{principal}/appRoleAssignments"),
                    Some(body),
                )
                .await?;
                Ok(())
            }
        }
    }

    /// The last `n` requests the mock journaled, one line each, for failure reports.
    pub fn journal_tail(&self, n: usize) -> Vec<String> {
        let Backend::Mock(server) = &self.backend else {
            return Vec::new();
        };
        let entries = server.with_tenant(|t| t.controls.journal.entries());
        let skip = entries.len().saturating_sub(n);
        entries
            .iter()
            .skip(skip)
            .map(|e| serde_json::to_string(e).unwrap_or_else(|_| format!("{e:?}")))
            .collect()
    }

    /// The tenant's state in fixture format (mock only).
    pub fn snapshot_json(&self) -> Option<String> {
        let Backend::Mock(server) = &self.backend else {
            return None;
        };
        serde_json::to_string_pretty(&server.with_tenant(|t| t.to_fixture())).ok()
    }

    async fn admin_token(&self) -> anyhow::Result<String> {
        let Backend::Remote {
            admin_upn,
            admin_password,
            ..
        } = &self.backend
        else {
            bail!("the mock is arranged in-process");
        };
        let resp = self
            .http
            .post(self.token_url(&self.tenant_id, false))
            .form(&[
                ("grant_type", "password"),
                ("client_id", GRAPH_CLI),
                ("username", admin_upn.as_str()),
                ("password", admin_password.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        body["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("administrator sign-in failed ({status}): {body}"))
    }

    async fn graph(
        &self,
        token: &str,
        method: &str,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method.parse()?, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(
            status.is_success(),
            "{method} {url} answered {status}: {text}"
        );
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }
}

fn field<'v>(v: &'v Value, name: &str) -> anyhow::Result<&'v str> {
    v[name]
        .as_str()
        .ok_or_else(|| anyhow!("Graph's answer lacks {name}: {v}"))
}
