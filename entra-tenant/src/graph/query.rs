//! OData query options over rendered directory objects: `$select`, `$filter` (`eq` and
//! `startswith`), `$top` and the opaque `$skiptoken` that `@odata.nextLink` carries. Directory
//! string comparisons are case-insensitive, as Entra's are. Also `Object`, a directory object as
//! Graph renders it, and `to_object`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::error::GraphError;

/// A rendered directory object (Graph property name → value).
pub type Object = Map<String, Value>;

/// `v` as a rendered object (its serde form; directory objects serialize in Graph's shape).
pub fn to_object<T: serde::Serialize>(v: &T) -> Object {
    match serde_json::to_value(v) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// Page size when a client gives no `$top`.
pub const DEFAULT_PAGE: usize = 100;
/// Graph's largest page for directory objects.
pub const MAX_PAGE: usize = 999;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryOptions {
    pub select: Option<Vec<String>>,
    pub filter: Option<Filter>,
    pub top: Option<usize>,
    /// Where the page starts, from `$skiptoken`.
    pub skip: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    Eq { property: String, value: String },
    StartsWith { property: String, value: String },
}

/// What a collection lets `$filter` use.
#[derive(Clone, Copy, Debug)]
pub struct Filterable {
    /// The OData type name used in messages (`microsoft.graph.application`).
    pub type_name: &'static str,
    pub eq: &'static [&'static str],
    pub starts_with: &'static [&'static str],
}

impl QueryOptions {
    /// Reads the query string's pairs; unknown options are ignored, as Graph ignores them.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, GraphError> {
        let mut q = QueryOptions::default();
        for (k, v) in pairs {
            match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
                "select" => {
                    let names: Vec<String> = v
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    if names.is_empty() {
                        return Err(GraphError::EmptySelect);
                    }
                    q.select = Some(names);
                }
                "filter" => q.filter = Some(parse_filter(v)?),
                "top" => {
                    let n = v
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| GraphError::InvalidPageSize {
                            value: v.clone(),
                            max: MAX_PAGE,
                        })?;
                    q.top = Some(n);
                }
                "skiptoken" => q.skip = decode_skiptoken(v)?,
                "orderby" | "expand" | "search" => {
                    return Err(GraphError::UnsupportedOption {
                        option: k.trim_start_matches('$').to_string(),
                    });
                }
                _ => {}
            }
        }
        Ok(q)
    }

    pub fn selects(&self, property: &str) -> bool {
        self.select
            .as_ref()
            .is_some_and(|s| s.iter().any(|p| p.eq_ignore_ascii_case(property)))
    }
}

fn parse_filter(text: &str) -> Result<Filter, GraphError> {
    let invalid = || GraphError::InvalidFilter {
        text: text.to_string(),
    };
    let t = text.trim();
    // `get` rather than indexing: byte 11 may fall inside a multi-byte character.
    let prefix = t
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("startswith("));
    if let (Some(_), Some(inner)) = (prefix, t.get(11..t.len().saturating_sub(1)))
        && t.len() > 11
        && t.ends_with(')')
    {
        let (prop, lit) = inner.split_once(',').ok_or_else(invalid)?;
        return Ok(Filter::StartsWith {
            property: prop.trim().to_string(),
            value: literal(lit).ok_or_else(invalid)?,
        });
    }
    let mut parts = t.splitn(3, char::is_whitespace);
    let (Some(prop), Some(op), Some(lit)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(GraphError::UnsupportedOperator {
            property: prop.to_string(),
            operator: op.to_string(),
        });
    }
    Ok(Filter::Eq {
        property: prop.to_string(),
        value: literal(lit).ok_or_else(invalid)?,
    })
}

/// An OData literal: a quoted string (`''` escapes a quote), or a bare GUID/number/boolean.
fn literal(text: &str) -> Option<String> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    (!t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    .then(|| t.to_string())
}

impl Filter {
    fn property(&self) -> &str {
        match self {
            Filter::Eq { property, .. } | Filter::StartsWith { property, .. } => property,
        }
    }

    /// Checks that the collection supports this filter.
    pub fn check(&self, f: &Filterable) -> Result<(), GraphError> {
        let (allowed, prop) = match self {
            Filter::Eq { property, .. } => (f.eq, property),
            Filter::StartsWith { property, .. } => (f.starts_with, property),
        };
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(prop)) {
            Ok(())
        } else {
            Err(GraphError::UnsupportedFilter {
                property: prop.clone(),
                resource: f
                    .type_name
                    .trim_start_matches("microsoft.graph.")
                    .to_string(),
            })
        }
    }

    pub fn accepts(&self, o: &Object) -> bool {
        let value = o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(self.property()))
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let Some(value) = value else { return false };
        match self {
            Filter::Eq { value: want, .. } => value.eq_ignore_ascii_case(want),
            Filter::StartsWith { value: want, .. } => {
                value.to_lowercase().starts_with(&want.to_lowercase())
            }
        }
    }
}

