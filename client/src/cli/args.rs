//! The `adsync` command line: the global options of the README's CLI contract, and one
//! subcommand per cmdlet (its name in kebab case without the `ADSync` prefix, its parameters as
//! long options).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "adsync",
    version,
    about = "The Entra Connect Sync server's authentication, as the ADSync PowerShell cmdlets drive it"
)]
pub struct Cli {
    /// The sync server's local state (configuration, certificate stores, keys, event log).
    #[arg(
        long,
        global = true,
        env = "ADSYNC_STATE_DIR",
        default_value = ".adsync"
    )]
    pub state_dir: PathBuf,
    /// The cloud whose real endpoints to use.
    #[arg(long, global = true, default_value = "global")]
    pub cloud: String,
    /// Login base URL (overrides the cloud's), e.g. the mock's ready-line `url`.
    #[arg(long, global = true)]
    pub authority: Option<String>,
    /// Graph base URL (overrides the cloud's; defaults to --authority when that is given).
    #[arg(long, global = true)]
    pub graph: Option<String>,
    /// Base URL of the first-party service models (defaults to the Graph base URL).
    #[arg(long, global = true, env = "ADSYNC_SERVICE_URL")]
    pub service_url: Option<String>,
    /// An extra CA certificate (PEM) to trust, such as the mock's ca.pem.
    #[arg(long, global = true, env = "ADSYNC_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Where the TPM is: a TCTI (`swtpm:host=127.0.0.1,port=P`, `device:/dev/tpmrm0`) or
    /// `none`. Default: /dev/tpmrm0 when present, else none.
    #[arg(long, global = true, env = "ADSYNC_TPM")]
    pub tpm: Option<String>,
    /// The client's current time (RFC 3339), to reproduce dates offline.
    #[arg(long, global = true, env = "ADSYNC_NOW")]
    pub now: Option<String>,
    /// Print the cmdlets' objects as JSON (PascalCase property names).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// An administrator's sign-in (the password comes from ADSYNC_ADMIN_PASSWORD or a prompt).
#[derive(Debug, Clone, Args)]
pub struct Admin {
    /// The administrator's user principal name.
    #[arg(long)]
    pub admin_upn: String,
}

