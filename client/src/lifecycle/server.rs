//! One sync server: its state directory (configuration, certificate stores, keys, event log,
//! scheduler settings), the clock it reads, the HTTP transport and endpoints it talks to, and
//! its key providers. Every lifecycle operation is a method on [`SyncServer`] in the module
//! that owns that job; this module only builds the shared pieces (and finds the connector's
//! application in the configuration and in Graph).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::assertion::AssertionAlgorithm;
use crate::clock::Clock;
use crate::cloud::Endpoints;
use crate::config::{
    ApplicationIdentity, ConfigStore, ConnectorConfig, SYNC_SERVICE_ACCOUNT, StoreKind,
};
use crate::events::{Event, EventLog, Level};
use crate::graph::{AppTokenSource, GraphClient, ObjectRef, Organization, StaticToken};
use crate::http::HttpTransport;
use crate::ids::{AccountName, ClientId, TenantId};
use crate::keys::{KeyProviders, SoftwareKeyStore, Tpm};
use crate::retry::{RetryPolicy, Sleeper};
use crate::store::CertStore;
use crate::token::{CertificateCredential, TokenClient};

use super::error::{LifecycleError, Precondition};
use super::services::ServiceClient;

/// Microsoft Graph Command Line Tools: the public client administrators sign in through.
pub const ADMIN_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// Microsoft Azure AD Connect: the public client the legacy service account signs in with.
pub const CONNECT_CLIENT_ID: &str = "cb1056e2-e479-49de-ae31-7812af012ed8";

/// An administrator's sign-in name and password. `Debug` hides the password.
#[derive(Clone)]
pub struct AdminCredentials {
    pub user_principal_name: String,
    pub password: String,
}

impl fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminCredentials")
            .field("user_principal_name", &self.user_principal_name)
            .finish_non_exhaustive()
    }
}

impl AdminCredentials {
    /// The domain part of the UPN: names the tenant before its id is known.
    pub fn domain(&self) -> Result<&str, LifecycleError> {
        self.user_principal_name
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                Precondition::NotAUserPrincipalName {
                    name: self.user_principal_name.clone(),
                }
                .into()
            })
    }
}

/// What a sync server is built from.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub state_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub http: Arc<dyn HttpTransport>,
    pub sleeper: Arc<dyn Sleeper>,
    /// Login and Graph; the Graph resource must be the cloud's Graph identifier.
    pub endpoints: Endpoints,
    /// Base URL of the first-party service models (defaults to the Graph base URL).
    pub services_url: Option<String>,
    /// The machine's TPM, `None` on a machine without one.
    pub tpm: Option<Tpm>,
    pub retry: RetryPolicy,
}

/// An administrator's Graph session.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub graph: GraphClient,
    pub organization: Organization,
    pub tenant_id: TenantId,
    pub user_principal_name: String,
}

impl AdminSession {
    /// The tenant's initial domain, falling back to the administrator's.
    pub fn initial_domain(&self) -> String {
        self.organization
            .initial_domain()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                self.user_principal_name
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_owned())
                    .unwrap_or_default()
            })
    }
}

/// A sync server.
#[derive(Debug, Clone)]
pub struct SyncServer {
    options: ServerOptions,
    providers: KeyProviders,
    config: ConfigStore,
    events: EventLog,
}

impl SyncServer {
    pub fn new(options: ServerOptions) -> Self {
        let providers = KeyProviders::new(
            options.tpm.clone(),
            SoftwareKeyStore::new(options.state_dir.join("keys")),
        );
        Self {
            config: ConfigStore::open(&options.state_dir),
            events: EventLog::open(&options.state_dir),
            providers,
            options,
        }
    }

    /// This server with new TPM keys made by `provider` instead of its TPM (a test's way to a
    /// TPM that refuses; everything else still uses the TPM).
    pub fn with_tpm_key_creator(mut self, provider: Arc<dyn crate::keys::KeyProvider>) -> Self {
        self.providers = self.providers.with_tpm_key_creator(provider);
        self
    }

