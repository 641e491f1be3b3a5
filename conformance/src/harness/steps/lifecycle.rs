//! Steps about the sync server's authentication lifecycle, driving the real client
//! (`adsync_client::lifecycle::SyncServer`) against the scenario's mock tenant: installation,
//! onboarding (managed, BYOC, BYOA, automatic), the scheduler and its certificate events,
//! rotation and cleanup, revocation, the legacy service account and rollback.
//!
//! The sync server's clock and the tenant's clock are one: the first sync server step freezes
//! the tenant clock and gives the client a `FixedClock` at the same instant, and every clock
//! step moves both. Each scenario has its own state directory (a tempdir) and, when it asks for
//! a TPM, its own swtpm.

use std::collections::HashMap;
use std::sync::Arc;

use adsync_client::clock::{Clock, FixedClock};
use adsync_client::cloud::{Cloud, Endpoints};
use adsync_client::config::{IdentityType, ProductVersion, StoreKind};
use adsync_client::events::{Event, EventQuery};
use adsync_client::http::ReqwestTransport;
use adsync_client::ids::{ClientId, KeyCredentialId, ObjectId, Sha256Hash};
use adsync_client::keys::KeyRef;
use adsync_client::keys::Tpm;
use adsync_client::lifecycle::byoc::{KeyProviderKind, NewCertificate};
use adsync_client::lifecycle::hygiene::ApplicationKey;
use adsync_client::lifecycle::install::{InstallOptions, UpgradeOptions, UpgradeReport};
use adsync_client::lifecycle::onboarding::EntraRegistration;
use adsync_client::lifecycle::rotation::RotationOutcome;
use adsync_client::lifecycle::scheduler::{SchedulerChange, SchedulerRun};
use adsync_client::lifecycle::sync_cycle::{PolicyType, SyncCycleResult};
use adsync_client::lifecycle::view::ShownManager;
use adsync_client::lifecycle::{AdminCredentials, LifecycleError, ServerOptions, SyncServer};
use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
use anyhow::{Context as _, anyhow, bail, ensure};
use cucumber::{given, then, when};
use mock_graph::core::journal::JournalEntry;
use mock_graph::core::operation::Operation;
use mock_graph::testing::GenerateAsync as _;
use time::{Duration, OffsetDateTime};

use crate::harness::world::EntraWorld;

/// The fixture users' password.
const PASSWORD: &str = "Passw0rd!";
/// Microsoft Graph's identifier in the global cloud: the resource of Graph tokens.
const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// One scenario's sync server and what its last steps returned.
pub struct ScenarioServer {
    pub name: String,
    pub clock: FixedClock,
    pub server: SyncServer,
    /// Kept alive for the scenario: the state directory and the TPM.
    _dir: tempfile::TempDir,
    swtpm: Option<swtpm::Swtpm>,
    /// How the last operation ended (`None`: no operation ran yet).
    pub last_outcome: Option<Result<(), String>>,
    pub last_run: Option<SchedulerRun>,
    pub last_cycle: Option<SyncCycleResult>,
    pub last_rotation: Option<RotationOutcome>,
    /// What the last upgrade reported.
    pub last_upgrade: Option<UpgradeReport>,
    /// The state before the last step that could rotate (an on-demand rotation or a scheduler
    /// run), read from the client's files and the tenant, not from the step's report.
    pub before_rotation: Option<Before>,
    /// The certificate the last rotation was asked to switch to (BYOC), by its own hash.
    pub rotation_target: Option<Sha256Hash>,
    /// What the last scheduler run left in the event log and the tenant's journal.
    pub run_effects: Option<Effects>,
    /// What the tenant journaled while the last sync cycle (alone or in a scheduler run) ran.
    pub cycle_requests: Vec<JournalEntry>,
    /// What the last credential review listed.
    pub last_review: Option<Vec<ApplicationKey>>,
    /// The key ids of the credentials an Application Administrator added to the sync
    /// application, as the tenant gave them.
    pub foreign_keys: Vec<String>,
    /// Administrators' applications (BYOA), by scenario name: appId, object id, SP id.
    pub apps: HashMap<String, (ClientId, ObjectId, ObjectId)>,
    /// Administrators' certificates in LOCAL_MACHINE, by scenario name.
    pub certs: HashMap<String, Sha256Hash>,
    /// The keys of the certificates a step removed from LOCAL_MACHINE, by scenario name.
    pub removed_keys: HashMap<String, KeyRef>,
}

/// The state a Then step compares with, read before a step ran.
#[derive(Debug, Clone)]
pub struct Before {
    /// The connector's certificate, from its configuration.
    pub certificate: Option<Sha256Hash>,
    /// The sync application's credentials in the tenant, by key id.
    pub tenant_keys: Vec<String>,
    /// How many entries the client's event log held.
    pub events: usize,
    /// How many requests the tenant had journaled.
    pub requests: usize,
}

/// What a step left behind, read from the client's event log and the tenant's journal.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub events: Vec<Event>,
    pub requests: Vec<JournalEntry>,
}

impl std::fmt::Debug for ScenarioServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioServer")
            .field("name", &self.name)
            .field("last_outcome", &self.last_outcome)
            .finish_non_exhaustive()
    }
}

impl ScenarioServer {
    /// Kills the sync server's swtpm process (the machine's TPM stops answering); `false`
    /// when it has none.
    pub async fn stop_swtpm(&mut self) -> anyhow::Result<bool> {
        let Some(swtpm) = self.swtpm.take() else {
            return Ok(false);
        };
        // Dropping it kills and reaps the process: off the async workers.
        tokio::task::spawn_blocking(move || drop(swtpm)).await?;
        Ok(true)
    }

    /// Keeps an operation's outcome for the Then steps; `Some` on success.
    fn record<T>(&mut self, result: Result<T, LifecycleError>) -> Option<T> {
        match result {
            Ok(v) => {
                self.last_outcome = Some(Ok(()));
                Some(v)
            }
            Err(e) => {
                self.last_outcome = Some(Err(e.to_string()));
                None
            }
        }
    }

    /// Keeps a Given's outcome like `record`, and fails the step (and so the scenario) when
    /// the Given could not be done.
    fn given(&mut self, what: &str, result: Result<(), LifecycleError>) -> anyhow::Result<()> {
        if let Err(e) = &result {
            let message = format!("{what} (a Given) failed: {e}");
            self.record(result);
            bail!(message);
        }
        self.record(result);
        Ok(())
    }

