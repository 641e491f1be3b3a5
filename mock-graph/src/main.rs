//! `mock-graph`: runs the mock Entra tenant. See the README for the contract.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mock_graph::serve::{self, ServeOptions};

#[derive(Parser)]
#[command(
    name = "mock-graph",
    version,
    about = "A mock Microsoft Entra tenant (login + Microsoft Graph), offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the mock tenant until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free port (the ready line names it).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Where the CA and server certificate are kept (created on first start).
        #[arg(long, default_value = ".mock-graph")]
        state_dir: PathBuf,
        /// A tenant fixture (or snapshot) to load; repeat for several tenants.
        #[arg(long)]
        fixture: Vec<PathBuf>,
        /// Serve plain HTTP instead of HTTPS.
        #[arg(long)]
        no_tls: bool,
    },
    /// Read a tenant through Microsoft Graph and write it as a fixture (no secrets: Graph
    /// gives out no private key, secret text or password).
    Import {
        /// The Graph root, such as https://graph.microsoft.com or a mock's ready-line url.
        #[arg(long)]
        graph: String,
        /// The environment variable holding the bearer token (never a command-line argument,
        /// where other users of the machine could read it).
        #[arg(long)]
        token_env: String,
        /// The fixture file to write.
        #[arg(long)]
        out: PathBuf,
        /// A CA certificate (PEM) to trust besides the system's, such as a mock's ca.pem.
        #[arg(long)]
        ca_pem: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mock_graph=info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock-graph: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-graph: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (listen, state_dir, fixture, no_tls) = match cli.command {
        Command::Serve {
            listen,
            state_dir,
            fixture,
            no_tls,
        } => (listen, state_dir, fixture, no_tls),
        Command::Import {
            graph,
            token_env,
            out,
            ca_pem,
        } => return import(graph, &token_env, &out, ca_pem).await,
    };
    let options = ServeOptions {
        listen,
        state_dir,
        fixtures: fixture,
        tls: !no_tls,
    };
    let state = serve::load_state(&options.fixtures)?;
    let prepared = serve::prepare(options.listen, &options.state_dir, options.tls, state).await?;
    // The ready line is the only thing on stdout, so scripts can read it.
    println!("{}", prepared.ready_line());
    tracing::info!("serving on {}", prepared.url);
    prepared.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// `mock-graph import`.
async fn import(
    graph: String,
    token_env: &str,
    out: &std::path::Path,
    ca_pem: Option<PathBuf>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let token = std::env::var(token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .with_context(|| format!("the environment variable {token_env} holds no token"))?;
    let mut http = reqwest::Client::builder();
    if let Some(path) = ca_pem {
        let pem = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        http = http.add_root_certificate(
            reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", path.display()))?,
        );
    }
    let source = mock_graph::import::ImportSource {
        graph,
        token: token.trim().to_string(),
        http: http.build()?,
        page_size: 999,
    };
    let fixture = mock_graph::import::import(&source).await?;
    let text = serde_json::to_string_pretty(&fixture)?;
    std::fs::write(out, text + "\n").with_context(|| format!("writing {}", out.display()))?;
    eprintln!("mock-graph import: wrote {}", out.display());
    Ok(())
}
