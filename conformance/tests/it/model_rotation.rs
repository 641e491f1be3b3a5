//! A model-based test of credential rotation: random sequences of onboarding, clock moves,
//! scheduler runs, on-demand rotations (as the application, or with an administrator's
//! sign-in), faults on addKey/removeKey/token (status answers and replication lag), crashes
//! between rotation steps (the rotation stopped at a journal point, then every in-memory object
//! dropped and the state directory re-opened as a new process would), revocations (an
//! administrator removes the connector's keyCredential in the tenant), removal of stale
//! credentials and rollbacks to the service account, run by the real client against the mock
//! tenant over HTTPS and checked against a small model.
//!
//! The model keeps what the client cannot be trusted to say about itself: its identity type,
//! the certificates an administrator revoked, and every certificate the client ever had (with
//! its key, held in memory so that retired credentials can still be tried). After every step,
//! with the tenant's fault rules set aside:
//!
//! - the state files parse (configuration, rotation journal, event log, scheduler settings)
//!   and no temporary file is left in the state directory;
//! - the identity type is the model's;
//! - the configured certificate gets a token exactly when the model says it should (not
//!   revoked, not expired), and otherwise fails with AADSTS700027;
//! - a certificate the client had, whose credential is gone from the application, fails with
//!   700027;
//! - every keyCredential on the sync application is the configured certificate's, one that an
//!   unfinished rotation (old, new or given up) or registration names, or one that an event
//!   1015 names (by CertificateId, or by certificate when a crash lost the id). The model adds
//!   no credential, so nothing else is excused, not even a certificate the client never kept in
//!   a store (one made, added and lost within an operation is the leak this looks for);
//! - after a run with no fault rule left and nothing replicating, while the certificate works,
//!   no rotation is left half done (recovery).
//!
//! Operations are also checked for what they claim, against the configuration read back and
//! the tenant rather than their own report: a quiet on-demand rotation leaves the connector on a
//! certificate it never had (or on the unfinished rotation's new one, unless that one expired
//! or, for an administrator's rotation, was revoked: then on one it never had) that is on the
//! application; a due scheduler run changes the certificate; a stale credential reported
//! removed is gone from the application and the configuration. A crash is told from a failure
//! by its kind (`LifecycleError::Stopped` at the point asked for); a crash operation whose
//! rotation fails in any other way is judged as an on-demand rotation's failure is.
//!
//! Software keys only. `PROPTEST_CASES` raises the case count (24 by default).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use adsync_client::cert::Certificate;
use adsync_client::clock::{Clock, FixedClock};
use adsync_client::cloud::{Endpoints, SYNC_SERVICE_APP_ID};
use adsync_client::config::{ConfigStore, ConnectorConfig, IdentityType, StoreKind};
use adsync_client::events::EventLog;
use adsync_client::events::ids::OLD_CREDENTIAL_NOT_REMOVED;
use adsync_client::http::ReqwestTransport;
use adsync_client::ids::{ClientId, Sha256Hash, TenantId};
use adsync_client::keys::Signer;
use adsync_client::lifecycle::certcheck::CheckEvents;
use adsync_client::lifecycle::install::{InstallOptions, UpgradeOptions};
use adsync_client::lifecycle::rotation::{RotationJournal, RotationPoint, RotationStep};
use adsync_client::lifecycle::scheduler::SchedulerSettings;
use adsync_client::lifecycle::{AdminCredentials, LifecycleError, ServerOptions, SyncServer};
use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
use adsync_client::token::CertificateCredential;
use mock_graph::core::clock::VirtualClock;
use mock_graph::core::directory::KeyCredential;
use mock_graph::core::faults::FaultSpec;
use mock_graph::core::tenant::Tenant;
use mock_graph::state::fresh_default_fixture;
use mock_graph::testing::TestServer;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use time::Duration;

const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
const PASSWORD: &str = "Passw0rd!";

/// One mock for the whole test; every case gets its own tenant on it.
struct Shared {
    runtime: tokio::runtime::Runtime,
    mock: TestServer,
    http: Arc<ReqwestTransport>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mock = runtime
        .block_on(TestServer::start())
        .expect("the mock starts");
    let ca = mock.ca_pem_text().expect("the mock serves TLS");
    let http = Arc::new(ReqwestTransport::new(Some(ca.as_bytes())).expect("transport"));
    Shared {
        runtime,
        mock,
        http,
    }
});

// ---- operations

