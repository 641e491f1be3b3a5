//! `adsync`: the command-line mirror of the ADSync PowerShell cmdlets. Parses the command
//! line, builds the sync server from the global options, runs one cmdlet and prints its
//! objects. Every error, a command line it cannot parse included, is one line on stderr with
//! exit code 1 (2 only says a rotation waits for its new key).

mod cli;

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use adsync_client::clock::{Clock, FixedClock, SystemClock};
use adsync_client::cloud::{Cloud, Endpoints};
use adsync_client::events::EventQuery;
use adsync_client::http::ReqwestTransport;
use adsync_client::ids::{ClientId, KeyCredentialId, Sha256Hash};
use adsync_client::import::CertificateSource;
use adsync_client::keys::Tpm;
use adsync_client::lifecycle::byoc::{
    ImportCertificate, KeyProviderKind, LocalMachineCertificate, NewCertificate,
};
use adsync_client::lifecycle::install::{InstallOptions, UpgradeOptions};
use adsync_client::lifecycle::onboarding::EntraRegistration;
use adsync_client::lifecycle::rotation::RotationOutcome;
use adsync_client::lifecycle::scheduler::{SchedulerChange, TimeSpan};
use adsync_client::lifecycle::view::RegisteredApplication;
use adsync_client::lifecycle::{AdminCredentials, ServerOptions, SyncServer};
use adsync_client::retry::{RetryPolicy, TokioSleeper};
use anyhow::{Context as _, anyhow, bail};
use clap::Parser as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use cli::args::{Cli, Command, Provider};
use cli::render::print;

fn main() -> ExitCode {
    // ESYS logs expected TPM failures to stderr; quiet it unless the user asked for logs.
    // Set before any thread exists, which is what makes `set_var` sound here.
    if std::env::var_os("TSS2_LOG").is_none() {
        unsafe { std::env::set_var("TSS2_LOG", "all+none") };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => return fail(&usage_error(&e)),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// Reports an error as one line on stderr; exit code 1.
fn fail(message: &str) -> ExitCode {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("adsync: error: {line}");
    ExitCode::FAILURE
}

/// clap's message without its usage block: what is wrong, on one line, and where help is.
fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let what = text.split("\n\n").next().unwrap_or_default();
    let what = what.strip_prefix("error: ").unwrap_or(what);
    format!("{what} (adsync --help)")
}

fn clock(now: Option<&str>) -> anyhow::Result<Arc<dyn Clock>> {
    Ok(match now {
        Some(text) => {
            let at = OffsetDateTime::parse(text, &Rfc3339)
                .with_context(|| format!("--now '{text}' is not an RFC 3339 time"))?;
            Arc::new(FixedClock::new(at))
        }
        None => Arc::new(SystemClock),
    })
}

fn endpoints(cli: &Cli) -> anyhow::Result<Endpoints> {
    let cloud: Cloud = cli.cloud.parse().map_err(|e: String| anyhow!(e))?;
    let real = Endpoints::for_cloud(cloud);
    let authority = cli
        .authority
        .clone()
        .unwrap_or_else(|| real.authority().as_str().to_owned());
    let graph = cli
        .graph
        .clone()
        .or_else(|| cli.authority.clone())
        .unwrap_or_else(|| real.graph().as_str().to_owned());
    // Tokens are for the cloud's Graph identifier, wherever Graph is reached.
    Ok(Endpoints::new(&authority, &graph)?.with_graph_resource(real.graph_resource()))
}

fn tpm(setting: Option<&str>) -> anyhow::Result<Option<Tpm>> {
    let tcti = match setting {
        Some("none") => return Ok(None),
        Some(tcti) => tcti.to_owned(),
        None if std::path::Path::new("/dev/tpmrm0").exists() => "device:/dev/tpmrm0".into(),
        None => return Ok(None),
    };
    // Reached at its first command: a TPM that cannot be used then is that command's to
    // answer (a managed certificate falls back to software).
    Ok(Some(
        Tpm::lazy(&tcti).with_context(|| format!("the TPM setting {tcti}"))?,
    ))
}

fn server(cli: &Cli) -> anyhow::Result<SyncServer> {
    let ca = match &cli.ca_file {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
        }
        None => None,
    };
    Ok(SyncServer::new(ServerOptions {
        state_dir: cli.state_dir.clone(),
        clock: clock(cli.now.as_deref())?,
        http: Arc::new(ReqwestTransport::new(ca.as_deref())?),
        sleeper: Arc::new(TokioSleeper),
        endpoints: endpoints(cli)?,
        services_url: cli.service_url.clone(),
        tpm: tpm(cli.tpm.as_deref())?,
        retry: RetryPolicy::default(),
    }))
}