    /// The last operation's error, for messages.
    fn last_error(&self) -> Option<&str> {
        match &self.last_outcome {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Reads the state the Then steps compare with: the connector's certificate from its
/// configuration, the sync application's credentials in the tenant, the event log's length
/// and the tenant journal's length.
pub async fn snapshot(w: &EntraWorld) -> anyhow::Result<Before> {
    let srv = server(w);
    let config = srv.config()?;
    let certificate = config
        .application
        .as_ref()
        .map(|a| a.certificate_sha256_hash.clone());
    let tenant_keys = match &config.application {
        Some(_) => tenant_app(w)
            .await
            .map(|a| {
                a.key_credentials
                    .iter()
                    .map(|k| k.key_id.to_string())
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(Before {
        certificate,
        tenant_keys,
        events: srv.event_log().all()?.len(),
        requests: w.tenant().journal().await?.len(),
    })
}

/// What the client logged and the tenant journaled since `before`.
async fn effects_since(w: &EntraWorld, before: &Before) -> anyhow::Result<Effects> {
    let events = server(w)
        .event_log()
        .all()?
        .into_iter()
        .skip(before.events)
        .collect();
    let requests = w
        .tenant()
        .journal()
        .await?
        .into_iter()
        .skip(before.requests)
        .collect();
    Ok(Effects { events, requests })
}

/// Uppercase hex SHA-256 of a certificate's DER, computed here (not by the client).
fn sha256_hex(der: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The sync application's credential in the tenant for the certificate `hash`, if any.
fn tenant_key_for(
    app: &mock_graph::core::directory::Application,
    hash: &Sha256Hash,
) -> Option<mock_graph::core::directory::KeyCredential> {
    app.key_credentials
        .iter()
        .find(|k| {
            k.key
                .as_deref()
                .is_some_and(|der| sha256_hex(der).eq_ignore_ascii_case(hash.as_str()))
        })
        .cloned()
}

fn sync(w: &mut EntraWorld) -> &mut ScenarioServer {
    w.sync_server
        .as_deref_mut()
        .expect("a step before this one must set up the sync server (\"Given a sync server ...\")")
}

fn server(w: &EntraWorld) -> SyncServer {
    w.sync_server
        .as_ref()
        .map(|s| s.server.clone())
        .expect("a step before this one must set up the sync server")
}

fn admin(w: &EntraWorld, name: &str) -> AdminCredentials {
    AdminCredentials {
        user_principal_name: format!("{name}@{}", w.tenant().domain),
        password: PASSWORD.into(),
    }
}

async fn new_server(w: &mut EntraWorld, name: String, with_tpm: bool) -> anyhow::Result<()> {
    new_server_in(w, name, with_tpm, None).await
}

/// A sync server whose Graph tokens are for `cloud`'s Graph (the global cloud's by default),
/// as `adsync --cloud <cloud> --authority <mock>` sets it up.
async fn new_server_in(
    w: &mut EntraWorld,
    name: String,
    with_tpm: bool,
    cloud: Option<Cloud>,
) -> anyhow::Result<()> {
    let graph_resource = cloud
        .map(|c| Endpoints::for_cloud(c).graph_resource().to_owned())
        .unwrap_or_else(|| GRAPH_RESOURCE.to_owned());
    let now = w.tenant().freeze_clock().await?;
    let clock = FixedClock::new(now);
    let ca = w.tenant().ca_pem();
    let http = Arc::new(ReqwestTransport::new(ca.map(str::as_bytes))?);
    let endpoints = Endpoints::new(&w.tenant().base_url, &w.tenant().graph_url)?
        .with_graph_resource(graph_resource);
    let (swtpm, tpm) = if with_tpm {
        // Starting swtpm waits for the process to answer; off the async workers, so the
        // scenarios running beside this one are not held up.
        let (sw, tpm) = tokio::task::spawn_blocking(|| -> anyhow::Result<_> {
            let sw = swtpm::Swtpm::start().context("starting swtpm (is it installed?)")?;
            let tpm = Tpm::connect(&sw.tcti())?;
            Ok((sw, tpm))
        })
        .await??;
        (Some(sw), Some(tpm))
    } else {
        (None, None)
    };
    let dir = tempfile::tempdir()?;
    let server = SyncServer::new(ServerOptions {
        state_dir: dir.path().to_path_buf(),
        clock: Arc::new(clock.clone()),
        http,
        sleeper: Arc::new(SimulatedSleeper::default()),
        endpoints,
        services_url: None,
        tpm,
        retry: RetryPolicy::default(),
    });
    w.sync_server = Some(Box::new(ScenarioServer {
        name,
        clock,
        server,
        _dir: dir,
        swtpm,
        last_outcome: None,
        last_run: None,
        last_cycle: None,
        last_rotation: None,
        last_upgrade: None,
        before_rotation: None,
        rotation_target: None,
        run_effects: None,
        cycle_requests: Vec::new(),
        last_review: None,
        foreign_keys: Vec::new(),
        apps: HashMap::new(),
        certs: HashMap::new(),
        removed_keys: HashMap::new(),
    }));
    Ok(())
}

/// Moves the tenant's clock and the sync server's clock together.
async fn advance(w: &mut EntraWorld, by: Duration) -> anyhow::Result<()> {
    w.tenant().advance_clock(by).await?;
    sync(w).clock.advance(by);
    Ok(())
}

fn duration(n: i64, unit: &str) -> anyhow::Result<Duration> {
    Ok(match unit.trim_end_matches('s') {
        "second" => Duration::seconds(n),
        "minute" => Duration::minutes(n),
        "hour" => Duration::hours(n),
        "day" => Duration::days(n),
        other => bail!("unknown time unit {other:?} (seconds, minutes, hours, days)"),
    })
}

// ---- the sync server

#[given(expr = "a sync server {string} with a TPM")]
async fn server_with_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    new_server(w, name, true).await
}

#[given(expr = "a sync server {string} without a TPM")]
async fn server_without_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    new_server(w, name, false).await
}

#[given(expr = "a sync server {string} without a TPM in the {word} cloud")]
async fn server_in_cloud(w: &mut EntraWorld, name: String, cloud: String) -> anyhow::Result<()> {
    let cloud: Cloud = cloud.parse().map_err(|e: String| anyhow!(e))?;
    new_server_in(w, name, false, Some(cloud)).await
}

/// What the scenario's server is installed with.
fn install_options(
    w: &mut EntraWorld,
    version: &str,
    writeback: bool,
) -> anyhow::Result<InstallOptions> {
    Ok(InstallOptions {
        server_name: sync(w).name.clone(),
        sync_machine_identifier: None,
        version: version.parse::<ProductVersion>().map_err(|e| anyhow!(e))?,
        password_writeback: writeback,
    })
}

async fn install(
    w: &mut EntraWorld,
    version: &str,
    by: &str,
    writeback: bool,
    account: Option<&str>,
) -> anyhow::Result<()> {
    let admin = admin(w, by);
    let options = install_options(w, version, writeback)?;
    let srv = sync(w);
    srv.server.install(&options, &admin).await?;
    if let Some(name) = account {
        srv.server.add_service_account(&admin, Some(name)).await?;
    }
    Ok(())
}

#[given(expr = "the sync server is installed at version {string} by {string}")]
async fn installed(w: &mut EntraWorld, version: String, by: String) -> anyhow::Result<()> {
    install(w, &version, &by, false, None).await
}

#[when(expr = "the sync server is installed at version {string} by {string}")]
async fn installs(w: &mut EntraWorld, version: String, by: String) -> anyhow::Result<()> {
    let admin = admin(w, &by);
    let options = install_options(w, &version, false)?;
    let srv = sync(w);
    let r = srv.server.install(&options, &admin).await;
    srv.record(r);
    Ok(())
}

#[then("the sync server is not installed")]
async fn not_installed(w: &mut EntraWorld) -> anyhow::Result<()> {
    let config = server(w).config_store().load()?;
    ensure!(config.is_none(), "the sync server is installed: {config:?}");
    Ok(())
}

#[given(
    expr = "the sync server is installed at version {string} with password writeback by {string}"
)]
async fn installed_with_writeback(
    w: &mut EntraWorld,
    version: String,
    by: String,
) -> anyhow::Result<()> {
    install(w, &version, &by, true, None).await
}

#[given(
    expr = "the sync server is installed at version {string} by {string} with the custom service account {string}"
)]
async fn installed_custom_account(
    w: &mut EntraWorld,
    version: String,
    by: String,
    account: String,
) -> anyhow::Result<()> {
    install(w, &version, &by, false, Some(&account)).await
}

async fn upgrade(
    w: &mut EntraWorld,
    version: &str,
    by: Option<&str>,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = by.map(|by| admin(w, by));
    let options = UpgradeOptions {
        version: version.parse::<ProductVersion>().map_err(|e| anyhow!(e))?,
        configure_application_authentication: admin.is_some(),
    };
    let srv = sync(w);
    let r = srv.server.upgrade(&options, admin.as_ref()).await;
    Ok(r.map(|report| srv.last_upgrade = Some(report)))
}

#[given(expr = "the sync server is upgraded to version {string}")]
async fn upgraded(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let r = upgrade(w, &version, None).await?;
    sync(w).given("the upgrade", r)
}

#[when(expr = "the sync server is upgraded to version {string}")]
async fn upgrades(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let r = upgrade(w, &version, None).await?;
    sync(w).record(r);
    Ok(())
}

#[when(
    expr = "the sync server is upgraded to version {string} with application-based authentication configured by {string}"
)]
async fn upgrades_configuring(
    w: &mut EntraWorld,
    version: String,
    by: String,
) -> anyhow::Result<()> {
    let r = upgrade(w, &version, Some(&by)).await?;
    sync(w).record(r);
    Ok(())
}