/// What can go wrong on the tenant's side.
#[derive(Debug, Clone)]
enum Fault {
    /// The next `count` requests of `operation` are refused with `status`.
    Refuse {
        operation: &'static str,
        status: u16,
        count: u32,
    },
    /// The next addKey takes effect `seconds` late (replication lag).
    AddKeyLag { seconds: u64 },
}

#[derive(Debug, Clone)]
enum Op {
    /// The administrator onboards the server (managed certificate).
    Onboard,
    /// Both clocks move forward.
    Advance(Duration),
    /// One scheduler run.
    Scheduler,
    /// `Invoke-ADSyncApplicationCredentialRotation`, with or without an administrator.
    Rotate { admin: bool },
    /// An on-demand rotation that dies at `at`; then the process is restarted.
    Crash { at: RotationPoint, admin: bool },
    /// A fault rule on the tenant.
    Fault(Fault),
    /// An administrator removes the connector's current credential in the tenant.
    Revoke,
    /// `Remove-EntraApplicationKey` for every credential the configuration lists as stale.
    RemoveStale,
    /// `Add-ADSyncAADServiceAccount`: back to the service account.
    Rollback,
}

fn point() -> impl Strategy<Value = RotationPoint> {
    prop_oneof![
        Just(RotationPoint::Created),
        Just(RotationPoint::KeyAddedUnrecorded),
        Just(RotationPoint::KeyAdded),
        Just(RotationPoint::SwitchedUnrecorded),
        Just(RotationPoint::Switched),
        Just(RotationPoint::RetiredUnrecorded),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    let refuse = (
        prop_oneof![Just("addKey"), Just("removeKey"), Just("token")],
        prop_oneof![Just(403u16), Just(429), Just(500), Just(503)],
        1u32..=4,
    )
        .prop_map(|(operation, status, count)| Fault::Refuse {
            operation,
            status,
            count,
        });
    prop_oneof![
        3 => refuse,
        1 => (60u64..=7200).prop_map(|seconds| Fault::AddKeyLag { seconds }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Onboard),
        3 => prop_oneof![
            (1i64..=48).prop_map(Duration::hours),
            (1i64..=240).prop_map(Duration::days),
        ]
        .prop_map(Op::Advance),
        3 => Just(Op::Scheduler),
        2 => any::<bool>().prop_map(|admin| Op::Rotate { admin }),
        2 => (point(), prop::bool::weighted(0.25)).prop_map(|(at, admin)| Op::Crash { at, admin }),
        2 => fault().prop_map(Op::Fault),
        1 => Just(Op::Revoke),
        1 => Just(Op::RemoveStale),
        1 => Just(Op::Rollback),
    ]
}

/// Onboarding first (so most of a case exercises rotation), then up to 12 operations.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..=12).prop_map(|mut ops| {
        ops.insert(0, Op::Onboard);
        ops
    })
}

// ---- one case: a tenant, a sync server, the model

/// A certificate the client had, with its key (kept in memory after the client deletes it).
struct Known {
    certificate: Certificate,
    signer: Arc<dyn Signer>,
}

struct Model {
    identity: IdentityType,
    /// Certificates whose credential an administrator removed from the application.
    revoked: HashSet<Sha256Hash>,
    /// Every certificate the client ever had.
    known: HashMap<Sha256Hash, Known>,
}

struct Case {
    tenant_id: mock_graph::core::ids::TenantId,
    admin: AdminCredentials,
    state_dir: tempfile::TempDir,
    clock: FixedClock,
    server: SyncServer,
    model: Model,
    /// What happened so far, for failure messages.
    log: Vec<String>,
}

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn open_server(dir: &Path, clock: &FixedClock) -> SyncServer {
    let shared = &*SHARED;
    let endpoints = Endpoints::new(&shared.mock.url, &shared.mock.url)
        .expect("endpoints")
        .with_graph_resource(GRAPH_RESOURCE);
    SyncServer::new(ServerOptions {
        state_dir: dir.to_path_buf(),
        clock: Arc::new(clock.clone()),
        http: shared.http.clone(),
        sleeper: Arc::new(SimulatedSleeper::default()),
        endpoints,
        services_url: None,
        tpm: None,
        retry: RetryPolicy::default(),
    })
}

