//! Steps about keys in the TPM: the sync server's key read back from swtpm (fixedTPM and
//! fixedParent), its state directory searched for private keys, tokens signed in the TPM,
//! rotations that make more keys than swtpm has object slots, and a TPM that cannot be used
//! (its swtpm stopped, or a key template refused). The sync server and its swtpm are the
//! lifecycle steps' (`Given a sync server "<name>" with a TPM`).

use std::path::{Path, PathBuf};

use std::sync::Arc;

use adsync_client::config::StoreKind;
use adsync_client::keys::{KeyError, KeyProvider, KeyRef, Signer, TpmKeyAttributes};
use adsync_client::lifecycle::SyncServer;
use anyhow::{Context as _, anyhow, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use cucumber::{given, then, when};
use serde_json::json;

use crate::harness::world::{Answer, EntraWorld};

fn server(w: &EntraWorld) -> anyhow::Result<SyncServer> {
    w.sync_server
        .as_ref()
        .map(|s| s.server.clone())
        .ok_or_else(|| anyhow!("a step before this one must set up the sync server"))
}

/// The store entry's key reference of the connector's current certificate.
fn connector_key(w: &EntraWorld) -> anyhow::Result<KeyRef> {
    let srv = server(w)?;
    let app = srv
        .config()?
        .application
        .ok_or_else(|| anyhow!("the sync server has no application identity"))?;
    let entry = srv
        .store(app.certificate_store)
        .get(&app.certificate_sha256_hash)?
        .ok_or_else(|| anyhow!("the connector's certificate is not in its store"))?;
    Ok(entry.key)
}

/// The key reference of an administrator's certificate in LOCAL_MACHINE.
fn admin_key(w: &EntraWorld, name: &str) -> anyhow::Result<KeyRef> {
    let s = w
        .sync_server
        .as_ref()
        .ok_or_else(|| anyhow!("no sync server"))?;
    let hash = s
        .certs
        .get(name)
        .ok_or_else(|| anyhow!("no administrator's certificate named {name:?}"))?;
    let entry = s
        .server
        .store(StoreKind::LocalMachine)
        .get(hash)?
        .ok_or_else(|| anyhow!("certificate {name} is not in LOCAL_MACHINE"))?;
    Ok(entry.key)
}

/// Opens the key in the sync server's TPM and reads its attributes back from the TPM.
fn attributes(w: &EntraWorld, key: &KeyRef) -> anyhow::Result<TpmKeyAttributes> {
    let srv = server(w)?;
    let blobs = key
        .tpm_blobs()?
        .ok_or_else(|| anyhow!("the key is not a TPM key: {key:?}"))?;
    let tpm = srv
        .providers()
        .tpm()
        .ok_or_else(|| anyhow!("the sync server has no TPM"))?;
    Ok(tpm.open(blobs)?.attributes()?)
}

fn ensure_non_exportable(a: TpmKeyAttributes) -> anyhow::Result<()> {
    ensure!(
        a.fixed_tpm && a.fixed_parent,
        "the TPM reports fixedTPM={} fixedParent={}",
        a.fixed_tpm,
        a.fixed_parent
    );
    ensure!(
        a.sensitive_data_origin && a.sign && !a.decrypt && !a.restricted,
        "unexpected attributes {a:?}"
    );
    Ok(())
}

// ---- a TPM that cannot be used

/// A TPM that refuses the key template: it stands in front of the scenario's swtpm for new
/// keys only and answers TPM2_Create as a TPM without support for the key does
/// (TPM_RC_KEY_SIZE on the template, parameter 2, as tss-esapi reports the TPM's answer).
/// swtpm 0.7 (libtpms 0.9) accepts the client's RSA-2048 template, so this refusal is injected
/// here; everything else (opening keys, signing) still goes to the swtpm.
#[derive(Debug)]
struct RefusingTemplate;

/// TPM_RC_KEY_SIZE (format one, 0x007) for parameter 2 (`inPublic` of TPM2_Create).
const KEY_SIZE_ON_TEMPLATE: u32 = 0x080 | 0x007 | 0x040 | 0x200;

impl KeyProvider for RefusingTemplate {
    fn create_key(&self) -> Result<Arc<dyn Signer>, KeyError> {
        Err(KeyError::Tpm {
            operation: "create",
            source: tss_esapi::Error::Tss2Error(KEY_SIZE_ON_TEMPLATE.into()),
        })
    }

    fn open_key(&self, _: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        Err(KeyError::InvalidKeyRef(
            "this provider only refuses new keys".into(),
        ))
    }

    fn is_hardware_backed(&self) -> bool {
        true
    }
}

#[given("the sync server's TPM refuses the key template")]
async fn tpm_refuses_template(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = w
        .sync_server
        .as_deref_mut()
        .ok_or_else(|| anyhow!("no sync server"))?;
    ensure!(
        srv.server.providers().tpm().is_some(),
        "the sync server has no TPM"
    );
    srv.server = srv
        .server
        .clone()
        .with_tpm_key_creator(Arc::new(RefusingTemplate));
    Ok(())
}

#[given("the sync server's TPM stops")]
async fn tpm_stops(w: &mut EntraWorld) -> anyhow::Result<()> {
    let srv = w
        .sync_server
        .as_deref_mut()
        .ok_or_else(|| anyhow!("no sync server"))?;
    let stopped = srv.stop_swtpm().await?;
    ensure!(stopped, "the sync server has no swtpm to stop");
    Ok(())
}

#[then("the connector's private key reads back from the TPM as fixedTPM and fixedParent")]
async fn connector_key_fixed(w: &mut EntraWorld) -> anyhow::Result<()> {
    let key = connector_key(w)?;
    ensure_non_exportable(attributes(w, &key)?)
}

#[then(
    expr = "the key of the administrator's certificate {string} reads back from the TPM as fixedTPM and fixedParent"
)]
async fn admin_key_fixed(w: &mut EntraWorld, name: String) -> anyhow::Result<()> {
    let key = admin_key(w, &name)?;
    ensure_non_exportable(attributes(w, &key)?)
}

