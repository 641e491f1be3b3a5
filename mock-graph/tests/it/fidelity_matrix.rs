//! Keeps `docs/fidelity.md` (the conformance matrix) true: every refusal of the login rule table
//! has a row, every row names at least one test or scenario, every one it names exists, and the
//! count of rows marked unknown that the page states is the count of such rows.

use std::path::{Path, PathBuf};

use mock_graph::core::login::LoginError;

const MATRIX: &str = "docs/fidelity.md";
const UNKNOWN: &str = "***unknown***";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("mock-graph sits in the workspace")
        .to_path_buf()
}

/// A row of one of the page's tables: its cells, trimmed.
struct Row {
    line: usize,
    cells: Vec<String>,
}

/// The body rows of every table (header and separator rows left out).
fn rows(text: &str) -> Vec<Row> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let is_row = line.starts_with('|');
        let is_separator = line.starts_with("|---");
        let is_header = lines
            .get(i + 1)
            .is_some_and(|next| next.starts_with("|---"));
        if is_row && !is_separator && !is_header {
            let cells = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            out.push(Row { line: i + 1, cells });
        }
    }
    out
}

/// What a "Pinned by" cell names.
#[derive(Debug, PartialEq)]
enum Pin {
    /// A scenario: a feature file and words of a scenario title or an example row.
    Scenario { file: String, words: String },
    /// A Rust test: a file and a function.
    Test { file: String, function: String },
}

/// The pins of a cell: `` `path.feature` "words" `` and `` `path.rs` `function` ``, separated
/// by `;`. A piece of another shape is an error, so that a typo cannot hide a missing pin.
fn pins(cell: &str) -> Result<Vec<Pin>, String> {
    let mut out = Vec::new();
    for piece in cell.split("; ") {
        let piece = piece.trim();
        let (file, rest) = piece
            .strip_prefix('`')
            .and_then(|p| p.split_once("` "))
            .ok_or_else(|| format!("not a pin: {piece:?}"))?;
        let pin = if file.ends_with(".feature") {
            let words = rest
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .ok_or_else(|| format!("a scenario pin needs \"words\": {piece:?}"))?;
            Pin::Scenario {
                file: file.to_string(),
                words: words.to_string(),
            }
        } else if file.ends_with(".rs") {
            let function = rest
                .strip_prefix('`')
                .and_then(|r| r.strip_suffix('`'))
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .ok_or_else(|| format!("a test pin needs `function`: {piece:?}"))?;
            Pin::Test {
                file: file.to_string(),
                function: function.to_string(),
            }
        } else {
            return Err(format!("neither a feature nor a Rust file: {piece:?}"));
        };
        out.push(pin);
    }
    Ok(out)
}

/// Why a pin names nothing, or `None` when it names a scenario or test that exists.
fn missing(pin: &Pin) -> Option<String> {
    let file = match pin {
        Pin::Scenario { file, .. } | Pin::Test { file, .. } => file,
    };
    let Ok(text) = std::fs::read_to_string(workspace().join(file)) else {
        return Some(format!("{file} does not exist"));
    };
    let found = match pin {
        // Words of a scenario's title or of an example row, not of any step.
        Pin::Scenario { words, .. } => text.lines().map(str::trim).any(|l| {
            (l.starts_with("Scenario") || l.starts_with('|')) && l.contains(words.as_str())
        }),
        // A test function: its attribute is on one of the lines before it.
        Pin::Test { function, .. } => {
            let lines: Vec<&str> = text.lines().collect();
            let head = format!("fn {function}(");
            lines.iter().enumerate().any(|(i, l)| {
                l.contains(&head)
                    && lines[i.saturating_sub(3)..i]
                        .iter()
                        .any(|a| a.trim_start().starts_with("#[") && a.contains("test"))
            })
        }
    };
    (!found).then(|| format!("{pin:?} is not in {file}"))
}

fn matrix() -> String {
    std::fs::read_to_string(workspace().join(MATRIX)).expect("docs/fidelity.md")
}

#[test]
fn every_row_names_a_test_or_scenario_that_exists() {
    let text = matrix();
    let rows = rows(&text);
    assert!(rows.len() > 50, "only {} rows read", rows.len());
    let mut problems = Vec::new();
    for row in &rows {
        if row.cells.len() != 4 {
            problems.push(format!(
                "line {}: {} cells, not 4",
                row.line,
                row.cells.len()
            ));
            continue;
        }
        match pins(&row.cells[3]) {
            Ok(pins) if pins.is_empty() => problems.push(format!("line {}: no pin", row.line)),
            Ok(pins) => problems.extend(
                pins.iter()
                    .filter_map(missing)
                    .map(|m| format!("line {}: {m}", row.line)),
            ),
            Err(e) => problems.push(format!("line {}: {e}", row.line)),
        }
    }
    assert!(problems.is_empty(), "{MATRIX}:\n{}", problems.join("\n"));
}

#[test]
fn every_login_refusal_has_a_row() {
    let text = matrix();
    let rows = rows(&text);
    let missing: Vec<&str> = LoginError::NAMES
        .iter()
        .copied()
        .filter(|name| {
            let named = format!("`{name}`");
            !rows.iter().any(|r| r.cells[0].starts_with(&named))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "refusals of the login rule table without a row in {MATRIX}: {missing:?}"
    );
}

#[test]
fn the_stated_count_of_unknown_rows_is_true() {
    let text = matrix();
    let counted = rows(&text)
        .iter()
        .filter(|r| r.cells.iter().any(|c| c.contains(UNKNOWN)))
        .count();
    let stated = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("Rows marked unknown: ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok())
        })
        .expect("the page states \"Rows marked unknown: <n>\"");
    assert_eq!(
        stated, counted,
        "{MATRIX} says {stated} rows are marked unknown; {counted} are"
    );
}

#[test]
fn the_pin_reader_refuses_what_is_not_a_pin() {
    assert_eq!(
        pins("`features/a.feature` \"x y\"; `mock-graph/tests/it/b.rs` `f_1`").unwrap(),
        vec![
            Pin::Scenario {
                file: "features/a.feature".into(),
                words: "x y".into()
            },
            Pin::Test {
                file: "mock-graph/tests/it/b.rs".into(),
                function: "f_1".into()
            },
        ]
    );
    for bad in [
        "",
        "the scenario about x",
        "`features/a.feature` x",
        "`mock-graph/tests/it/b.rs` \"f\"",
        "`README.md` \"x\"",
    ] {
        assert!(pins(bad).is_err(), "{bad:?} was read as a pin");
    }
    assert!(
        missing(&Pin::Test {
            file: "mock-graph/tests/it/fidelity_matrix.rs".into(),
            function: "no_such_test".into()
        })
        .is_some()
    );
    // A helper is not a test.
    assert!(
        missing(&Pin::Test {
            file: "mock-graph/tests/it/fidelity_matrix.rs".into(),
            function: "missing".into()
        })
        .is_some()
    );
    assert!(
        missing(&Pin::Test {
            file: "mock-graph/tests/it/fidelity_matrix.rs".into(),
            function: "the_pin_reader_refuses_what_is_not_a_pin".into()
        })
        .is_none()
    );
    assert!(
        missing(&Pin::Scenario {
            file: "features/no_such.feature".into(),
            words: "x".into()
        })
        .is_some()
    );
}
