//! The World: what one scenario owns. Each scenario gets its own tenant (by default its own
//! in-process mock on its own port, with its own clock), so scenarios run concurrently without
//! seeing each other. The tenant is reached through `TenantTarget`, one interface for the
//! in-process mock and for a remote target.

use std::collections::HashMap;
use std::fmt;

use mock_graph::core::ids::{AppId, ObjectId};
use mock_graph::testing::TestCertificate;
use serde_json::Value;

use super::target::TenantTarget;

/// An application registered by a scenario, with the certificate it signs with.
pub struct ScenarioApp {
    pub app_id: AppId,
    pub object_id: ObjectId,
    pub service_principal_id: Option<ObjectId>,
    pub certificate: TestCertificate,
}

/// The last HTTP answer a step received.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct EntraWorld {
    tenant: Option<TenantTarget>,
    pub apps: HashMap<String, ScenarioApp>,
    pub last: Option<Answer>,
    /// The thumbprint (uppercase hex) that the header of the last client assertion sent named:
    /// what the client used, read from the request, not from the answer.
    pub last_thumbprint: Option<String>,
    /// The `client_id` the last token request sent (what a token issued for it must name).
    pub last_client_id: Option<String>,
    /// The scenario's sync server (the real client), when a step set one up.
    pub sync_server: Option<Box<super::scenario_server::ScenarioServer>>,
    /// What the Graph steps remember (tokens, service principals, app roles).
    pub graph: GraphMemory,
    /// The id of a second tenant a step added to the scenario's mock.
    pub other_tenant: Option<String>,
}

impl fmt::Debug for EntraWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraWorld")
            .field(
                "tenant",
                &self.tenant.as_ref().map(|t| (&t.base_url, &t.tenant_id)),
            )
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("last", &self.last)
            .finish()
    }
}

impl EntraWorld {
    async fn new() -> Result<Self, anyhow::Error> {
        Ok(EntraWorld {
            tenant: None,
            apps: HashMap::new(),
            last: None,
            last_thumbprint: None,
            last_client_id: None,
            sync_server: None,
            graph: Default::default(),
            other_tenant: None,
        })
    }

    /// Starts this scenario's tenant (the default fixture: an in-process mock, a fresh tenant on
    /// a remote mock, or the remote tenant).
    pub async fn start_tenant(&mut self) -> anyhow::Result<()> {
        self.tenant = Some(TenantTarget::start().await?);
        Ok(())
    }

    /// Starts this scenario's tenant from a fixture file in `fixtures/`.
    pub async fn start_tenant_from_fixture(&mut self, name: &str) -> anyhow::Result<()> {
        let path = super::from_root("fixtures").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("fixture {}: {e}", path.display()))?;
        let fixture = mock_graph::TenantFixture::from_json(&text)?;
        self.tenant = Some(TenantTarget::from_fixture(fixture).await?);
        Ok(())
    }

    /// This scenario's tenant.
    pub fn tenant(&self) -> &TenantTarget {
        self.tenant
            .as_ref()
            .expect("a step before this one must start the tenant (\"Given a tenant\")")
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.tenant().http
    }

    pub fn app(&self, name: &str) -> &ScenarioApp {
        self.apps
            .get(name)
            .unwrap_or_else(|| panic!("no application named {name:?} in this scenario"))
    }

    /// `text` with each `<appId of NAME>` replaced by the appId of the scenario's application
    /// NAME, and `<tenant domain>` by a verified domain of the tenant: a scenario cannot know
    /// them (they differ per run and per target).
    pub fn expand(&self, text: &str) -> String {
        const OPEN: &str = "<appId of ";
        let text = text.replace("<tenant domain>", &self.tenant().domain);
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find('>') else { break };
            out.push_str(&rest[..start]);
            out.push_str(&self.app(&after[..end]).app_id.to_string());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    pub fn last(&self) -> &Answer {
        self.last
            .as_ref()
            .expect("a When step must have sent a request")
    }

    /// POSTs a form and keeps the answer.
    pub async fn post_form(
        &mut self,
        url: &str,
        content_type: &str,
        body: String,
    ) -> anyhow::Result<()> {
        let resp = self
            .http()
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.last = Some(Answer { status, body });
        Ok(())
    }

    /// What to show when a scenario failed: the tenant's last answers from the journal, and
    /// where its final state was saved (load it with `mock-graph serve --fixture <file>`).
    /// `scenario` names the snapshot file and must be unique within the run.
    pub async fn failure_report(&self, scenario: &str) -> String {
        let Some(tenant) = &self.tenant else {
            return "no tenant was started".into();
        };
        let mut out = String::new();
        let journal = tenant.journal_tail(10).await;
        if journal.is_empty() {
            out.push_str("  the tenant journaled no request\n");
        } else {
            out.push_str("  the tenant's last answers (oldest first):\n");
            for line in journal {
                out.push_str(&format!("    {line}\n"));
            }
        }
        if let Some(snapshot) = tenant.snapshot_json().await {
            match save_snapshot(scenario, &snapshot) {
                Ok(path) => out.push_str(&format!(
                    "  the tenant's final state: {} (replay: mock-graph serve --fixture {0})\n",
                    path.display()
                )),
                Err(e) => out.push_str(&format!("  could not save the tenant's snapshot: {e}\n")),
            }
        }
        out
    }
}

impl EntraWorld {
    /// Saves the tenant's final state (`ENTRA_HARNESS_SNAPSHOT=always`).
    pub async fn save_final_snapshot(&self, scenario: &str) {
        let Some(tenant) = &self.tenant else { return };
        if let Some(snapshot) = tenant.snapshot_json().await
            && let Err(e) = save_snapshot(scenario, &snapshot)
        {
            eprintln!("could not save the snapshot of {scenario:?}: {e}");
        }
    }
}

/// Saves a snapshot under `target/harness-snapshots/`, named after the scenario.
pub fn save_snapshot(scenario: &str, snapshot: &str) -> std::io::Result<std::path::PathBuf> {
    let dir = super::from_root("target").join("harness-snapshots");
    std::fs::create_dir_all(&dir)?;
    let name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let path = dir.join(format!("{}.json", &name[..name.len().min(120)]));
    // Written whole or not at all: a reader (or a second run) never sees half a snapshot.
    let mut file = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut file, snapshot.as_bytes())?;
    file.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

/// What the Graph steps of one scenario remember.
#[derive(Debug, Default)]
pub struct GraphMemory {
    /// Delegated Graph tokens, by user principal name.
    pub tokens: HashMap<String, String>,
    /// Service principal object ids, by appId.
    pub service_principals: HashMap<String, String>,
    /// `appRoles` of service principals, by appId.
    pub app_roles: HashMap<String, Vec<Value>>,
    /// The id of the last delegated permission grant a step created.
    pub grant: Option<String>,
    /// The access token the last token answer carried, for steps that call Graph with it.
    pub held_token: Option<String>,
    /// App-only Graph tokens of the scenario's applications, by name.
    pub app_tokens: HashMap<String, String>,
}