/// What the last upgrade recommended.
fn recommendation(w: &mut EntraWorld) -> anyhow::Result<Option<String>> {
    let report = sync(w)
        .last_upgrade
        .clone()
        .ok_or_else(|| anyhow!("no upgrade reported"))?;
    Ok(report.recommendation)
}

#[then("the upgrade recommended configuring application-based authentication")]
async fn upgrade_recommended(w: &mut EntraWorld) -> anyhow::Result<()> {
    let text = recommendation(w)?.unwrap_or_default();
    ensure!(
        text.contains("configure application-based authentication"),
        "the upgrade recommended {text:?}"
    );
    Ok(())
}

#[then("the upgrade recommended nothing")]
async fn upgrade_recommended_nothing(w: &mut EntraWorld) -> anyhow::Result<()> {
    let text = recommendation(w)?;
    ensure!(text.is_none(), "the upgrade recommended {text:?}");
    Ok(())
}

#[then(expr = "the sync server's version is {string}")]
async fn version_is(w: &mut EntraWorld, version: String) -> anyhow::Result<()> {
    let config = server(w).config()?;
    ensure!(
        config.product_version.to_string() == version,
        "the configuration says version {}",
        config.product_version
    );
    Ok(())
}

#[then(
    expr = "the client's {string} cloud profile signs in at {string} and gets tokens for Graph at {string}"
)]
async fn cloud_profile(
    _w: &mut EntraWorld,
    cloud: String,
    login: String,
    graph: String,
) -> anyhow::Result<()> {
    // What `adsync --cloud <cloud>` parses and uses.
    let cloud: Cloud = cloud.parse().map_err(|e: String| anyhow!(e))?;
    let e = Endpoints::for_cloud(cloud);
    let trim = |u: &str| u.trim_end_matches('/').to_owned();
    ensure!(
        trim(e.authority().as_str()) == login,
        "the login service is {}",
        e.authority()
    );
    ensure!(trim(e.graph().as_str()) == graph, "Graph is {}", e.graph());
    ensure!(
        e.graph_resource() == graph,
        "Graph tokens are for {}",
        e.graph_resource()
    );
    let tenant = adsync_client::ids::TenantId::from("contoso.onmicrosoft.com");
    ensure!(
        e.token_url_v2(&tenant) == format!("{login}/contoso.onmicrosoft.com/oauth2/v2.0/token"),
        "the token endpoint is {}",
        e.token_url_v2(&tenant)
    );
    Ok(())
}

// ---- clocks

#[when(expr = "the clocks move forward {int} {word}")]
#[given(expr = "the clocks move forward {int} {word}")]
async fn clocks_forward(w: &mut EntraWorld, n: i64, unit: String) -> anyhow::Result<()> {
    let by = duration(n, &unit)?;
    advance(w, by).await
}

/// Moves both clocks so that the connector's certificate expires in `days` days (negative:
/// expired that many days ago). The certificate's notAfter is read from the certificate itself
/// (parsed here), not from the client's certificate check, whose verdict these steps test.
async fn move_to_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    let srv = server(w);
    let app = srv
        .config()?
        .application
        .ok_or_else(|| anyhow!("the connector has no certificate"))?;
    let entry = srv
        .store(app.certificate_store)
        .get(&app.certificate_sha256_hash)?
        .ok_or_else(|| anyhow!("the connector's certificate is not in its store"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(entry.certificate.der())
        .map_err(|e| anyhow!("the connector's certificate does not parse: {e}"))?;
    let not_after = OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())?;
    let target = not_after - Duration::days(days);
    let by = target - sync(w).clock.now();
    ensure!(!by.is_negative(), "the clocks would have to move backwards");
    advance(w, by).await
}

#[when(expr = "the clocks move to {int} days before the certificate expires")]
#[given(expr = "the clocks move to {int} days before the certificate expires")]
async fn to_days_before_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    move_to_expiry(w, days).await
}

#[when(expr = "the clocks move to {int} day(s) after the certificate expired")]
#[given(expr = "the clocks move to {int} day(s) after the certificate expired")]
async fn to_days_after_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    move_to_expiry(w, -days).await
}

// ---- administrators' certificates and applications

async fn admin_certificate(
    w: &mut EntraWorld,
    name: String,
    provider: &str,
    days: i64,
    grant: bool,
) -> anyhow::Result<()> {
    let provider = match provider {
        "TPM" | "the TPM" => KeyProviderKind::Tpm,
        "software" => KeyProviderKind::Software,
        other => bail!("unknown key provider {other:?} (the TPM, software)"),
    };
    let srv = sync(w);
    let cert = srv
        .server
        .new_local_machine_certificate(&NewCertificate {
            provider,
            subject_cn: format!("{name}.contoso.com"),
            validity: Duration::days(days),
            grant_sync_account: grant,
            exportable: false,
        })
        .await?;
    srv.certs.insert(name, cert.sha256_hash());
    Ok(())
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE with a software key")]
async fn admin_cert(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", 365, true).await
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE with its key in the TPM")]
async fn admin_cert_tpm(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "TPM", 365, true).await
}

#[given(expr = "an administrator's certificate {string} in LOCAL_MACHINE valid for {int} days")]
async fn admin_cert_days(w: &mut EntraWorld, name: String, days: i64) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", days, true).await
}

#[given(
    expr = "an administrator's certificate {string} in LOCAL_MACHINE that the sync account may not use"
)]
async fn admin_cert_no_grant(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    admin_certificate(w, name, "software", 365, false).await
}

fn cert_hash(w: &mut EntraWorld, name: &str) -> anyhow::Result<Sha256Hash> {
    sync(w)
        .certs
        .get(name)
        .cloned()
        .ok_or_else(|| anyhow!("no administrator's certificate named {name:?} in this scenario"))
}

#[given(expr = "the administrator registers an application {string} with certificate {string}")]
async fn admin_registers_app(w: &mut EntraWorld, app: String, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w)
        .store(adsync_client::config::StoreKind::LocalMachine)
        .get(&hash)?
        .ok_or_else(|| anyhow!("certificate {cert} is not in LOCAL_MACHINE"))?;
    let info = entry.certificate.info()?;
    let der = entry.certificate.der().to_vec();
    let registered = w
        .tenant()
        .register_application(&app, &der, info.not_before, info.not_after, true)
        .await?;
    let sp = registered
        .service_principal_id
        .ok_or_else(|| anyhow!("{app} got no service principal"))?;
    sync(w).apps.insert(
        app,
        (
            ClientId::from(registered.app_id.to_string()),
            ObjectId::from(registered.object_id.to_string()),
            ObjectId::from(sp.to_string()),
        ),
    );
    Ok(())
}

fn app_ids(w: &mut EntraWorld, app: &str) -> anyhow::Result<(ClientId, ObjectId, ObjectId)> {
    sync(w)
        .apps
        .get(app)
        .cloned()
        .ok_or_else(|| anyhow!("no administrator's application named {app:?} in this scenario"))
}

#[given(expr = "the administrator grants {string} on {string} to the application {string}")]
async fn admin_grants(
    w: &mut EntraWorld,
    role: String,
    resource: String,
    app: String,
) -> anyhow::Result<()> {
    let (_, _, sp) = app_ids(w, &app)?;
    let sp: mock_graph::core::ids::ObjectId = sp.as_str().parse()?;
    let resource = resource_app_id(&resource);
    w.tenant().grant_app_role(sp, &resource, &role).await
}

/// Resources by the names the documents use, or by appId.
fn resource_app_id(name: &str) -> String {
    match name {
        "Microsoft Entra AD Synchronization Service" | "the synchronization service" => {
            "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016".into()
        }
        "Microsoft password reset service" | "the password reset service" => {
            "93625bc8-bfe2-437a-97e0-3d0060024faa".into()
        }
        other => other.into(),
    }
}

