//! Tidy checks on the repository itself, as rust-analyzer keeps them: the docs stay true to the
//! code because a test fails when they drift.
//!
//! - every source file under a crate's `src/` appears in ARCHITECTURE.md's code map;
//! - every refusal of the login rule table has a scenario in `features/token_endpoint.feature`
//!   that names its AADSTS code;
//! - no file of the repository points at documents outside it.

use std::path::{Path, PathBuf};

use mock_graph::core::login::LoginError;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the conformance crate lives in the workspace root")
        .to_path_buf()
}

/// Every file of the repository under `dir`, without build output, VCS metadata and installed
/// packages.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    crate::files::files_under(dir, |name| {
        matches!(name, "target" | ".git" | "node_modules" | ".venv")
    })
}

/// The crates of the workspace: every directory of the root holding a `Cargo.toml` and `src/`.
fn crate_sources(root: &Path) -> Vec<(String, PathBuf)> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(root)
        .expect("read the workspace root")
        .flatten()
    {
        let dir = entry.path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            crates.push((
                entry.file_name().to_string_lossy().into_owned(),
                dir.join("src"),
            ));
        }
    }
    crates.sort();
    crates
}

/// How ARCHITECTURE.md may name a source file: by its path from the repository, its path from
/// the crate's `src/`, or its file name; a module root (`mod.rs`) by its directory (`graph/`);
/// a crate root (`lib.rs`, `main.rs`) by the crate's directory (`swtpm/`) or its file name.
fn is_mapped(map: &str, crate_dir: &str, relative: &str) -> bool {
    let from_root = format!("{crate_dir}/src/{relative}");
    let file_name = relative.rsplit('/').next().unwrap_or(relative);
    let mentioned = |s: &str| map.contains(&format!("`{s}")) || map.contains(&format!("{s}`"));
    if mentioned(&from_root) || mentioned(relative) {
        return true;
    }
    match file_name {
        "mod.rs" => {
            let module = relative.trim_end_matches("/mod.rs");
            let module_name = module.rsplit('/').next().unwrap_or(module);
            mentioned(&format!("{module}/")) || mentioned(&format!("{module_name}/"))
        }
        "lib.rs" | "main.rs" if !relative.contains('/') => {
            mentioned(&format!("{crate_dir}/")) || mentioned(file_name)
        }
        _ => mentioned(file_name),
    }
}

#[test]
fn every_source_file_is_in_the_code_map() {
    let root = repository();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let mut missing = Vec::new();
    for (crate_dir, src) in crate_sources(&root) {
        for file in files_under(&src) {
            if file.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if !is_mapped(&map, &crate_dir, &relative) {
                missing.push(format!("{crate_dir}/src/{relative}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name these source files (add them where they \
         belong, in backquotes): {missing:#?}"
    );
}

#[test]
fn the_code_map_check_notices_a_missing_file() {
    // The check above would pass vacuously if `is_mapped` accepted anything.
    let map = "- `graph/`: Graph. `keys.rs` keyCredentials. `swtpm/` the TPM.";
    assert!(is_mapped(map, "entra-tenant", "graph/keys.rs"));
    assert!(is_mapped(map, "entra-tenant", "graph/mod.rs"));
    assert!(is_mapped(map, "swtpm", "lib.rs"));
    assert!(!is_mapped(map, "entra-tenant", "graph/proofs.rs"));
    assert!(!is_mapped(map, "entra-tenant", "login/mod.rs"));
    assert!(!is_mapped(map, "client", "lib.rs"));
}

#[test]
fn every_login_refusal_has_a_token_endpoint_scenario() {
    let feature = std::fs::read_to_string(repository().join("features/token_endpoint.feature"))
        .expect("read features/token_endpoint.feature");
    let missing: Vec<String> = LoginError::examples()
        .iter()
        .filter(|refusal| !feature.contains(&refusal.code().to_string()))
        .map(|refusal| format!("{} (AADSTS{})", refusal.name(), refusal.code()))
        .collect();
    assert!(
        missing.is_empty(),
        "features/token_endpoint.feature has no scenario naming these refusals' codes: {missing:#?}"
    );
    // The walk covers the whole table: `examples()` has one value of every row.
    let mut named: Vec<&str> = LoginError::examples().iter().map(|r| r.name()).collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(
        named.len(),
        LoginError::NAMES.len(),
        "examples() misses a row of the table"
    );
}

#[test]
fn no_file_points_outside_the_repository() {
    let root = repository();
    // Spelled in pieces so that this file does not name them itself.
    let outside = [concat!("..", "/shared"), concat!("DESIGN", ".md")];
    let mut offenders = Vec::new();
    for file in files_under(&root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // binary files
        };
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for needle in outside {
            if text.contains(needle) {
                offenders.push(format!("{relative}: {needle}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "files that refer to documents outside the repository: {offenders:#?}"
    );
}
