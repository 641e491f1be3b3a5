//! Steps about the sync server's authentication lifecycle, driving the real client
//! (`adsync_client::lifecycle::SyncServer`) against the scenario's mock tenant, one module per
//! job: `server` (installation, upgrade), `clocks`, `administrators` (their certificates and
//! applications), `onboarding`, `scheduler`, `sync_cycles`, `rotation` (and cleanup),
//! `hygiene` (revocation, foreign credentials), `legacy` (the service account, rollback).
//! This module holds what they share (making a sync server, sign-ins, the state read before a
//! step); each takes it with `use super::*`.
//!
//! The sync server's clock and the tenant's clock are one: the first sync server step freezes
//! the tenant clock and gives the client a `FixedClock` at the same instant, and every clock
//! step moves both. Each scenario has its own state directory (a tempdir) and, when it asks for
//! a TPM, its own swtpm.

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
use adsync_client::lifecycle::install::{InstallOptions, UpgradeOptions};
use adsync_client::lifecycle::onboarding::EntraRegistration;
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

use crate::harness::scenario_server::{Before, Effects, ScenarioServer};
use crate::harness::world::EntraWorld;

mod administrators;
mod clocks;
mod hygiene;
mod legacy;
mod onboarding;
mod rotation;
mod scheduler;
mod server;
mod sync_cycles;

/// The fixture users' password.
const PASSWORD: &str = "Passw0rd!";
/// Microsoft Graph's identifier in the global cloud: the resource of Graph tokens.
const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

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
    hex_upper(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

/// Uppercase hex SHA-1 of a certificate's DER: Windows' thumbprint, computed here.
fn sha1_hex(der: &[u8]) -> String {
    hex_upper(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
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
    w.sync_server = Some(Box::new(ScenarioServer::new(
        name, clock, server, dir, swtpm,
    )));
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

fn cert_hash(w: &mut EntraWorld, name: &str) -> anyhow::Result<Sha256Hash> {
    sync(w)
        .certs
        .get(name)
        .cloned()
        .ok_or_else(|| anyhow!("no administrator's certificate named {name:?} in this scenario"))
}

fn app_ids(w: &mut EntraWorld, app: &str) -> anyhow::Result<(ClientId, ObjectId, ObjectId)> {
    sync(w)
        .apps
        .get(app)
        .cloned()
        .ok_or_else(|| anyhow!("no administrator's application named {app:?} in this scenario"))
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
