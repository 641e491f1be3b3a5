//! Bring your own certificate with a certificate the administrator's CA issued (a root CA, an
//! issuing CA, a client certificate, all made by `openssl` as an organisation's CA makes
//! them): `adsync import-certificate` from a PFX or a PEM pair into LOCAL_MACHINE (the key
//! non-exportable, in the software provider or the TPM, the sync account granted), BYOC
//! onboarding with it, and the article's revocation case for a CA-issued certificate (revoke it
//! at the CA, then rotate to a new one). Each refusal is exit code 1, one line naming the
//! problem, and a state directory left as it was.

use crate::cli::pki::{Leaf, LeafKey, PFX_PASSWORD, Pki};
use crate::cli::{ADMIN, Server, World, tenant_hashes};
use adsync_client::ids::Sha256Hash;
use adsync_client::store::{CertStore, StoreLocation};
use serde_json::Value;
use time::Duration;

/// The account the sync engine runs as (what `Import-PfxCertificate` is followed by: granting
/// it the key).
const SYNC_ACCOUNT: &str = "NT SERVICE\\ADSync";

/// A server installed before 2.5.3.0 and upgraded without the checkbox: still on its service
/// account, ready for the administrator to bring a certificate.
fn upgraded_server<'w>(world: &'w World, tpm: Option<&str>) -> Server<'w> {
    let server = match tpm {
        Some(tcti) => world.server_with_tpm(tcti),
        None => world.server(),
    };
    server.ok(&[
        "install",
        "--server-name",
        "AZCONNECT",
        "--product-version",
        "2.4.129.0",
        "--admin-upn",
        ADMIN,
    ]);
    server.ok(&["upgrade", "--product-version", "2.5.79.0"]);
    assert_eq!(
        server.credential()["ConnectorIdentityType"],
        "ServiceAccount"
    );
    server
}

