//! Certificate credentials as Graph takes them: validation of `keyCredentials` (PATCH of the
//! whole collection, and the one credential of addKey), and the proof-of-possession JWT that
//! addKey and removeKey demand (signed by a currently valid certificate of the object itself).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::super::directory::{ASYMMETRIC_X509_CERT, KeyCredential, USAGE_VERIFY};
use super::super::ids::{ObjectId, Thumbprint};
use super::super::jose::{self, RsaAlgorithm};
use super::super::x509::rsa_public_key;
use super::GraphError;

/// The `aud` of every proof: Azure AD Graph's appId (not Microsoft Graph's).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// The longest proof lifetime (`exp - nbf`) Graph accepts.
pub const PROOF_MAX_LIFETIME: i64 = 600;
/// Clock skew allowed on a proof's `nbf` and `exp`.
pub const PROOF_SKEW: Duration = Duration::minutes(5);

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

/// (type, usages) pairs Graph accepts.
const TYPE_USAGE: &[(&str, &[&str])] = &[
    (ASYMMETRIC_X509_CERT, &["Verify", "Encrypt"]),
    ("X509CertAndPassword", &["Sign"]),
    ("Symmetric", &["Sign", "Verify"]),
];

fn bad(message: &str) -> GraphError {
    GraphError::BadRequest(message.to_string())
}

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
    let invalid = |why: &str| {
        bad(&format!(
            "Invalid value specified for property '{property}' of resource 'KeyCredential': {why}"
        ))
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
        .ok_or_else(|| bad("The property 'type' is required on a key credential."))?;
    let usage = input
        .usage
        .ok_or_else(|| bad("The property 'usage' is required on a key credential."))?;
    let Some((_, usages)) = TYPE_USAGE.iter().find(|(t, _)| *t == key_type) else {
        return Err(bad(
            "The value for the property \"type\" in one of your credentials is invalid. Acceptable values are AsymmetricX509Cert, X509CertAndPassword, Symmetric.",
        ));
    };
    if !usages.contains(&usage.as_str()) {
        return Err(bad(&format!(
            "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are {}.",
            usages.join(", ")
        )));
    }
    let key_text = input
        .key
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| bad("The property 'key' is required on a key credential."))?;
    let cleaned: String = key_text.chars().filter(|c| !c.is_whitespace()).collect();
    let raw = STANDARD
        .decode(cleaned)
        .map_err(|_| bad("Key credential key is not valid base64."))?;
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
                .map_err(|_| bad("Key credential customKeyIdentifier is not valid base64."))
        })
        .transpose()?;

    let (der, start, end, subject) = if key_type == "Symmetric" {
        let start = start.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let end = end.ok_or_else(|| bad("Key credential end date is invalid."))?;
        (raw, start, end, None)
    } else {
        let cert = certificate_info(&raw)
            .ok_or_else(|| bad("Key credential key is not a valid certificate."))?;
        let start = start.unwrap_or(cert.not_before);
        let end = end.unwrap_or(cert.not_after);
        if start < cert.not_before {
            return Err(bad("Key credential start date is invalid."));
        }
        if end > cert.not_after {
            return Err(bad("Key credential end date is invalid."));
        }
        (cert.der, start, end, Some(cert.subject))
    };
    if end <= start {
        return Err(bad("Key credential end date is invalid."));
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
    serde_json::from_value(v.clone()).map_err(|e| {
        GraphError::OData(format!(
            "Invalid key credential in the request payload: {e}"
        ))
    })
}

/// The new `keyCredentials` collection of a PATCH. Credentials that name an existing `keyId`
/// keep what is stored (clients resend them with `key` null, as GET gave it); the rest are new.
pub fn replace_collection(
    input: &Value,
    existing: &[KeyCredential],
) -> Result<Vec<KeyCredential>, GraphError> {
    let items = input.as_array().ok_or_else(|| {
        GraphError::OData("The property 'keyCredentials' must be an array.".into())
    })?;
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
                    return Err(bad(
                        "Update to existing credential with KeyId is not allowed.",
                    ));
                }
                old.clone()
            }
            None => new_credential(parsed)?,
        };
        if out.iter().any(|k| k.key_id == credential.key_id) {
            return Err(bad(&format!(
                "The keyId '{}' is used by more than one key credential.",
                credential.key_id
            )));
        }
        out.push(credential);
    }
    Ok(out)
}

/// The credential of an addKey request (`keyId` is Graph's to choose).
pub fn add_key_credential(input: &Value) -> Result<KeyCredential, GraphError> {
    if !input.is_object() {
        return Err(bad("The property 'keyCredential' is required."));
    }
    let mut parsed = parse_input(input)?;
    parsed.key_id = None;
    new_credential(parsed)
}

