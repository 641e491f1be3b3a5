//! Test support: a mock on `127.0.0.1:0` over real HTTPS, one call to start, dropped to stop.
//! Its state is the same `MockState` the handlers use, so a test can arrange the tenant
//! directly (register an application, add a certificate, move the clock) and then talk HTTP.
//! Test certificates come from `entra_tenant::testing` (re-exported here), with
//! [`GenerateAsync`] to make them off the async workers.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;

use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::serve;
use crate::state::MockState;
use entra_tenant::fixture::TenantFixture;
use entra_tenant::ids::TenantId;
use entra_tenant::signing::{SigningKey, SigningKeyFixture};
use entra_tenant::tenant::Tenant;

/// A running mock. Stops when dropped.
pub struct TestServer {
    /// `https://127.0.0.1:PORT` (or `http://` without TLS).
    pub url: String,
    /// The CA that signed the server certificate (PEM file); `None` without TLS.
    pub ca_pem: Option<PathBuf>,
    /// The default fixture's tenant.
    pub tenant_id: TenantId,
    pub state: MockState,
    stop: Option<oneshot::Sender<()>>,
    _state_dir: tempfile::TempDir,
}

impl TestServer {
    /// HTTPS with the default fixture.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(TenantFixture::default_fixture(), true).await
    }

    /// A server holding the tenant of `fixture`, over TLS or not.
    pub async fn start_with(mut fixture: TenantFixture, tls: bool) -> anyhow::Result<Self> {
        // RSA key generation dominates a test server's start; test tenants live on their own
        // servers, so sharing one signing key between them within a test process is harmless.
        if fixture.signing_key.is_none() {
            fixture.signing_key = Some(shared_signing_key()?);
        }
        let state_dir = tempfile::tempdir()?;
        let state = MockState::new();
        let tenant_id = state.add_fixture(fixture)?;
        let prepared =
            serve::prepare("127.0.0.1:0".parse()?, state_dir.path(), tls, state.clone()).await?;
        let url = prepared.url.clone();
        let ca_pem = prepared.ca_pem.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(prepared.run(async move {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            url,
            ca_pem,
            tenant_id,
            state,
            stop: Some(stop),
            _state_dir: state_dir,
        })
    }

    /// Runs `f` on the default tenant under its lock.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        self.state
            .with_tenant(self.tenant_id, f)
            .expect("the test server's tenant exists")
    }

    /// The CA certificate as PEM text.
    pub fn ca_pem_text(&self) -> Option<String> {
        self.ca_pem
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
    }

    /// `https://127.0.0.1:PORT/{tenant}/oauth2/v2.0/token`.
    pub fn token_url_v2(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.url, self.tenant_id)
    }
}

/// One signing key per test process, made on first use.
fn shared_signing_key() -> anyhow::Result<SigningKeyFixture> {
    static KEY: OnceLock<SigningKeyFixture> = OnceLock::new();
    if let Some(k) = KEY.get() {
        return Ok(k.clone());
    }
    let key = SigningKey::generate()?.to_fixture();
    Ok(KEY.get_or_init(|| key).clone())
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub use entra_tenant::testing::{Alg, TestCertificate};

/// [`TestCertificate::generate`] on tokio's blocking pool. RSA key generation takes 50 to 500 ms
/// of CPU; done on an async worker it stalls every other task of the runtime (the in-process
/// mocks' TLS handshakes among them) for that long, so async tests use this. (The certificate
/// itself lives in `entra-tenant`, which knows no async runtime.)
pub trait GenerateAsync: Sized {
    fn generate_async(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;
}

impl GenerateAsync for TestCertificate {
    async fn generate_async(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        tokio::task::spawn_blocking(move || Self::generate(not_before, not_after)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Regression (suite under load): harness steps made their keys on the async workers and
    /// held up the in-process mocks' TLS handshakes past the server's limit. A task spawned
    /// before the call runs before the call returns only if the call yields while the key is
    /// made (one-thread runtime).
    #[tokio::test(flavor = "current_thread")]
    async fn generate_async_leaves_the_runtime_free() {
        let other_task_ran = Arc::new(AtomicBool::new(false));
        let flag = other_task_ran.clone();
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        let now = OffsetDateTime::now_utc();
        TestCertificate::generate_async(now, now + time::Duration::days(1))
            .await
            .expect("certificate");
        assert!(other_task_ran.load(Ordering::SeqCst));
    }
}