// ---- searching the state directory for private keys

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files_under(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Whether `der` is an RSA private key (PKCS#8 or PKCS#1).
fn is_private_key(der: &[u8]) -> bool {
    aws_lc_rs::rsa::KeyPair::from_pkcs8(der).is_ok()
        || aws_lc_rs::rsa::KeyPair::from_der(der).is_ok()
}

/// How `bytes` hold a private key, if they do: PEM markers, raw DER, or DER in base64 runs
/// (JSON stores keep binary values as base64).
fn private_key_in(bytes: &[u8]) -> Option<String> {
    for marker in ["PRIVATE KEY-----", "PRIVATE KEY BLOB"] {
        if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            return Some(format!("a {marker:?} marker"));
        }
    }
    if is_private_key(bytes) {
        return Some("a DER private key".into());
    }
    let text = String::from_utf8_lossy(bytes);
    let runs = text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)));
    for run in runs.filter(|r| r.len() >= 64) {
        let decoded = [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(run).ok());
        if decoded.as_deref().is_some_and(is_private_key) {
            return Some("a base64 DER private key".into());
        }
    }
    None
}

/// Every file under the sync server's state directory that holds a private key, and how.
fn private_keys_on_disk(w: &EntraWorld) -> anyhow::Result<(usize, Vec<(PathBuf, String)>)> {
    let srv = server(w)?;
    let mut files = Vec::new();
    files_under(srv.state_dir(), &mut files)
        .with_context(|| format!("listing {}", srv.state_dir().display()))?;
    let mut found = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if let Some(how) = private_key_in(&bytes) {
            found.push((path.clone(), how));
        }
    }
    Ok((files.len(), found))
}

#[then("no file in the sync server's state directory holds a private key")]
async fn no_private_key(w: &mut EntraWorld) -> anyhow::Result<()> {
    let (scanned, found) = private_keys_on_disk(w)?;
    ensure!(
        scanned > 0,
        "the state directory is empty: nothing was searched"
    );
    ensure!(found.is_empty(), "private keys on disk: {found:?}");
    Ok(())
}

