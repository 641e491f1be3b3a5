//! Client assertions (RFC 7523 JWTs that prove possession of the certificate's key to the token
//! endpoint) and the proof-of-possession tokens Graph's addKey/removeKey demand. The JWS is
//! assembled by hand over a [`Signer`]: unpadded base64url header and claims, SHA-256, sign.
//!
//! Defaults follow MSAL.NET against Entra: PS256 with `x5t#S256`, header exactly
//! `{"alg","typ","x5t#S256"}`, claims aud, iss, sub, jti, nbf, exp (no iat), 10 minutes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::clock::Clock;
use crate::ids::{ClientId, ObjectId};
use crate::keys::{KeyError, SignatureScheme, Signer, sign_message};

/// Lifetime of assertions and proofs: MSAL's 600 s, the documented proof maximum.
pub const LIFETIME: time::Duration = time::Duration::minutes(10);

/// The audience Graph requires in addKey/removeKey proofs (the AAD Graph application id).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// Signature algorithm and certificate reference of a client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionAlgorithm {
    /// PS256 with `x5t#S256` (SHA-256 of the certificate): current MSAL and Entra docs.
    #[default]
    Ps256,
    /// RS256 with `x5t` (SHA-1 of the certificate): the older form, still accepted.
    Rs256,
}

#[derive(Serialize)]
struct Ps256Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
}

#[derive(Serialize)]
struct Rs256Header<'a> {
    alg: &'static str,
    typ: &'static str,
    x5t: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    exp: i64,
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    aud: &'static str,
    iss: &'a str,
    nbf: i64,
    exp: i64,
}

/// Builds a client assertion for `client_id` at the token endpoint `audience` (the exact URL
/// the request is posted to), valid from the clock's now for [`LIFETIME`].
pub fn client_assertion(
    signer: &dyn Signer,
    certificate: &Certificate,
    client_id: &ClientId,
    audience: &str,
    algorithm: AssertionAlgorithm,
    clock: &dyn Clock,
) -> Result<String, KeyError> {
    let (nbf, exp) = window(clock.now());
    let claims = AssertionClaims {
        aud: audience,
        iss: client_id.as_str(),
        sub: client_id.as_str(),
        jti: uuid::Uuid::new_v4().to_string(),
        nbf,
        exp,
    };
    match algorithm {
        AssertionAlgorithm::Ps256 => {
            let x5t_s256 = B64URL.encode(certificate.sha256());
            let header = Ps256Header {
                alg: "PS256",
                typ: "JWT",
                x5t_s256: &x5t_s256,
            };
            jws(signer, &header, &claims, SignatureScheme::RsaPssSha256)
        }
        AssertionAlgorithm::Rs256 => {
            let x5t = B64URL.encode(certificate.sha1());
            let header = Rs256Header {
                alg: "RS256",
                typ: "JWT",
                x5t: &x5t,
                kid: None,
            };
            jws(signer, &header, &claims, SignatureScheme::RsaPkcs1Sha256)
        }
    }
}

/// Builds the proof for Graph addKey/removeKey on the object `object_id` (the application's
/// or service principal's object id, not its appId), signed with one of its current keys:
/// RS256 with `x5t` and `kid` (hex thumbprint), as Microsoft.IdentityModel produces it.
pub fn proof_of_possession(
    signer: &dyn Signer,
    certificate: &Certificate,
    object_id: &ObjectId,
    clock: &dyn Clock,
) -> Result<String, KeyError> {
    let (nbf, exp) = window(clock.now());
    let x5t = B64URL.encode(certificate.sha1());
    let kid = certificate.thumbprint();
    let header = Rs256Header {
        alg: "RS256",
        typ: "JWT",
        x5t: &x5t,
        kid: Some(kid.as_str()),
    };
    let claims = ProofClaims {
        aud: PROOF_AUDIENCE,
        iss: object_id.as_str(),
        nbf,
        exp,
    };
    jws(signer, &header, &claims, SignatureScheme::RsaPkcs1Sha256)
}

fn window(now: OffsetDateTime) -> (i64, i64) {
    let nbf = now.unix_timestamp();
    (nbf, nbf + LIFETIME.whole_seconds())
}

fn jws(
    signer: &dyn Signer,
    header: &impl Serialize,
    claims: &impl Serialize,
    scheme: SignatureScheme,
) -> Result<String, KeyError> {
    let signing_input = format!("{}.{}", b64_json(header)?, b64_json(claims)?);
    let signature = sign_message(signer, signing_input.as_bytes(), scheme)?;
    Ok(format!("{signing_input}.{}", B64URL.encode(signature)))
}

