//! Running the feature files: writers (console + JUnit), the failure report hook, the filter
//! that leaves out `@mock-only` scenarios against a target without the mock's control plane,
//! and the count of what was selected: printed before and after the run, and a run that selects
//! nothing (or fewer scenarios than `--min-scenarios` / `ENTRA_HARNESS_MIN_SCENARIOS`) fails.
//! Shared by both modes of the harness binary (`features`, `features_remote`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Parser as _;
use cucumber::event::ScenarioFinished;
use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv, tagexpr::TagOperation};
use cucumber::tag::Ext as _;
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, cli, writer};
use futures::FutureExt as _;

use super::world::EntraWorld;

#[derive(clap::Args)]
pub struct HarnessOptions {
    /// Also write a JUnit XML report to this file (env: CUCUMBER_JUNIT); a relative path is
    /// taken from the repository root.
    #[arg(long, value_name = "FILE", env = "CUCUMBER_JUNIT")]
    junit: Option<PathBuf>,
    /// Fail unless at least N scenarios are selected to run (env: ENTRA_HARNESS_MIN_SCENARIOS).
    /// A selection of none always fails.
    #[arg(long, value_name = "N", env = "ENTRA_HARNESS_MIN_SCENARIOS")]
    min_scenarios: Option<usize>,
}

/// Tag of scenarios that need the mock's control plane (the clock, fault rules, the journal,
/// snapshots, credentials added as a fixture would): left out against a target without one.
pub const MOCK_ONLY: &str = "mock-only";
/// Tag of scenarios whose sync server keeps its keys in a TPM (swtpm).
pub const TPM: &str = "tpm";

/// Why a scenario runs or not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    Selected,
    /// Not matched by `--name` / `--tags`.
    NotMatched,
    /// Tagged `@mock-only` while the target has no control plane.
    MockOnly,
    /// Tagged `@tpm` on a machine without swtpm (see `prerequisites`).
    NoTpm,
}

/// The one rule that picks scenarios, for the count and for cucumber's filter alike.
#[derive(Clone)]
struct Selection {
    name: Option<regex::Regex>,
    tags: Option<TagOperation>,
    /// The target has no control plane (a real tenant).
    without_control_plane: bool,
    /// swtpm is missing: `@tpm` scenarios cannot run.
    without_tpm: bool,
}

impl Selection {
    fn pick(
        &self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
    ) -> Pick {
        let tags: Vec<&String> = feature
            .tags
            .iter()
            .chain(rule.iter().flat_map(|r| &r.tags))
            .chain(scenario.tags.iter())
            .collect();
        let matched = match (&self.name, &self.tags) {
            (Some(re), _) => re.is_match(&scenario.name),
            (None, Some(expr)) => expr.eval(tags.iter().map(|t| t.as_str())),
            (None, None) => true,
        };
        let tagged = |tag: &str| tags.iter().any(|t| t.trim_start_matches('@') == tag);
        if !matched {
            Pick::NotMatched
        } else if self.without_control_plane && tagged(MOCK_ONLY) {
            Pick::MockOnly
        } else if self.without_tpm && tagged(TPM) {
            Pick::NoTpm
        } else {
            Pick::Selected
        }
    }
}

/// How many scenarios (Scenario Outline examples counted one by one, as cucumber runs them)
/// the selection picks.
#[derive(Default)]
struct Count {
    total: usize,
    selected: usize,
    mock_only: usize,
    no_tpm: usize,
    not_matched: usize,
    /// Feature files that did not parse (cucumber reports them as failures too).
    unreadable: Vec<String>,
}

impl Count {
    fn of(features: &Path, selection: &Selection) -> Count {
        let mut count = Count::default();
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(features) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
                })
                .collect(),
            Err(e) => {
                count
                    .unreadable
                    .push(format!("{}: {e}", features.display()));
                Vec::new()
            }
        };
        paths.sort();
        for path in paths {
            let feature = gherkin::Feature::parse_path(&path, GherkinEnv::default())
                .map_err(|e| e.to_string())
                .and_then(|f| f.expand_examples().map_err(|e| e.to_string()));
            let feature = match feature {
                Ok(f) => f,
                Err(e) => {
                    count.unreadable.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let scenarios = feature.scenarios.iter().map(|s| (None, s)).chain(
                feature
                    .rules
                    .iter()
                    .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
            );
            for (rule, scenario) in scenarios {
                count.total += 1;
                match selection.pick(&feature, rule, scenario) {
                    Pick::Selected => count.selected += 1,
                    Pick::NotMatched => count.not_matched += 1,
                    Pick::MockOnly => count.mock_only += 1,
                    Pick::NoTpm => count.no_tpm += 1,
                }
            }
        }
        count
    }

    fn line(&self) -> String {
        let mut line = format!(
            "{} of {} scenarios selected, {} left out as @{MOCK_ONLY}",
            self.selected, self.total, self.mock_only
        );
        if self.no_tpm > 0 {
            line.push_str(&format!(", {} left out as @{TPM} (no swtpm)", self.no_tpm));
        }
        if self.not_matched > 0 {
            line.push_str(&format!(
                ", {} not matching --name/--tags",
                self.not_matched
            ));
        }
        if !self.unreadable.is_empty() {
            line.push_str(&format!(
                ", {} feature file(s) unreadable",
                self.unreadable.len()
            ));
        }
        line
    }
}