    /// Runs `job` on tokio's blocking pool with a clone of this server. Key generation (100 ms
    /// to a second in software or in a TPM) and TPM commands block; on an async worker they
    /// would stall every other task of the runtime for that long (timers, TLS handshakes, a
    /// mock served from the same process).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(SyncServer) -> Result<T, LifecycleError> + Send + 'static,
    ) -> Result<T, LifecycleError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || job(this))
            .await
            .map_err(|e| LifecycleError::Background(e.to_string()))?
    }

    pub fn state_dir(&self) -> &Path {
        &self.options.state_dir
    }

    /// The client's time in whole seconds (what certificates, tokens and events carry).
    pub fn now(&self) -> OffsetDateTime {
        let now = self.options.clock.now();
        now.replace_nanosecond(0).unwrap_or(now)
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.options.clock
    }

    pub fn providers(&self) -> &KeyProviders {
        &self.providers
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.options.endpoints
    }

    pub fn config_store(&self) -> &ConfigStore {
        &self.config
    }

    /// The configuration of the installed server.
    pub fn config(&self) -> Result<ConnectorConfig, LifecycleError> {
        Ok(self.config.require()?)
    }

    pub fn save_config(&self, config: &ConnectorConfig) -> Result<(), LifecycleError> {
        Ok(self.config.save(config)?)
    }

    pub fn event_log(&self) -> &EventLog {
        &self.events
    }

    /// Writes an event stamped with the client's clock; returns it.
    pub fn event(
        &self,
        id: u32,
        level: Level,
        source: &str,
        message: impl Into<String>,
    ) -> Result<Event, LifecycleError> {
        let event = Event {
            id,
            level,
            source: source.to_owned(),
            time_created: self.now(),
            message: message.into(),
        };
        self.events.write(&event)?;
        Ok(event)
    }

    /// The account the sync engine runs as.
    pub fn sync_account() -> AccountName {
        AccountName::from(SYNC_SERVICE_ACCOUNT)
    }

    /// A certificate store of this server.
    pub fn store(&self, kind: StoreKind) -> CertStore {
        CertStore::open(&self.options.state_dir, kind.location())
    }

    /// A token client for `tenant`. A new one per operation, so no token outlives the run
    /// that obtained it (as in a fresh `adsync` process).
    pub fn token_client(&self, tenant: &TenantId) -> TokenClient {
        TokenClient::new(
            self.options.http.clone(),
            self.options.sleeper.clone(),
            self.options.clock.clone(),
            self.options.endpoints.clone(),
            tenant.clone(),
        )
        .with_retry(self.options.retry)
    }

    /// The tenant of an installed, signed-up server.
    pub fn tenant(config: &ConnectorConfig) -> Result<TenantId, LifecycleError> {
        config
            .tenant_id
            .clone()
            .ok_or_else(|| Precondition::NoTenant.into())
    }

    /// The certificate credential of an application identity, its key opened as the sync
    /// engine's account.
    pub fn credential(
        &self,
        app: &ApplicationIdentity,
    ) -> Result<CertificateCredential, LifecycleError> {
        let (entry, signer) = self.store(app.certificate_store).open_signer(
            &app.certificate_sha256_hash,
            &Self::sync_account(),
            &self.providers,
        )?;
        Ok(CertificateCredential {
            client_id: app.application_app_id.clone(),
            certificate: entry.certificate,
            signer,
            algorithm: AssertionAlgorithm::Ps256,
        })
    }

    /// Graph as the application itself (app-only token from its certificate).
    pub fn graph_as_app(
        &self,
        tenant: &TenantId,
        credential: CertificateCredential,
    ) -> GraphClient {
        let source = AppTokenSource {
            client: Arc::new(self.token_client(tenant)),
            credential,
        };
        self.graph_with(Arc::new(source))
    }

    fn graph_with(&self, token: Arc<dyn crate::graph::TokenSource>) -> GraphClient {
        GraphClient::new(
            self.options.http.clone(),
            self.options.sleeper.clone(),
            self.options.endpoints.clone(),
            token,
        )
        .with_retry(self.options.retry)
    }

    /// Signs an administrator in (username/password through Microsoft Graph Command Line
    /// Tools) and reads the tenant.
    pub async fn admin_session(
        &self,
        admin: &AdminCredentials,
    ) -> Result<AdminSession, LifecycleError> {
        let tenant = TenantId::from(admin.domain()?);
        let scope = crate::cloud::default_scope(self.options.endpoints.graph_resource());
        let token = self
            .token_client(&tenant)
            .password_token(
                &ClientId::from(ADMIN_CLIENT_ID),
                &admin.user_principal_name,
                &admin.password,
                &scope,
            )
            .await?;
        let graph = self.graph_with(Arc::new(StaticToken(token)));
        let organization = graph.get_organization().await?;
        Ok(AdminSession {
            tenant_id: TenantId::from(organization.id.as_str()),
            graph,
            organization,
            user_principal_name: admin.user_principal_name.clone(),
        })
    }

    /// The first-party service models.
    pub fn services(&self) -> ServiceClient {
        let base = self
            .options
            .services_url
            .clone()
            .unwrap_or_else(|| self.options.endpoints.graph().as_str().to_owned());
        ServiceClient::new(
            self.options.http.clone(),
            self.options.sleeper.clone(),
            self.options.retry,
            &base,
        )
    }
}

/// The application the connector authenticates with; an error when it uses its service
/// account.
pub(super) fn active(config: &ConnectorConfig) -> Result<&ApplicationIdentity, LifecycleError> {
    config
        .active_application()
        .ok_or_else(|| Precondition::NotOnboarded.into())
}

/// The connector's application in Graph: by object id when the configuration has it, else by
/// appId.
pub(super) fn object_ref(app: &ApplicationIdentity) -> ObjectRef {
    match &app.application_object_id {
        Some(id) => ObjectRef::Id(id.clone()),
        None => ObjectRef::AppId(app.application_app_id.clone()),
    }
}
