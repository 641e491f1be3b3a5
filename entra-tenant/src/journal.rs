//! The request journal: what each request to a tenant was, how it ended and which fault rule
//! (if any) shaped it, so a test can assert on the conversation a client had with the tenant.
//! Bounded, so that a long-running mock does not grow without limit.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::operation::Operation;

/// How many entries a tenant keeps; older ones are forgotten first.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One request, in the shape of the public contract (snake_case, as the README writes it).
/// The members after `fault` extend the contract: `seq` always, the others when they apply.
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
    /// The entry's number in its tenant's journal (1, 2, ...), given when it is recorded; it
    /// goes on counting when the journal is cleared.
    #[serde(default)]
    pub seq: u64,
    /// Why the request was refused, in the service's words (the AADSTS message, the Graph error
    /// message, or what the fault rule did); `None` on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The client assertion of a token request, decoded (its signature is left out). An
    /// assertion is public: the client signs it for the token service to read. Client secrets
    /// and passwords are never journaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_assertion: Option<DecodedAssertion>,
}

/// The longest client assertion whose header and claims the journal keeps.
pub const MAX_KEPT_ASSERTION: usize = 16 * 1024;

/// A compact JWS read for people: its header and claims as JSON, whatever they hold, or why
/// they cannot be read. Nothing is checked here; the token endpoint's rules do that.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedAssertion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
    /// What could not be read, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl DecodedAssertion {
    pub fn decode(token: &str) -> Self {
        let unreadable = |why: String| DecodedAssertion {
            header: None,
            claims: None,
            unreadable: Some(why),
        };
        if token.len() > MAX_KEPT_ASSERTION {
            return unreadable(format!(
                "the assertion is {} bytes; the journal keeps those of up to {MAX_KEPT_ASSERTION}",
                token.len()
            ));
        }
        let mut parts = token.trim().split('.');
        let (Some(h), Some(c)) = (parts.next(), parts.next()) else {
            return unreadable("not a JWS: no `.` separates a header from claims".into());
        };
        let (header, h_err) = segment(h, "header");
        let (claims, c_err) = segment(c, "claims");
        let problems: Vec<String> = h_err.into_iter().chain(c_err).collect();
        DecodedAssertion {
            header,
            claims,
            unreadable: (!problems.is_empty()).then(|| problems.join("; ")),
        }
    }
}

/// One segment of a compact JWS as JSON (base64url, padded or not), or why it is not.
fn segment(text: &str, what: &str) -> (Option<Value>, Option<String>) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')) else {
        return (None, Some(format!("{what}: not base64url")));
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => (Some(v), None),
        Err(_) => (None, Some(format!("{what}: not JSON"))),
    }
}

/// The last `JOURNAL_CAPACITY` requests of a tenant, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    entries: VecDeque<JournalEntry>,
    recorded: u64,
}

impl Journal {
    /// Keeps `entry` under the next `seq`, and returns it as kept.
    pub fn record(&mut self, mut entry: JournalEntry) -> JournalEntry {
        if self.entries.len() == JOURNAL_CAPACITY {
            self.entries.pop_front();
        }
        self.recorded += 1;
        entry.seq = self.recorded;
        self.entries.push_back(entry.clone());
        entry
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
            seq: 0,
            error_message: None,
            client_assertion: None,
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
        assert_eq!(j.entries()[0].seq, 6);
        j.clear();
        assert_eq!(j.record(entry(0)).seq, JOURNAL_CAPACITY as u64 + 6);
    }

    #[test]
    fn assertions_are_decoded_for_people() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","x5t":"abc"}"#),
            b64(r#"{"iss":"app","aud":"x"}"#)
        );
        let d = DecodedAssertion::decode(&token);
        assert_eq!(d.header.unwrap()["x5t"], "abc");
        assert_eq!(d.claims.unwrap()["iss"], "app");
        assert_eq!(d.unreadable, None);

        let d = DecodedAssertion::decode(&format!("{}.%%%.", b64("{}")));
        assert_eq!(d.header, Some(serde_json::json!({})));
        assert_eq!(d.unreadable.as_deref(), Some("claims: not base64url"));
        let d = DecodedAssertion::decode("opaque");
        assert!(d.unreadable.unwrap().starts_with("not a JWS"));
        let d = DecodedAssertion::decode(&"a.".repeat(MAX_KEPT_ASSERTION));
        assert!(d.unreadable.unwrap().contains("keeps those of up to"));
    }
}