#[derive(Debug, Clone, Args)]
pub struct OptionalAdmin {
    /// An administrator's user principal name, for the steps that need a sign-in.
    #[arg(long)]
    pub admin_upn: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Provider {
    Tpm,
    Software,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A new installation with express settings (the wizard): from 2.5.3.0 the managed
    /// application and its certificate; older versions the Sync_ service account.
    Install {
        #[arg(long)]
        server_name: String,
        #[arg(long, default_value = "2.5.79.0")]
        product_version: String,
        /// SyncMachineIdentifier (generated when absent).
        #[arg(long)]
        sync_machine_identifier: Option<String>,
        #[arg(long)]
        password_writeback: bool,
        #[command(flatten)]
        admin: Admin,
    },
    /// An in-place upgrade (the wizard), optionally with its checkbox "Configure
    /// application-based authentication to Microsoft Entra ID".
    Upgrade {
        #[arg(long)]
        product_version: String,
        /// The upgrade's checkbox: set up the managed application (needs --admin-upn).
        #[arg(long)]
        configure_application_authentication: bool,
        #[command(flatten)]
        admin: OptionalAdmin,
    },
    /// Get-ADSyncEntraConnectorCredential.
    GetEntraConnectorCredential,
    /// The wizard's "View or export current configuration".
    GetConfiguration {
        /// Also write it (JSON) to this file.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Add-EntraApplicationRegistration: registers the sync application in Entra; with
    /// --application-app-id links the administrator's application (BYOA); on a BYOA server with
    /// --certificate-sha256-hash rotates to that certificate.
    AddEntraApplicationRegistration {
        #[arg(long)]
        certificate_sha256_hash: Option<String>,
        #[arg(long)]
        application_app_id: Option<String>,
        #[command(flatten)]
        admin: Admin,
    },
    /// Add-ADSyncApplicationRegistration: links the application and switches to it.
    AddApplicationRegistration {
        #[arg(long)]
        certificate_sha256_hash: Option<String>,
        #[arg(long)]
        application_app_id: Option<String>,
        #[command(flatten)]
        admin: OptionalAdmin,
    },
    /// The wizard's "Configure application-based authentication" (register and link).
    ConfigureApplicationAuthentication {
        #[arg(long)]
        certificate_sha256_hash: Option<String>,
        #[arg(long)]
        application_app_id: Option<String>,
        #[command(flatten)]
        admin: Admin,
    },
    /// Invoke-ADSyncApplicationCredentialRotation.
    InvokeApplicationCredentialRotation {
        #[arg(long)]
        certificate_sha256_hash: Option<String>,
        #[command(flatten)]
        admin: OptionalAdmin,
    },
    /// Remove-EntraApplicationKey -CertificateId.
    RemoveEntraApplicationKey {
        #[arg(long)]
        certificate_id: String,
        #[command(flatten)]
        admin: OptionalAdmin,
    },
    /// Add-ADSyncAADServiceAccount: (re-)creates the Sync_ account and switches back to it.
    AddAadServiceAccount {
        /// The account name (the part before @); default Sync_<Server>_<id>.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        admin: Admin,
    },
    /// Remove-ADSyncAADServiceAccount -Name.
    RemoveAadServiceAccount {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// Get-ADSyncScheduler.
    #[command(alias = "get-scheduler-settings")]
    GetScheduler,
    /// Set-ADSyncScheduler.
    SetScheduler {
        #[arg(long)]
        sync_cycle_enabled: Option<bool>,
        #[arg(long)]
        maintenance_enabled: Option<bool>,
        #[arg(long)]
        scheduler_suspended: Option<bool>,
        /// d.HH:mm:ss, or `default` for the default.
        #[arg(long)]
        customized_sync_cycle_interval: Option<String>,
        #[arg(long)]
        next_sync_cycle_policy_type: Option<String>,
        #[arg(long)]
        purge_run_history_interval: Option<String>,
    },
    /// Start-ADSyncSyncCycle.
    StartSyncCycle {
        #[arg(long, default_value = "Delta")]
        policy_type: String,
    },
    /// Runs the scheduler: maintenance (certificate check, rotation, automatic onboarding)
    /// and the sync cycle when due.
    RunScheduler {
        /// One run, then exit (the only mode: a service manager or cron repeats it).
        #[arg(long)]
        once: bool,
    },
    /// The Application event log (Get-WinEvent).
    GetEvents {
        #[arg(long)]
        id: Option<u32>,
        #[arg(long)]
        level: Option<String>,
        #[arg(long)]
        newest: Option<usize>,
    },
    /// What an administrator does with a CNG provider: a key (TPM or software) and a
    /// certificate in LOCAL_MACHINE, usable by the sync engine (BYOC).
    NewCertificate {
        #[arg(long, value_enum, default_value = "software")]
        provider: Provider,
        #[arg(long, default_value = "ConnectSync BYOC")]
        subject: String,
        #[arg(long, default_value_t = 365)]
        validity_days: i64,
        /// Do not grant the sync engine's account signing rights.
        #[arg(long)]
        no_grant: bool,
        /// Mark the key exportable (BYOC refuses such certificates).
        #[arg(long)]
        exportable: bool,
    },
    /// What an administrator does with Import-PfxCertificate -CertStoreLocation
    /// Cert:\LocalMachine\My: their own certificate (a PFX, or a PEM certificate and key)
    /// into LOCAL_MACHINE, its key non-exportable in the TPM or the software provider, usable
    /// by the sync engine (BYOC).
    ImportCertificate {
        /// A PKCS#12 file.
        #[arg(long, conflicts_with_all = ["certificate", "key"], required_unless_present = "certificate")]
        pfx: Option<PathBuf>,
        /// The environment variable holding the PFX's password (none: an empty password).
        #[arg(long, requires = "pfx")]
        password_env: Option<String>,
        /// A PEM certificate (with --key).
        #[arg(long, requires = "key")]
        certificate: Option<PathBuf>,
        /// Its PEM private key, not encrypted (with --certificate).
        #[arg(long, requires = "certificate")]
        key: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "software")]
        provider: Provider,
        /// Do not grant the sync engine's account signing rights.
        #[arg(long)]
        no_grant: bool,
    },
    /// What an administrator does with Remove-Item Cert:\LocalMachine\My\<thumbprint>: removes
    /// a certificate and its key from LOCAL_MACHINE (the last BYOC/BYOA rotation step). The
    /// certificate the connector uses is refused.
    RemoveCertificate {
        #[arg(long)]
        certificate_sha256_hash: String,
    },
    /// The sync application's credentials; warns about those this server did not create.
    GetApplicationKeys {
        #[command(flatten)]
        admin: Admin,
    },
}
