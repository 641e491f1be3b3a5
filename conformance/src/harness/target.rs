//! The tenant a scenario talks to, behind one interface: the steps reach their tenant through
//! `TenantTarget` only, never around it.
//!
//! - By default (**direct**) it is the scenario's own in-process mock: its own server, tenant
//!   and clock, changed under the tenant's lock.
//! - With `ENTRA_HARNESS_TARGET=<base URL>` it is a tenant reached only by URL, arranged through
//!   Microsoft Graph with an administrator's token, as a real tenant is. When the target is
//!   another mock (`mock-graph serve`), it has the mock's **control plane** (`/_mock/`): each
//!   scenario then creates its own tenant there (`POST /_mock/tenants`, a fixture under a fresh
//!   id and domain) and the operations below that need the control plane (the clock, fault
//!   rules, the journal, snapshots, credentials added as a fixture would add them) go to it over
//!   HTTP. A real tenant has no control plane: those operations fail saying so, and the runner
//!   leaves out the scenarios that use them (tagged `@mock-only`).
//!
//! Remote target settings (environment), read once by `configure`:
//! - `ENTRA_HARNESS_TARGET`: login base URL, e.g. `https://127.0.0.1:8443`;
//! - `ENTRA_HARNESS_GRAPH`: Graph base URL (default: the target URL);
//! - `ENTRA_HARNESS_CONTROL_PLANE`: `1` or `0`, whether the target has the mock's control plane
//!   (default: probed, `GET /_mock/tenants/{tenant}/clock` answering `{"now": ...}`);
//! - `ENTRA_HARNESS_TENANT`: tenant id (default: the mock's default tenant; with a control
//!   plane only the probe uses it);
//! - `ENTRA_HARNESS_DOMAIN`: a verified domain (default: `contoso.onmicrosoft.com`);
//! - `ENTRA_HARNESS_CA_FILE`: an extra CA to trust (PEM; a relative path is taken from the
//!   repository root);
//! - `ENTRA_HARNESS_ADMIN_UPN` / `ENTRA_HARNESS_ADMIN_PASSWORD`: an Application Administrator
//!   or Global Administrator (default: the default fixture's `admin@<domain>` / `Passw0rd!`).
//!
//! The feature files name users in the domain of the fixture they start from (the default
//! fixture's `contoso.onmicrosoft.com`); `TenantTarget::user` moves such a name to the domain
//! the tenant really has (a fresh copy's, or `ENTRA_HARNESS_DOMAIN`).

use std::sync::OnceLock;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mock_graph::TenantFixture;
use mock_graph::core::clock::VirtualClock;
use mock_graph::core::directory::{Directory, PasswordCredential};
use mock_graph::core::faults::FaultSpec;
use mock_graph::core::ids::{AppId, ObjectId, TenantId};
use mock_graph::core::journal::JournalEntry;
use mock_graph::core::tenant::Tenant;
use mock_graph::testing::TestServer;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Microsoft Graph Command Line Tools: the public client administrators sign in through.
const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const DEFAULT_TENANT: &str = "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d";
/// The default fixture's domain: the one the feature files name users in.
const DEFAULT_DOMAIN: &str = "contoso.onmicrosoft.com";
const DEFAULT_PASSWORD: &str = "Passw0rd!";

/// What a run targets when it is not in-process mocks: `ENTRA_HARNESS_*`, read once.
#[derive(Debug)]
pub struct RemoteSettings {
    /// Login base URL (`scheme://host:port`).
    pub url: String,
    pub graph_url: String,
    /// Whether the target has the mock's control plane.
    pub control_plane: bool,
    /// Whether `control_plane` was probed (rather than set by `ENTRA_HARNESS_CONTROL_PLANE`).
    pub probed: bool,
    tenant_id: String,
    domain: String,
    ca_pem: Option<String>,
    admin_upn: Option<String>,
    admin_password: String,
}

static SETTINGS: OnceLock<Option<RemoteSettings>> = OnceLock::new();

/// Reads the remote target's settings (and probes its control plane) once, before the
/// scenarios start; `None`: the scenarios run against in-process mocks.
pub async fn configure() -> anyhow::Result<Option<&'static RemoteSettings>> {
    if let Some(settings) = SETTINGS.get() {
        return Ok(settings.as_ref());
    }
    let settings = match env("ENTRA_HARNESS_TARGET") {
        Some(url) => Some(RemoteSettings::read(url).await?),
        None => None,
    };
    Ok(SETTINGS.get_or_init(|| settings).as_ref())
}

