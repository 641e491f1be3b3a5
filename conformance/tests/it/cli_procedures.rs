//! Every procedure of the article run through the real `adsync` binary, in the order the
//! article gives its steps, against a mock over HTTPS: installation and upgrade, the PowerShell
//! onboarding for each option (managed, BYOC, BYOA), automatic onboarding, the current
//! configuration's nine certificate properties, the warnings, automatic and on-demand rotation,
//! the cleanup after a failed removeKey, revocation of a self-signed certificate. Each
//! subcommand also gets the input it must refuse: exit code 1, one line naming the problem, and
//! the server's state left as it was.

use crate::cli::{
    ADMIN, PASSWORD_RESET, SYNC_SERVICE, Server, World, refused, sha1_hex, sha256_hex,
    tenant_certificates, tenant_hashes,
};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const USER: &str = "user@contoso.onmicrosoft.com";
const UNKNOWN_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Runs `args`, expecting a refusal that says `says`, and checks nothing changed.
fn refuses(server: &Server<'_>, args: &[&str], says: &str) {
    let before = server.files();
    let line = refused(args, server.run(args));
    assert!(
        line.to_lowercase().contains(&says.to_lowercase()),
        "adsync {args:?} should say {says:?}: {line}"
    );
    let after = server.files();
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "adsync {args:?} changed {changed:?}");
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339).expect("an RFC 3339 time")
}

/// The nine properties of "View or export current configuration", checked against the
/// certificate the tenant holds (hashes computed here from its DER) and the expected manager.
fn assert_nine_properties(world: &World, certificate: &Value, managed_by: &str, rotation: bool) {
    let app_hashes: Vec<Vec<u8>> = world.tenant(|t| {
        t.directory
            .applications
            .iter()
            .flat_map(|a| a.key_credentials.iter().filter_map(|k| k.key.clone()))
            .collect()
    });
    let hash = certificate["CertificateSHA256Hash"]
        .as_str()
        .expect("a hash");
    let der = app_hashes
        .iter()
        .find(|der| sha256_hex(der) == hash)
        .unwrap_or_else(|| panic!("no application in the tenant holds {hash}"));
    assert_eq!(
        certificate["CertificateManagedBy"], managed_by,
        "{certificate}"
    );
    assert_eq!(
        certificate["AutomaticRotationEnabled"], rotation,
        "{certificate}"
    );
    assert_eq!(
        certificate["CertificateThumbprint"],
        sha1_hex(der),
        "{certificate}"
    );
    let parsed = x509_parser::parse_x509_certificate(der)
        .expect("a certificate")
        .1;
    let subject = certificate["SubjectName"].as_str().expect("a subject");
    let issuer = certificate["IssuedBy"].as_str().expect("an issuer");
    let cn = |name: &x509_parser::x509::X509Name<'_>| {
        name.iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(subject.contains(&cn(parsed.subject())), "{certificate}");
    assert!(issuer.contains(&cn(parsed.issuer())), "{certificate}");
    let serial = certificate["SerialNumber"]
        .as_str()
        .expect("a serial number");
    assert_eq!(
        serial.trim_start_matches('0').to_uppercase(),
        parsed
            .raw_serial_as_string()
            .replace(':', "")
            .trim_start_matches('0')
            .to_uppercase(),
        "{certificate}"
    );
    assert_eq!(
        time_of(&certificate["NotValidBefore"]).unix_timestamp(),
        parsed.validity().not_before.timestamp(),
        "{certificate}"
    );
    assert_eq!(
        time_of(&certificate["NotValidAfter"]).unix_timestamp(),
        parsed.validity().not_after.timestamp(),
        "{certificate}"
    );
}

fn install(server: &Server<'_>, version: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "install",
        "--server-name",
        "AZCONNECT",
        "--product-version",
        version,
        "--admin-upn",
        ADMIN,
    ];
    args.extend_from_slice(extra);
    server.ok(&args)
}

/// A server on its service account at `version`, as an upgrade without the checkbox leaves it.
fn on_service_account<'w>(world: &'w World, version: &str) -> Server<'w> {
    let server = world.server();
    install(&server, "2.4.129.0", &[]);
    server.ok(&["upgrade", "--product-version", version]);
    server
}

// ---- Installation and upgrade

