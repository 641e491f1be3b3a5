//! Parsing compact JWS tokens (client assertions, addKey proofs, bearer tokens) the strict way
//! a security token service must, and tolerant where real clients differ: NumericDates as
//! integers, floats or numeric strings; thumbprints in base64url or base64, padded or not.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::ids::Thumbprint;

/// Why a token is not a well-formed JWS. Every variant becomes "invalid or malformed".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedJws {
    #[error("the token does not have three dot-separated parts")]
    NotThreeParts,
    #[error("the {0} is not unpadded base64url")]
    BadEncoding(&'static str),
    #[error("the {0} is not a JSON object")]
    NotJsonObject(&'static str),
    #[error("the {0} names `{1}` twice")]
    DuplicateMember(&'static str, String),
}

/// A JSON object whose members appear once each (a duplicated claim is an attack surface).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonObject(pub BTreeMap<String, Value>);

impl<'de> serde::Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if out.contains_key(&k) {
                        return Err(de::Error::custom(format!("duplicate:{k}")));
                    }
                    out.insert(k, v);
                }
                Ok(JsonObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonObject {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
}

/// A parsed compact JWS. The signature is not checked yet.
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub signing_input: &'a str,
    pub header: JsonObject,
    pub claims: JsonObject,
    pub signature: Vec<u8>,
}

pub fn parse(token: &str) -> Result<Jws<'_>, MalformedJws> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MalformedJws::NotThreeParts);
    };
    let header = decode_object(h, "header")?;
    let claims = decode_object(p, "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| MalformedJws::BadEncoding("signature"))?;
    Ok(Jws {
        signing_input: &token[..h.len() + 1 + p.len()],
        header,
        claims,
        signature,
    })
}

fn decode_object(segment: &str, what: &'static str) -> Result<JsonObject, MalformedJws> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| MalformedJws::BadEncoding(what))?;
    serde_json::from_slice::<JsonObject>(&bytes).map_err(|e| {
        let text = e.to_string();
        match text.strip_prefix("duplicate:") {
            Some(rest) => MalformedJws::DuplicateMember(
                what,
                rest.split(" at line").next().unwrap_or(rest).to_string(),
            ),
            None => MalformedJws::NotJsonObject(what),
        }
    })
}

/// The two signature algorithms Entra accepts for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaAlgorithm {
    Rs256,
    Ps256,
}

impl RsaAlgorithm {
    pub fn from_header(alg: Option<&str>) -> Option<Self> {
        match alg {
            Some("RS256") => Some(Self::Rs256),
            Some("PS256") => Some(Self::Ps256),
            _ => None,
        }
    }

    /// Whether `signature` over `message` verifies under the PKCS#1 RSA public key.
    pub fn verify(self, pkcs1_public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let alg: &'static dyn signature::VerificationAlgorithm = match self {
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, pkcs1_public_key)
            .verify(message, signature)
            .is_ok()
    }
}

/// A NumericDate as seconds since the epoch. MSAL.NET sends strings, MSAL Python floats.
pub fn numeric_date(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Reads a thumbprint header value (`x5t` or `x5t#S256`). Clients send base64url or standard
/// base64, with or without `=` padding; anything that does not decode to a digest of the right
/// length is no thumbprint at all.
pub fn thumbprint(value: &Value, sha256: bool) -> Option<Thumbprint> {
    let text = value.as_str()?.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()?;
    if sha256 {
        Some(Thumbprint::Sha256(bytes.try_into().ok()?))
    } else {
        Some(Thumbprint::Sha1(bytes.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    #[test]
    fn parses_a_compact_jws() {
        let token = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"iss":"x"}"#),
            b64("sig")
        );
        let jws = parse(&token).unwrap();
        assert_eq!(jws.header.str("alg"), Some("RS256"));
        assert_eq!(jws.claims.str("iss"), Some("x"));
        assert_eq!(jws.signature, b"sig");
        assert!(token.starts_with(jws.signing_input));
    }

    #[test]
    fn rejects_malformed_tokens() {
        let cases: &[(String, MalformedJws)] = &[
            ("a.b".into(), MalformedJws::NotThreeParts),
            ("a.b.c.d".into(), MalformedJws::NotThreeParts),
            (
                format!("{}=.{}.", b64("{}"), b64("{}")),
                MalformedJws::BadEncoding("header"),
            ),
            (
                format!("{}.{}.", b64("[1]"), b64("{}")),
                MalformedJws::NotJsonObject("header"),
            ),
            (
                format!("{}.{}.", b64("{}"), b64(r#"{"aud":"a","aud":"b"}"#)),
                MalformedJws::DuplicateMember("payload", "aud".into()),
            ),
            (
                format!("{}.{}.%%", b64("{}"), b64("{}")),
                MalformedJws::BadEncoding("signature"),
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(parse(token).unwrap_err(), *expected, "{token}");
        }
    }

    #[test]
    fn numeric_dates_in_every_client_form() {
        assert_eq!(numeric_date(&json!(1700000000)), Some(1700000000.0));
        assert_eq!(numeric_date(&json!(1700000000.25)), Some(1700000000.25));
        assert_eq!(numeric_date(&json!("1700000000")), Some(1700000000.0));
        assert_eq!(numeric_date(&json!("soon")), None);
        assert_eq!(numeric_date(&json!(null)), None);
    }

    #[test]
    fn thumbprints_padded_unpadded_and_standard_base64() {
        let digest = [0xfbu8; 20];
        let url = URL_SAFE_NO_PAD.encode(digest);
        let padded = format!("{url}=");
        let standard = base64::engine::general_purpose::STANDARD.encode(digest);
        for form in [url, padded, standard] {
            assert_eq!(
                thumbprint(&json!(form), false),
                Some(Thumbprint::Sha1(digest)),
                "{form}"
            );
        }
        assert_eq!(
            thumbprint(&json!(URL_SAFE_NO_PAD.encode(digest)), true),
            None
        );
        assert_eq!(thumbprint(&json!(42), false), None);
    }
}
