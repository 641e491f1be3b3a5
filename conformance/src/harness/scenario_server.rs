//! One scenario's sync server (the real client, its state directory and its swtpm) and what
//! its last steps returned, kept in the scenario's `EntraWorld` for the lifecycle steps'
//! Then steps to compare with.

use std::collections::HashMap;

use adsync_client::clock::FixedClock;
use adsync_client::events::Event;
use adsync_client::ids::{ClientId, ObjectId, Sha256Hash};
use adsync_client::keys::KeyRef;
use adsync_client::lifecycle::hygiene::ApplicationKey;
use adsync_client::lifecycle::install::UpgradeReport;
use adsync_client::lifecycle::rotation::RotationOutcome;
use adsync_client::lifecycle::scheduler::SchedulerRun;
use adsync_client::lifecycle::sync_cycle::SyncCycleResult;
use adsync_client::lifecycle::{LifecycleError, SyncServer};
use anyhow::bail;
use mock_graph::core::journal::JournalEntry;

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
    /// A sync server that has done nothing yet; `dir` and `swtpm` live as long as it does.
    pub fn new(
        name: String,
        clock: FixedClock,
        server: SyncServer,
        dir: tempfile::TempDir,
        swtpm: Option<swtpm::Swtpm>,
    ) -> Self {
        ScenarioServer {
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
        }
    }

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
    pub fn record<T>(&mut self, result: Result<T, LifecycleError>) -> Option<T> {
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
    pub fn given(&mut self, what: &str, result: Result<(), LifecycleError>) -> anyhow::Result<()> {
        if let Err(e) = &result {
            let message = format!("{what} (a Given) failed: {e}");
            self.record(result);
            bail!(message);
        }
        self.record(result);
        Ok(())
    }

    /// The last operation's error, for messages.
    pub fn last_error(&self) -> Option<&str> {
        match &self.last_outcome {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}
