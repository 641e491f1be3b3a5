//! Certificate credentials as Graph takes them: validation of `keyCredentials` (PATCH of the
//! whole collection, and the one credential of addKey, with Graph's defaults), and how Graph
//! shows a credential (`key` only when asked for on a single object).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::error::GraphError;
use super::query::{Object, to_object};
use crate::directory::{ASYMMETRIC_X509_CERT, KeyCredential};
use crate::ids::Thumbprint;

/// A key credential as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyCredentialInput {
    #[serde(default)]
    key_id: Option<Uuid>,
    #[serde(default)]
    custom_key_identifier: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
    #[serde(default, rename = "type")]
    key_type: Option<String>,
    #[serde(default)]
    usage: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

/// A key credential as Graph shows it: `key` only when asked for on a single object.
pub fn key_credential_view(k: &KeyCredential, with_key: bool) -> Object {
    let mut o = to_object(k);
    if !with_key {
        o.insert("key".into(), Value::Null);
    }
    o
}

/// The `keyCredentials` of a rendered object as Graph shows them: `key` only when asked for.
pub fn hide_keys(o: &mut Object, with_keys: bool) {
    if with_keys {
        return;
    }
    if let Some(Value::Array(items)) = o.get_mut("keyCredentials") {
        for item in items {
            if let Some(k) = item.as_object_mut() {
                k.insert("key".into(), Value::Null);
            }
        }
    }
}

/// (type, usages) pairs Graph accepts.
const TYPE_USAGE: &[(&str, &[&str])] = &[
    (ASYMMETRIC_X509_CERT, &["Verify", "Encrypt"]),
    ("X509CertAndPassword", &["Sign"]),
    ("Symmetric", &["Sign", "Verify"]),
];

/// What the mock reads from a certificate.
pub struct CertificateInfo {
    pub der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub subject: String,
}

/// Reads a certificate given as DER, or as PEM text (some clients base64 the PEM file).
pub fn certificate_info(bytes: &[u8]) -> Option<CertificateInfo> {
    let der = if bytes.starts_with(b"-----BEGIN CERTIFICATE-----") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(bytes).ok()?;
        pem.contents
    } else {
        bytes.to_vec()
    };
    let (rest, cert) = X509Certificate::from_der(&der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let validity = cert.validity();
    let not_before = OffsetDateTime::from_unix_timestamp(validity.not_before.timestamp()).ok()?;
    let not_after = OffsetDateTime::from_unix_timestamp(validity.not_after.timestamp()).ok()?;
    let subject = cert.subject().to_string();
    Some(CertificateInfo {
        der,
        not_before,
        not_after,
        subject,
    })
}

/// The first and last instants of Edm.DateTimeOffset (.NET's DateTimeOffset, in UTC).
const FIRST_DATE: OffsetDateTime = time::macros::datetime!(0001-01-01 0:00 UTC);
const LAST_DATE: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.9999999 UTC);

/// A date property of a key credential, in UTC, as Graph stores and returns it.
fn parse_date(text: &str, property: &str) -> Result<OffsetDateTime, GraphError> {
    let t = text.trim();
    let invalid = |why: &str| GraphError::InvalidValue {
        property: property.to_string(),
        resource: Some("KeyCredential"),
        detail: Some(why.to_string()),
    };
    let parsed = OffsetDateTime::parse(t, &Rfc3339)
        .or_else(|_| {
            // Graph reads a date without an offset as UTC.
            PrimitiveDateTime::parse(t, &time::format_description::well_known::Iso8601::DEFAULT)
                .map(PrimitiveDateTime::assume_utc)
        })
        .map_err(|_| {
            invalid(&format!(
                "cannot convert the literal '{t}' to the expected type 'Edm.DateTimeOffset'."
            ))
        })?;
    // An offset can carry a date of the year 9999 (or 0) past the calendar's end in UTC.
    if parsed < FIRST_DATE || parsed > LAST_DATE {
        return Err(invalid(&format!(
            "'{t}' is outside the range of 'Edm.DateTimeOffset' (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)."
        )));
    }
    let utc = parsed
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| invalid("the date is out of range."))?;
    Ok(utc.replace_nanosecond(0).unwrap_or(utc))
}