/// The administrator's password: ADSYNC_ADMIN_PASSWORD, or a prompt on the terminal.
fn admin(upn: &str) -> anyhow::Result<AdminCredentials> {
    let password = match std::env::var("ADSYNC_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            eprint!("Password for {upn}: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        bail!("no password for {upn} (set ADSYNC_ADMIN_PASSWORD or type it at the prompt)");
    }
    Ok(AdminCredentials {
        user_principal_name: upn.to_owned(),
        password,
    })
}

fn optional_admin(upn: Option<&str>) -> anyhow::Result<Option<AdminCredentials>> {
    upn.map(admin).transpose()
}

fn hash(text: Option<&str>) -> anyhow::Result<Option<Sha256Hash>> {
    text.map(|t| t.parse::<Sha256Hash>().map_err(|e| anyhow!(e)))
        .transpose()
}

fn provider_kind(provider: Provider) -> KeyProviderKind {
    match provider {
        Provider::Tpm => KeyProviderKind::Tpm,
        Provider::Software => KeyProviderKind::Software,
    }
}

/// Prints a rotation's outcome; exit code 2 while its new key is not accepted yet.
fn rotated(outcome: &RotationOutcome, json: bool) -> anyhow::Result<ExitCode> {
    print(outcome, json)?;
    if !outcome.completed {
        eprintln!("adsync: the new key is not accepted yet; run again later to finish");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let server = server(&cli)?;
    let json = cli.json;
    match &cli.command {
        Command::Install {
            server_name,
            product_version,
            sync_machine_identifier,
            password_writeback,
            admin: a,
        } => {
            let options = InstallOptions {
                server_name: server_name.clone(),
                sync_machine_identifier: sync_machine_identifier.clone(),
                version: product_version.parse().map_err(|e: String| anyhow!(e))?,
                password_writeback: *password_writeback,
            };
            server.install(&options, &admin(&a.admin_upn)?).await?;
            print(&server.connector_credential()?, json)?;
        }
        Command::Upgrade {
            product_version,
            configure_application_authentication,
            admin: a,
        } => {
            let options = UpgradeOptions {
                version: product_version.parse().map_err(|e: String| anyhow!(e))?,
                configure_application_authentication: *configure_application_authentication,
            };
            let report = server
                .upgrade(&options, optional_admin(a.admin_upn.as_deref())?.as_ref())
                .await?;
            print(&report, json)?;
        }
        Command::GetEntraConnectorCredential => print(&server.connector_credential()?, json)?,
        Command::GetConfiguration { output } => {
            let config = server.current_configuration()?;
            if let Some(path) = output {
                std::fs::write(path, serde_json::to_vec_pretty(&config)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            print(&config, json)?;
        }
        Command::AddEntraApplicationRegistration {
            certificate_sha256_hash,
            application_app_id,
            admin: a,
        } => {
            let app = application_app_id.as_deref().map(ClientId::from);
            let done = server
                .add_entra_application_registration(
                    &admin(&a.admin_upn)?,
                    hash(certificate_sha256_hash.as_deref())?.as_ref(),
                    app.as_ref(),
                )
                .await?;
            match done {
                EntraRegistration::Registered(identity) => {
                    print(&RegisteredApplication::of(&identity), json)?
                }
                EntraRegistration::Linked(_) => print(&server.connector_credential()?, json)?,
                EntraRegistration::Rotated(outcome) => return rotated(&outcome, json),
            }
        }
        Command::AddApplicationRegistration {
            certificate_sha256_hash,
            application_app_id,
            admin: a,
        } => {
            let app = application_app_id.as_deref().map(ClientId::from);
            server
                .add_adsync_application_registration(
                    optional_admin(a.admin_upn.as_deref())?.as_ref(),
                    hash(certificate_sha256_hash.as_deref())?.as_ref(),
                    app.as_ref(),
                )
                .await?;
            print(&server.connector_credential()?, json)?;
        }
        Command::ConfigureApplicationAuthentication {
            certificate_sha256_hash,
            application_app_id,
            admin: a,
        } => {
            let app = application_app_id.as_deref().map(ClientId::from);
            server
                .onboard(
                    &admin(&a.admin_upn)?,
                    hash(certificate_sha256_hash.as_deref())?.as_ref(),
                    app.as_ref(),
                )
                .await?;
            print(&server.connector_credential()?, json)?;
        }
        Command::InvokeApplicationCredentialRotation {
            certificate_sha256_hash,
            admin: a,
        } => {
            let outcome = server
                .rotate_credential(
                    hash(certificate_sha256_hash.as_deref())?.as_ref(),
                    optional_admin(a.admin_upn.as_deref())?.as_ref(),
                )
                .await?;
            return rotated(&outcome, json);
        }
        Command::RemoveEntraApplicationKey {
            certificate_id,
            admin: a,
        } => {
            server
                .remove_application_key(
                    &KeyCredentialId::from(certificate_id.as_str()),
                    optional_admin(a.admin_upn.as_deref())?.as_ref(),
                )
                .await?;
            eprintln!("Removed certificate credential {certificate_id}.");
        }
        Command::AddAadServiceAccount { name, admin: a } => {
            let account = server
                .add_service_account(&admin(&a.admin_upn)?, name.as_deref())
                .await?;
            print(&account, json)?;
            eprintln!(
                "The new account can take up to 15 minutes to take effect; sync cycles may meet \"Access Denied\" until then."
            );
        }
        Command::RemoveAadServiceAccount { name, admin: a } => {
            let removed = server
                .remove_service_account(&admin(&a.admin_upn)?, name)
                .await?;
            print(&removed, json)?;
        }
        Command::GetScheduler => print(&server.scheduler()?, json)?,
        Command::SetScheduler {
            sync_cycle_enabled,
            maintenance_enabled,
            scheduler_suspended,
            customized_sync_cycle_interval,
            next_sync_cycle_policy_type,
            purge_run_history_interval,
        } => {
            let parse_span = |s: &str| s.parse::<TimeSpan>().map_err(|e| anyhow!(e));
            let change = SchedulerChange {
                sync_cycle_enabled: *sync_cycle_enabled,
                maintenance_enabled: *maintenance_enabled,
                scheduler_suspended: *scheduler_suspended,
                customized_sync_cycle_interval: match customized_sync_cycle_interval.as_deref() {
                    None => None,
                    Some("default") => Some(None),
                    Some(s) => Some(Some(parse_span(s)?)),
                },
                next_sync_cycle_policy_type: next_sync_cycle_policy_type
                    .as_deref()
                    .map(|s| s.parse().map_err(|e: String| anyhow!(e)))
                    .transpose()?,
                purge_run_history_interval: purge_run_history_interval
                    .as_deref()
                    .map(parse_span)
                    .transpose()?,
            };
            print(&server.set_scheduler(&change)?, json)?;
        }
        Command::StartSyncCycle { policy_type } => {
            let policy = policy_type.parse().map_err(|e: String| anyhow!(e))?;
            let result = server.start_sync_cycle(policy).await?;
            print(&result, json)?;
            if let Some(error) = &result.error {
                eprintln!("adsync: error: the sync cycle failed: {error}");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::RunScheduler { once } => {
            if !once {
                bail!(
                    "run-scheduler runs one scheduler pass; pass --once (repeat it from a service manager or cron)"
                );
            }
            let run = server.run_scheduler_once().await?;
            print(&run, json)?;
            if let Some(error) = run.sync_cycle.as_ref().and_then(|c| c.error.as_ref()) {
                eprintln!("adsync: error: the sync cycle failed: {error}");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::GetEvents { id, level, newest } => {
            let query = EventQuery {
                id: *id,
                level: level
                    .as_deref()
                    .map(|l| l.parse().map_err(|e: String| anyhow!(e)))
                    .transpose()?,
                since: None,
                newest: *newest,
            };
            print(&server.event_log().query(&query)?, json)?;
        }
        Command::NewCertificate {
            provider,
            subject,
            validity_days,
            no_grant,
            exportable,
        } => {
            let cert = server
                .new_local_machine_certificate(&NewCertificate {
                    provider: provider_kind(*provider),
                    subject_cn: subject.clone(),
                    validity: time::Duration::days(*validity_days),
                    grant_sync_account: !no_grant,
                    exportable: *exportable,
                })
                .await?;
            let hardware = matches!(provider, Provider::Tpm);
            print(&LocalMachineCertificate::of(&cert, hardware)?, json)?;
        }
        Command::ImportCertificate {
            pfx,
            password_env,
            certificate,
            key,
            provider,
            no_grant,
        } => {
            let read = |path: &PathBuf| {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))
            };
            let source = match (pfx, certificate, key) {
                (Some(pfx), _, _) => CertificateSource::Pfx {
                    der: read(pfx)?,
                    password: Zeroizing::new(match password_env {
                        Some(var) => std::env::var(var)
                            .with_context(|| format!("the password variable {var} is not set"))?,
                        None => String::new(),
                    }),
                },
                (None, Some(certificate), Some(key)) => CertificateSource::Pem {
                    certificate: read(certificate)?,
                    key: read(key)?,
                },
                _ => bail!("give --pfx FILE, or --certificate PEM and --key PEM"),
            };
            let imported = server
                .import_local_machine_certificate(ImportCertificate {
                    source,
                    provider: provider_kind(*provider),
                    grant_sync_account: !no_grant,
                })
                .await?;
            print(&imported, json)?;
        }
        Command::RemoveCertificate {
            certificate_sha256_hash,
        } => {
            let hash: Sha256Hash = certificate_sha256_hash
                .parse()
                .map_err(|e| anyhow!("{e}"))?;
            print(&server.remove_local_machine_certificate(&hash)?, json)?;
        }
        Command::GetApplicationKeys { admin: a } => {
            print(&server.application_keys(&admin(&a.admin_upn)?).await?, json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