#[test]
fn installation_sets_up_the_managed_application_and_the_view_shows_its_certificate() {
    let world = World::new();
    let server = world.server();
    refuses(
        &server,
        &["install", "--server-name", "AZCONNECT"],
        "--admin-upn",
    );
    refuses(
        &server,
        &["install", "--server-name", "AZCONNECT", "--admin-upn", USER],
        "Authorization_RequestDenied",
    );
    refuses(
        &server,
        &[
            "install",
            "--server-name",
            "AZCONNECT",
            "--product-version",
            "two.five",
            "--admin-upn",
            ADMIN,
        ],
        "two.five",
    );
    refuses(&server, &["get-entra-connector-credential"], "install");

    // Exactly 2.5.3.0: the default managed option.
    let installed = install(&server, "2.5.3.0", &[]);
    assert_eq!(
        installed["ConnectorIdentityType"], "Application",
        "{installed}"
    );
    refuses(
        &server,
        &[
            "install",
            "--server-name",
            "AZCONNECT",
            "--admin-upn",
            ADMIN,
        ],
        "already installed",
    );

    // The article's check, then the wizard's view (also written to a file).
    let credential = server.credential();
    assert_eq!(credential["ConnectorIdentityType"], "Application");
    assert_eq!(
        credential["ApplicationManagedBy"],
        "Microsoft Entra Connect Sync"
    );
    assert_nine_properties(
        &world,
        &credential["Certificate"],
        "Microsoft Entra Connect Sync",
        true,
    );
    let file = server.state.path().join("..").join("configuration.json");
    let shown = server.ok(&["get-configuration", "--output", file.to_str().unwrap()]);
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(shown, written);
    assert_eq!(shown["ProductVersion"], "2.5.3.0");
    assert_eq!(shown["ServiceAccountName"], Value::Null, "{shown}");
    assert_eq!(shown["Credential"], credential);
    assert_nine_properties(
        &world,
        &shown["Credential"]["Certificate"],
        "Microsoft Entra Connect Sync",
        true,
    );
    // The scheduler as Get-ADSyncScheduler / Get-ADSyncSchedulerSettings show it.
    for cmdlet in ["get-scheduler", "get-scheduler-settings"] {
        let scheduler = server.ok(&[cmdlet]);
        assert_eq!(scheduler["SyncCycleEnabled"], true, "{scheduler}");
        assert_eq!(scheduler["MaintenanceEnabled"], true, "{scheduler}");
        assert_eq!(scheduler["SchedulerSuspended"], false, "{scheduler}");
    }
    refuses(
        &server,
        &["set-scheduler", "--sync-cycle-enabled", "maybe"],
        "maybe",
    );
    refuses(&server, &["run-scheduler"], "--once");
    let run = server.ok(&["run-scheduler", "--once"]);
    assert_eq!(run["SyncCycle"]["Succeeded"], true, "{run}");

    // Just below 2.5.3.0: the service account.
    let older = world.server();
    let installed = install(&older, "2.5.2.0", &[]);
    assert_eq!(
        installed["ConnectorIdentityType"], "ServiceAccount",
        "{installed}"
    );
}