// ---- onboarding

// A Given states what the scenario starts from: when it cannot be done, the scenario fails
// there. The When forms keep the outcome for `Then the operation succeeded / failed saying`.

async fn onboard(
    w: &mut EntraWorld,
    by: &str,
    cert: Option<&str>,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let hash = cert.map(|c| cert_hash(w, c)).transpose()?;
    let r = server(w).onboard(&admin, hash.as_ref(), None).await;
    Ok(r.map(|_| ()))
}

#[when(expr = "the administrator {string} onboards the sync server")]
async fn onboards_managed(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, None).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} onboards the sync server")]
async fn onboarded_managed(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, None).await?;
    sync(w).given("onboarding", r)
}

#[when(expr = "the administrator {string} onboards the sync server with certificate {string}")]
async fn onboards_byoc(w: &mut EntraWorld, by: String, cert: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, Some(&cert)).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} onboards the sync server with certificate {string}")]
async fn onboarded_byoc(w: &mut EntraWorld, by: String, cert: String) -> anyhow::Result<()> {
    let r = onboard(w, &by, Some(&cert)).await?;
    sync(w).given("onboarding with a certificate", r)
}

async fn link(
    w: &mut EntraWorld,
    by: &str,
    app: &str,
    cert: &str,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let hash = cert_hash(w, cert)?;
    let (app_id, _, _) = app_ids(w, app)?;
    let r = server(w)
        .add_adsync_application_registration(Some(&admin), Some(&hash), Some(&app_id))
        .await;
    Ok(r.map(|_| ()))
}

#[when(
    expr = "the administrator {string} links the application {string} with certificate {string}"
)]
async fn onboards_byoa(
    w: &mut EntraWorld,
    by: String,
    app: String,
    cert: String,
) -> anyhow::Result<()> {
    let r = link(w, &by, &app, &cert).await?;
    sync(w).record(r);
    Ok(())
}

#[given(
    expr = "the administrator {string} links the application {string} with certificate {string}"
)]
async fn linked_byoa(
    w: &mut EntraWorld,
    by: String,
    app: String,
    cert: String,
) -> anyhow::Result<()> {
    let r = link(w, &by, &app, &cert).await?;
    sync(w).given("linking the application", r)
}

#[then("the operation succeeded")]
async fn operation_succeeded(w: &mut EntraWorld) -> anyhow::Result<()> {
    match &sync(w).last_outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => bail!("the last operation failed: {e}"),
        None => bail!("no operation ran"),
    }
}

#[then(expr = "the operation failed saying {string}")]
async fn operation_failed(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    match &sync(w).last_outcome {
        Some(Err(e)) if e.contains(&text) => Ok(()),
        Some(Err(e)) => bail!("the last operation failed with {e:?}, which does not say {text:?}"),
        Some(Ok(())) => bail!("the last operation succeeded"),
        None => bail!("no operation ran"),
    }
}

#[then(expr = "the connector identity type is {word}")]
async fn identity_type(w: &mut EntraWorld, expected: String) -> anyhow::Result<()> {
    let view = server(w).connector_credential()?;
    ensure!(
        view.connector_identity_type.to_string() == expected,
        "ConnectorIdentityType is {}",
        view.connector_identity_type
    );
    Ok(())
}

#[then(
    expr = "the connector credential shows the certificate managed by {string} with its key in {word}"
)]
async fn credential_details(
    w: &mut EntraWorld,
    managed_by: String,
    storage: String,
) -> anyhow::Result<()> {
    let view = server(w).connector_credential()?;
    let cert = view
        .certificate
        .ok_or_else(|| anyhow!("Get-ADSyncEntraConnectorCredential shows no certificate"))?;
    ensure!(
        cert.certificate_managed_by.to_string() == managed_by,
        "managed by {}",
        cert.certificate_managed_by
    );
    ensure!(cert.key_storage == storage, "key in {}", cert.key_storage);
    // What the view shows, against the configuration and the store read back.
    let srv = server(w);
    let app = srv
        .config()?
        .application
        .ok_or_else(|| anyhow!("the connector has no application"))?;
    ensure!(
        cert.certificate_sha256_hash == app.certificate_sha256_hash,
        "the view shows {}, the configuration names {}",
        cert.certificate_sha256_hash,
        app.certificate_sha256_hash
    );
    let entry = srv
        .store(app.certificate_store)
        .get(&app.certificate_sha256_hash)?
        .ok_or_else(|| anyhow!("the connector's certificate is not in its store"))?;
    let stored = match entry.key {
        adsync_client::keys::KeyRef::Tpm { .. } => "TPM",
        adsync_client::keys::KeyRef::Software { .. } => "Software",
    };
    ensure!(
        stored == storage,
        "the view says the key is in {}, the store holds a {stored} key",
        cert.key_storage
    );
    let sha1: String = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        entry.certificate.der(),
    )
    .as_ref()
    .iter()
    .map(|b| format!("{b:02X}"))
    .collect();
    ensure!(
        cert.certificate_thumbprint
            .to_string()
            .eq_ignore_ascii_case(&sha1),
        "the view shows thumbprint {}, the certificate's is {sha1}",
        cert.certificate_thumbprint
    );
    let json = serde_json::to_value(&cert)?;
    for property in [
        "CertificateManagedBy",
        "AutomaticRotationEnabled",
        "CertificateThumbprint",
        "CertificateSHA256Hash",
        "SubjectName",
        "IssuedBy",
        "SerialNumber",
        "NotValidBefore",
        "NotValidAfter",
    ] {
        ensure!(
            json.get(property).is_some_and(|v| !v.is_null()),
            "no {property} in {json}"
        );
    }
    Ok(())
}

/// The sync application as the tenant has it.
async fn tenant_app(w: &EntraWorld) -> anyhow::Result<mock_graph::core::directory::Application> {
    let config = server(w).config()?;
    let app = config
        .application
        .as_ref()
        .ok_or_else(|| anyhow!("the sync server has no application"))?;
    let app_id: mock_graph::core::ids::AppId = app.application_app_id.as_str().parse()?;
    w.tenant()
        .directory()
        .await?
        .application_by_app_id(app_id)
        .cloned()
        .ok_or_else(|| anyhow!("the tenant has no application {app_id}"))
}

#[then("the tenant has the sync application named after the server")]
async fn app_named(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let config = server(w).config()?;
    ensure!(
        app.display_name == config.application_display_name(),
        "the application is named {}",
        app.display_name
    );
    ensure!(
        app.display_name
            .starts_with(&format!("ConnectSyncProvisioning_{}_", config.server_name))
    );
    ensure!(
        app.sign_in_audience == "AzureADMyOrg",
        "signInAudience {}",
        app.sign_in_audience
    );
    ensure!(
        !app.required_resource_access.is_empty(),
        "no requiredResourceAccess"
    );
    Ok(())
}