/// The remote target, once `configure` has read it.
pub fn remote() -> Option<&'static RemoteSettings> {
    SETTINGS
        .get()
        .expect("the runner configures the target before the scenarios start")
        .as_ref()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl RemoteSettings {
    async fn read(url: String) -> anyhow::Result<Self> {
        let ca_pem = match env("ENTRA_HARNESS_CA_FILE") {
            Some(path) => {
                let path = super::from_root(path);
                Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )
            }
            None => None,
        };
        let url = url.trim_end_matches('/').to_string();
        let tenant_id = env("ENTRA_HARNESS_TENANT").unwrap_or_else(|| DEFAULT_TENANT.into());
        let (control_plane, probed) = match env("ENTRA_HARNESS_CONTROL_PLANE").as_deref() {
            Some("1" | "true") => (true, false),
            Some("0" | "false") => (false, false),
            Some(other) => bail!("ENTRA_HARNESS_CONTROL_PLANE is {other:?}: give 1 or 0"),
            None => {
                let http = http_client(ca_pem.as_deref())?;
                (probe(&http, &url, &tenant_id).await, true)
            }
        };
        Ok(RemoteSettings {
            graph_url: env("ENTRA_HARNESS_GRAPH")
                .map(|g| g.trim_end_matches('/').to_string())
                .unwrap_or_else(|| url.clone()),
            url,
            control_plane,
            probed,
            tenant_id,
            domain: env("ENTRA_HARNESS_DOMAIN").unwrap_or_else(|| DEFAULT_DOMAIN.into()),
            ca_pem,
            admin_upn: env("ENTRA_HARNESS_ADMIN_UPN"),
            admin_password: env("ENTRA_HARNESS_ADMIN_PASSWORD")
                .unwrap_or_else(|| DEFAULT_PASSWORD.into()),
        })
    }
}

/// Whether `url` answers the mock's control plane for `tenant` (its clock).
async fn probe(http: &reqwest::Client, url: &str, tenant: &str) -> bool {
    let Ok(resp) = http
        .get(format!("{url}/_mock/tenants/{tenant}/clock"))
        .send()
        .await
    else {
        return false;
    };
    resp.status().is_success()
        && resp
            .json::<Value>()
            .await
            .is_ok_and(|v| v["now"].is_string())
}

fn http_client(ca_pem: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?);
    }
    Ok(builder.build()?)
}

/// What an application registration gave back.
#[derive(Clone, Copy, Debug)]
pub struct Registered {
    pub app_id: AppId,
    pub object_id: ObjectId,
    pub service_principal_id: Option<ObjectId>,
}

enum Backend {
    /// The scenario's own in-process mock.
    Direct(Box<TestServer>),
    /// A tenant reached by URL.
    Remote {
        admin_upn: String,
        admin_password: String,
        /// Whether the target has the mock's control plane.
        control_plane: bool,
    },
}

/// The tenant of one scenario.
pub struct TenantTarget {
    /// Login base URL (`scheme://host:port`).
    pub base_url: String,
    /// Graph base URL.
    pub graph_url: String,
    pub tenant_id: String,
    /// A verified domain of the tenant.
    pub domain: String,
    /// The domain the feature files know this tenant by: its fixture's (see `user`).
    named_domain: String,
    pub http: reqwest::Client,
    /// The CA the tenant's server certificate chains to, when it is not a public one.
    ca_pem: Option<String>,
    backend: Backend,
}

impl TenantTarget {
    /// This scenario's tenant holding the default fixture: a fresh in-process mock, a fresh
    /// tenant on a remote mock, or the remote tenant.
    pub async fn start() -> anyhow::Result<Self> {
        match remote() {
            None => Self::direct(TenantFixture::default_fixture()).await,
            Some(r) if r.control_plane => {
                Self::remote_copy(r, json!({}), DEFAULT_DOMAIN.into()).await
            }
            Some(r) => Self::remote_configured(r),
        }
    }

    /// This scenario's tenant holding `fixture`: a fresh in-process mock, or on a remote mock a
    /// fresh tenant loaded from it under a fresh id and domain. (Needs the control plane.)
    pub async fn from_fixture(fixture: TenantFixture) -> anyhow::Result<Self> {
        match remote() {
            None => Self::direct(fixture).await,
            Some(r) if r.control_plane => {
                let named = fixture.tenant.initial_domain.clone();
                Self::remote_copy(r, serde_json::to_value(fresh_copy(fixture))?, named).await
            }
            Some(r) => bail!(no_control_plane(&r.url, "loading a fixture")),
        }
    }