impl Case {
    async fn start() -> Result<Case, String> {
        let shared = &*SHARED;
        let mut fixture = fresh_default_fixture();
        fixture.signing_key = shared
            .mock
            .with_tenant(|t| t.to_fixture().signing_key.clone());
        let domain = fixture.tenant.initial_domain.clone();
        let tenant_id = shared
            .mock
            .state
            .add_fixture(fixture)
            .map_err(|e| e.to_string())?;
        let now = shared
            .mock
            .state
            .with_tenant(tenant_id, |t| {
                let now = t.now().replace_nanosecond(0).unwrap_or_else(|_| t.now());
                t.clock = VirtualClock::frozen(now);
                now
            })
            .ok_or("the new tenant is gone")?;
        let clock = FixedClock::new(now);
        let state_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let server = open_server(state_dir.path(), &clock);
        let admin = AdminCredentials {
            user_principal_name: format!("admin@{domain}"),
            password: PASSWORD.into(),
        };
        // A server on its service account at 2.5.3.0 (which can onboard, and does not onboard by
        // itself), as the field has them: an older installation, upgraded without the checkbox.
        let options = InstallOptions {
            server_name: "MODEL".into(),
            sync_machine_identifier: None,
            version: "2.4.129.0".parse().map_err(|e: String| e)?,
            password_writeback: false,
        };
        server
            .install(&options, &admin)
            .await
            .map_err(|e| format!("install: {e}"))?;
        let upgrade = UpgradeOptions {
            version: "2.5.3.0".parse().map_err(|e: String| e)?,
            configure_application_authentication: false,
        };
        server
            .upgrade(&upgrade, None)
            .await
            .map_err(|e| format!("upgrade: {e}"))?;
        Ok(Case {
            tenant_id,
            admin,
            state_dir,
            clock,
            server,
            model: Model {
                identity: IdentityType::ServiceAccount,
                revoked: HashSet::new(),
                known: HashMap::new(),
            },
            log: Vec::new(),
        })
    }

