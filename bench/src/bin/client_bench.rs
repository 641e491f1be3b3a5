//! The client's per-token costs: a token from the cache, a client assertion signed in
//! software, a client assertion signed in swtpm, a full token request to an in-process mock
//! (assertion + HTTPS round trip), and a full certificate rotation with swtpm (a new
//! installation, which sets up the managed application, then `rotate_credential`, against an
//! in-process mock).
//!
//! `cargo build --release -p entra-bench && target/release/client-bench` (needs `swtpm` on
//! PATH for the TPM figures; they are skipped with a note when it is missing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync_client::assertion::{AssertionAlgorithm, client_assertion};
use adsync_client::cert::{Certificate, CertificateRequest, self_signed};
use adsync_client::clock::{Clock, SystemClock};
use adsync_client::cloud::Endpoints;
use adsync_client::config::ProductVersion;
use adsync_client::http::ReqwestTransport;
use adsync_client::ids::ClientId;
use adsync_client::keys::{Signer, SoftwareKeyStore, Tpm};
use adsync_client::lifecycle::install::InstallOptions;
use adsync_client::lifecycle::{AdminCredentials, ServerOptions, SyncServer};
use adsync_client::retry::{RetryPolicy, TokioSleeper};
use adsync_client::token::{CertificateCredential, TokenClient};
use anyhow::Context;
use mock_graph::testing::TestServer;

const GRAPH: &str = "https://graph.microsoft.com";

/// Runs `f` `n` times (after one warm-up call) and returns the mean time per call.
fn per_call(n: u32, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    f()?;
    let t = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(t.elapsed() / n)
}

fn show(what: &str, d: Duration, n: u32) {
    let us = d.as_secs_f64() * 1e6;
    let text = if us < 1000.0 {
        format!("{us:.2} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    };
    println!("  {what:<68} {text:>10}   (mean of {n})");
}

fn assertion_cost(signer: &dyn Signer, cert: &Certificate, n: u32) -> anyhow::Result<Duration> {
    let clock = SystemClock;
    let client_id: ClientId = "5b3c4e2a-0d1f-4c6b-8a7e-9f0e1d2c3b4a".into();
    per_call(n, || {
        client_assertion(
            signer,
            cert,
            &client_id,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            AssertionAlgorithm::Ps256,
            &clock,
        )
        .map(|_| ())
        .map_err(Into::into)
    })
}

fn main() -> anyhow::Result<()> {
    println!("client-bench (release build; times are per operation on this machine)\n");
    let dir = tempfile::tempdir()?;
    let now = SystemClock.now();

    // Software key: assertions.
    let key = SoftwareKeyStore::new(dir.path().join("keys")).create()?;
    let cert = self_signed(
        &key,
        &CertificateRequest::managed(now, time::Duration::days(180)),
    )?;
    let n = 500;
    show(
        "client assertion signed in software (PS256)",
        assertion_cost(&key, &cert, n)?,
        n,
    );

    // swtpm: assertions.
    match swtpm::Swtpm::start() {
        Ok(tpm_process) => {
            let tpm = Tpm::connect(&tpm_process.tcti())?;
            let t = Instant::now();
            let tpm_key = tpm.create()?;
            let created = t.elapsed();
            let tpm_cert = self_signed(
                &tpm_key,
                &CertificateRequest::managed(now, time::Duration::days(180)),
            )?;
            show("TPM key creation (RSA-2048 in swtpm), once", created, 1);
            let n = 100;
            show(
                "client assertion signed in swtpm (PS256)",
                assertion_cost(&tpm_key, &tpm_cert, n)?,
                n,
            );
        }
        Err(e) => println!("  client assertion signed in swtpm: skipped ({e})"),
    }

    // Tokens: a full request to an in-process mock, then the cache.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let server = TestServer::start().await?;
        let ca = std::fs::read(server.ca_pem.as_ref().context("TLS")?)?;
        let info = cert.info()?;
        let app_id = server.with_tenant(|t| {
            let app = t.register_application("client-bench");
            t.add_certificate(
                app.application_id,
                cert.der(),
                info.not_before,
                info.not_after,
            );
            app.app_id.to_string()
        });
        let client = TokenClient::new(
            Arc::new(ReqwestTransport::new(Some(&ca))?),
            Arc::new(TokioSleeper),
            Arc::new(SystemClock),
            Endpoints::new(&server.url, &server.url)?.with_graph_resource(GRAPH),
            server.tenant_id.to_string().as_str().into(),
        )
        .with_retry(RetryPolicy::none());
        let credential = CertificateCredential {
            client_id: app_id.as_str().into(),
            certificate: cert.clone(),
            signer: Arc::new(key),
            algorithm: AssertionAlgorithm::Ps256,
        };
        client.request_app_token(&credential, GRAPH).await?;
        let n = 200;
        let t = Instant::now();
        for _ in 0..n {
            client.request_app_token(&credential, GRAPH).await?;
        }
        show(
            "token requested (software assertion + HTTPS to the mock)",
            t.elapsed() / n,
            n,
        );

        client.app_token(&credential, GRAPH).await?;
        let n = 100_000;
        let t = Instant::now();
        for _ in 0..n {
            client.app_token(&credential, GRAPH).await?;
        }
        show("token from the cache", t.elapsed() / n, n);
        anyhow::Ok(())
    })?;

    // Rotation: a sync server with its key in swtpm, installed by an administrator against an
    // in-process mock, then `Invoke-ADSyncApplicationCredentialRotation` a few times.
    match swtpm::Swtpm::start() {
        Ok(tpm_process) => runtime.block_on(rotation(&tpm_process))?,
        Err(e) => println!("  full certificate rotation with swtpm: skipped ({e})"),
    }
    Ok(())
}

async fn rotation(tpm_process: &swtpm::Swtpm) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ca = std::fs::read(server.ca_pem.as_ref().context("TLS")?)?;
    let dir = tempfile::tempdir()?;
    let sync = SyncServer::new(ServerOptions {
        state_dir: dir.path().to_path_buf(),
        clock: Arc::new(SystemClock),
        http: Arc::new(ReqwestTransport::new(Some(&ca))?),
        sleeper: Arc::new(TokioSleeper),
        endpoints: Endpoints::new(&server.url, &server.url)?.with_graph_resource(GRAPH),
        services_url: None,
        tpm: Some(Tpm::connect(&tpm_process.tcti())?),
        retry: RetryPolicy::none(),
    });
    let admin = AdminCredentials {
        user_principal_name: "hybridadmin@contoso.onmicrosoft.com".into(),
        password: "Passw0rd!".into(),
    };
    let install = InstallOptions {
        server_name: "client-bench".into(),
        sync_machine_identifier: None,
        version: ProductVersion([2, 5, 79, 0]),
        password_writeback: false,
    };
    // A new installation sets up the managed application and its certificate.
    let t = Instant::now();
    sync.install(&install, &admin)
        .await
        .context("installing the sync server")?;
    show(
        "installation with swtpm (managed application and certificate), once",
        t.elapsed(),
        1,
    );
    let n = 5;
    let t = Instant::now();
    for _ in 0..n {
        let outcome = sync
            .rotate_credential(None, None)
            .await
            .context("rotating the credential")?;
        anyhow::ensure!(outcome.completed, "rotation did not complete: {outcome:?}");
    }
    show(
        "full certificate rotation with swtpm (key, cert, addKey, removeKey)",
        t.elapsed() / n,
        n,
    );
    Ok(())
}