#[then(expr = "the sync application holds {string}")]
async fn app_holds(w: &mut EntraWorld, role: String) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let directory = w.tenant().directory().await?;
    let sp = directory
        .service_principal_by_app_id(app.app_id)
        .map(|s| s.id);
    let held = directory
        .service_principals
        .iter()
        .flat_map(|r| {
            sp.map(|sp| directory.granted_app_roles(sp, r))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>();
    ensure!(held.contains(&role), "the sync application holds {held:?}");
    Ok(())
}

#[then(expr = "the sync application holds {string} on {string}")]
async fn app_holds_on(w: &mut EntraWorld, role: String, resource: String) -> anyhow::Result<()> {
    let of = of_resource(w, &resource).await?;
    let held = of.granted.ok_or_else(|| {
        anyhow!("the tenant has no service principal of {resource}, so nothing can be held on it")
    })?;
    ensure!(
        held.contains(&role),
        "the sync application holds {held:?} on {resource}"
    );
    Ok(())
}

/// Holding nothing on a resource the tenant does not have is true of any application: the step
/// also looks at what the sync application declares (`requiredResourceAccess`) and at every app
/// role assignment it has, so a grant or a declaration for that resource fails it either way.
#[then(expr = "the sync application holds nothing on {string}")]
async fn app_holds_nothing_on(w: &mut EntraWorld, resource: String) -> anyhow::Result<()> {
    let of = of_resource(w, &resource).await?;
    if let Some(held) = &of.granted {
        ensure!(
            held.is_empty(),
            "the sync application holds {held:?} on {resource}"
        );
    }
    ensure!(
        of.assignments == 0,
        "the sync application has {} app role assignment(s) on {resource}",
        of.assignments
    );
    ensure!(
        of.declared == 0,
        "the sync application's requiredResourceAccess declares {} role(s) of {resource}",
        of.declared
    );
    Ok(())
}

/// What the sync application has of one resource, read from the tenant.
struct OfResource {
    /// The enabled roles granted on the resource's service principal; `None` when the tenant
    /// has no service principal with that appId.
    granted: Option<Vec<String>>,
    /// App role assignments of the sync application's service principal to a service
    /// principal with that appId (whatever their role).
    assignments: usize,
    /// Roles of that appId in the application's `requiredResourceAccess`.
    declared: usize,
}

/// Reads what the sync application holds and declares of `resource` (an appId, or a name
/// `resource_app_id` knows).
async fn of_resource(w: &EntraWorld, resource: &str) -> anyhow::Result<OfResource> {
    let app = tenant_app(w).await?;
    let resource: mock_graph::core::ids::AppId = resource_app_id(resource).parse()?;
    let declared = app
        .required_resource_access
        .iter()
        .filter(|r| {
            r.resource_app_id
                .eq_ignore_ascii_case(&resource.to_string())
        })
        .map(|r| r.resource_access.len().max(1))
        .sum();
    let directory = w.tenant().directory().await?;
    let sp = directory
        .service_principal_by_app_id(app.app_id)
        .map(|s| s.id)
        .ok_or_else(|| anyhow!("the sync application has no service principal"))?;
    let target = directory.service_principal_by_app_id(resource);
    let assignments = directory
        .app_role_assignments
        .iter()
        .filter(|a| a.principal_id == sp)
        .filter(|a| {
            directory
                .service_principal(a.resource_id)
                .is_some_and(|r| r.app_id == resource)
        })
        .count();
    Ok(OfResource {
        granted: target.map(|r| directory.granted_app_roles(sp, r)),
        assignments,
        declared,
    })
}

#[then(expr = "the sync application has {int} certificate credential(s)")]
async fn app_credentials(w: &mut EntraWorld, n: usize) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    ensure!(
        app.key_credentials.len() == n,
        "the sync application has {} credentials",
        app.key_credentials.len()
    );
    // A count alone passes when the wrong credential stayed: one of them must be the
    // certificate the connector uses.
    let config = server(w).config()?;
    if n > 0
        && config.connector_identity_type == IdentityType::Application
        && let Some(current) = config.application.map(|a| a.certificate_sha256_hash)
    {
        ensure!(
            tenant_key_for(&app, &current).is_some(),
            "none of the sync application's credentials is the connector's certificate {current}"
        );
    }
    Ok(())
}

// ---- the scheduler

#[when("the scheduler runs")]
#[given("the scheduler runs")]
async fn scheduler_runs(w: &mut EntraWorld) -> anyhow::Result<()> {
    let before = before_rotating(w, None).await?;
    let run = server(w).run_scheduler_once().await?;
    let effects = effects_since(w, &before).await?;
    let srv = sync(w);
    srv.last_cycle = run.sync_cycle.clone();
    srv.cycle_requests = effects.requests.clone();
    srv.last_rotation = run.rotation.clone();
    srv.run_effects = Some(effects);
    srv.last_run = Some(run);
    Ok(())
}

#[when(expr = "the scheduler setting {word} is set to {word}")]
#[given(expr = "the scheduler setting {word} is set to {word}")]
async fn scheduler_setting(w: &mut EntraWorld, name: String, value: String) -> anyhow::Result<()> {
    let flag: bool = value
        .parse()
        .with_context(|| format!("{value} is not true or false"))?;
    let mut change = SchedulerChange::default();
    match name.as_str() {
        "SyncCycleEnabled" => change.sync_cycle_enabled = Some(flag),
        "MaintenanceEnabled" => change.maintenance_enabled = Some(flag),
        "SchedulerSuspended" => change.scheduler_suspended = Some(flag),
        other => bail!("unknown scheduler setting {other}"),
    }
    server(w).set_scheduler(&change)?;
    Ok(())
}

fn last_run(w: &mut EntraWorld) -> anyhow::Result<&SchedulerRun> {
    sync(w)
        .last_run
        .as_ref()
        .ok_or_else(|| anyhow!("the scheduler has not run"))
}

/// The events the last scheduler run left in the event log (read back, not its report).
fn run_events(w: &mut EntraWorld) -> anyhow::Result<Vec<Event>> {
    sync(w)
        .run_effects
        .as_ref()
        .map(|e| e.events.clone())
        .ok_or_else(|| anyhow!("the scheduler has not run"))
}

#[then(expr = "the scheduler run logged event {int}")]
async fn run_logged(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = run_events(w)?;
    ensure!(
        events.iter().any(|e| e.id == id),
        "the run logged {:?}",
        ids_of(&events)
    );
    Ok(())
}

#[then(expr = "the scheduler run logged no event {int}")]
async fn run_not_logged(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = run_events(w)?;
    ensure!(
        !events.iter().any(|e| e.id == id),
        "the run logged {:?}",
        ids_of(&events)
    );
    Ok(())
}

#[then("the scheduler run did nothing")]
async fn run_did_nothing(w: &mut EntraWorld) -> anyhow::Result<()> {
    let effects = sync(w)
        .run_effects
        .clone()
        .ok_or_else(|| anyhow!("the scheduler has not run"))?;
    let run = last_run(w)?;
    ensure!(run.suspended, "the scheduler was not suspended");
    ensure!(
        run.events.is_empty() && run.rotation.is_none() && run.sync_cycle.is_none(),
        "the run did {run:?}"
    );
    // What the run reports is not enough: nothing in the event log, nothing sent to the
    // tenant, the same certificate.
    ensure!(
        effects.events.is_empty(),
        "the run logged {:?}",
        ids_of(&effects.events)
    );
    ensure!(
        effects.requests.is_empty(),
        "the run sent the tenant {:?}",
        effects
            .requests
            .iter()
            .map(|r| r
                .operation
                .map_or_else(|| r.path.clone(), |o| o.to_string()))
            .collect::<Vec<_>>()
    );
    let srv = sync(w);
    let before = srv
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone());
    let now = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        now == before,
        "the connector's certificate changed from {before:?} to {now:?}"
    );
    Ok(())
}

fn ids_of(events: &[Event]) -> Vec<u32> {
    events.iter().map(|e| e.id).collect()
}

#[then(expr = "event {int} was logged with level {word} saying {string}")]
async fn event_logged(
    w: &mut EntraWorld,
    id: u32,
    level: String,
    text: String,
) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(id),
        ..Default::default()
    })?;
    let last = events
        .last()
        .ok_or_else(|| anyhow!("no event {id} in the event log"))?;
    ensure!(
        last.level.to_string() == level,
        "event {id} has level {}",
        last.level
    );
    ensure!(
        last.message.contains(&text),
        "event {id} says {:?}",
        last.message
    );
    Ok(())
}

#[then(expr = "no event {int} was logged")]
async fn no_event(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(id),
        ..Default::default()
    })?;
    ensure!(
        events.is_empty(),
        "event {id} was logged: {:?}",
        events.last()
    );
    Ok(())
}

// ---- sync cycles

#[when("a sync cycle runs")]
#[given("a sync cycle runs")]
async fn sync_cycle(w: &mut EntraWorld) -> anyhow::Result<()> {
    let before = snapshot(w).await?;
    let cycle = server(w).start_sync_cycle(PolicyType::Delta).await?;
    let effects = effects_since(w, &before).await?;
    let srv = sync(w);
    srv.last_cycle = Some(cycle);
    srv.cycle_requests = effects.requests;
    Ok(())
}