    fn tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        SHARED
            .mock
            .state
            .with_tenant(self.tenant_id, f)
            .expect("the case's tenant exists")
    }

    fn config(&self) -> Result<ConnectorConfig, String> {
        ConfigStore::open(self.state_dir.path())
            .load()
            .map_err(|e| format!("the configuration does not parse: {e}"))?
            .ok_or_else(|| "the configuration file is gone".to_string())
    }

    fn journal(&self) -> Result<Option<RotationJournal>, String> {
        self.server
            .rotation_journal()
            .map_err(|e| format!("the rotation journal does not parse: {e}"))
    }

    /// Whether a fault rule is still live or a write is still replicating.
    fn quiet(&self) -> bool {
        self.tenant(|t| {
            t.controls.replication.pending() == 0
                && t.controls
                    .faults
                    .list()
                    .iter()
                    .all(|r| r.remaining == Some(0))
        })
    }

    /// The sync application's credentials as the tenant has them now.
    fn app_credentials(&self, config: &ConnectorConfig) -> Vec<KeyCredential> {
        let Some(app) = config
            .application
            .as_ref()
            .or(config.pending_registration.as_ref())
        else {
            return Vec::new();
        };
        let Ok(app_id) = app.application_app_id.as_str().parse() else {
            return Vec::new();
        };
        self.tenant(|t| {
            t.directory
                .application_by_app_id(app_id)
                .map(|a| a.key_credentials.clone())
                .unwrap_or_default()
        })
    }

    fn expired(&self, hash: &Sha256Hash) -> bool {
        self.model
            .known
            .get(hash)
            .and_then(|k| k.certificate.info().ok())
            .is_some_and(|i| self.clock.now() >= i.not_after)
    }

    /// Whether a resumed rotation must give up its new certificate: it has expired, (what only
    /// an administrator's read of the application can tell) it was revoked, or a crash
    /// interrupted its add and it is not on the application (it may have been added and still
    /// be replicating: it is not sent a second time). A fresh certificate then takes its place;
    /// a revoked one is never put back.
    fn gives_up(&self, journal: &RotationJournal, config: &ConnectorConfig, admin: bool) -> bool {
        let new = &journal.new.certificate_sha256_hash;
        let on_app = || {
            self.app_credentials(config).iter().any(|k| {
                k.key.as_ref().is_some_and(|der| {
                    Certificate::from_der(der.clone()).is_ok_and(|c| &c.sha256_hash() == new)
                })
            })
        };
        self.expired(new)
            || (admin && self.model.revoked.contains(new))
            || (journal.step == RotationStep::Adding && !on_app())
    }

    /// What a finished rotation must leave the connector on, when a rotation was under way:
    /// the journal's new certificate, or one it never had when that one was given up
    /// (`gives_up`, judged before the operation).
    fn check_finished(&self, journal: &RotationJournal, gives_up: bool, now: &Sha256Hash) -> Check {
        let new = &journal.new.certificate_sha256_hash;
        if gives_up {
            ensure!(
                !self.model.known.contains_key(now),
                "the rotation under way moved to {new}, which was revoked or expired, so a fresh certificate had to take its place; the connector uses {now}, a certificate it already had"
            );
        } else {
            ensure!(
                now == new,
                "the rotation under way was finished, but the connector uses {now}, not {new}"
            );
        }
        Ok(())
    }

    /// Whether the certificate the configuration names is expected to get tokens.
    fn usable(&self, config: &ConnectorConfig) -> bool {
        config.application.as_ref().is_some_and(|a| {
            !self.model.revoked.contains(&a.certificate_sha256_hash)
                && !self.expired(&a.certificate_sha256_hash)
        })
    }

    /// Simulates a process restart: every in-memory object of the client goes; the state
    /// directory stays (the machine's clock keeps its time).
    fn restart(&mut self) {
        let clock = FixedClock::new(self.clock.now());
        self.server = open_server(self.state_dir.path(), &clock);
        self.clock = clock;
    }

    /// Moves both clocks.
    fn advance(&mut self, by: Duration) {
        self.tenant(|t| t.advance_clock(by));
        self.clock.advance(by);
    }

    /// Remembers (with its key) every certificate the client has now.
    fn learn(&mut self) -> Check {
        let account = SyncServer::sync_account();
        for kind in [StoreKind::CurrentUser, StoreKind::LocalMachine] {
            let store = self.server.store(kind);
            let entries = store
                .list()
                .map_err(|e| format!("the {kind:?} store does not parse: {e}"))?;
            for entry in entries {
                let hash = entry.certificate.sha256_hash();
                if self.model.known.contains_key(&hash) {
                    continue;
                }
                let (entry, signer) = store
                    .open_signer(&hash, &account, self.server.providers())
                    .map_err(|e| format!("certificate {hash} cannot be opened: {e}"))?;
                self.model.known.insert(
                    hash,
                    Known {
                        certificate: entry.certificate,
                        signer,
                    },
                );
            }
        }
        Ok(())
    }

    /// A token for the sync service with a known certificate, faults set aside; the AADSTS
    /// code on failure.
    async fn token_with(&self, tenant: &TenantId, client: &ClientId, hash: &Sha256Hash) -> Check {
        let known = self
            .model
            .known
            .get(hash)
            .ok_or_else(|| format!("certificate {hash} was never seen in a store"))?;
        let credential = CertificateCredential {
            client_id: client.clone(),
            certificate: known.certificate.clone(),
            signer: known.signer.clone(),
            algorithm: adsync_client::assertion::AssertionAlgorithm::Ps256,
        };
        self.server
            .token_client(tenant)
            .with_retry(RetryPolicy::none())
            .request_app_token(&credential, SYNC_SERVICE_APP_ID)
            .await
            .map(|_| ())
            .map_err(|e| match e.aadsts_code() {
                Some(code) => code.to_string(),
                None => format!("not an AADSTS refusal: {e}"),
            })
    }

    /// The invariants, with the tenant's fault rules set aside (and put back afterwards).
    async fn check(&mut self) -> Check {
        let rules = self.tenant(|t| {
            let rules = t.controls.faults.list();
            t.controls.faults.clear();
            rules
        });
        let result = self.check_invariants().await;
        self.tenant(|t| {
            for rule in rules.into_iter().filter(|r| r.remaining != Some(0)) {
                let mut spec = rule.spec;
                spec.count = rule.remaining;
                t.controls
                    .faults
                    .add(spec)
                    .expect("a rule that was valid stays valid");
            }
        });
        result
    }

    async fn check_invariants(&mut self) -> Check {
        // State files parse; no temporary file is left.
        let config = self.config()?;
        let journal = self.journal()?;
        let events = EventLog::open(self.state_dir.path())
            .all()
            .map_err(|e| format!("the event log does not parse: {e}"))?;
        self.server
            .scheduler_settings()
            .map_err(|e| format!("the scheduler settings do not parse: {e}"))?;
        let _: SchedulerSettings = self
            .server
            .scheduler_settings()
            .map_err(|e| e.to_string())?;
        if let Some(tmp) = temp_files(self.state_dir.path()).first() {
            return Err(format!("a temporary file is left: {}", tmp.display()));
        }
        self.learn()?;
        ensure!(
            config.connector_identity_type == self.model.identity,
            "ConnectorIdentityType is {}, the model says {}",
            config.connector_identity_type,
            self.model.identity
        );
        let Some(app) = config.application.clone() else {
            return Ok(());
        };
        let tenant = config.tenant_id.clone().ok_or("no tenant id")?;
        let client = app.application_app_id.clone();
        let current = app.certificate_sha256_hash.clone();

        // The configured certificate works exactly when the model says so.
        let expected = self.usable(&config);
        match self.token_with(&tenant, &client, &current).await {
            Ok(()) => ensure!(
                expected,
                "the configured certificate {current} got a token, but the model says it is {}",
                if self.expired(&current) {
                    "expired"
                } else {
                    "revoked"
                }
            ),
            Err(code) => {
                ensure!(
                    !expected,
                    "the configured certificate {current} gets no token: {code}"
                );
                ensure!(
                    code == "700027",
                    "the configured certificate {current} is refused with {code}, not 700027"
                );
            }
        }

        // Every credential on the application is accounted for.
        let credentials = self.app_credentials(&config);
        let named: Vec<String> = events
            .iter()
            .filter(|e| e.id == OLD_CREDENTIAL_NOT_REMOVED)
            .map(|e| e.message.to_ascii_lowercase())
            .collect();
        let mut allowed: Vec<&Sha256Hash> = vec![&current];
        if let Some(j) = &journal {
            allowed.push(&j.old.certificate_sha256_hash);
            allowed.push(&j.new.certificate_sha256_hash);
            allowed.extend(j.abandoned.iter().map(|a| &a.certificate_sha256_hash));
        }
        if let Some(p) = &config.pending_registration {
            allowed.push(&p.certificate_sha256_hash);
        }
        let mut on_app: HashSet<Sha256Hash> = HashSet::new();
        for k in &credentials {
            let Some(der) = &k.key else {
                return Err(format!("credential {} has no key", k.key_id));
            };
            let hash = Certificate::from_der(der.clone())
                .map_err(|e| e.to_string())?
                .sha256_hash();
            on_app.insert(hash.clone());
            // The model adds no credential of its own: one the client never had in a store
            // (made, added and lost within one operation) must be accounted for like any other.
            if allowed.contains(&&hash) {
                continue;
            }
            // By CertificateId; or by certificate when the id was lost (a crash between
            // addKey and the journal write leaves the client without it).
            let id = k.key_id.to_string();
            let by_hash = hash.as_str().to_ascii_lowercase();
            ensure!(
                named
                    .iter()
                    .any(|m| m.contains(&id) || m.contains(&by_hash)),
                "credential {id} (certificate {hash}) is on the application, is not the connector's, and no event 1015 names it; journal: {journal:?}"
            );
        }

        // Certificates the client had, whose credential is gone, are refused.
        let gone: Vec<Sha256Hash> = self
            .model
            .known
            .keys()
            .filter(|h| !on_app.contains(*h) && **h != current)
            .cloned()
            .collect();
        for hash in gone {
            match self.token_with(&tenant, &client, &hash).await {
                Ok(()) => {
                    return Err(format!(
                        "certificate {hash} is not on the application but gets a token"
                    ));
                }
                Err(code) => ensure!(
                    code == "700027",
                    "certificate {hash} (not on the application) is refused with {code}, not 700027"
                ),
            }
        }
        Ok(())
    }

    /// Applies one operation and checks what the model predicts for it.
    async fn apply(&mut self, op: &Op) -> Check {
        let quiet = self.quiet();
        let before = self.config()?;
        let journal_before = self.journal()?;
        let usable = self.usable(&before);
        let application = self.model.identity == IdentityType::Application;
        // Judged on the state before the operation.
        let gives_up_now = [false, true].map(|admin| {
            journal_before
                .as_ref()
                .is_some_and(|j| self.gives_up(j, &before, admin))
        });
        let gives_up = |admin: bool| gives_up_now[usize::from(admin)];
        match op {
            Op::Onboard => {
                let r = self.server.onboard(&self.admin, None, None).await;
                self.log.push(format!("  -> {:?}", r.as_ref().map(|_| ())));
                if application {
                    ensure!(r.is_err(), "onboarding an onboarded server succeeded");
                } else if quiet {
                    ensure!(r.is_ok(), "onboarding failed: {:?}", r.err());
                }
                if r.is_ok() {
                    self.model.identity = IdentityType::Application;
                }
            }
            Op::Advance(by) => self.advance(*by),
            Op::Scheduler => {
                let due = before.application.as_ref().is_some_and(|_| {
                    self.server
                        .check_certificate(CheckEvents::NONE)
                        .ok()
                        .flatten()
                        .is_some_and(|s| s.rotation_due)
                });
                let r = self.server.run_scheduler_once().await;
                self.log.push(format!(
                    "  -> rotation {:?}, error {:?}",
                    r.as_ref().ok().and_then(|r| r.rotation.clone()),
                    r.as_ref()
                        .map_or_else(|e| Some(e.to_string()), |r| r.rotation_error.clone())
                ));
                if quiet {
                    ensure!(r.is_ok(), "the scheduler run failed: {:?}", r.err());
                }
                if quiet && application && usable {
                    let journal = self.journal()?;
                    ensure!(
                        journal.is_none(),
                        "a quiet scheduler run left the rotation unfinished: {journal:?}"
                    );
                    let after = self
                        .config()?
                        .application
                        .map(|a| a.certificate_sha256_hash);
                    if let Some(j) = &journal_before {
                        let after = after.ok_or("the connector lost its application")?;
                        self.check_finished(j, gives_up(false), &after)?;
                    } else if due {
                        ensure!(
                            after != before.application.map(|a| a.certificate_sha256_hash),
                            "rotation was due but the certificate did not change"
                        );
                    }
                }
            }
            Op::Rotate { admin } => {
                let admin_credentials = admin.then(|| self.admin.clone());
                let r = self
                    .server
                    .rotate_credential(None, admin_credentials.as_ref())
                    .await;
                self.log.push(format!("  -> {r:?}"));
                if !application {
                    ensure!(r.is_err(), "a server on its service account rotated");
                } else if quiet && (*admin || usable) {
                    let outcome = r.map_err(|e| format!("the rotation failed: {e}"))?;
                    ensure!(
                        outcome.completed,
                        "a quiet rotation did not complete: {outcome:?}"
                    );
                    ensure!(
                        self.journal()?.is_none(),
                        "a completed rotation left its journal"
                    );
                    // What the rotation reports is not the verdict: read the configuration
                    // back and look at the tenant.
                    let after = self.config()?;
                    let now = after
                        .application
                        .as_ref()
                        .map(|a| a.certificate_sha256_hash.clone())
                        .ok_or("the connector lost its application")?;
                    match &journal_before {
                        // An unfinished rotation is finished, not started again.
                        Some(j) => self.check_finished(j, gives_up(*admin), &now)?,
                        None => ensure!(
                            !self.model.known.contains_key(&now),
                            "the rotation completed, but the connector uses {now}, a certificate it already had"
                        ),
                    }
                    ensure!(
                        outcome.new_certificate_sha256_hash == now,
                        "the rotation reported {outcome:?}, but the connector uses {now}"
                    );
                    let on_app = self.app_credentials(&after).iter().any(|k| {
                        k.key.as_ref().is_some_and(|der| {
                            Certificate::from_der(der.clone()).is_ok_and(|c| c.sha256_hash() == now)
                        })
                    });
                    ensure!(
                        on_app,
                        "the connector's new certificate {now} is not on the application"
                    );
                } else if quiet && journal_before.is_none() {
                    ensure!(
                        r.is_err(),
                        "the application rotated its own key with a revoked or expired certificate"
                    );
                }
            }
            Op::Crash { at, admin } => {
                let admin_credentials = admin.then(|| self.admin.clone());
                let r = self
                    .server
                    .rotate_credential_until(None, admin_credentials.as_ref(), Some(*at))
                    .await;
                self.log
                    .push(format!("  -> {:?}", r.as_ref().map(|o| o.completed)));
                match &r {
                    // The crash asked for: the state directory is as the dead process left it.
                    Err(LifecycleError::Stopped { at: stopped }) => {
                        ensure!(
                            application,
                            "a server on its service account started a rotation"
                        );
                        ensure!(
                            stopped == at,
                            "the rotation was to stop at {at:?} but stopped at {stopped:?}"
                        );
                    }
                    // Any other error is a failure of the rotation, judged as an on-demand
                    // rotation's failure is.
                    Err(e) => ensure!(
                        !(application && quiet && (*admin || usable)),
                        "the rotation failed: {e}"
                    ),
                    // The rotation ended before it reached the point.
                    Ok(_) => ensure!(application, "a server on its service account rotated"),
                }
                // Keys of certificates created by the dead process are learnt from the store
                // the new process finds.
                self.restart();
            }
            Op::Fault(f) => {
                let spec = match f {
                    Fault::Refuse {
                        operation,
                        status,
                        count,
                    } => serde_json::json!({
                        "match": {"operation": operation},
                        "status": status,
                        "error": if *operation == "token" { "temporarily_unavailable" } else { "Authorization_RequestDenied" },
                        "count": count,
                    }),
                    Fault::AddKeyLag { seconds } => serde_json::json!({
                        "match": {"operation": "addKey"}, "lag_seconds": seconds, "count": 1,
                    }),
                };
                let spec: FaultSpec = serde_json::from_value(spec).map_err(|e| e.to_string())?;
                self.tenant(|t| t.controls.faults.add(spec))
                    .map_err(|e| e.to_string())?;
            }
            Op::Revoke => {
                if let Some(app) = &before.application {
                    let hash = app.certificate_sha256_hash.clone();
                    let der = self
                        .model
                        .known
                        .get(&hash)
                        .map(|k| k.certificate.der().to_vec());
                    let app_id = app
                        .application_app_id
                        .as_str()
                        .parse()
                        .map_err(|e| format!("{e:?}"))?;
                    let removed = self.tenant(|t| {
                        let Some(id) = t.directory.application_by_app_id(app_id).map(|a| a.id)
                        else {
                            return false;
                        };
                        let Some(a) = t.directory.application_mut(id) else {
                            return false;
                        };
                        let n = a.key_credentials.len();
                        a.key_credentials.retain(|k| k.key != der);
                        a.key_credentials.len() != n
                    });
                    self.log.push(format!("  -> removed: {removed}"));
                    self.model.revoked.insert(hash);
                }
            }
            Op::RemoveStale => {
                for stale in before.stale_credentials {
                    let r = self
                        .server
                        .remove_application_key(&stale.certificate_id, None)
                        .await;
                    self.log.push(format!("  -> {r:?}"));
                    if r.is_ok() {
                        // Reported removed: gone from the tenant and from the configuration.
                        let id = stale.certificate_id.as_str().to_ascii_lowercase();
                        let after = self.config()?;
                        ensure!(
                            !self
                                .app_credentials(&after)
                                .iter()
                                .any(|k| k.key_id.to_string() == id),
                            "Remove-EntraApplicationKey {id} succeeded, but the credential is still on the application"
                        );
                        ensure!(
                            !after
                                .stale_credentials
                                .iter()
                                .any(|s| s.certificate_id == stale.certificate_id),
                            "Remove-EntraApplicationKey {id} succeeded, but the configuration still lists it"
                        );
                    }
                }
            }
            Op::Rollback => {
                let r = self.server.add_service_account(&self.admin, None).await;
                self.log.push(format!("  -> {:?}", r.as_ref().map(|_| ())));
                if quiet {
                    ensure!(r.is_ok(), "the rollback failed: {:?}", r.err());
                }
                if r.is_ok() {
                    self.model.identity = IdentityType::ServiceAccount;
                }
            }
        }
        Ok(())
    }
}