    async fn direct(fixture: TenantFixture) -> anyhow::Result<Self> {
        let domain = fixture.tenant.initial_domain.clone();
        let server = TestServer::start_with(fixture, true).await?;
        let ca_pem = server.ca_pem_text();
        Ok(TenantTarget {
            base_url: server.url.clone(),
            graph_url: server.url.clone(),
            tenant_id: server.tenant_id.to_string(),
            named_domain: domain.clone(),
            domain,
            http: http_client(ca_pem.as_deref())?,
            ca_pem,
            backend: Backend::Direct(Box::new(server)),
        })
    }

    /// A tenant the scenario creates on a remote mock (`POST /_mock/tenants`) from `body`: `{}`
    /// for a copy of the default fixture, or a fixture.
    async fn remote_copy(
        r: &RemoteSettings,
        body: Value,
        named_domain: String,
    ) -> anyhow::Result<Self> {
        let http = http_client(r.ca_pem.as_deref())?;
        let url = format!("{}/_mock/tenants", r.url);
        let created = send(&http, "POST", &url, None, Some(body)).await?;
        let mut target = Self::remote_configured(r)?;
        target.http = http;
        target.tenant_id = field(&created, "id")?.to_string();
        target.domain = field(&created, "domain")?.to_string();
        target.named_domain = named_domain;
        // The administrator of the new tenant: the configured one, moved to its domain.
        let admin = target.user(r.admin_upn.as_deref().unwrap_or("admin"));
        if let Backend::Remote { admin_upn, .. } = &mut target.backend {
            *admin_upn = admin;
        }
        Ok(target)
    }

    /// The tenant the settings name, as it is.
    fn remote_configured(r: &RemoteSettings) -> anyhow::Result<Self> {
        Ok(TenantTarget {
            base_url: r.url.clone(),
            graph_url: r.graph_url.clone(),
            tenant_id: r.tenant_id.clone(),
            domain: r.domain.clone(),
            named_domain: DEFAULT_DOMAIN.into(),
            http: http_client(r.ca_pem.as_deref())?,
            ca_pem: r.ca_pem.clone(),
            backend: Backend::Remote {
                admin_upn: r
                    .admin_upn
                    .clone()
                    .unwrap_or_else(|| format!("admin@{}", r.domain)),
                admin_password: r.admin_password.clone(),
                control_plane: r.control_plane,
            },
        })
    }

    /// A user principal name as a scenario writes it, in this tenant: a bare name gets the
    /// tenant's domain, and a name in the domain the feature files know the tenant by (its
    /// fixture's) moves to the domain the tenant has.
    pub fn user(&self, who: &str) -> String {
        match who.rsplit_once('@') {
            None => format!("{who}@{}", self.domain),
            Some((local, domain)) if domain.eq_ignore_ascii_case(&self.named_domain) => {
                format!("{local}@{}", self.domain)
            }
            Some(_) => who.to_string(),
        }
    }