fn last_cycle(w: &mut EntraWorld) -> anyhow::Result<SyncCycleResult> {
    sync(w)
        .last_cycle
        .clone()
        .ok_or_else(|| anyhow!("no sync cycle ran"))
}

/// The exports the tenant's synchronization service answered during the last sync cycle.
fn exports(w: &mut EntraWorld) -> Vec<JournalEntry> {
    sync(w)
        .cycle_requests
        .iter()
        .filter(|r| r.operation == Some(Operation::AdsyncExport))
        .cloned()
        .collect()
}

/// The client id the tenant must see on the connector's requests: the application's appId, or
/// the public client the service account signs in through.
fn connector_client_id(w: &EntraWorld) -> anyhow::Result<String> {
    let config = server(w).config()?;
    Ok(match config.connector_identity_type {
        IdentityType::Application => config
            .application
            .ok_or_else(|| anyhow!("the connector uses its application but has none"))?
            .application_app_id
            .to_string(),
        IdentityType::ServiceAccount => {
            adsync_client::lifecycle::server::CONNECT_CLIENT_ID.to_string()
        }
    })
}

#[then("the sync cycle succeeded")]
async fn cycle_succeeded(w: &mut EntraWorld) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(c.succeeded, "the sync cycle failed: {:?}", c.error);
    // The tenant's synchronization service must have taken the export, from the connector's
    // identity.
    let client = connector_client_id(w)?;
    let exports = exports(w);
    ensure!(
        exports.iter().any(|r| {
            r.status.is_some_and(|s| (200..300).contains(&s))
                && r.client_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&client))
        }),
        "the tenant took no export from {client} during the cycle: {exports:?}"
    );
    Ok(())
}

#[then("the sync cycle failed with Access Denied")]
async fn cycle_denied(w: &mut EntraWorld) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(!c.succeeded && c.access_denied, "the sync cycle: {c:?}");
    let exports = exports(w);
    ensure!(
        exports.last().is_some_and(|r| r.status == Some(403)),
        "the tenant did not refuse the cycle's export with 403: {exports:?}"
    );
    ensure!(
        !exports
            .iter()
            .any(|r| r.status.is_some_and(|s| (200..300).contains(&s))),
        "the tenant took an export during the cycle: {exports:?}"
    );
    Ok(())
}

#[then(expr = "the sync cycle failed saying {string}")]
async fn cycle_failed(w: &mut EntraWorld, text: String) -> anyhow::Result<()> {
    let c = last_cycle(w)?;
    ensure!(!c.succeeded, "the sync cycle succeeded");
    let error = c.error.unwrap_or_default();
    ensure!(
        error.contains(&text),
        "the sync cycle failed with {error:?}"
    );
    let exports = exports(w);
    ensure!(
        !exports
            .iter()
            .any(|r| r.status.is_some_and(|s| (200..300).contains(&s))),
        "the tenant took an export during the cycle: {exports:?}"
    );
    Ok(())
}

// ---- rotation

/// Remembers what the Then steps about rotation compare with, before a step that can rotate.
pub async fn before_rotating(
    w: &mut EntraWorld,
    target: Option<Sha256Hash>,
) -> anyhow::Result<Before> {
    let before = snapshot(w).await?;
    let srv = sync(w);
    srv.before_rotation = Some(before.clone());
    srv.rotation_target = target;
    srv.last_rotation = None;
    Ok(before)
}

#[when("the sync server rotates its credential on demand")]
async fn rotate(w: &mut EntraWorld) -> anyhow::Result<()> {
    before_rotating(w, None).await?;
    let srv = sync(w);
    let r = srv.server.rotate_credential(None, None).await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

#[when(expr = "the sync server rotates its credential on demand with the administrator {string}")]
async fn rotate_admin(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    before_rotating(w, None).await?;
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.rotate_credential(None, Some(&admin)).await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

/// `Invoke-ADSyncApplicationCredentialRotation -CertificateSHA256Hash`, with an
/// administrator when `by` names one.
async fn rotate_to_certificate(
    w: &mut EntraWorld,
    cert: &str,
    by: Option<&str>,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, cert)?;
    let admin = by.map(|by| admin(w, by));
    before_rotating(w, Some(hash.clone())).await?;
    let srv = sync(w);
    let r = srv
        .server
        .rotate_credential(Some(&hash), admin.as_ref())
        .await;
    if let Some(o) = srv.record(r) {
        srv.last_rotation = Some(o);
    }
    Ok(())
}

#[when(expr = "the sync server rotates its credential to certificate {string}")]
async fn rotate_to(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    rotate_to_certificate(w, &cert, None).await
}

#[when(
    expr = "the sync server rotates its credential to certificate {string} with the administrator {string}"
)]
async fn rotate_to_with_admin(w: &mut EntraWorld, cert: String, by: String) -> anyhow::Result<()> {
    rotate_to_certificate(w, &cert, Some(&by)).await
}

/// BYOA rotation as the newer revision gives it: `Add-EntraApplicationRegistration
/// -CertificateSHA256Hash` with the administrator's sign-in.
#[when(
    expr = "the administrator {string} runs Add-EntraApplicationRegistration with certificate {string}"
)]
async fn add_entra_with_certificate(
    w: &mut EntraWorld,
    by: String,
    cert: String,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let admin = admin(w, &by);
    before_rotating(w, Some(hash.clone())).await?;
    let srv = sync(w);
    let r = srv
        .server
        .add_entra_application_registration(&admin, Some(&hash), None)
        .await;
    match srv.record(r) {
        Some(EntraRegistration::Rotated(o)) => srv.last_rotation = Some(o),
        Some(other) => bail!("Add-EntraApplicationRegistration did not rotate: {other:?}"),
        None => {}
    }
    Ok(())
}

/// The article's last BYOC/BYOA rotation step: the old certificate leaves LOCAL_MACHINE.
#[when(expr = "the administrator removes the certificate {string} from LOCAL_MACHINE")]
async fn remove_local_certificate(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let srv = sync(w);
    let key = srv
        .server
        .store(StoreKind::LocalMachine)
        .get(&hash)?
        .map(|e| e.key);
    let r = srv.server.remove_local_machine_certificate(&hash);
    if srv.record(r).is_some()
        && let Some(key) = key
    {
        srv.removed_keys.insert(cert, key);
    }
    Ok(())
}

#[then(expr = "the certificate {string} is in LOCAL_MACHINE")]
async fn in_local_machine(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w).store(StoreKind::LocalMachine).get(&hash)?;
    ensure!(
        entry.is_some(),
        "certificate {cert} is not in LOCAL_MACHINE"
    );
    Ok(())
}

/// Gone from the store, and its key with it: a software key's file no longer opens.
#[then(expr = "the certificate {string} and its key are no longer in LOCAL_MACHINE")]
async fn not_in_local_machine(w: &mut EntraWorld, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let srv = server(w);
    ensure!(
        srv.store(StoreKind::LocalMachine).get(&hash)?.is_none(),
        "certificate {cert} is still in LOCAL_MACHINE"
    );
    let key = sync(w)
        .removed_keys
        .get(&cert)
        .cloned()
        .ok_or_else(|| anyhow!("no step removed certificate {cert}"))?;
    if let KeyRef::Software { id } = key {
        let opened = srv.providers().software().open(&id);
        ensure!(
            matches!(opened, Err(adsync_client::keys::KeyError::NotFound(_))),
            "the key of certificate {cert} still opens: {opened:?}"
        );
    }
    Ok(())
}

/// The administrator registers one more of their certificates on their application (BYOA), as
/// the article's prerequisites have them do.
#[given(expr = "the administrator adds certificate {string} to the application {string}")]
async fn admin_adds_certificate(
    w: &mut EntraWorld,
    cert: String,
    app: String,
) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let entry = server(w)
        .store(StoreKind::LocalMachine)
        .get(&hash)?
        .ok_or_else(|| anyhow!("certificate {cert} is not in LOCAL_MACHINE"))?;
    let info = entry.certificate.info()?;
    let (_, object_id, _) = app_ids(w, &app)?;
    let object_id: mock_graph::core::ids::ObjectId = object_id.as_str().parse()?;
    let der = entry.certificate.der().to_vec();
    w.tenant()
        .add_certificate(object_id, &der, info.not_before, info.not_after)
        .await?;
    Ok(())
}