fn b64_json(value: &impl Serialize) -> Result<String, KeyError> {
    // These plain structs always serialise; the error path exists to avoid an unwrap.
    serde_json::to_vec(value)
        .map(|json| B64URL.encode(json))
        .map_err(|e| KeyError::InvalidKeyRef(format!("JWT encoding: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CertificateRequest, self_signed};
    use crate::clock::FixedClock;
    use crate::keys::SoftwareKeyStore;
    use time::macros::datetime;

    fn split(jwt: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>, String) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(!jwt.contains('='), "padding in {jwt}");
        let json = |s: &str| serde_json::from_slice(&B64URL.decode(s).unwrap()).unwrap();
        (
            json(parts[0]),
            json(parts[1]),
            B64URL.decode(parts[2]).unwrap(),
            format!("{}.{}", parts[0], parts[1]),
        )
    }

    #[test]
    fn ps256_assertion_has_exactly_msal_header_and_claims_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKeyStore::new(dir.path()).create().unwrap();
        let now = datetime!(2026-02-02 10:00 UTC);
        let cert = self_signed(
            &key,
            &CertificateRequest::managed(now, time::Duration::days(9)),
        )
        .unwrap();
        let clock = FixedClock::new(now);
        let aud = "https://login.example/tenant/oauth2/v2.0/token";
        let jwt = client_assertion(
            &key,
            &cert,
            &"app-1".into(),
            aud,
            AssertionAlgorithm::Ps256,
            &clock,
        )
        .unwrap();
        let (header, claims, sig, input) = split(&jwt);
        let raw_header = B64URL.decode(jwt.split('.').next().unwrap()).unwrap();
        let expected = format!(
            r#"{{"alg":"PS256","typ":"JWT","x5t#S256":"{}"}}"#,
            B64URL.encode(cert.sha256())
        );
        assert_eq!(String::from_utf8(raw_header).unwrap(), expected);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(claims["aud"], aud);
        assert_eq!(claims["iss"], "app-1");
        assert_eq!(claims["sub"], "app-1");
        assert_eq!(claims["nbf"], now.unix_timestamp());
        assert_eq!(claims["exp"], now.unix_timestamp() + 600);
        assert!(claims.get("iat").is_none());
        uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).unwrap();
        key.public_key()
            .verify(SignatureScheme::RsaPssSha256, input.as_bytes(), &sig)
            .unwrap();

        let again = client_assertion(
            &key,
            &cert,
            &"app-1".into(),
            aud,
            AssertionAlgorithm::Ps256,
            &clock,
        )
        .unwrap();
        assert_ne!(split(&again).1["jti"], claims["jti"]);
    }

    #[test]
    fn rs256_assertion_and_proof_use_x5t_and_pkcs1() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKeyStore::new(dir.path()).create().unwrap();
        let now = datetime!(2026-02-02 10:00 UTC);
        let cert = self_signed(
            &key,
            &CertificateRequest::managed(now, time::Duration::days(9)),
        )
        .unwrap();
        let clock = FixedClock::new(now);
        let jwt = client_assertion(
            &key,
            &cert,
            &"app-1".into(),
            "aud",
            AssertionAlgorithm::Rs256,
            &clock,
        )
        .unwrap();
        let (header, _, sig, input) = split(&jwt);
        assert_eq!(
            header,
            serde_json::json!({"alg":"RS256","typ":"JWT","x5t": B64URL.encode(cert.sha1())})
        );
        key.public_key()
            .verify(SignatureScheme::RsaPkcs1Sha256, input.as_bytes(), &sig)
            .unwrap();

        let proof = proof_of_possession(&key, &cert, &"obj-9".into(), &clock).unwrap();
        let (header, claims, sig, input) = split(&proof);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], cert.thumbprint().as_str());
        assert_eq!(header["x5t"], B64URL.encode(cert.sha1()));
        assert_eq!(
            claims,
            serde_json::json!({"aud": PROOF_AUDIENCE, "iss": "obj-9",
                "nbf": now.unix_timestamp(), "exp": now.unix_timestamp() + 600})
        );
        key.public_key()
            .verify(SignatureScheme::RsaPkcs1Sha256, input.as_bytes(), &sig)
            .unwrap();
    }
}