/// A client certificate the issuing CA signs now, valid for a year.
fn issue(world: &World, pki: &Pki, name: &str) -> Leaf {
    let now = world.now();
    pki.issue(
        name,
        LeafKey::Rsa(2048),
        "sha256",
        now - Duration::days(1),
        now + Duration::days(365),
    )
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Imports `leaf` from its PFX with the right password.
fn import_pfx(server: &Server<'_>, pfx: &std::path::Path, provider: &str) -> Value {
    let args = [
        "import-certificate",
        "--pfx",
        path(pfx),
        "--password-env",
        "PFX_PASSWORD",
        "--provider",
        provider,
    ];
    let run = server.run_with(
        &args,
        &[
            ("PFX_PASSWORD", PFX_PASSWORD),
            ("ADSYNC_ADMIN_PASSWORD", crate::cli::PASSWORD),
        ],
    );
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    run.json()
}

/// What LOCAL_MACHINE holds for `hash`, read from the server's store.
fn local_machine(server: &Server<'_>, hash: &str) -> Option<(bool, Vec<String>)> {
    let store = CertStore::open(server.state.path(), StoreLocation::LocalMachine);
    let hash: Sha256Hash = hash.parse().expect("a SHA-256 hash");
    store.get(&hash).expect("the store reads").map(|entry| {
        (
            entry.key_exportable,
            entry.access.iter().map(|a| a.to_string()).collect(),
        )
    })
}

/// The shown certificate matches the one the CA issued: its hash (computed here from the DER
/// openssl wrote) and its issuer, the issuing CA rather than itself.
fn assert_is_leaf(shown: &Value, leaf: &Leaf) {
    assert_eq!(
        shown["CertificateSHA256Hash"],
        leaf.sha256.as_str(),
        "{shown}"
    );
    let issuer = shown["IssuedBy"].as_str().unwrap_or_default();
    assert!(issuer.contains("Contoso Issuing CA"), "{shown}");
    let subject = shown["Subject"]
        .as_str()
        .or(shown["SubjectName"].as_str())
        .unwrap_or_default();
    assert!(
        subject.contains(&format!("{}.contoso.com", leaf.name)),
        "{shown}"
    );
}

#[test]
fn a_ca_issued_pfx_onboards_byoc_and_after_revocation_is_rotated_away() {
    if !prerequisites::openssl("cli_import::a_ca_issued_pfx_onboards_byoc_and_after_revocation") {
        return;
    }
    let world = World::new();
    let pki = Pki::new();
    let server = upgraded_server(&world, None);
    let first = issue(&world, &pki, "sync1");

    // Import-PfxCertificate into LOCAL_MACHINE, as OpenSSL 3 writes a PFX by default.
    let imported = import_pfx(&server, &first.pfx, "software");
    assert_is_leaf(&imported, &first);
    assert_eq!(imported["Store"], "LOCAL_MACHINE");
    assert_eq!(imported["KeyStorage"], "Software");
    let (exportable, access) = local_machine(&server, &first.sha256).expect("in LOCAL_MACHINE");
    assert!(!exportable, "imported without -Exportable");
    assert_eq!(access, [SYNC_ACCOUNT]);

    // BYOC onboarding with it.
    server.ok(&[
        "configure-application-authentication",
        "--certificate-sha256-hash",
        &first.sha256,
        "--admin-upn",
        ADMIN,
    ]);
    let credential = server.credential();
    assert_eq!(credential["ConnectorIdentityType"], "Application");
    let shown = &credential["Certificate"];
    assert_eq!(shown["CertificateManagedBy"], "BYOC", "{credential}");
    assert_eq!(shown["AutomaticRotationEnabled"], false, "{credential}");
    assert_eq!(shown["KeyStorage"], "Software", "{credential}");
    assert_is_leaf(shown, &first);
    let app_id = server.app_id();
    assert_eq!(tenant_hashes(&world, &app_id), [first.sha256.as_str()]);
    server.ok(&["start-sync-cycle"]);

    // The CA revokes it; the administrator rotates to a new certificate from the same CA (the
    // legacy PFX encryption this time, as older tools write it), then removes the old one.
    pki.revoke(&first);
    assert!(
        pki.verify_with_crl(&first).contains("revoked"),
        "the CA's CRL lists the first certificate"
    );
    let second = issue(&world, &pki, "sync2");
    assert!(pki.verify_with_crl(&second).contains("OK"));
    assert_is_leaf(
        &import_pfx(&server, &second.legacy_pfx, "software"),
        &second,
    );
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    server.ok(&[
        "invoke-application-credential-rotation",
        "--certificate-sha256-hash",
        &second.sha256,
    ]);
    assert_eq!(server.credential()["ConnectorIdentityType"], "Application");
    assert_eq!(server.certificate(), second.sha256);
    assert_eq!(tenant_hashes(&world, &app_id), [second.sha256.as_str()]);
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    server.ok(&["start-sync-cycle"]);
    server.ok(&[
        "remove-certificate",
        "--certificate-sha256-hash",
        &first.sha256,
    ]);
    assert!(local_machine(&server, &first.sha256).is_none());
    server.ok(&["start-sync-cycle"]);
}

#[test]
fn a_ca_issued_pem_pair_goes_into_the_tpm_and_signs_there() {
    if !prerequisites::openssl("cli_import::a_ca_issued_pem_pair_goes_into_the_tpm_and_signs_there")
        || !prerequisites::swtpm(
            "cli_import::a_ca_issued_pem_pair_goes_into_the_tpm_and_signs_there",
        )
    {
        return;
    }
    let tpm = swtpm::Swtpm::start().expect("swtpm starts");
    let world = World::new();
    let pki = Pki::new();
    let server = upgraded_server(&world, Some(&tpm.tcti()));
    let leaf = issue(&world, &pki, "tpm1");

    // The PKCS#1 form ("RSA PRIVATE KEY"), as `openssl genrsa -traditional` leaves it.
    let imported = server.ok(&[
        "import-certificate",
        "--certificate",
        path(&leaf.certificate_pem),
        "--key",
        path(&leaf.pkcs1_key_pem),
        "--provider",
        "tpm",
    ]);
    assert_is_leaf(&imported, &leaf);
    assert_eq!(imported["KeyStorage"], "TPM");
    let (exportable, access) = local_machine(&server, &leaf.sha256).expect("in LOCAL_MACHINE");
    assert!(!exportable);
    assert_eq!(access, [SYNC_ACCOUNT]);
    // Nothing of the key is kept outside the TPM's blobs: no software key file (`*.key`) was written.
    assert!(
        !server
            .files()
            .keys()
            .any(|p| p.extension().is_some_and(|e| e == "key")),
        "{:?}",
        server.files().keys().collect::<Vec<_>>()
    );

    // The two-step PowerShell onboarding with it; the token requests are signed in the TPM.
    server.ok(&[
        "add-entra-application-registration",
        "--certificate-sha256-hash",
        &leaf.sha256,
        "--admin-upn",
        ADMIN,
    ]);
    server.ok(&[
        "add-application-registration",
        "--certificate-sha256-hash",
        &leaf.sha256,
    ]);
    let credential = server.credential();
    assert_eq!(credential["ConnectorIdentityType"], "Application");
    assert_eq!(
        credential["Certificate"]["KeyStorage"], "TPM",
        "{credential}"
    );
    assert_eq!(
        credential["Certificate"]["CertificateManagedBy"], "BYOC",
        "{credential}"
    );
    assert_is_leaf(&credential["Certificate"], &leaf);
    server.ok(&["start-sync-cycle"]);
    // No warning 1014 (the key is in a TPM).
    assert!(server.events(1014).is_empty());
}

/// Runs `args` expecting the CLI's refusal, checks the state directory is as it was and the
/// line says `says`.
fn refused(server: &Server<'_>, args: &[&str], env: &[(&str, &str)], says: &str) {
    let before = server.files();
    let line = crate::cli::refused(args, server.run_with(args, env));
    assert!(
        line.contains(says),
        "adsync {args:?} should say {says:?}: {line}"
    );
    assert!(
        server.files() == before,
        "adsync {args:?} changed the state"
    );
}

/// A command line, its environment, and what the refusal must say.
type Refusal<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn what_the_requirements_refuse_is_refused_naming_the_problem() {
    if !prerequisites::openssl("cli_import::what_the_requirements_refuse_is_refused") {
        return;
    }
    let world = World::new();
    let pki = Pki::new();
    let server = upgraded_server(&world, None);
    let now = world.now();
    let valid = |name, key, digest| {
        pki.issue(
            name,
            key,
            digest,
            now - Duration::days(1),
            now + Duration::days(365),
        )
    };
    let good = valid("good", LeafKey::Rsa(2048), "sha256");
    let other = valid("other", LeafKey::Rsa(2048), "sha256");
    let rsa3072 = valid("big", LeafKey::Rsa(3072), "sha256");
    let ec = valid("ec", LeafKey::Ec, "sha256");
    let sha384 = valid("sha384", LeafKey::Rsa(2048), "sha384");
    let pfx = |leaf: &Leaf| {
        vec![
            "import-certificate".to_owned(),
            "--pfx".to_owned(),
            path(&leaf.pfx).to_owned(),
            "--password-env".to_owned(),
            "PFX_PASSWORD".to_owned(),
        ]
    };
    let pem = |cert: &Leaf, key: &std::path::Path| {
        vec![
            "import-certificate".to_owned(),
            "--certificate".to_owned(),
            path(&cert.certificate_pem).to_owned(),
            "--key".to_owned(),
            path(key).to_owned(),
        ]
    };
    let right = [("PFX_PASSWORD", PFX_PASSWORD)];
    let cases: Vec<Refusal<'_>> = vec![
        (
            pfx(&good),
            vec![("PFX_PASSWORD", "not-the-password")],
            "the PFX password is wrong",
        ),
        (pfx(&good), vec![], "PFX_PASSWORD is not set"),
        (
            pem(&good, &other.key_pem),
            vec![],
            "the private key does not belong to the certificate",
        ),
        (pfx(&rsa3072), right.to_vec(), "2048 bits is required"),
        (
            pem(&rsa3072, &rsa3072.key_pem),
            vec![],
            "2048 bits is required",
        ),
        (pfx(&ec), right.to_vec(), "is not RSA"),
        (pem(&ec, &ec.key_pem), vec![], "is not RSA"),
        (
            pfx(&sha384),
            right.to_vec(),
            "SHA-256 with RSA (1.2.840.113549.1.1.11) is required",
        ),
        (
            pem(&good, &good.encrypted_key_pem),
            vec![],
            "the PEM private key is encrypted",
        ),
        (
            pem(&good, &good.certificate_pem),
            vec![],
            "the PEM file holds no private key",
        ),
        (
            pem(&other, &good.pfx),
            vec![],
            "the PEM file holds no private key",
        ),
        (
            vec![
                "import-certificate".into(),
                "--pfx".into(),
                path(&good.certificate_pem).into(),
            ],
            vec![],
            "the PFX cannot be read",
        ),
        (
            vec![
                "import-certificate".into(),
                "--pfx".into(),
                path(&pki.file("absent.pfx")).into(),
            ],
            vec![],
            "absent.pfx",
        ),
        (
            vec![
                "import-certificate".into(),
                "--pfx".into(),
                path(&good.pfx).into(),
                "--certificate".into(),
                path(&good.certificate_pem).into(),
            ],
            vec![],
            "cannot be used with",
        ),
        (
            vec![
                "import-certificate".into(),
                "--pfx".into(),
                path(&good.pfx).into(),
                "--provider".into(),
                "tpm".into(),
                "--password-env".into(),
                "PFX_PASSWORD".into(),
            ],
            right.to_vec(),
            "this machine has no TPM",
        ),
    ];
    for (args, env, says) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&server, &args, env, says);
    }

    // The same certificate a second time.
    import_pfx(&server, &good.pfx, "software");
    let args = pfx(&good);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        &server,
        &args,
        &right,
        "is already in the LOCAL_MACHINE store",
    );
    // Nothing of the refused ones was kept.
    for leaf in [&other, &rsa3072, &ec, &sha384] {
        assert!(
            local_machine(&server, &leaf.sha256).is_none(),
            "{}",
            leaf.name
        );
    }
}

/// A PFX exported without a password (`-passout pass:`), imported without `--password-env`.
#[test]
fn a_pfx_without_a_password_imports_without_one() {
    if !prerequisites::openssl("cli_import::a_pfx_without_a_password_imports_without_one") {
        return;
    }
    let world = World::new();
    let pki = Pki::new();
    let server = upgraded_server(&world, None);
    let leaf = issue(&world, &pki, "nopass");
    let pfx = pki.file("nopass-empty.pfx");
    pki.openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        path(&leaf.key_pem),
        "-in",
        path(&leaf.certificate_pem),
        "-passout",
        "pass:",
        "-out",
        path(&pfx),
    ]);
    let imported = server.ok(&["import-certificate", "--pfx", path(&pfx)]);
    assert_is_leaf(&imported, &leaf);
    // The same file with a password it does not have is refused.
    refused(
        &server,
        &["import-certificate", "--pfx", path(&leaf.pfx)],
        &[],
        "the PFX password is wrong",
    );
}