/// Builds a new credential from what a client sent, with Graph's validation and defaults:
/// dates default to the certificate's validity and must lie within it, `customKeyIdentifier`
/// defaults to the SHA-1 thumbprint and `displayName` to the certificate's subject.
fn new_credential(input: KeyCredentialInput) -> Result<KeyCredential, GraphError> {
    let key_type = input
        .key_type
        .ok_or(GraphError::RequiredOnKeyCredential { property: "type" })?;
    let usage = input
        .usage
        .ok_or(GraphError::RequiredOnKeyCredential { property: "usage" })?;
    let Some((_, usages)) = TYPE_USAGE.iter().find(|(t, _)| *t == key_type) else {
        return Err(GraphError::InvalidKeyType);
    };
    if !usages.contains(&usage.as_str()) {
        return Err(GraphError::InvalidKeyUsage {
            acceptable: usages.join(", "),
        });
    }
    let key_text = input
        .key
        .filter(|k| !k.trim().is_empty())
        .ok_or(GraphError::RequiredOnKeyCredential { property: "key" })?;
    let cleaned: String = key_text.chars().filter(|c| !c.is_whitespace()).collect();
    let raw = STANDARD
        .decode(cleaned)
        .map_err(|_| GraphError::KeyNotBase64)?;
    let start = input
        .start_date_time
        .as_deref()
        .map(|t| parse_date(t, "startDateTime"))
        .transpose()?;
    let end = input
        .end_date_time
        .as_deref()
        .map(|t| parse_date(t, "endDateTime"))
        .transpose()?;
    let custom = input
        .custom_key_identifier
        .map(|c| {
            STANDARD
                .decode(c.trim())
                .map_err(|_| GraphError::CustomKeyIdentifierNotBase64)
        })
        .transpose()?;

    let (der, start, end, subject) = if key_type == "Symmetric" {
        let start = start.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let end = end.ok_or(GraphError::InvalidEndDate)?;
        (raw, start, end, None)
    } else {
        let cert = certificate_info(&raw).ok_or(GraphError::KeyNotACertificate)?;
        let start = start.unwrap_or(cert.not_before);
        let end = end.unwrap_or(cert.not_after);
        if start < cert.not_before {
            return Err(GraphError::InvalidStartDate);
        }
        if end > cert.not_after {
            return Err(GraphError::InvalidEndDate);
        }
        (cert.der, start, end, Some(cert.subject))
    };
    if end <= start {
        return Err(GraphError::InvalidEndDate);
    }
    let custom_key_identifier =
        custom.or_else(|| Some(Thumbprint::sha1_of(&der).as_bytes().to_vec()));
    Ok(KeyCredential {
        key_id: input.key_id.unwrap_or_else(Uuid::new_v4),
        custom_key_identifier,
        display_name: input.display_name.or(subject),
        start_date_time: start,
        end_date_time: end,
        key_type,
        usage,
        key: Some(der),
    })
}

fn parse_input(v: &Value) -> Result<KeyCredentialInput, GraphError> {
    serde_json::from_value(v.clone()).map_err(|e| GraphError::InvalidKeyCredential {
        detail: e.to_string(),
    })
}

/// The new `keyCredentials` collection of a PATCH. Credentials that name an existing `keyId`
/// keep what is stored (clients resend them with `key` null, as GET gave it); the rest are new.
pub fn replace_collection(
    input: &Value,
    existing: &[KeyCredential],
) -> Result<Vec<KeyCredential>, GraphError> {
    let items = input.as_array().ok_or(GraphError::KeyCredentialsNotArray)?;
    let mut out: Vec<KeyCredential> = Vec::new();
    for item in items {
        let parsed = parse_input(item)?;
        let kept = parsed
            .key_id
            .and_then(|id| existing.iter().find(|k| k.key_id == id));
        let credential = match kept {
            Some(old) => {
                let resent = parsed
                    .key
                    .as_deref()
                    .map(|k| STANDARD.decode(k.trim()).ok());
                if let Some(new) = resent
                    && new.as_deref() != old.key.as_deref()
                {
                    return Err(GraphError::KeyChanged);
                }
                old.clone()
            }
            None => new_credential(parsed)?,
        };
        if out.iter().any(|k| k.key_id == credential.key_id) {
            return Err(GraphError::DuplicateKeyId {
                key_id: credential.key_id,
            });
        }
        out.push(credential);
    }
    Ok(out)
}

/// The credential of an addKey request (`keyId` is Graph's to choose).
pub fn add_key_credential(input: &Value) -> Result<KeyCredential, GraphError> {
    if !input.is_object() {
        return Err(GraphError::RequiredProperty {
            property: "keyCredential",
        });
    }
    let mut parsed = parse_input(input)?;
    parsed.key_id = None;
    new_credential(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_are_utc_within_the_edm_range_and_refusals_name_the_property() {
        let ok = [
            ("2030-01-01T00:00:00Z", datetime!(2030-01-01 0:00 UTC)),
            ("2030-01-01T01:00:00+01:00", datetime!(2030-01-01 0:00 UTC)),
            ("2030-01-01T00:00:00", datetime!(2030-01-01 0:00 UTC)),
            ("0001-01-01T00:00:00Z", datetime!(0001-01-01 0:00 UTC)),
            ("9999-12-31T23:59:59Z", datetime!(9999-12-31 23:59:59 UTC)),
        ];
        for (text, want) in ok {
            let got = parse_date(text, "endDateTime").unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.offset(), time::UtcOffset::UTC, "{text}");
        }
        for text in [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-00:01",
            "0001-01-01T00:00:00+00:01",
            "-5000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "99999999999",
            "soon",
        ] {
            let err = parse_date(text, "startDateTime").unwrap_err();
            assert_eq!(err.status(), crate::status::Status::BadRequest, "{text}");
            assert!(
                err.message().contains("'startDateTime'"),
                "{text}: {}",
                err.message()
            );
        }
    }
}