#[then(
    expr = "the sync server's state directory holds a private key only in {int} owner-only key file(s)"
)]
async fn only_key_files(w: &mut EntraWorld, n: usize) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let (_, found) = private_keys_on_disk(w)?;
    let keys_dir = server(w)?.state_dir().join("keys");
    ensure!(found.len() == n, "private keys on disk: {found:?}");
    for (path, how) in &found {
        ensure!(
            path.parent() == Some(keys_dir.as_path()) && how == "a DER private key",
            "{} holds {how}, outside the software key store",
            path.display()
        );
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        ensure!(mode & 0o077 == 0, "{} has mode {mode:o}", path.display());
    }
    Ok(())
}

#[then("the connector's private key is stored only as the TPM-wrapped blob")]
async fn only_wrapped(w: &mut EntraWorld) -> anyhow::Result<()> {
    let key = connector_key(w)?;
    let blobs = key
        .tpm_blobs()?
        .ok_or_else(|| anyhow!("the connector's key is not in the TPM: {key:?}"))?;
    ensure!(
        !is_private_key(&blobs.private),
        "the private blob is a plain private key"
    );
    // The blob is the TPM's: it loads under the TPM's storage key.
    attributes(w, &key)?;
    let srv = server(w)?;
    for kind in [StoreKind::CurrentUser, StoreKind::LocalMachine] {
        for entry in srv.store(kind).list()? {
            ensure!(
                matches!(entry.key, KeyRef::Tpm { .. }),
                "a certificate in {kind:?} has a key outside the TPM: {:?}",
                entry.key
            );
        }
    }
    let keys_dir = srv.state_dir().join("keys");
    let software_keys = match std::fs::read_dir(&keys_dir) {
        Ok(entries) => entries.count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => bail!("reading {}: {e}", keys_dir.display()),
    };
    ensure!(
        software_keys == 0,
        "{} software key files exist",
        software_keys
    );
    Ok(())
}

// ---- using the key

#[when(expr = "the sync server requests a token for {string} with its certificate")]
async fn server_token(w: &mut EntraWorld, scope: String) -> anyhow::Result<()> {
    let srv = server(w)?;
    let config = srv.config()?;
    let app = config
        .application
        .as_ref()
        .ok_or_else(|| anyhow!("the sync server has no application identity"))?;
    let tenant = SyncServer::tenant(&config)?;
    let credential = srv.credential(app)?;
    let resource = scope.trim_end_matches("/.default");
    let token = srv
        .token_client(&tenant)
        .request_app_token(&credential, resource)
        .await?;
    w.last = Some(Answer {
        status: 200,
        body: json!({"access_token": token.secret()}),
    });
    w.last_client_id = Some(app.application_app_id.to_string());
    Ok(())
}

#[when(expr = "the sync server rotates its credential on demand {int} times")]
async fn rotate_times(w: &mut EntraWorld, n: u32) -> anyhow::Result<()> {
    crate::harness::steps::lifecycle::before_rotating(w, None).await?;
    let srv = server(w)?;
    let configured = |srv: &SyncServer| -> anyhow::Result<_> {
        Ok(srv.config()?.application.map(|a| a.certificate_sha256_hash))
    };
    let mut seen = vec![configured(&srv)?];
    let mut last = None;
    for i in 1..=n {
        let outcome = srv
            .rotate_credential(None, None)
            .await
            .with_context(|| format!("rotation {i} of {n}"))?;
        ensure!(
            outcome.completed,
            "rotation {i} is not complete: {outcome:?}"
        );
        // Each rotation must switch to a certificate the connector never had, whatever it
        // reported: read the configuration back.
        let now = configured(&srv)?;
        ensure!(
            !seen.contains(&now),
            "after rotation {i} the connector uses {now:?}, a certificate it had before"
        );
        seen.push(now);
        last = Some(outcome);
    }
    if let Some(s) = w.sync_server.as_deref_mut() {
        s.last_rotation = last;
        s.last_outcome = Some(Ok(()));
    }
    Ok(())
}