/// Keeps only the `$select`ed properties. Names not in `o` must be in `known` (properties the
/// type has but the mock leaves null) or the request is refused, as OData refuses them.
pub fn select(
    o: Object,
    q: &QueryOptions,
    type_name: &str,
    known: &[&str],
) -> Result<Object, GraphError> {
    let Some(names) = &q.select else { return Ok(o) };
    let mut out = Map::new();
    for name in names {
        if name == "*" {
            return Ok(o);
        }
        match o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some((k, v)) => {
                out.insert(k.clone(), v.clone());
            }
            None if known.iter().any(|k| k.eq_ignore_ascii_case(name)) => {
                out.insert(name.clone(), Value::Null);
            }
            None => {
                return Err(GraphError::UnknownSelectProperty {
                    name: name.clone(),
                    type_name: type_name.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// A page of a collection and where the next one starts.
pub struct Page {
    pub items: Vec<Object>,
    pub next_skip: Option<usize>,
}

/// Applies `$filter`, paging and `$select` to a whole collection.
pub fn page(
    all: Vec<Object>,
    q: &QueryOptions,
    filterable: &Filterable,
    known: &[&str],
) -> Result<Page, GraphError> {
    if let Some(f) = &q.filter {
        f.check(filterable)?;
    }
    let matching: Vec<Object> = all
        .into_iter()
        .filter(|o| q.filter.as_ref().is_none_or(|f| f.accepts(o)))
        .collect();
    let size = q.top.unwrap_or(DEFAULT_PAGE);
    // `skip` comes from a `$skiptoken` the client sent back, and a client can forge one.
    let end = q.skip.saturating_add(size).min(matching.len());
    let next_skip = (end < matching.len()).then_some(end);
    let items = matching
        .into_iter()
        .skip(q.skip)
        .take(size)
        .map(|o| select(o, q, filterable.type_name, known))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next_skip })
}

pub fn encode_skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("mock-offset:{offset}"))
}

fn decode_skiptoken(token: &str) -> Result<usize, GraphError> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("mock-offset:").and_then(|n| n.parse().ok()))
        .ok_or(GraphError::InvalidSkipToken)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_filter_cut_inside_a_multibyte_character_is_a_bad_request() {
        // Found by the odata_query fuzz target: slicing at byte 11 panicked here.
        for text in ["startswithé(x", "ééééééééééé", "startswit\u{1F600})"] {
            assert!(parse_filter(text).is_err(), "{text}");
        }
    }

    use super::*;
    use serde_json::json;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filters() {
        let q = QueryOptions::parse(&pairs(&[("$filter", "appId eq 'ABC'")])).unwrap();
        assert_eq!(
            q.filter,
            Some(Filter::Eq {
                property: "appId".into(),
                value: "ABC".into()
            })
        );
        let o: Object = json!({"appId": "abc"}).as_object().unwrap().clone();
        assert!(q.filter.as_ref().unwrap().accepts(&o));
        let s =
            QueryOptions::parse(&pairs(&[("$filter", "startswith(displayName,'Conn')")])).unwrap();
        let o: Object = json!({"displayName": "ConnectSync"})
            .as_object()
            .unwrap()
            .clone();
        assert!(s.filter.unwrap().accepts(&o));
        assert!(QueryOptions::parse(&pairs(&[("$filter", "appId ne 'x'")])).is_err());
        assert!(QueryOptions::parse(&pairs(&[("$top", "0")])).is_err());
    }

    #[test]
    fn pages_and_skiptokens() {
        let all: Vec<Object> = (0..5)
            .map(|i| json!({"id": i.to_string()}).as_object().unwrap().clone())
            .collect();
        let f = Filterable {
            type_name: "microsoft.graph.user",
            eq: &["id"],
            starts_with: &[],
        };
        let q = QueryOptions {
            top: Some(2),
            ..Default::default()
        };
        let p = page(all.clone(), &q, &f, &[]).unwrap();
        assert_eq!(p.next_skip, Some(2));
        let token = encode_skiptoken(4);
        let q = QueryOptions::parse(&pairs(&[("$top", "2"), ("$skiptoken", &token)])).unwrap();
        let p = page(all.clone(), &q, &f, &[]).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.next_skip, None);
        // A forged token past the end, however far: an empty last page.
        let token = encode_skiptoken(usize::MAX);
        let q = QueryOptions::parse(&pairs(&[("$top", "999"), ("$skiptoken", &token)])).unwrap();
        let p = page(all, &q, &f, &[]).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.next_skip, None);
    }
}
