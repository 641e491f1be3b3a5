//! Certificates: the SHA-256 hash and thumbprint of fixed certificates against values computed
//! independently (`openssl x509 -outform der | sha256sum`, uppercased, which is what
//! PowerShell's `GetCertHashString("SHA256")` prints), BYOC validation of fixed certificates,
//! and a certificate made over a TPM key whose signatures verify against it.

use adsync_client::cert::{
    ByocError, Certificate, CertificateRequest, MANAGED_CERT_SUBJECT_CN, self_signed, validate_byoc,
};
use adsync_client::keys::{SignatureScheme, Signer, SoftwareKeyStore, Tpm, sign_message};
use time::macros::datetime;

const RSA2048_SHA256: &[u8] = include_bytes!("../data/rsa2048-sha256.pem");
const RSA3072_SHA256: &[u8] = include_bytes!("../data/rsa3072-sha256.pem");
const RSA2048_SHA384: &[u8] = include_bytes!("../data/rsa2048-sha384.pem");
const ECDSA_P256: &[u8] = include_bytes!("../data/ecdsa-p256.pem");

#[test]
fn sha256_hash_and_thumbprint_match_the_documented_computation() {
    let cert = Certificate::from_pem(RSA2048_SHA256).unwrap();
    assert_eq!(
        cert.sha256_hash().as_str(),
        "C59E5EFD4BFC5173ACAE5BC5D27B8CCF0A65DA0D128E021FEB732D08DDF2F2E7"
    );
    assert_eq!(
        cert.thumbprint().as_str(),
        "B8F403A64555E06F3C4D63BBC6421EA0C4AB79A5"
    );
    // What an admin pastes may be lowercase; it names the same certificate.
    let pasted: adsync_client::ids::Sha256Hash =
        "c59e5efd4bfc5173acae5bc5d27b8ccf0a65da0d128e021feb732d08ddf2f2e7"
            .parse()
            .unwrap();
    assert_eq!(pasted, cert.sha256_hash());
}

#[test]
fn byoc_rejects_wrong_key_size_hash_and_type_with_a_clear_reason() {
    let software = tempfile::tempdir().unwrap();
    let key = SoftwareKeyStore::new(software.path()).create().unwrap();

    let cert = Certificate::from_pem(RSA3072_SHA256).unwrap();
    let err = validate_byoc(&cert, Some(&key), false).unwrap_err();
    assert_eq!(err, ByocError::KeyLength { bits: 3072 });
    assert!(
        err.to_string().contains("3072 bits; 2048 bits is required"),
        "{err}"
    );

    let cert = Certificate::from_pem(RSA2048_SHA384).unwrap();
    let err = validate_byoc(&cert, Some(&key), false).unwrap_err();
    assert!(
        matches!(err, ByocError::SignatureAlgorithm { ref found } if found == "1.2.840.113549.1.1.12")
    );

    let cert = Certificate::from_pem(ECDSA_P256).unwrap();
    assert_eq!(
        validate_byoc(&cert, Some(&key), false),
        Err(ByocError::NotRsa)
    );

    // A valid certificate whose private key the machine does not hold.
    let cert = Certificate::from_pem(RSA2048_SHA256).unwrap();
    assert_eq!(
        validate_byoc(&cert, Some(&key), false),
        Err(ByocError::KeyMismatch)
    );
    assert_eq!(
        validate_byoc(&cert, None, false),
        Err(ByocError::NoPrivateKey)
    );
}

#[test]
fn tpm_certificate_verifies_signatures_made_by_its_key() {
    if !prerequisites::swtpm("certificates::tpm_certificate_verifies_signatures_made_by_its_key") {
        return;
    }
    let sw = swtpm::Swtpm::start().unwrap();
    let tpm = Tpm::connect(&sw.tcti()).unwrap();
    let key = tpm.create().unwrap();
    let now = datetime!(2026-05-01 08:00 UTC);
    let cert = self_signed(
        &key,
        &CertificateRequest::managed(now, time::Duration::days(365)),
    )
    .unwrap();
    let info = cert.info().unwrap();
    assert_eq!(info.subject, format!("CN={MANAGED_CERT_SUBJECT_CN}"));
    assert_eq!(info.not_before, now);

    // The certificate's own public key (parsed from the DER), not the signer's, verifies.
    let public = info.rsa_public_key.expect("RSA key");
    for scheme in [
        SignatureScheme::RsaPssSha256,
        SignatureScheme::RsaPkcs1Sha256,
    ] {
        let sig = sign_message(&key, b"header.claims", scheme).unwrap();
        public.verify(scheme, b"header.claims", &sig).unwrap();
    }
    let check = validate_byoc(&cert, Some(&key), false).unwrap();
    assert!(check.hardware_backed);
    assert!(key.is_hardware_backed());
}

/// Regression (suite under load): key generation used to run inside the async call, so the
/// runtime could do nothing else for its duration (in the harness, the in-process mocks'
/// TLS handshakes waited behind it until they timed out). On a one-thread runtime, a task
/// spawned before the call only runs before the call returns if the call yields while the key
/// is made.
#[tokio::test(flavor = "current_thread")]
async fn key_generation_leaves_the_runtime_free() {
    use adsync_client::clock::FixedClock;
    use adsync_client::cloud::Endpoints;
    use adsync_client::lifecycle::byoc::{KeyProviderKind, NewCertificate};
    use adsync_client::lifecycle::{ServerOptions, SyncServer};
    use adsync_client::retry::{RetryPolicy, SimulatedSleeper};
    use adsync_client::testing::ScriptedTransport;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(datetime!(2026-06-01 00:00 UTC));
    let server = SyncServer::new(ServerOptions {
        state_dir: dir.path().to_path_buf(),
        clock: Arc::new(clock.clone()),
        http: Arc::new(ScriptedTransport::new()),
        sleeper: Arc::new(SimulatedSleeper::with_clock(clock)),
        endpoints: Endpoints::new("https://login.invalid", "https://graph.invalid").unwrap(),
        services_url: None,
        tpm: None,
        retry: RetryPolicy::none(),
    });
    let other_task_ran = Arc::new(AtomicBool::new(false));
    let flag = other_task_ran.clone();
    tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    server
        .new_local_machine_certificate(&NewCertificate {
            provider: KeyProviderKind::Software,
            subject_cn: "byoc.contoso.com".into(),
            validity: time::Duration::days(90),
            grant_sync_account: true,
            exportable: false,
        })
        .await
        .unwrap();
    assert!(
        other_task_ran.load(Ordering::SeqCst),
        "the runtime was held for the whole key generation"
    );
}
