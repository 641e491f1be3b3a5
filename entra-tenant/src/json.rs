//! JSON bodies read so that a refusal can name the member that is wrong (`lag_seconds`,
//! `match.operation`, `set`): serde's own errors give a line and column, which say little to
//! someone who sent a one-line body.

use serde::de::DeserializeOwned;

/// Parses `bytes` as a `T`; the error names the path of the offending member when there is one.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // `.` is the whole document, `?` a member serde could not name.
        if path == "." || path == "?" {
            inner.to_string()
        } else {
            format!("`{path}`: {inner}")
        }
    })?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u16,
    }

    #[test]
    fn errors_name_the_member() {
        let err = from_slice::<Outer>(br#"{"inner": {"n": 70000}}"#).unwrap_err();
        assert!(
            err.starts_with("`inner.n`: invalid value: integer `70000`"),
            "{err}"
        );
        let err = from_slice::<Outer>(br#"{"inner": {"n": 1}, "x": 1}"#).unwrap_err();
        assert!(err.contains("unknown field `x`"), "{err}");
        let err = from_slice::<Outer>(br#"{"inner": {"n": 1}} trailing"#).unwrap_err();
        assert!(err.contains("trailing"), "{err}");
        assert_eq!(
            from_slice::<Outer>(br#"{"inner": {"n": 1}}"#)
                .unwrap()
                .inner
                .n,
            1
        );
    }
}