#[then(expr = "the application {string} has only the certificate {string}")]
async fn app_has_only(w: &mut EntraWorld, app: String, cert: String) -> anyhow::Result<()> {
    let hash = cert_hash(w, &cert)?;
    let (app_id, _, _) = app_ids(w, &app)?;
    let app_id: mock_graph::core::ids::AppId = app_id.as_str().parse()?;
    let keys = w
        .tenant()
        .directory()
        .await?
        .application_by_app_id(app_id)
        .cloned()
        .ok_or_else(|| anyhow!("the tenant has no application {app}"))?
        .key_credentials;
    let hashes: Vec<String> = keys
        .iter()
        .map(|k| k.key.as_deref().map(sha256_hex).unwrap_or_default())
        .collect();
    ensure!(
        hashes.len() == 1 && hashes[0].eq_ignore_ascii_case(hash.as_str()),
        "application {app} has the certificates {hashes:?}, not only {cert} ({hash})"
    );
    Ok(())
}

/// The rotation's own report is only cross-checked: the verdict comes from the configuration
/// read back, the certificate before the step, the certificate the scenario named, the store
/// and the tenant's keyCredentials.
#[then("the certificate was rotated")]
async fn was_rotated(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let before = srv
        .before_rotation
        .clone()
        .ok_or_else(|| anyhow!("no step before this one could rotate"))?;
    let target = srv.rotation_target.clone();
    let report = srv
        .last_rotation
        .clone()
        .ok_or_else(|| anyhow!("no rotation happened (last error: {:?})", srv.last_error()))?;
    let old = before
        .certificate
        .ok_or_else(|| anyhow!("the connector had no certificate before the step"))?;
    let config = srv.server.config()?;
    let app = config
        .application
        .ok_or_else(|| anyhow!("the connector has no application identity"))?;
    let current = app.certificate_sha256_hash.clone();
    ensure!(
        current != old,
        "the connector still uses the certificate it had before the step ({old}); the rotation reported {report:?}"
    );
    if let Some(target) = &target {
        ensure!(
            &current == target,
            "the connector uses {current}, not the certificate the scenario named ({target})"
        );
    }
    ensure!(
        srv.server.rotation_journal()?.is_none(),
        "a rotation is still under way"
    );
    let entry = srv
        .server
        .store(app.certificate_store)
        .get(&current)?
        .ok_or_else(|| anyhow!("the connector's certificate {current} is not in its store"))?;
    ensure!(
        sha256_hex(entry.certificate.der()).eq_ignore_ascii_case(current.as_str()),
        "the store's entry for {current} holds another certificate"
    );
    let tenant = tenant_app(w).await?;
    let key = tenant_key_for(&tenant, &current).ok_or_else(|| {
        anyhow!("the sync application in the tenant has no credential for the connector's certificate {current}")
    })?;
    let now = sync(w).clock.now();
    ensure!(
        key.start_date_time <= now && now < key.end_date_time,
        "the new credential is not valid now: {} to {}",
        key.start_date_time,
        key.end_date_time
    );
    // The (last) rotation's report must agree with what happened.
    ensure!(
        report.completed && report.new_certificate_sha256_hash == current,
        "the rotation reported {report:?}, but the connector uses {current}"
    );
    Ok(())
}

#[then("the certificate was not rotated")]
async fn not_rotated(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let before = srv
        .before_rotation
        .clone()
        .ok_or_else(|| anyhow!("no step before this one could rotate"))?;
    ensure!(
        srv.last_rotation.is_none(),
        "a rotation happened: {:?}",
        srv.last_rotation
    );
    ensure!(
        srv.server.rotation_journal()?.is_none(),
        "a rotation is under way"
    );
    let current = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        current == before.certificate,
        "the connector's certificate changed from {:?} to {current:?}",
        before.certificate
    );
    let mut keys: Vec<String> = tenant_app(w)
        .await?
        .key_credentials
        .iter()
        .map(|k| k.key_id.to_string())
        .collect();
    let mut was = before.tenant_keys.clone();
    keys.sort();
    was.sort();
    ensure!(
        keys == was,
        "the sync application's credentials changed from {was:?} to {keys:?}"
    );
    Ok(())
}

#[then("the old certificate left the sync server")]
async fn old_left(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = sync(w);
    let old = srv
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone())
        .ok_or_else(|| anyhow!("no certificate was recorded before a rotation"))?;
    let current = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        current.as_ref() != Some(&old),
        "the old certificate {old} is still the connector's"
    );
    let store = srv
        .server
        .store(adsync_client::config::StoreKind::CurrentUser);
    ensure!(
        store.get(&old)?.is_none(),
        "the old certificate {old} is still in CURRENT_USER"
    );
    Ok(())
}

#[given(expr = "the tenant refuses the next {int} removeKey request(s)")]
async fn refuse_remove_key(w: &mut EntraWorld, count: u32) -> anyhow::Result<()> {
    add_fault(
        w,
        serde_json::json!({"match": {"operation": "removeKey"}, "status": 403, "error": "Authorization_RequestDenied", "count": count}),
    )
    .await
}

#[given(expr = "the tenant delays new directory role assignments by {int} minutes")]
async fn lag_role_assignments(w: &mut EntraWorld, minutes: u64) -> anyhow::Result<()> {
    add_fault(
        w,
        serde_json::json!({"match": {"operation": "roleAssignments.create"}, "lag_seconds": minutes * 60}),
    )
    .await
}

async fn add_fault(w: &mut EntraWorld, rule: serde_json::Value) -> anyhow::Result<()> {
    w.tenant().add_fault(rule).await
}

/// The CertificateId that the last event 1015 names.
fn stale_id(w: &EntraWorld) -> anyhow::Result<KeyCredentialId> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(adsync_client::events::ids::OLD_CREDENTIAL_NOT_REMOVED),
        ..Default::default()
    })?;
    let message = &events
        .last()
        .ok_or_else(|| anyhow!("no event 1015"))?
        .message;
    let id = message
        .split("CertificateId ")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ', ')']).next())
        .ok_or_else(|| anyhow!("event 1015 names no CertificateId: {message}"))?;
    Ok(KeyCredentialId::from(id))
}

#[then("event 1015 names the old credential's CertificateId")]
async fn names_old_id(w: &mut EntraWorld) -> anyhow::Result<()> {
    let id = stale_id(w)?;
    let old = sync(w)
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone())
        .ok_or_else(|| anyhow!("no certificate was recorded before a rotation"))?;
    let app = tenant_app(w).await?;
    let key = app
        .key_credentials
        .iter()
        .find(|k| k.key_id.to_string() == id.as_str())
        .ok_or_else(|| anyhow!("the application has no credential {id}"))?;
    let der = key
        .key
        .as_deref()
        .ok_or_else(|| anyhow!("credential {id} has no certificate"))?;
    ensure!(
        sha256_hex(der).eq_ignore_ascii_case(old.as_str()),
        "credential {id} is not the old certificate {old}'s"
    );
    let config = server(w).config()?;
    ensure!(
        config.application.and_then(|a| a.certificate_id).as_ref() != Some(&id),
        "{id} is the current credential"
    );
    Ok(())
}

#[when("the administrator removes the application key that event 1015 names")]
async fn remove_named_key(w: &mut EntraWorld) -> anyhow::Result<()> {
    let id = stale_id(w)?;
    let srv = sync(w);
    let r = srv.server.remove_application_key(&id, None).await;
    srv.record(r);
    Ok(())
}

// ---- revocation and hygiene

