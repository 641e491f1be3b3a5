//! The sync server's part of the Windows Application event log: what the client reports to an
//! administrator (certificate warnings, token failures, rotation results), with an id, a
//! level, a source, the client's time and a message. Persisted in one JSON file, rewritten
//! atomically on each write, and queryable (`adsync get-events`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::{ConfigError, JsonFile};

/// Source of the sync engine's own events.
pub const SOURCE_ADSYNC: &str = "ADSync";
/// Source of authentication failures, as Connect Sync logs event 906.
pub const SOURCE_DIRSYNC: &str = "Directory Synchronization";

/// Event ids. 1011, 1012 and 1014 are the documentation's; every other id (906 included, and
/// 1015 for the "error event" the documentation mentions without an id) is the project's own
/// choice, listed in the README.
pub mod ids {
    /// Warning: the certificate expires in 150 days or less; rotation is due.
    pub const CERTIFICATE_ROTATION_DUE: u32 = 1011;
    /// Error: the certificate has expired.
    pub const CERTIFICATE_EXPIRED: u32 = 1012;
    /// Warning: a BYOC certificate's key is not in a TPM.
    pub const CERTIFICATE_NOT_IN_TPM: u32 = 1014;
    /// Error: token acquisition with the certificate failed (MSAL's event).
    pub const TOKEN_FAILURE: u32 = 906;
    /// Error: a sync cycle failed (export refused, service account sign-in failed).
    pub const SYNC_CYCLE_FAILED: u32 = 6900;
    /// Information: a sync cycle completed.
    pub const SYNC_CYCLE_COMPLETED: u32 = 904;
    /// Information: the credential was rotated.
    pub const ROTATION_COMPLETED: u32 = 1013;
    /// Error: after a rotation the old credential could not be removed (names its
    /// CertificateId for `Remove-EntraApplicationKey`).
    pub const OLD_CREDENTIAL_NOT_REMOVED: u32 = 1015;
    /// Warning: the application has credentials the client did not create.
    pub const FOREIGN_CREDENTIALS: u32 = 1016;
    /// Error: a rotation step failed; the next run resumes it.
    pub const ROTATION_FAILED: u32 = 1017;
    /// Information: the connector switched identity (onboarding or rollback).
    pub const IDENTITY_CHANGED: u32 = 1018;
    /// Information: an old credential was removed from the application.
    pub const CREDENTIAL_REMOVED: u32 = 1019;
    /// Warning: the machine's TPM could not be used for a managed certificate's key; the key
    /// went to the software provider.
    pub const TPM_NOT_USABLE: u32 = 1020;
}

/// Event levels as the Windows event log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    Information,
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Information => "Information",
            Level::Warning => "Warning",
            Level::Error => "Error",
        })
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "information" | "info" => Ok(Level::Information),
            "warning" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown level '{other}' (Information, Warning, Error)"
            )),
        }
    }
}

/// One event, with the property names `Get-WinEvent` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub id: u32,
    pub level: Level,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time_created: OffsetDateTime,
    pub message: String,
}

/// Which events a query wants.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub id: Option<u32>,
    pub level: Option<Level>,
    pub since: Option<OffsetDateTime>,
    /// Only the newest `newest` events.
    pub newest: Option<usize>,
}

/// The oldest events go when the log is fuller than this, as a size-capped event log does.
const CAPACITY: usize = 5000;

/// The event log of one sync server.
#[derive(Debug, Clone)]
pub struct EventLog {
    file: JsonFile,
}

impl EventLog {
    pub fn open(state_dir: &Path) -> Self {
        Self {
            file: JsonFile::new(state_dir.join("eventlog.json"), 0o600),
        }
    }

    /// Appends an event.
    pub fn write(&self, event: &Event) -> Result<(), ConfigError> {
        let mut all = self.all()?;
        all.push(event.clone());
        if all.len() > CAPACITY {
            let excess = all.len() - CAPACITY;
            all.drain(..excess);
        }
        tracing::info!(id = event.id, level = %event.level, "{}", event.message);
        self.file.save(&all)
    }

    /// Every event, oldest first.
    pub fn all(&self) -> Result<Vec<Event>, ConfigError> {
        Ok(self.file.load()?.unwrap_or_default())
    }

    /// The events matching `query`, oldest first.
    pub fn query(&self, query: &EventQuery) -> Result<Vec<Event>, ConfigError> {
        let mut events: Vec<Event> = self
            .all()?
            .into_iter()
            .filter(|e| query.id.is_none_or(|id| e.id == id))
            .filter(|e| query.level.is_none_or(|l| e.level == l))
            .filter(|e| query.since.is_none_or(|s| e.time_created >= s))
            .collect();
        if let Some(n) = query.newest {
            let skip = events.len().saturating_sub(n);
            events.drain(..skip);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn events_persist_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path());
        let at = datetime!(2026-01-01 0:00 UTC);
        for (id, level) in [
            (1011, Level::Warning),
            (1012, Level::Error),
            (1011, Level::Warning),
        ] {
            log.write(&Event {
                id,
                level,
                source: SOURCE_ADSYNC.into(),
                time_created: at,
                message: "m".into(),
            })
            .unwrap();
        }
        let again = EventLog::open(dir.path());
        assert_eq!(again.all().unwrap().len(), 3);
        let q = EventQuery {
            id: Some(1011),
            ..Default::default()
        };
        assert_eq!(again.query(&q).unwrap().len(), 2);
        let q = EventQuery {
            newest: Some(1),
            ..Default::default()
        };
        assert_eq!(again.query(&q).unwrap()[0].id, 1011);
        let json = serde_json::to_value(&again.all().unwrap()[0]).unwrap();
        assert!(json.get("TimeCreated").is_some() && json.get("Id").is_some());
    }
}