/// Whether a credential can sign proofs: a certificate for `Verify` (or a certificate with
/// password for `Sign`) that is valid now.
fn proof_key(k: &KeyCredential, now: OffsetDateTime) -> bool {
    let kind = (k.key_type == ASYMMETRIC_X509_CERT && k.usage == USAGE_VERIFY)
        || (k.key_type == "X509CertAndPassword" && k.usage == "Sign");
    kind && k.key.is_some() && k.is_valid_at(now)
}

/// Whether `k`'s certificate is the one a proof's header names by `x5t#S256`, `x5t` or `kid`
/// (hex SHA-1 thumbprint, as Microsoft.IdentityModel writes it, or an `x5t` value).
fn named_by(k: &KeyCredential, header: &jose::JsonObject) -> bool {
    let Some(der) = k.key.as_deref() else {
        return false;
    };
    if let Some(t) = header
        .get("x5t#S256")
        .and_then(|v| jose::thumbprint(v, true))
    {
        return Thumbprint::sha256_of(der) == t;
    }
    if let Some(t) = header.get("x5t").and_then(|v| jose::thumbprint(v, false)) {
        return Thumbprint::sha1_of(der) == t;
    }
    if let Some(kid) = header.get("kid") {
        let sha1 = Thumbprint::sha1_of(der);
        return kid
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(&sha1.to_hex()))
            || jose::thumbprint(kid, false).is_some_and(|t| t == sha1);
    }
    false
}

/// Verifies the proof of possession for addKey/removeKey on the object `object_id` whose
/// credentials are `credentials`. Order: the object must have a valid certificate; the proof
/// must parse, name Azure AD Graph as `aud` and the object as `iss`, be signed by one of the
/// object's valid certificates, live at most ten minutes and be current.
pub fn verify_proof(
    now: OffsetDateTime,
    object_id: ObjectId,
    credentials: &[KeyCredential],
    proof: Option<&str>,
) -> Result<(), GraphError> {
    if !credentials.iter().any(|k| proof_key(k, now)) {
        return Err(GraphError::NoValidCertificate);
    }
    let proof = proof
        .filter(|p| !p.trim().is_empty())
        .ok_or(GraphError::Proof("the proof is missing"))?;
    let jws = jose::parse(proof.trim())
        .map_err(|_| GraphError::Proof("the proof is not a compact JWS"))?;
    let alg = RsaAlgorithm::from_header(jws.header.str("alg"))
        .ok_or(GraphError::Proof("unsupported alg"))?;
    if jws.claims.str("aud") != Some(PROOF_AUDIENCE) {
        return Err(GraphError::Proof(
            "aud is not 00000002-0000-0000-c000-000000000000",
        ));
    }
    if !jws
        .claims
        .str("iss")
        .is_some_and(|i| i.eq_ignore_ascii_case(&object_id.to_string()))
    {
        return Err(GraphError::Proof("iss is not the object id"));
    }
    let key = credentials
        .iter()
        .filter(|k| proof_key(k, now))
        .find(|k| named_by(k, &jws.header))
        .ok_or(GraphError::Proof(
            "no valid certificate of the object is named by x5t, x5t#S256 or kid",
        ))?;
    let public = key
        .key
        .as_deref()
        .and_then(|der| rsa_public_key(der).ok())
        .ok_or(GraphError::Proof("the certificate has no RSA key"))?;
    if !alg.verify(
        &public.pkcs1_der,
        jws.signing_input.as_bytes(),
        &jws.signature,
    ) {
        return Err(GraphError::Proof("the signature does not verify"));
    }
    let date = |name| jws.claims.get(name).and_then(jose::numeric_date);
    let (Some(nbf), Some(exp)) = (date("nbf"), date("exp")) else {
        return Err(GraphError::Proof("nbf and exp are required NumericDates"));
    };
    if exp - nbf > PROOF_MAX_LIFETIME as f64 || exp <= nbf {
        return Err(GraphError::Proof("exp - nbf exceeds 10 minutes"));
    }
    let now_s = now.unix_timestamp() as f64;
    let skew = PROOF_SKEW.whole_seconds() as f64;
    if now_s < nbf - skew || now_s >= exp + skew {
        return Err(GraphError::Proof("the proof is expired or not yet valid"));
    }
    Ok(())
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
            assert_eq!(err.status(), 400, "{text}");
            assert!(
                err.message().contains("'startDateTime'"),
                "{text}: {}",
                err.message()
            );
        }
    }
}
