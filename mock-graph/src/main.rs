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
    let Command::Serve {
        listen,
        state_dir,
        fixture,
        no_tls,
    } = cli.command;
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
