//! Starting the mock: load fixtures, prepare TLS, bind, and announce readiness with the one
//! JSON line of the public contract. The binary and in-process tests share this code.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;
use tokio::net::TcpListener;

use crate::http::{router, server, tls};
use crate::state::{MockState, lock};
use entra_tenant::fixture::TenantFixture;

/// What `mock-graph serve` is asked to do.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    /// Fixture files; none means the embedded default fixture.
    pub fixtures: Vec<PathBuf>,
    pub tls: bool,
}

/// A bound, configured mock that has not started serving yet.
pub struct Prepared {
    pub listener: TcpListener,
    pub state: MockState,
    pub url: String,
    pub ca_pem: Option<PathBuf>,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read fixture {path}: {source}")]
    ReadFixture {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fixture {path}: {source}")]
    Fixture {
        path: PathBuf,
        source: crate::state::AddTenantError,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Loads the tenants named by `paths`, or the default fixture when there are none.
pub fn load_state(paths: &[PathBuf]) -> Result<MockState, ServeError> {
    let state = MockState::new();
    if paths.is_empty() {
        state
            .add_fixture(TenantFixture::default_fixture())
            .map_err(|source| ServeError::Fixture {
                path: "<embedded default>".into(),
                source,
            })?;
    }
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::ReadFixture {
            path: path.clone(),
            source,
        })?;
        let fixture = TenantFixture::from_json(&text).map_err(|e| ServeError::Fixture {
            path: path.clone(),
            source: e.into(),
        })?;
        state
            .add_fixture(fixture)
            .map_err(|source| ServeError::Fixture {
                path: path.clone(),
                source,
            })?;
    }
    Ok(state)
}

/// Binds and prepares a mock serving `state`.
pub async fn prepare(
    listen: SocketAddr,
    state_dir: &Path,
    use_tls: bool,
    state: MockState,
) -> Result<Prepared, ServeError> {
    let material = if use_tls {
        Some(tls::load_or_create(state_dir)?)
    } else {
        None
    };
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: listen,
        source,
    })?;
    let scheme = if use_tls { "https" } else { "http" };
    let host = match addr.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    Ok(Prepared {
        url: format!("{scheme}://{host}:{}", addr.port()),
        listener,
        state,
        ca_pem: material.as_ref().map(|m| m.ca_pem_path.clone()),
        tls: material.map(|m| m.server_config),
    })
}

impl Prepared {
    /// The ready line of the public contract.
    pub fn ready_line(&self) -> String {
        let tenants: Vec<_> = self
            .state
            .tenants()
            .iter()
            .map(|h| {
                let t = lock(h);
                json!({"id": t.id.to_string(), "domain": t.initial_domain})
            })
            .collect();
        json!({
            "event": "ready",
            "url": self.url,
            "ca_pem": self.ca_pem.as_ref().map(|p| p.display().to_string()),
            "tenants": tenants,
        })
        .to_string()
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        server::serve(self.listener, self.tls, router(self.state), shutdown).await
    }
}