/// Printed so that it stands out among the scenarios' output.
fn banner(text: &str) {
    let rule = "=".repeat(text.len().min(100));
    eprintln!("\n{rule}\n{text}\n{rule}\n");
}

/// Runs the selected scenarios with the command line `args` (after the binary and its `mode`);
/// `Err` says why the run failed (the caller exits non-zero). `second_mock`: the target is the
/// harness's own second mock, which has the control plane unless told otherwise.
pub async fn run(mode: &OsStr, args: Vec<OsString>, second_mock: bool) -> Result<(), String> {
    let mut opts = cli::Opts::<_, _, _, HarnessOptions>::parse_from(
        std::iter::once(mode.to_os_string()).chain(args),
    );
    // cucumber lets `--name`/`--tags` replace a custom filter; take them over so that the
    // `@mock-only` rule still applies to a selection.
    // Scenarios tagged @tpm need swtpm: without it they are left out, visibly, or the run
    // fails when nothing may be skipped (`cargo xtask test`).
    let without_tpm = !prerequisites::swtpm_installed();
    if without_tpm {
        prerequisites::missing(
            &format!("every scenario tagged @{TPM}"),
            "swtpm (the TPM 2.0 emulator)",
        );
    }
    let remote = super::target::configure()
        .await
        .map_err(|e| format!("the remote target: {e:#}"))?;
    if second_mock && remote.is_some_and(|r| r.probed && !r.control_plane) {
        return Err("the second mock did not answer the control plane's probe".into());
    }
    let selection = Selection {
        name: opts.re_filter.take(),
        tags: opts.tags_filter.take(),
        without_control_plane: remote.is_some_and(|r| !r.control_plane),
        without_tpm,
    };
    let min_scenarios = opts.custom.min_scenarios;
    let junit: Box<dyn Write> = match opts.custom.junit.as_ref().map(super::from_root) {
        Some(path) => match File::create(&path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("cannot write the JUnit report {}: {e}", path.display());
                std::process::exit(2);
            }
        },
        None => Box::new(io::sink()),
    };
    let features = super::from_root("features");
    let count = Count::of(&features, &selection);
    let against = match remote {
        Some(r) if r.control_plane => format!(
            "against {} (ENTRA_HARNESS_TARGET, a tenant per scenario through its control plane)",
            r.url
        ),
        Some(r) => format!("against {} (ENTRA_HARNESS_TARGET, no control plane)", r.url),
        None => "against in-process mocks".to_string(),
    };
    let summary = format!("features {against}: {}", count.line());
    banner(&summary);
    for e in &count.unreadable {
        eprintln!("  {e}");
    }
    // Nothing to run is never a pass; too little is not one when a minimum was asked for.
    if count.selected == 0 {
        return Err(format!("no scenario selected: {}", count.line()));
    }
    if let Some(min) = min_scenarios
        && count.selected < min
    {
        return Err(format!(
            "{} scenario(s) selected, fewer than the {min} required (--min-scenarios / ENTRA_HARNESS_MIN_SCENARIOS): {}",
            count.selected,
            count.line()
        ));
    }
    let snapshot_always = std::env::var("ENTRA_HARNESS_SNAPSHOT").is_ok_and(|v| v == "always");
    let writer = EntraWorld::cucumber()
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
                        world.failure_report(&snapshot_name).await
                    );
                } else if snapshot_always {
                    world.save_final_snapshot(&snapshot_name).await;
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
        .filter_run(features, move |feature, rule, scenario| {
            selection.pick(feature, rule, scenario) == Pick::Selected
        })
        .await;
    banner(&summary);
    if writer.execution_has_failed() {
        let mut failures = Vec::new();
        for (n, what) in [
            (writer.failed_steps(), "step(s) failed"),
            (writer.parsing_errors(), "parsing error(s)"),
            (writer.hook_errors(), "hook error(s)"),
        ] {
            if n > 0 {
                failures.push(format!("{n} {what}"));
            }
        }
        return Err(failures.join(", "));
    }
    Ok(())
}
