//! Walking a directory tree, for the tests that look at what was left on disk (a client's state
//! directory) or at the repository itself.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively and sorted; directories whose name `skip` accepts are
/// not entered. A directory that cannot be read counts as empty.
pub fn files_under(dir: &Path, skip: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !skip(&entry.file_name().to_string_lossy()) {
                    pending.push(path);
                }
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
