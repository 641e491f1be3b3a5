//! Fault injection: rules a test sets on a tenant to make the next matching requests fail,
//! slow down, lose their connection, or take effect late (replication lag). Matching is by
//! `Operation` or by method and path pattern; the HTTP layer names each request's operation
//! and applies what the matched rule says. Rules are plain data so they can be listed back.
//! An operation name that is no `Operation` is refused when the rule is read (by serde, with
//! the list of known names).

use serde::{Deserialize, Serialize};

use crate::operation::Operation;

/// The longest replication lag a rule may ask for: a century stands for "never" in any test,
/// and keeps the due time of a held-back write (tenant clock + lag) within the calendar.
pub const MAX_LAG_SECONDS: u64 = 36_525 * 86_400;
/// The longest delay a rule may add, in milliseconds: five minutes is past every client
/// timeout a test might want to trip (adsync and .NET's HttpClient give up after 100 s), and a
/// mistyped value cannot hang a test run for longer.
pub const MAX_DELAY_MS: u64 = 300_000;
/// The largest `Retry-After` a rule may send: .NET (MSAL.NET, the Graph SDK) reads the header
/// as a 32-bit integer and ignores a larger one, so a rule beyond it would test nothing.
pub const MAX_RETRY_AFTER: u64 = 2_147_483_647;

/// What a rule matches: an operation, or a method (optional) and a path pattern where `*`
/// stands for any run of characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// A fault rule as a test writes it. Every field but `match` is optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(rename = "match")]
    pub matcher: FaultMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error code of the answer: OAuth `error` on the login side, Graph `code` on Graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drop_connection: bool,
    #[serde(default)]
    pub lag_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// A rule installed on a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultRule {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many more requests the rule applies to; `None` for all of them.
    pub remaining: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("the fault rule is not valid JSON of the rule format: {0}")]
    Syntax(String),
    #[error("`match` needs either `operation`, or `path` (with an optional `method`), not both")]
    AmbiguousMatch,
    #[error("`match.path` must start with `/`: `{0}`")]
    BadPath(String),
    #[error("`status` must be between 400 and 599, not {0}")]
    BadStatus(u16),
    #[error("`count` must be at least 1")]
    ZeroCount,
    #[error("`lag_seconds` must be at most {MAX_LAG_SECONDS} (a century), not {0}")]
    LagTooLong(u64),
    #[error("`delay_ms` must be at most {MAX_DELAY_MS} (five minutes), not {0}")]
    DelayTooLong(u64),
    #[error(
        "`retry_after` must be at most {MAX_RETRY_AFTER} (the largest Retry-After .NET clients read), not {0}"
    )]
    RetryAfterTooLarge(u64),
    #[error(
        "the rule does nothing: give at least one of status, delay_ms, drop_connection, lag_seconds"
    )]
    NoEffect,
}

/// The request as fault matching sees it.
#[derive(Clone, Copy, Debug)]
pub struct RequestKey<'a> {
    pub operation: Option<Operation>,
    pub method: &'a str,
    /// Percent-decoded path, without the query.
    pub path: &'a str,
}

/// The rules of one tenant, in the order they were added; the first live match applies.
#[derive(Clone, Debug, Default)]
pub struct FaultRules {
    rules: Vec<FaultRule>,
    next_id: u64,
}

impl FaultSpec {
    pub fn from_json(text: &[u8]) -> Result<Self, FaultError> {
        let spec: FaultSpec = crate::json::from_slice(text).map_err(FaultError::Syntax)?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), FaultError> {
        let m = &self.matcher;
        match (&m.operation, &m.path) {
            (Some(_), None) if m.method.is_none() => {}
            (None, Some(path)) => {
                if !path.starts_with('/') && path != "*" {
                    return Err(FaultError::BadPath(path.clone()));
                }
            }
            _ => return Err(FaultError::AmbiguousMatch),
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return Err(FaultError::BadStatus(s));
        }
        if self.count == Some(0) {
            return Err(FaultError::ZeroCount);
        }
        if self.lag_seconds > MAX_LAG_SECONDS {
            return Err(FaultError::LagTooLong(self.lag_seconds));
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(FaultError::DelayTooLong(self.delay_ms));
        }
        if let Some(s) = self.retry_after.filter(|&s| s > MAX_RETRY_AFTER) {
            return Err(FaultError::RetryAfterTooLarge(s));
        }
        if self.status.is_none()
            && self.delay_ms == 0
            && !self.drop_connection
            && self.lag_seconds == 0
        {
            return Err(FaultError::NoEffect);
        }
        Ok(())
    }

    /// The replication lag the rule asks for, if any (at most `MAX_LAG_SECONDS`).
    pub fn lag(&self) -> Option<time::Duration> {
        let seconds = i64::try_from(self.lag_seconds.min(MAX_LAG_SECONDS)).ok()?;
        (seconds > 0).then(|| time::Duration::seconds(seconds))
    }