    /// The CA (PEM) the tenant's server certificate chains to, when it is not a public one.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    pub fn token_url(&self, tenant: &str, v1: bool) -> String {
        if v1 {
            format!("{}/{tenant}/oauth2/token", self.base_url)
        } else {
            format!("{}/{tenant}/oauth2/v2.0/token", self.base_url)
        }
    }

    // ---- the clock

    /// The tenant's current time: its clock, or the system clock for a tenant without a
    /// control plane.
    pub async fn now(&self) -> anyhow::Result<OffsetDateTime> {
        match &self.backend {
            Backend::Direct(server) => Ok(server.with_tenant(|t| t.now())),
            Backend::Remote {
                control_plane: true,
                ..
            } => {
                let clock = self.control("GET", "clock", None).await?;
                Ok(OffsetDateTime::parse(field(&clock, "now")?, &Rfc3339)?)
            }
            Backend::Remote { .. } => {
                let now = OffsetDateTime::now_utc();
                Ok(now.replace_nanosecond(0).unwrap_or(now))
            }
        }
    }

    /// Moves the tenant's clock by `by` (control plane).
    pub async fn advance_clock(&self, by: Duration) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Direct(server) => {
                server.with_tenant(|t| t.advance_clock(by));
                Ok(())
            }
            Backend::Remote { .. } => {
                self.needs_control_plane("moving the tenant clock")?;
                let change = json!({"advance_seconds": by.whole_seconds()});
                self.control("POST", "clock", Some(change)).await.map(drop)
            }
        }
    }

    /// Stops the tenant's clock at its current second, where it stays until moved; returns
    /// that instant (control plane: a snapshot with the clock frozen, put back).
    pub async fn freeze_clock(&self) -> anyhow::Result<OffsetDateTime> {
        self.needs_control_plane("freezing the tenant clock")?;
        self.edit(|t| {
            let now = t.now().replace_nanosecond(0).unwrap_or_else(|_| t.now());
            t.clock = VirtualClock::frozen(now);
            now
        })
        .await
    }

    // ---- fault rules and the journal

    /// Adds a fault rule (the control plane's JSON, see the README) to the tenant.
    pub async fn add_fault(&self, rule: Value) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Direct(server) => {
                let spec = FaultSpec::from_json(&serde_json::to_vec(&rule)?)?;
                server.with_tenant(|t| t.controls.faults.add(spec))?;
                Ok(())
            }
            Backend::Remote { .. } => {
                self.needs_control_plane("adding a fault rule")?;
                self.control("POST", "faults", Some(rule)).await.map(drop)
            }
        }
    }

    /// Every request the tenant journaled, oldest first (the last 10,000).
    pub async fn journal(&self) -> anyhow::Result<Vec<JournalEntry>> {
        match &self.backend {
            Backend::Direct(server) => Ok(server.with_tenant(|t| t.controls.journal.entries())),
            Backend::Remote { .. } => {
                self.needs_control_plane("reading the tenant's journal")?;
                let mut list = self.control("GET", "requests", None).await?;
                Ok(serde_json::from_value(list["value"].take())?)
            }
        }
    }

    // ---- the tenant's state

    /// The tenant's whole state, in fixture format (control plane: `GET .../snapshot`).
    pub async fn snapshot(&self) -> anyhow::Result<TenantFixture> {
        match &self.backend {
            Backend::Direct(server) => Ok(server.with_tenant(|t| t.to_fixture())),
            Backend::Remote { .. } => {
                self.needs_control_plane("reading the tenant's state")?;
                let snapshot = self.control("GET", "snapshot", None).await?;
                Ok(serde_json::from_value(snapshot)?)
            }
        }
    }

    /// The tenant's directory objects as they are now (a snapshot's).
    pub async fn directory(&self) -> anyhow::Result<Directory> {
        match &self.backend {
            Backend::Direct(server) => Ok(server.with_tenant(|t| t.directory.clone())),
            Backend::Remote { .. } => Ok(self.snapshot().await?.directory),
        }
    }

    /// Changes the tenant as a fixture would have it: in-process under the tenant's lock, on a
    /// remote mock by taking a snapshot, changing it and putting it back (`GET` and `PUT
    /// .../snapshot`; fault rules and the journal stay). A running clock restarts from the
    /// second the snapshot shows. No request of the scenario is in flight meanwhile: its steps
    /// run one after the other.
    async fn edit<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> anyhow::Result<R> {
        match &self.backend {
            Backend::Direct(server) => Ok(server.with_tenant(f)),
            Backend::Remote { .. } => {
                let mut tenant = Tenant::from_fixture(self.snapshot().await?)?;
                let out = f(&mut tenant);
                let snapshot = serde_json::to_value(tenant.to_fixture())?;
                self.control("PUT", "snapshot", Some(snapshot)).await?;
                Ok(out)
            }
        }
    }

    /// Adds a certificate credential to the application `app` as a fixture would (no Graph
    /// request, no proof); returns its key id (control plane).
    pub async fn add_certificate(
        &self,
        app: ObjectId,
        certificate_der: &[u8],
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> anyhow::Result<Uuid> {
        self.needs_control_plane("adding a certificate credential")?;
        self.edit(|t| t.add_certificate(app, certificate_der, start, end))
            .await?
            .ok_or_else(|| anyhow!("the tenant has no application {app}"))
    }

    /// Adds the client secret `secret` to the application `app`, valid for a year up to
    /// `expires_in` from now (negative: expired), as a fixture would (control plane).
    pub async fn add_client_secret(
        &self,
        app: ObjectId,
        secret: &str,
        expires_in: Duration,
    ) -> anyhow::Result<()> {
        self.needs_control_plane("adding a client secret")?;
        self.edit(|t| {
            let end = t.now() + expires_in;
            let credential = PasswordCredential {
                key_id: Uuid::new_v4(),
                display_name: Some("test secret".into()),
                hint: Some(secret.chars().take(3).collect()),
                start_date_time: end - Duration::days(365),
                end_date_time: end,
                secret_text: secret.to_string(),
            };
            t.directory
                .application_mut(app)
                .map(|a| a.password_credentials.push(credential))
        })
        .await?
        .ok_or_else(|| anyhow!("the tenant has no application {app}"))
    }

    /// Removes every certificate credential of the application `app`; returns how many there
    /// were (control plane).
    pub async fn remove_certificates(&self, app: ObjectId) -> anyhow::Result<usize> {
        self.needs_control_plane("removing certificate credentials")?;
        self.edit(|t| {
            t.directory.application_mut(app).map(|a| {
                let n = a.key_credentials.len();
                a.key_credentials.clear();
                n
            })
        })
        .await?
        .ok_or_else(|| anyhow!("the tenant has no application {app}"))
    }

    // ---- what an administrator does through Graph

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
            Backend::Direct(server) => Ok(server.with_tenant(|t| {
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
            Backend::Remote { .. } => {
                let graph_url = &self.graph_url;
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
            Backend::Direct(server) => server.with_tenant(|t| {
                t.assign_app_role(principal, resource.parse()?, role)
                    .map(|_| ())
                    .ok_or_else(|| anyhow!("unknown resource {resource} or role {role}"))
            }),
            Backend::Remote { .. } => {
                let graph_url = &self.graph_url;
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

    // ---- failure reports

    /// The last `n` requests the tenant journaled, one line each; none when the tenant has no
    /// control plane.
    pub async fn journal_tail(&self, n: usize) -> Vec<String> {
        let entries = self.journal().await.unwrap_or_default();
        let skip = entries.len().saturating_sub(n);
        entries
            .iter()
            .skip(skip)
            .map(|e| serde_json::to_string(e).unwrap_or_else(|_| format!("{e:?}")))
            .collect()
    }

    /// The tenant's state in fixture format, pretty-printed; `None` without a control plane.
    pub async fn snapshot_json(&self) -> Option<String> {
        let snapshot = self.snapshot().await.ok()?;
        serde_json::to_string_pretty(&snapshot).ok()
    }

    // ---- HTTP

    /// Fails, saying what needed it, when the tenant is remote and has no control plane.
    fn needs_control_plane(&self, what: &str) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Remote {
                control_plane: false,
                ..
            } => bail!(no_control_plane(&self.base_url, what)),
            _ => Ok(()),
        }
    }

    /// A request to the tenant's control plane, `/_mock/tenants/{tid}/{what}`.
    async fn control(
        &self,
        method: &str,
        what: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/_mock/tenants/{}/{what}", self.base_url, self.tenant_id);
        send(&self.http, method, &url, None, body).await
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
                // Microsoft Graph by its appId: the same in every cloud.
                ("scope", "00000003-0000-0000-c000-000000000000/.default"),
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
        send(&self.http, method, url, Some(token), body).await
    }
}

/// Sends one JSON request; a 2xx answer's body (`Null` when empty), or an error naming the
/// request and the answer.
async fn send(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = http.request(method.parse()?, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
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

fn no_control_plane(url: &str, what: &str) -> String {
    format!(
        "{what} needs the mock's control plane (/_mock/), which the target {url} does not have \
         (a real tenant; or ENTRA_HARNESS_CONTROL_PLANE=0): tag the scenario @mock-only"
    )
}

/// `fixture` under a fresh tenant id and fresh domains, so that any number of scenarios can
/// load it into one mock: each domain `name.rest` becomes `name-<8 hex>.rest`, and the users'
/// principal names and the applications the tenant owns follow.
fn fresh_copy(mut f: TenantFixture) -> TenantFixture {
    let old_id = f.tenant.id;
    let id = TenantId::new_random();
    let tag = id.0.simple().to_string()[..8].to_string();
    let fresh = |domain: &str| match domain.split_once('.') {
        Some((name, rest)) => format!("{name}-{tag}.{rest}"),
        None => format!("{domain}-{tag}"),
    };
    let old_domains: Vec<String> = std::iter::once(f.tenant.initial_domain.clone())
        .chain(f.tenant.verified_domains.iter().cloned())
        .collect();
    f.tenant.id = id;
    f.tenant.initial_domain = fresh(&f.tenant.initial_domain);
    f.tenant.verified_domains = f.tenant.verified_domains.iter().map(|d| fresh(d)).collect();
    for u in &mut f.directory.users {
        if let Some((local, domain)) = u.user_principal_name.rsplit_once('@')
            && old_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
        {
            u.user_principal_name = format!("{local}@{}", fresh(domain));
        }
    }
    for sp in &mut f.directory.service_principals {
        if sp.app_owner_organization_id == Some(old_id.0) {
            sp.app_owner_organization_id = Some(id.0);
        }
    }
    f
}

fn field<'v>(v: &'v Value, name: &str) -> anyhow::Result<&'v str> {
    v[name]
        .as_str()
        .ok_or_else(|| anyhow!("the answer lacks {name}: {v}"))
}
