//! Running the feature files: writers (console + JUnit), the failure report hook, the filter
//! that leaves out `@mock-only` scenarios against a remote target. Shared by the `features`
//! and `features_remote` test binaries.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use cucumber::event::ScenarioFinished;
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;

use super::world::EntraWorld;

#[derive(clap::Args)]
pub struct HarnessOptions {
    /// Also write a JUnit XML report to this file (env: CUCUMBER_JUNIT).
    #[arg(long, value_name = "FILE", env = "CUCUMBER_JUNIT")]
    junit: Option<PathBuf>,
}

/// Tag of scenarios that need the mock's control plane (clock, faults, direct state).
pub const MOCK_ONLY: &str = "mock-only";
/// Tag of scenarios whose sync server keeps its keys in a TPM (swtpm).
pub const TPM: &str = "tpm";

/// Runs every feature file and exits with the suite's verdict.
pub async fn run() {
    let mut opts = cli::Opts::<_, _, _, HarnessOptions>::parsed();
    // cucumber lets `--name`/`--tags` replace a custom filter; take them over so that the
    // `@mock-only` rule still applies to a selection.
    let name_filter = opts.re_filter.take();
    let tags_filter = opts.tags_filter.take();
    let junit: Box<dyn Write> = match &opts.custom.junit {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("cannot write the JUnit report {}: {e}", path.display());
                std::process::exit(2);
            }
        },
        None => Box::new(io::sink()),
    };
    let remote = super::target::remote_target();
    if let Some(url) = &remote {
        eprintln!("running against {url}; scenarios tagged @{MOCK_ONLY} are left out");
    }
    // Scenarios tagged @tpm need swtpm: without it they are left out, visibly, or the run
    // fails when nothing may be skipped (`cargo xtask test`).
    let without_tpm = !prerequisites::swtpm_installed();
    if without_tpm {
        prerequisites::missing(
            &format!("every scenario tagged @{TPM}"),
            "swtpm (the TPM 2.0 emulator)",
        );
    }
    let snapshot_always = std::env::var("ENTRA_HARNESS_SNAPSHOT").is_ok_and(|v| v == "always");
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/features");
    EntraWorld::cucumber()
        .after(move |feature, _rule, scenario, finished, world| {
            let failed = matches!(
                finished,
                ScenarioFinished::StepFailed(..) | ScenarioFinished::BeforeHookFailed(..)
            );
            // Scenarios run concurrently and an outline's examples share one name: the file
            // and line make the snapshot's name unique to this run of this scenario.
            let file = feature
                .path
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let snapshot_name = format!("{file} {} {}", scenario.position.line, scenario.name);
            async move {
                let Some(world) = world else { return };
                if failed {
                    eprintln!(
                        "\nScenario failed: {}\n{}",
                        scenario.name,
                        world.failure_report(&snapshot_name)
                    );
                } else if snapshot_always {
                    world.save_final_snapshot(&snapshot_name);
                }
            }
            .boxed_local()
        })
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<EntraWorld, _>(writer::JUnit::for_tee(junit, 0))
                .normalized(),
        )
        .fail_on_skipped()
        .with_cli(opts)
        .filter_run_and_exit(features, move |feature, rule, scenario| {
            let tags: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(scenario.tags.iter())
                .collect();
            let selected = match (&name_filter, &tags_filter) {
                (Some(re), _) => re.is_match(&scenario.name),
                (None, Some(expr)) => expr.eval(tags.iter().map(|t| t.as_str())),
                (None, None) => true,
            };
            let tagged = |tag: &str| tags.iter().any(|t| t.trim_start_matches('@') == tag);
            selected && (remote.is_none() || !tagged(MOCK_ONLY)) && !(without_tpm && tagged(TPM))
        })
        .await;
}