    /// The delay the rule adds, if any (at most `MAX_DELAY_MS`).
    pub fn delay(&self) -> Option<std::time::Duration> {
        (self.delay_ms > 0)
            .then(|| std::time::Duration::from_millis(self.delay_ms.min(MAX_DELAY_MS)))
    }

    fn matches(&self, req: &RequestKey<'_>) -> bool {
        let m = &self.matcher;
        if let Some(op) = m.operation {
            return req.operation == Some(op);
        }
        let method_ok = m
            .method
            .as_deref()
            .is_none_or(|want| want.eq_ignore_ascii_case(req.method));
        method_ok && m.path.as_deref().is_some_and(|p| glob(p, req.path))
    }
}

impl FaultRules {
    /// Installs a rule and returns its id.
    pub fn add(&mut self, spec: FaultSpec) -> Result<String, FaultError> {
        spec.validate()?;
        self.next_id += 1;
        let id = format!("fault-{}", self.next_id);
        let remaining = spec.count;
        self.rules.push(FaultRule {
            id: id.clone(),
            spec,
            remaining,
        });
        Ok(id)
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The first rule that still applies to `req`, counting this request against it.
    pub fn take_match(&mut self, req: &RequestKey<'_>) -> Option<FaultRule> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.remaining != Some(0) && r.spec.matches(req))?;
        if let Some(n) = &mut rule.remaining {
            *n -= 1;
        }
        Some(rule.clone())
    }
}

/// `*` matches any run of characters (including `/`); everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(
            "/v1.0/applications*",
            "/v1.0/applications(appId='x')/addKey"
        ));
        assert!(glob("*/token", "/t/oauth2/v2.0/token"));
        assert!(!glob("/v1.0/users", "/v1.0/users/1"));
        assert!(glob("/a*b*c", "/aXXbYYc"));
        assert!(!glob("/a*b*c", "/aXXbYY"));
    }

    fn key<'a>(op: Operation, method: &'a str, path: &'a str) -> RequestKey<'a> {
        RequestKey {
            operation: Some(op),
            method,
            path,
        }
    }

    #[test]
    fn count_limits_a_rule() {
        let mut rules = FaultRules::default();
        let spec =
            FaultSpec::from_json(br#"{"match":{"operation":"addKey"},"status":429,"count":1}"#)
                .unwrap();
        rules.add(spec).unwrap();
        assert!(
            rules
                .take_match(&key(Operation::AddKey, "POST", "/x"))
                .is_some()
        );
        assert!(
            rules
                .take_match(&key(Operation::AddKey, "POST", "/x"))
                .is_none()
        );
        assert_eq!(rules.list()[0].remaining, Some(0));
    }

    #[test]
    fn the_longest_lag_and_delay_are_accepted() {
        let spec = FaultSpec::from_json(
            br#"{"match":{"operation":"token"},"lag_seconds":3155760000,"delay_ms":300000,"status":429,"retry_after":2147483647}"#,
        )
        .unwrap();
        assert_eq!(spec.lag(), Some(time::Duration::days(36_525)));
        assert_eq!(spec.delay(), Some(std::time::Duration::from_secs(300)));
    }

    #[test]
    fn invalid_rules_say_why() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"match":{"operation":"nope"},"status":500}"#,
                "`match.operation`: unknown operation `nope`; known operations: token, discovery",
            ),
            (r#"{"match":{},"status":500}"#, "either `operation`"),
            (
                r#"{"match":{"path":"v1.0"},"status":500}"#,
                "must start with",
            ),
            (
                r#"{"match":{"operation":"token"},"status":200}"#,
                "between 400 and 599",
            ),
            (r#"{"match":{"operation":"token"}}"#, "does nothing"),
            (
                r#"{"match":{"operation":"token"},"status":500,"count":0}"#,
                "at least 1",
            ),
            (r#"{"match":{"operation":"token"},"stauts":500}"#, "stauts"),
            (
                r#"{"match":{"operation":"token"},"lag_seconds":3155760001}"#,
                "`lag_seconds` must be at most 3155760000",
            ),
            (
                r#"{"match":{"operation":"token"},"lag_seconds":-1}"#,
                "`lag_seconds`: invalid value",
            ),
            (
                r#"{"match":{"operation":"token"},"delay_ms":300001}"#,
                "`delay_ms` must be at most 300000",
            ),
            (
                r#"{"match":{"operation":"token"},"status":503,"retry_after":2147483648}"#,
                "`retry_after` must be at most 2147483647",
            ),
            (
                r#"{"match":{"operation":"token"},"status":70000}"#,
                "`status`: invalid value",
            ),
            (
                r#"{"match":{"operation":"token"},"status":503,"count":4294967296}"#,
                "`count`: invalid value",
            ),
            (
                r#"{"match":{"operation":7},"status":503}"#,
                "`match.operation`: invalid type",
            ),
        ];
        for (json, expected) in cases {
            let err = FaultSpec::from_json(json.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }
}