/// Temporary files of atomic writes (`.<name>.tmp-<id>`) anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    crate::files::files_under(dir, |_| false)
        .into_iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp-"))
        })
        .collect()
}

async fn run_case(ops: &[Op]) -> Check {
    let mut case = Case::start().await?;
    for (i, op) in ops.iter().enumerate() {
        case.log.push(format!("{i}: {op:?}"));
        let outcome = match case.apply(op).await {
            Ok(()) => case.check().await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            return Err(format!("{e}\nsteps:\n{}", case.log.join("\n")));
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/model_rotation.txt"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn rotation_keeps_the_connector_authenticated_and_leaves_nothing_behind(ops in ops()) {
        let result = SHARED.runtime.block_on(run_case(&ops));
        prop_assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
    }
}

// ---- regressions found by the model, as fixed sequences

fn replay(ops: &[Op]) {
    let result = SHARED.runtime.block_on(run_case(ops));
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

/// An administrator's rotation dropped the old credential before the connector switched: a
/// crash (or a lagging new key) left it without any working credential.
#[test]
fn regression_admin_rotation_keeps_the_working_credential_until_the_switch() {
    replay(&[
        Op::Onboard,
        Op::Crash {
            at: RotationPoint::KeyAddedUnrecorded,
            admin: true,
        },
        Op::Scheduler,
    ]);
}

/// Onboarding again after a rollback left the earlier certificate on the application.
#[test]
fn regression_onboarding_after_rollback_removes_the_earlier_credential() {
    replay(&[Op::Onboard, Op::Rollback, Op::Onboard, Op::Scheduler]);
}

/// A rotation journal left by the earlier identity was resumed after onboarding again.
#[test]
fn regression_onboarding_again_discards_the_earlier_rotation() {
    replay(&[
        Op::Onboard,
        Op::Crash {
            at: RotationPoint::Created,
            admin: false,
        },
        Op::Rollback,
        Op::Onboard,
        Op::Scheduler,
    ]);
}

/// A resumed rotation took a failed token request for "the new key is not there" and added
/// it a second time; the copy outlived the next rotation.
#[test]
fn regression_resumed_rotation_does_not_add_the_key_twice() {
    replay(&[
        Op::Onboard,
        Op::Crash {
            at: RotationPoint::KeyAddedUnrecorded,
            admin: false,
        },
        Op::Fault(Fault::Refuse {
            operation: "token",
            status: 503,
            count: 4,
        }),
        Op::Scheduler,
        Op::Scheduler,
        Op::Rotate { admin: false },
    ]);
}

/// A rotation whose removeKey is refused leaves a stale credential (event 1015);
/// Remove-EntraApplicationKey must then take it off the application, not only say so.
#[test]
fn a_stale_credential_is_removed_on_request() {
    replay(&[
        Op::Onboard,
        Op::Fault(Fault::Refuse {
            operation: "removeKey",
            status: 403,
            count: 1,
        }),
        Op::Rotate { admin: false },
        Op::RemoveStale,
    ]);
}

/// A crash after the configuration switched but before the journal said so, then an
/// administrator revokes the connector's (new) credential. The administrator's rotation, the
/// documented recovery, resumed the journal and waited for the revoked key for ever
/// (`completed: false`). It now gives the revoked certificate up (it does not put it back) and
/// rotates to a fresh one; the journal's old certificate is still removed at the end.
#[test]
fn regression_admin_rotation_recovers_the_revoked_key_of_an_unfinished_rotation() {
    replay(&[
        Op::Onboard,
        Op::Crash {
            at: RotationPoint::SwitchedUnrecorded,
            admin: false,
        },
        Op::Revoke,
        Op::Rotate { admin: true },
    ]);
}

/// A rotation that crashed once its new certificate was made, then a year without a scheduler
/// run (both certificates expire; the administrator also revoked the current one). The
/// administrator's rotation, the documented recovery, resumed the journal, put its expired new
/// certificate on the application and waited for it for ever (`completed: false`). It now
/// makes a fresh certificate in place of the expired one.
#[test]
fn regression_admin_rotation_replaces_the_expired_certificate_of_an_unfinished_rotation() {
    replay(&[
        Op::Onboard,
        Op::Crash {
            at: RotationPoint::Created,
            admin: false,
        },
        Op::Revoke,
        Op::Advance(Duration::days(4)),
        Op::Advance(Duration::days(206)),
        Op::Advance(Duration::days(155)),
        Op::Rotate { admin: true },
    ]);
}

/// An administrator's rotation while the rotation under way waits for its new key to replicate:
/// the administrator's read cannot tell that key from a revoked one, so it is given up for a
/// fresh certificate. When it replicates later, it must not be a credential nobody accounts for:
/// the rotation named it (1015) for Remove-EntraApplicationKey.
#[test]
fn regression_a_given_up_key_that_replicates_later_is_accounted_for() {
    replay(&[
        Op::Onboard,
        Op::Fault(Fault::AddKeyLag { seconds: 3600 }),
        Op::Rotate { admin: false },
        Op::Rotate { admin: true },
        Op::Advance(Duration::hours(2)),
        Op::Scheduler,
        Op::RemoveStale,
    ]);
}

/// Found with `PROPTEST_CASES=1000`: an addKey that replicates late, interrupted by a crash
/// before the journal recorded it. The resumed rotation took "not accepted yet" for "not
/// there" and added the certificate a second time; when the first copy replicated, it
/// outlived the rotation away from that certificate. An interrupted add is now never sent
/// again: the certificate is given up for a fresh one and named (1015) in case it appears.
#[test]
fn regression_an_interrupted_add_is_not_sent_twice() {
    replay(&[
        Op::Onboard,
        Op::Fault(Fault::AddKeyLag { seconds: 60 }),
        Op::Crash {
            at: RotationPoint::KeyAddedUnrecorded,
            admin: false,
        },
        Op::Scheduler,
        Op::Rotate { admin: false },
        Op::Advance(Duration::hours(1)),
    ]);
}