#[when("an administrator removes the sync server's certificate credential in the tenant")]
#[given("an administrator removes the sync server's certificate credential in the tenant")]
async fn revoke(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let removed = w.tenant().remove_certificates(app.id).await?;
    ensure!(
        removed > 0,
        "the sync application had no certificate credential to remove"
    );
    Ok(())
}

#[given(
    expr = "an Application Administrator adds a certificate of their own to the sync application"
)]
async fn foreign_credential(w: &mut EntraWorld) -> anyhow::Result<()> {
    let app = tenant_app(w).await?;
    let now = sync(w).clock.now();
    let cert =
        mock_graph::testing::TestCertificate::generate_async(now, now + Duration::days(90)).await?;
    let key_id = w
        .tenant()
        .add_certificate(app.id, &cert.der, now, now + Duration::days(90))
        .await?;
    sync(w).foreign_keys.push(key_id.to_string());
    Ok(())
}

#[when(expr = "the administrator {string} reviews the sync application's credentials")]
async fn review_keys(w: &mut EntraWorld, by: String) {
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.application_keys(&admin).await;
    srv.last_review = srv.record(r);
}

/// The review against the tenant: every credential listed once, the ones the scenario added as
/// an Application Administrator (and only those) `Foreign`, the connector's own `Current`.
#[then("the review classifies only the Application Administrator's credential as foreign")]
async fn review_classifies(w: &mut EntraWorld) -> anyhow::Result<()> {
    let review = sync(w)
        .last_review
        .clone()
        .ok_or_else(|| anyhow!("no review listed the credentials"))?;
    let mut foreign_added = sync(w).foreign_keys.clone();
    ensure!(
        !foreign_added.is_empty(),
        "no step added a foreign credential"
    );
    let app = tenant_app(w).await?;
    let mut in_tenant: Vec<String> = app
        .key_credentials
        .iter()
        .map(|k| k.key_id.to_string())
        .collect();
    let mut listed: Vec<String> = review
        .iter()
        .map(|k| {
            k.certificate_id
                .as_ref()
                .map_or_else(String::new, |id| id.to_string())
        })
        .collect();
    in_tenant.sort();
    listed.sort();
    ensure!(
        listed == in_tenant,
        "the review lists {listed:?}, the tenant has {in_tenant:?}"
    );
    let mut foreign: Vec<String> = review
        .iter()
        .filter(|k| k.status == "Foreign")
        .filter_map(|k| k.certificate_id.as_ref().map(|id| id.to_string()))
        .collect();
    foreign.sort();
    foreign_added.sort();
    ensure!(
        foreign == foreign_added,
        "the review calls {foreign:?} foreign; the Application Administrator added {foreign_added:?}: {review:?}"
    );
    let current = server(w)
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash)
        .ok_or_else(|| anyhow!("the connector has no application"))?;
    let own = tenant_key_for(&app, &current)
        .ok_or_else(|| anyhow!("the tenant has no credential for the connector's certificate"))?
        .key_id
        .to_string();
    let status = review
        .iter()
        .find(|k| k.certificate_id.as_ref().map(|id| id.to_string()) == Some(own.clone()))
        .map(|k| k.status.clone());
    ensure!(
        status.as_deref() == Some("Current"),
        "the connector's own credential {own} is listed as {status:?}"
    );
    Ok(())
}

#[then(
    "event 1016 names the CertificateId of the Application Administrator's credential and no other"
)]
async fn event_names_foreign(w: &mut EntraWorld) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(adsync_client::events::ids::FOREIGN_CREDENTIALS),
        ..Default::default()
    })?;
    let message = events
        .last()
        .map(|e| e.message.to_ascii_lowercase())
        .ok_or_else(|| anyhow!("no event 1016"))?;
    let foreign = sync(w).foreign_keys.clone();
    for id in &foreign {
        ensure!(
            message.contains(&id.to_ascii_lowercase()),
            "event 1016 does not name {id}: {message}"
        );
    }
    for k in tenant_app(w).await?.key_credentials {
        let id = k.key_id.to_string();
        ensure!(
            foreign.contains(&id) || !message.contains(&id.to_ascii_lowercase()),
            "event 1016 names {id}, which the Application Administrator did not add: {message}"
        );
    }
    Ok(())
}

// ---- the legacy service account

async fn remove_legacy_account(
    w: &mut EntraWorld,
    by: &str,
) -> anyhow::Result<Result<(), LifecycleError>> {
    let admin = admin(w, by);
    let srv = server(w);
    let config = srv.config()?;
    let name = config
        .service_account
        .as_ref()
        .and_then(|a| a.user_principal_name.split('@').next().map(str::to_owned))
        .ok_or_else(|| anyhow!("the sync server has no service account"))?;
    Ok(srv.remove_service_account(&admin, &name).await.map(|_| ()))
}

#[when(expr = "the administrator {string} removes the legacy service account")]
async fn remove_legacy(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = remove_legacy_account(w, &by).await?;
    sync(w).record(r);
    Ok(())
}

#[given(expr = "the administrator {string} removes the legacy service account")]
async fn removed_legacy(w: &mut EntraWorld, by: String) -> anyhow::Result<()> {
    let r = remove_legacy_account(w, &by).await?;
    sync(w).given("removing the legacy service account", r)
}

#[when(expr = "the administrator {string} rolls the sync server back to a service account")]
async fn rollback(w: &mut EntraWorld, by: String) {
    let admin = admin(w, &by);
    let srv = sync(w);
    let r = srv.server.add_service_account(&admin, None).await;
    srv.record(r);
}

async fn sync_account_users(
    w: &EntraWorld,
    prefix: &str,
) -> anyhow::Result<Vec<(mock_graph::core::ids::ObjectId, String)>> {
    let prefix = prefix.to_ascii_lowercase();
    Ok(w.tenant()
        .directory()
        .await?
        .users
        .iter()
        .filter(|u| {
            u.user_principal_name
                .to_ascii_lowercase()
                .starts_with(&prefix)
        })
        .map(|u| (u.id, u.user_principal_name.clone()))
        .collect())
}

#[then(expr = "the tenant has a user {string} with the Directory Synchronization Accounts role")]
async fn user_with_role(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    let [(id, _)] = users.as_slice() else {
        bail!("expected one user {prefix}* in the tenant, found {users:?}");
    };
    let id = *id;
    let has = w
        .tenant()
        .directory()
        .await?
        .directory_roles_of(id)
        .contains(&mock_graph::core::roles::DIRECTORY_SYNCHRONIZATION_ACCOUNTS);
    ensure!(
        has,
        "{prefix} lacks the Directory Synchronization Accounts role"
    );
    Ok(())
}

#[then(expr = "the tenant has no user {string}")]
async fn no_user(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    ensure!(users.is_empty(), "the tenant still has {users:?}");
    Ok(())
}

#[then(expr = "the tenant has a user {string} without any directory role")]
async fn user_without_role(w: &mut EntraWorld, prefix: String) -> anyhow::Result<()> {
    let users = sync_account_users(w, &prefix).await?;
    let [(id, _)] = users.as_slice() else {
        bail!("expected one user {prefix}* in the tenant, found {users:?}");
    };
    let id = *id;
    let roles = w.tenant().directory().await?.directory_roles_of(id);
    ensure!(roles.is_empty(), "{prefix} holds {roles:?}");
    Ok(())
}

/// What the configuration records, named as "Certificate managed by" shows it.
#[then(expr = "the sync server's certificate is managed by {string}")]
async fn managed_by(w: &mut EntraWorld, expected: String) -> anyhow::Result<()> {
    let config = server(w).config()?;
    let app = config
        .application
        .ok_or_else(|| anyhow!("no application"))?;
    let recorded = ShownManager::of_certificate(app.certificate_managed_by).to_string();
    ensure!(
        recorded == expected,
        "the configuration records the certificate as managed by {recorded}"
    );
    Ok(())
}

#[then("the connector still uses its service account")]
async fn still_service_account(w: &mut EntraWorld) -> anyhow::Result<()> {
    let config = server(w).config()?;
    ensure!(config.connector_identity_type == IdentityType::ServiceAccount);
    Ok(())
}
