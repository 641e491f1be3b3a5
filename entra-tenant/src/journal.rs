//! The request journal: what each request to a tenant was, how it ended and which fault rule
//! (if any) shaped it, so a test can assert on the conversation a client had with the tenant.
//! Bounded, so that a long-running mock does not grow without limit.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::operation::Operation;

/// How many entries a tenant keeps; older ones are forgotten first.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One request, in the shape of the public contract (snake_case, as the README writes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The tenant clock when the request was answered, RFC 3339.
    pub time: String,
    pub method: String,
    /// The path without its query string.
    pub path: String,
    /// The operation fault rules match (`token`, `applications.get`, ...); `None` for a path
    /// that is no operation.
    pub operation: Option<Operation>,
    /// The HTTP status; `None` when the connection was dropped on purpose.
    pub status: Option<u16>,
    /// The AADSTS number or the Graph error code; `None` on success.
    pub error_code: Option<String>,
    /// The calling application's appId, when the request named one.
    pub client_id: Option<String>,
    /// The id of the fault rule that applied, if any.
    pub fault: Option<String>,
}

/// The last `JOURNAL_CAPACITY` requests of a tenant, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    pub fn record(&mut self, entry: JournalEntry) {
        if self.entries.len() == JOURNAL_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Every kept entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> JournalEntry {
        JournalEntry {
            time: "2026-01-01T00:00:00Z".into(),
            method: "GET".into(),
            path: format!("/{n}"),
            operation: None,
            status: Some(200),
            error_code: None,
            client_id: None,
            fault: None,
        }
    }

    #[test]
    fn keeps_the_newest_entries() {
        let mut j = Journal::default();
        for n in 0..JOURNAL_CAPACITY + 5 {
            j.record(entry(n));
        }
        assert_eq!(j.len(), JOURNAL_CAPACITY);
        assert_eq!(j.entries()[0].path, "/5");
    }
}