#[test]
fn an_upgrade_without_the_checkbox_recommends_the_switch_and_with_it_switches() {
    let world = World::new();
    let without = world.server();
    install(&without, "2.4.129.0", &[]);
    refuses(
        &without,
        &["upgrade", "--product-version", "2.4.0.0"],
        "2.4.0.0",
    );
    refuses(
        &without,
        &[
            "upgrade",
            "--product-version",
            "2.5.79.0",
            "--configure-application-authentication",
        ],
        "--admin-upn",
    );
    let report = without.ok(&["upgrade", "--product-version", "2.5.79.0"]);
    assert_eq!(
        report["ConnectorIdentityType"], "ServiceAccount",
        "{report}"
    );
    assert!(
        report["Recommendation"]
            .as_str()
            .is_some_and(|r| r.contains("configure-application-authentication")),
        "{report}"
    );
    // Later, from the wizard's tasks.
    let switched = without.ok(&["configure-application-authentication", "--admin-upn", ADMIN]);
    assert_eq!(
        switched["ConnectorIdentityType"], "Application",
        "{switched}"
    );

    let with = world.server();
    install(&with, "2.4.129.0", &[]);
    refuses(
        &with,
        &[
            "upgrade",
            "--product-version",
            "2.5.79.0",
            "--configure-application-authentication",
            "--admin-upn",
            USER,
        ],
        "Authorization_RequestDenied",
    );
    let report = with.ok(&[
        "upgrade",
        "--product-version",
        "2.5.79.0",
        "--configure-application-authentication",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(report["ConnectorIdentityType"], "Application", "{report}");
    assert!(report.get("Recommendation").is_none(), "{report}");
    assert_nine_properties(
        &world,
        &with.credential()["Certificate"],
        "Microsoft Entra Connect Sync",
        true,
    );
}

// ---- Onboarding with PowerShell, each option

#[test]
fn powershell_onboarding_managed_in_two_steps() {
    let world = World::new();
    let server = on_service_account(&world, "2.5.79.0");
    assert_eq!(
        server.credential()["ConnectorIdentityType"],
        "ServiceAccount"
    );
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    refuses(
        &server,
        &["add-entra-application-registration"],
        "--admin-upn",
    );
    refuses(
        &server,
        &["add-entra-application-registration", "--admin-upn", USER],
        "Authorization_RequestDenied",
    );
    refuses(
        &server,
        &["add-application-registration"],
        "add-entra-application-registration",
    );
    let registered = server.ok(&["add-entra-application-registration", "--admin-upn", ADMIN]);
    assert_eq!(registered["Linked"], false, "{registered}");
    assert_eq!(
        registered["CertificateManagedBy"], "Microsoft Entra Connect Sync",
        "{registered}"
    );
    // Registered, not linked yet: the connector stays on its account.
    assert_eq!(
        server.credential()["ConnectorIdentityType"],
        "ServiceAccount"
    );
    let app_id = registered["ApplicationAppId"].as_str().unwrap().to_owned();
    assert_eq!(
        tenant_hashes(&world, &app_id),
        [registered["CertificateSHA256Hash"].as_str().unwrap()]
    );
    let linked = server.ok(&["add-application-registration"]);
    assert_eq!(linked["ConnectorIdentityType"], "Application", "{linked}");
    assert_eq!(server.app_id(), app_id);
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    let cycle = server.ok(&["start-sync-cycle"]);
    assert_eq!(cycle["Identity"], "Application", "{cycle}");
}

#[test]
fn powershell_onboarding_byoc_in_two_steps() {
    let world = World::new();
    let server = on_service_account(&world, "2.5.79.0");
    let made = server.ok(&["new-certificate", "--subject", "ContosoSync BYOC"]);
    let hash = made["CertificateSHA256Hash"].as_str().unwrap().to_owned();
    assert_eq!(made["Store"], "LOCAL_MACHINE");
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    refuses(
        &server,
        &[
            "add-entra-application-registration",
            "--certificate-sha256-hash",
            UNKNOWN_HASH,
            "--admin-upn",
            ADMIN,
        ],
        UNKNOWN_HASH,
    );
    refuses(
        &server,
        &[
            "add-entra-application-registration",
            "--certificate-sha256-hash",
            "not-a-hash",
            "--admin-upn",
            ADMIN,
        ],
        "not-a-hash",
    );
    // A certificate whose key may be exported is refused (the article's requirement).
    let exportable = server.ok(&["new-certificate", "--exportable"]);
    refuses(
        &server,
        &[
            "add-entra-application-registration",
            "--certificate-sha256-hash",
            exportable["CertificateSHA256Hash"].as_str().unwrap(),
            "--admin-upn",
            ADMIN,
        ],
        "exportable",
    );
    let registered = server.ok(&[
        "add-entra-application-registration",
        "--certificate-sha256-hash",
        &hash,
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(registered["CertificateManagedBy"], "BYOC", "{registered}");
    refuses(
        &server,
        &[
            "add-application-registration",
            "--certificate-sha256-hash",
            UNKNOWN_HASH,
        ],
        UNKNOWN_HASH,
    );
    let linked = server.ok(&[
        "add-application-registration",
        "--certificate-sha256-hash",
        &hash,
    ]);
    assert_eq!(linked["ConnectorIdentityType"], "Application", "{linked}");
    let credential = server.credential();
    assert_nine_properties(&world, &credential["Certificate"], "BYOC", false);
    assert_eq!(
        credential["Certificate"]["CertificateSHA256Hash"],
        hash.as_str()
    );
    // Self-signed by the administrator's provider: issued by its own subject.
    assert_eq!(
        credential["Certificate"]["IssuedBy"],
        credential["Certificate"]["SubjectName"]
    );
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    server.ok(&["start-sync-cycle"]);
    server.ok(&["run-scheduler", "--once"]);
    // Warning 1014: the key is not in a TPM.
    assert!(!server.events(1014).is_empty());
}

/// The administrator's own application, registered and granted as the article asks (through
/// the tenant's own operations: what they do in the admin center), with `hash`'s certificate.
fn administrators_application(world: &World, server: &Server<'_>, hash: &str) -> String {
    let store = adsync_client::store::CertStore::open(
        server.state.path(),
        adsync_client::store::StoreLocation::LocalMachine,
    );
    let entry = store
        .get(&hash.parse().unwrap())
        .unwrap()
        .expect("the certificate is in LOCAL_MACHINE");
    let info = entry.certificate.info().unwrap();
    let der = entry.certificate.der().to_vec();
    world.tenant(|t| {
        let r = t.register_application("ContosoSync");
        t.add_certificate(r.application_id, &der, info.not_before, info.not_after);
        t.assign_app_role(
            r.service_principal_id,
            SYNC_SERVICE.parse().unwrap(),
            "ADSynchronization.ReadWrite.All",
        )
        .expect("the role exists");
        r.app_id.to_string()
    })
}

#[test]
fn powershell_onboarding_byoa_links_the_administrators_application() {
    let world = World::new();
    let server = on_service_account(&world, "2.5.79.0");
    let made = server.ok(&["new-certificate"]);
    let hash = made["CertificateSHA256Hash"].as_str().unwrap().to_owned();
    let app_id = administrators_application(&world, &server, &hash);
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    let byoa = |app: &str, admin: &str| {
        vec![
            "add-entra-application-registration".to_owned(),
            "--certificate-sha256-hash".to_owned(),
            hash.clone(),
            "--application-app-id".to_owned(),
            app.to_owned(),
            "--admin-upn".to_owned(),
            admin.to_owned(),
        ]
    };
    for (args, says) in [
        (
            byoa("11111111-1111-1111-1111-111111111111", ADMIN),
            "11111111-1111-1111-1111-111111111111",
        ),
        (byoa("not-a-guid", ADMIN), "not-a-guid"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refuses(&server, &args, says);
    }
    let args = byoa(&app_id, ADMIN);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let linked = server.ok(&args);
    assert_eq!(linked["ConnectorIdentityType"], "Application", "{linked}");
    let credential = server.credential();
    assert_eq!(credential["ApplicationAppId"], app_id.as_str());
    assert_eq!(credential["ApplicationManagedBy"], "BYOA");
    assert_nine_properties(&world, &credential["Certificate"], "BYOC", false);
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    server.ok(&["start-sync-cycle"]);

    // BYOA rotation: Add-EntraApplicationRegistration -CertificateSHA256Hash on the linked
    // server, then the old certificate leaves LOCAL_MACHINE.
    let new = server.ok(&["new-certificate"]);
    let new_hash = new["CertificateSHA256Hash"].as_str().unwrap().to_owned();
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    server.ok(&[
        "add-entra-application-registration",
        "--certificate-sha256-hash",
        &new_hash,
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(server.credential()["ConnectorIdentityType"], "Application");
    assert_eq!(server.certificate(), new_hash);
    assert_eq!(tenant_hashes(&world, &app_id), [new_hash.as_str()]);
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    server.ok(&["start-sync-cycle"]);
    refuses(
        &server,
        &["remove-certificate", "--certificate-sha256-hash", &new_hash],
        "the connector authenticates with it",
    );
    server.ok(&["remove-certificate", "--certificate-sha256-hash", &hash]);
    server.ok(&["start-sync-cycle"]);

    // The maintenance task warns at 150 days but never rotates the administrator's certificate.
    world.advance_to(expiry(&server) - Duration::days(150));
    server.ok(&["run-scheduler", "--once"]);
    assert_eq!(server.events(1011).len(), 1);
    assert_eq!(server.certificate(), new_hash);
    assert_eq!(tenant_hashes(&world, &app_id), [new_hash.as_str()]);
}

#[test]
fn the_older_revisions_byoa_link_takes_the_application_id_on_add_application_registration() {
    let world = World::new();
    let server = on_service_account(&world, "2.5.79.0");
    let made = server.ok(&["new-certificate"]);
    let hash = made["CertificateSHA256Hash"].as_str().unwrap().to_owned();
    let app_id = administrators_application(&world, &server, &hash);
    let linked = server.ok(&[
        "add-application-registration",
        "--certificate-sha256-hash",
        &hash,
        "--application-app-id",
        &app_id,
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(linked["ConnectorIdentityType"], "Application", "{linked}");
    assert_eq!(server.credential()["ApplicationManagedBy"], "BYOA");
}

// ---- Automatic onboarding (2.5.76.0, within six hours)

/// When the first scheduler run put this server's switch (it is within six hours of it).
fn scheduled_at(server: &Server<'_>, first_run: OffsetDateTime) -> OffsetDateTime {
    let config = server.ok(&["get-configuration"]);
    let at = time_of(&config["AutomaticOnboardingNotBefore"]);
    assert!(
        at >= first_run && at < first_run + Duration::hours(6),
        "{at} is not within six hours of {first_run}"
    );
    at
}

#[test]
fn automatic_onboarding_happens_within_six_hours_from_2_5_76_0_only() {
    let world = World::new();
    // Just below the version: never.
    let below = on_service_account(&world, "2.5.75.0");
    // Exactly the version.
    let at_version = on_service_account(&world, "2.5.76.0");
    // Blocked while the scheduler is suspended, and while maintenance is disabled.
    let suspended = on_service_account(&world, "2.5.76.0");
    suspended.ok(&["set-scheduler", "--scheduler-suspended", "true"]);
    let no_maintenance = on_service_account(&world, "2.5.76.0");
    no_maintenance.ok(&["set-scheduler", "--maintenance-enabled", "false"]);

    let first_run = world.now();
    for server in [&below, &at_version, &suspended, &no_maintenance] {
        server.ok(&["run-scheduler", "--once"]);
    }
    let at = scheduled_at(&at_version, first_run);
    for server in [&below, &suspended, &no_maintenance] {
        let config = server.ok(&["get-configuration"]);
        assert_eq!(
            config["AutomaticOnboardingNotBefore"],
            Value::Null,
            "{config}"
        );
    }
    // One second before its moment: still the service account.
    world.advance_to(at - Duration::seconds(1));
    at_version.ok(&["run-scheduler", "--once"]);
    assert_eq!(
        at_version.credential()["ConnectorIdentityType"],
        "ServiceAccount"
    );
    // At the sixth hour every server at the version has switched.
    world.advance_to(first_run + Duration::hours(6));
    for server in [&below, &at_version, &suspended, &no_maintenance] {
        server.ok(&["run-scheduler", "--once"]);
    }
    let credential = at_version.credential();
    assert_eq!(
        credential["ConnectorIdentityType"], "Application",
        "{credential}"
    );
    assert_nine_properties(
        &world,
        &credential["Certificate"],
        "Microsoft Entra Connect Sync",
        true,
    );
    for server in [&below, &suspended, &no_maintenance] {
        assert_eq!(
            server.credential()["ConnectorIdentityType"],
            "ServiceAccount"
        );
    }
    // Once the scheduler runs again with maintenance, the blocked one switches in its window.
    no_maintenance.ok(&["set-scheduler", "--maintenance-enabled", "true"]);
    let first = world.now();
    no_maintenance.ok(&["run-scheduler", "--once"]);
    let at = scheduled_at(&no_maintenance, first);
    world.advance_to(at);
    no_maintenance.ok(&["run-scheduler", "--once"]);
    assert_eq!(
        no_maintenance.credential()["ConnectorIdentityType"],
        "Application"
    );
}

// ---- Warnings and rotation

/// The connector certificate's NotValidAfter.
fn expiry(server: &Server<'_>) -> OffsetDateTime {
    time_of(&server.credential()["Certificate"]["NotValidAfter"])
}

#[test]
fn warnings_1011_and_1012_at_150_days_and_after_expiry_only_with_maintenance() {
    let world = World::new();
    let on = on_service_account(&world, "2.5.79.0");
    let off = on_service_account(&world, "2.5.79.0");
    let suspended = on_service_account(&world, "2.5.79.0");
    for server in [&on, &off, &suspended] {
        let made = server.ok(&["new-certificate", "--validity-days", "400"]);
        let hash = made["CertificateSHA256Hash"].as_str().unwrap().to_owned();
        server.ok(&[
            "configure-application-authentication",
            "--certificate-sha256-hash",
            &hash,
            "--admin-upn",
            ADMIN,
        ]);
    }
    off.ok(&["set-scheduler", "--maintenance-enabled", "false"]);
    suspended.ok(&["set-scheduler", "--scheduler-suspended", "true"]);
    let not_after = expiry(&on);
    let all = [&on, &off, &suspended];

    // 151 days left: no warning.
    world.advance_to(not_after - Duration::days(151));
    for server in all {
        let run = server.ok(&["run-scheduler", "--once"]);
        assert!(server.events(1011).is_empty(), "{run}");
    }
    // 150 days left: the warning, with maintenance on and the scheduler running only.
    world.advance_to(not_after - Duration::days(150));
    for server in all {
        server.ok(&["run-scheduler", "--once"]);
    }
    assert_eq!(on.events(1011).len(), 1);
    assert!(off.events(1011).is_empty());
    assert!(suspended.events(1011).is_empty());
    // At the scheduler's frequency: another run, another warning.
    world.advance(Duration::minutes(30));
    on.ok(&["run-scheduler", "--once"]);
    assert_eq!(on.events(1011).len(), 2);
    // Expired: the error, again only with maintenance (the sync cycle fails too: the
    // certificate can no longer sign in).
    world.advance_to(not_after + Duration::seconds(1));
    for server in all {
        server.run(&["run-scheduler", "--once"]);
    }
    assert_eq!(on.events(1012).len(), 1);
    assert!(off.events(1012).is_empty());
    assert!(suspended.events(1012).is_empty());
    // The BYOC certificate is the administrator's: nothing rotated it.
    assert_eq!(expiry(&on), not_after);
}

#[test]
fn the_managed_certificate_rotates_by_itself_at_150_days_only_with_maintenance() {
    let world = World::new();
    let on = world.server();
    install(&on, "2.5.79.0", &[]);
    let off = world.server();
    install(&off, "2.5.79.0", &[]);
    off.ok(&["set-scheduler", "--maintenance-enabled", "false"]);
    let not_after = expiry(&on).min(expiry(&off));
    let before_on = on.certificate();
    let before_off = off.certificate();

    world.advance_to(not_after - Duration::days(151));
    for server in [&on, &off] {
        server.ok(&["run-scheduler", "--once"]);
    }
    assert_eq!(on.certificate(), before_on, "rotated with 151 days left");

    world.advance_to(not_after - Duration::days(150));
    let run = on.ok(&["run-scheduler", "--once"]);
    assert_eq!(run["Rotation"]["Completed"], true, "{run}");
    let after_on = on.certificate();
    assert_ne!(after_on, before_on);
    assert_eq!(tenant_hashes(&world, &on.app_id()), [after_on.as_str()]);
    assert_nine_properties(
        &world,
        &on.credential()["Certificate"],
        "Microsoft Entra Connect Sync",
        true,
    );

    // Maintenance disabled: no rotation; the administrator rotates on demand.
    off.ok(&["run-scheduler", "--once"]);
    assert_eq!(off.certificate(), before_off);
    off.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    let rotated = off.ok(&["invoke-application-credential-rotation"]);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    assert_eq!(rotated["OldCertificateSha256Hash"], before_off.as_str());
    assert_eq!(off.credential()["ConnectorIdentityType"], "Application");
    off.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    off.ok(&["start-sync-cycle"]);
    assert_eq!(
        tenant_hashes(&world, &off.app_id()),
        [off.certificate().as_str()]
    );
}

#[test]
fn a_failed_cleanup_is_named_by_event_1015_and_removed_with_remove_entra_application_key() {
    let world = World::new();
    let server = world.server();
    install(&server, "2.5.79.0", &[]);
    let app_id = server.app_id();
    let spec: mock_graph::core::faults::FaultSpec = serde_json::from_value(serde_json::json!({
        "match": {"operation": "removeKey"}, "status": 403,
        "error": "Authorization_RequestDenied", "count": 1
    }))
    .unwrap();
    world.tenant(|t| t.controls.faults.add(spec)).unwrap();
    let rotated = server.ok(&["invoke-application-credential-rotation"]);
    assert_eq!(rotated["OldCredentialRemoved"], false, "{rotated}");
    assert_eq!(tenant_certificates(&world, &app_id).len(), 2);
    let event = server.events(1015).pop().expect("event 1015");
    let message = event["Message"].as_str().unwrap();
    let keys = server.ok(&["get-application-keys", "--admin-upn", ADMIN]);
    let stale = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["Status"] == "Stale")
        .unwrap_or_else(|| panic!("no stale key in {keys}"));
    let id = stale["CertificateId"].as_str().unwrap().to_owned();
    assert!(message.contains(&id), "{message}");
    refuses(
        &server,
        &[
            "remove-entra-application-key",
            "--certificate-id",
            "not-an-id",
        ],
        "not-an-id",
    );
    refuses(
        &server,
        &[
            "remove-entra-application-key",
            "--certificate-id",
            "00000000-0000-0000-0000-000000000000",
        ],
        "00000000-0000-0000-0000-000000000000",
    );
    refuses(&server, &["get-application-keys"], "--admin-upn");
    server.ok(&["remove-entra-application-key", "--certificate-id", &id]);
    assert_eq!(
        tenant_hashes(&world, &app_id),
        [server.certificate().as_str()]
    );
    server.ok(&["start-sync-cycle"]);
}

#[test]
fn revoking_a_self_signed_certificate_then_rotating_on_demand_needs_the_administrator() {
    let world = World::new();
    let server = world.server();
    install(&server, "2.5.79.0", &[]);
    let app_id = server.app_id();
    let old = server.certificate();
    // The revocation the article gives for self-signed certificates: the administrator
    // removes the keyCredential from Entra ID.
    world.tenant(|t| {
        for app in &mut t.directory.applications {
            app.key_credentials.clear();
        }
    });
    let cycle = server.run(&["start-sync-cycle"]);
    assert_ne!(cycle.code, Some(0), "a revoked certificate still signs in");
    refuses(
        &server,
        &["invoke-application-credential-rotation"],
        "--admin-upn",
    );
    refuses(
        &server,
        &[
            "invoke-application-credential-rotation",
            "--admin-upn",
            USER,
        ],
        "Authorization_RequestDenied",
    );
    let rotated = server.ok(&[
        "invoke-application-credential-rotation",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    assert_ne!(server.certificate(), old);
    assert_eq!(
        tenant_hashes(&world, &app_id),
        [server.certificate().as_str()]
    );
    server.ok(&["start-sync-cycle"]);
}

// ---- Password writeback

#[test]
fn a_tenant_without_the_password_reset_service_still_onboards_with_writeback_enabled() {
    let world = World::new();
    world.tenant(|t| {
        t.directory
            .service_principals
            .retain(|sp| sp.app_id.to_string() != PASSWORD_RESET)
    });
    let server = world.server();
    let installed = install(&server, "2.5.79.0", &["--password-writeback"]);
    assert_eq!(
        installed["ConnectorIdentityType"], "Application",
        "{installed}"
    );
    let config = server.ok(&["get-configuration"]);
    assert_eq!(config["PasswordWritebackEnabled"], true);
    // Only the synchronization service's role: there is no password reset service to grant.
    assert_eq!(granted_roles(&world, &server.app_id()), 1);
    server.ok(&["start-sync-cycle"]);

    // Where the service exists, writeback brings its three roles.
    let other = World::new();
    let server = other.server();
    install(&server, "2.5.79.0", &["--password-writeback"]);
    assert_eq!(granted_roles(&other, &server.app_id()), 4);
}

/// How many app roles the application `app_id`'s service principal was granted.
fn granted_roles(world: &World, app_id: &str) -> usize {
    world.tenant(|t| {
        let sp = t
            .directory
            .service_principals
            .iter()
            .find(|sp| sp.app_id.to_string() == app_id)
            .expect("the application's service principal")
            .id;
        t.directory
            .app_role_assignments
            .iter()
            .filter(|a| a.principal_id == sp)
            .count()
    })
}

// ---- The legacy account and the rollback

#[test]
fn the_legacy_account_and_rollback_refuse_what_they_cannot_do() {
    let world = World::new();
    let server = on_service_account(&world, "2.5.79.0");
    let account = server.ok(&["get-configuration"])["ServiceAccountName"]
        .as_str()
        .expect("the legacy account")
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    // The connector still uses it.
    refuses(
        &server,
        &[
            "remove-aad-service-account",
            "--name",
            &account,
            "--admin-upn",
            ADMIN,
        ],
        "ConnectorIdentityType is ServiceAccount",
    );
    server.ok(&["configure-application-authentication", "--admin-upn", ADMIN]);
    refuses(
        &server,
        &["remove-aad-service-account", "--name", &account],
        "--admin-upn",
    );
    refuses(
        &server,
        &[
            "remove-aad-service-account",
            "--name",
            &account,
            "--admin-upn",
            USER,
        ],
        "Authorization_RequestDenied",
    );
    refuses(
        &server,
        &[
            "remove-aad-service-account",
            "--name",
            "Sync_NOBODY_000000000000",
            "--admin-upn",
            ADMIN,
        ],
        "Sync_NOBODY_000000000000",
    );
    let removed = server.ok(&[
        "remove-aad-service-account",
        "--name",
        &account,
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(removed["Action"], "Deleted", "{removed}");
    // Rollback.
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    refuses(
        &server,
        &["add-aad-service-account", "--admin-upn", USER],
        "Authorization_RequestDenied",
    );
    server.ok(&["add-aad-service-account", "--admin-upn", ADMIN]);
    assert_eq!(
        server.credential()["ConnectorIdentityType"],
        "ServiceAccount"
    );
    server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
    server.ok(&["start-sync-cycle"]);
}

// ---- What every other subcommand refuses

#[test]
fn each_subcommand_refuses_bad_input_with_one_line_and_no_change() {
    let world = World::new();
    let server = world.server();
    refuses(&server, &["get-configuration"], "install");
    refuses(&server, &["start-sync-cycle"], "install");
    install(&server, "2.5.79.0", &[]);
    let absent = server
        .state
        .path()
        .join("no-such-dir")
        .join("configuration.json");
    let cases: [(&[&str], &str); 14] = [
        (&["frobnicate"], "frobnicate"),
        (
            &["get-configuration", "--output", absent.to_str().unwrap()],
            "no-such-dir",
        ),
        (
            &[
                "configure-application-authentication",
                "--certificate-sha256-hash",
                UNKNOWN_HASH,
                "--admin-upn",
                ADMIN,
            ],
            "already",
        ),
        (
            &[
                "invoke-application-credential-rotation",
                "--certificate-sha256-hash",
                "ABC",
            ],
            "ABC",
        ),
        (
            &[
                "invoke-application-credential-rotation",
                "--certificate-sha256-hash",
                UNKNOWN_HASH,
            ],
            UNKNOWN_HASH,
        ),
        (
            &["start-sync-cycle", "--policy-type", "Sometimes"],
            "Sometimes",
        ),
        (&["get-events", "--level", "Loud"], "Loud"),
        (&["get-events", "--id", "many"], "many"),
        (&["new-certificate", "--provider", "tpm"], "no TPM"),
        (&["new-certificate", "--provider", "hsm"], "hsm"),
        (
            &["set-scheduler", "--customized-sync-cycle-interval", "soon"],
            "soon",
        ),
        (
            &[
                "remove-certificate",
                "--certificate-sha256-hash",
                UNKNOWN_HASH,
            ],
            UNKNOWN_HASH,
        ),
        (&["remove-entra-application-key"], "--certificate-id"),
        (&["add-aad-service-account"], "--admin-upn"),
    ];
    for (args, says) in cases {
        refuses(&server, args, says);
    }
    // And what is fine still is.
    server.ok(&["start-sync-cycle"]);

    // Below 2.5.3.0 application authentication is refused, naming the version.
    let old = world.server();
    install(&old, "2.5.2.0", &[]);
    for args in [
        &["add-entra-application-registration", "--admin-upn", ADMIN][..],
        &["configure-application-authentication", "--admin-upn", ADMIN][..],
    ] {
        refuses(&old, args, "2.5.2.0");
    }
}

// ---- Rotating an expired certificate ("at any time, also after it has expired")

#[test]
fn an_expired_certificate_is_rotated_on_demand_with_the_administrator_in_each_mode() {
    let world = World::new();
    // Managed, with maintenance disabled so that nothing rotated it in time.
    let managed = world.server();
    install(&managed, "2.5.79.0", &[]);
    managed.ok(&["set-scheduler", "--maintenance-enabled", "false"]);
    // BYOC, with a certificate valid for 30 days.
    let byoc = on_service_account(&world, "2.5.79.0");
    let short = byoc.ok(&["new-certificate", "--validity-days", "30"]);
    let short = short["CertificateSHA256Hash"].as_str().unwrap().to_owned();
    byoc.ok(&[
        "configure-application-authentication",
        "--certificate-sha256-hash",
        &short,
        "--admin-upn",
        ADMIN,
    ]);
    let next = byoc.ok(&["new-certificate", "--validity-days", "800"]);
    let next = next["CertificateSHA256Hash"].as_str().unwrap().to_owned();

    world.advance_to(expiry(&managed).max(expiry(&byoc)) + Duration::days(1));
    for server in [&managed, &byoc] {
        server.ok(&["set-scheduler", "--sync-cycle-enabled", "false"]);
    }
    refuses(
        &managed,
        &["invoke-application-credential-rotation"],
        "--admin-upn",
    );
    let byoc_rotation = [
        "invoke-application-credential-rotation",
        "--certificate-sha256-hash",
        &next,
    ];
    refuses(&byoc, &byoc_rotation, "--admin-upn");

    let rotated = managed.ok(&[
        "invoke-application-credential-rotation",
        "--admin-upn",
        ADMIN,
    ]);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    let mut with_admin = byoc_rotation.to_vec();
    with_admin.extend(["--admin-upn", ADMIN]);
    let rotated = byoc.ok(&with_admin);
    assert_eq!(rotated["Completed"], true, "{rotated}");
    assert_eq!(byoc.certificate(), next);
    for server in [&managed, &byoc] {
        assert_eq!(server.credential()["ConnectorIdentityType"], "Application");
        assert_eq!(
            tenant_hashes(&world, &server.app_id()),
            [server.certificate().as_str()]
        );
        server.ok(&["set-scheduler", "--sync-cycle-enabled", "true"]);
        server.ok(&["start-sync-cycle"]);
    }
    byoc.ok(&["remove-certificate", "--certificate-sha256-hash", &short]);
}
