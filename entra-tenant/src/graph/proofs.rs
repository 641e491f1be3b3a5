//! addKey and removeKey: rolling an application's or service principal's certificates with a
//! proof of possession, a JWT that must be signed by a currently valid certificate of the
//! object itself (`aud` Azure AD Graph, `iss` the object id, at most ten minutes).

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::applications::find_application;
use super::auth::{Caller, Need, authorize};
use super::error::GraphError;
use super::keys::{self, key_credential_view};
use super::payload;
use super::request::{Context, Key, Outcome, Reply};
use super::service_principals::find_service_principal;
use crate::directory::{ASYMMETRIC_X509_CERT, KeyCredential, USAGE_VERIFY};
use crate::ids::{ObjectId, Thumbprint};
use crate::jose::{self, RsaAlgorithm};
use crate::status::Status;
use crate::tenant::Tenant;
use crate::x509::rsa_public_key;

/// The `aud` of every proof: Azure AD Graph's appId (not Microsoft Graph's).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// The longest proof lifetime (`exp - nbf`) Graph accepts.
pub const PROOF_MAX_LIFETIME: i64 = 600;
/// Clock skew allowed on a proof's `nbf` and `exp`.
pub const PROOF_SKEW: Duration = Duration::minutes(5);

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
        .ok_or(GraphError::Proof {
            reason: "the proof is missing",
        })?;
    let jws = jose::parse(proof.trim()).map_err(|_| GraphError::Proof {
        reason: "the proof is not a compact JWS",
    })?;
    let alg = RsaAlgorithm::from_header(jws.header.str("alg")).ok_or(GraphError::Proof {
        reason: "unsupported alg",
    })?;
    if jws.claims.str("aud") != Some(PROOF_AUDIENCE) {
        return Err(GraphError::Proof {
            reason: "aud is not 00000002-0000-0000-c000-000000000000",
        });
    }
    if !jws
        .claims
        .str("iss")
        .is_some_and(|i| i.eq_ignore_ascii_case(&object_id.to_string()))
    {
        return Err(GraphError::Proof {
            reason: "iss is not the object id",
        });
    }
    let key = credentials
        .iter()
        .filter(|k| proof_key(k, now))
        .find(|k| named_by(k, &jws.header))
        .ok_or(GraphError::Proof {
            reason: "no valid certificate of the object is named by x5t, x5t#S256 or kid",
        })?;
    let public = key
        .key
        .as_deref()
        .and_then(|der| rsa_public_key(der).ok())
        .ok_or(GraphError::Proof {
            reason: "the certificate has no RSA key",
        })?;
    if !alg.verify(
        &public.pkcs1_der,
        jws.signing_input.as_bytes(),
        &jws.signature,
    ) {
        return Err(GraphError::Proof {
            reason: "the signature does not verify",
        });
    }
    let date = |name| jws.claims.get(name).and_then(jose::numeric_date);
    let (Some(nbf), Some(exp)) = (date("nbf"), date("exp")) else {
        return Err(GraphError::Proof {
            reason: "nbf and exp are required NumericDates",
        });
    };
    if exp - nbf > PROOF_MAX_LIFETIME as f64 || exp <= nbf {
        return Err(GraphError::Proof {
            reason: "exp - nbf exceeds 10 minutes",
        });
    }
    let now_s = now.unix_timestamp() as f64;
    let skew = PROOF_SKEW.whole_seconds() as f64;
    if now_s < nbf - skew || now_s >= exp + skew {
        return Err(GraphError::Proof {
            reason: "the proof is expired or not yet valid",
        });
    }
    Ok(())
}

/// Which object an addKey/removeKey acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    Application,
    ServicePrincipal,
}

/// The object's id and credentials, after checking the caller may roll its keys.
fn key_owner(
    t: &Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
) -> Result<(ObjectId, Vec<KeyCredential>), GraphError> {
    match owner {
        KeyOwner::Application => {
            let a = find_application(t, key)?;
            authorize(t, caller, Need::RollApplicationKey(a))?;
            Ok((a.id, a.key_credentials.clone()))
        }
        KeyOwner::ServicePrincipal => {
            let s = find_service_principal(t, key)?;
            authorize(t, caller, Need::RollServicePrincipalKey(s))?;
            Ok((s.id, s.key_credentials.clone()))
        }
    }
}

fn credentials_mut(
    t: &mut Tenant,
    owner: KeyOwner,
    id: ObjectId,
) -> Option<&mut Vec<KeyCredential>> {
    match owner {
        KeyOwner::Application => t
            .directory
            .application_mut(id)
            .map(|a| &mut a.key_credentials),
        KeyOwner::ServicePrincipal => t
            .directory
            .service_principal_mut(id)
            .map(|s| &mut s.key_credentials),
    }
}

/// The object `addKey`/`removeKey` act on and its credentials, once the body's proof of
/// possession is verified against that object's current certificates.
struct ProvenOwner<'b> {
    id: ObjectId,
    credentials: Vec<KeyCredential>,
    body: &'b Map<String, Value>,
}

fn proven_owner<'b>(
    t: &Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
    body: &'b Value,
) -> Result<ProvenOwner<'b>, GraphError> {
    let (id, creds) = key_owner(t, caller, owner, key)?;
    let obj = payload::object(body)?;
    verify_proof(
        t.now(),
        id,
        &creds,
        obj.get("proof").and_then(Value::as_str),
    )?;
    Ok(ProvenOwner {
        id,
        credentials: creds,
        body: obj,
    })
}

/// Which way a key is rolled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Roll {
    /// `addKey`: a new certificate.
    Add,
    /// `removeKey`: a credential goes, by `keyId`.
    Remove,
}

/// `addKey` or `removeKey` on the object `key` names, once the caller may roll its keys and the
/// body's proof is signed by one of its current certificates.
pub fn roll_key(
    t: &mut Tenant,
    caller: &Caller,
    owner: KeyOwner,
    key: &Key,
    body: &Value,
    roll: Roll,
) -> Outcome {
    let proven = proven_owner(t, caller, owner, key, body)?;
    match roll {
        Roll::Add => add_key(t, owner, proven),
        Roll::Remove => remove_key(t, owner, proven),
    }
}

/// `addKey`: the new certificate of the body.
fn add_key(t: &mut Tenant, owner: KeyOwner, proven: ProvenOwner<'_>) -> Outcome {
    let ProvenOwner { id, body: obj, .. } = proven;
    if obj.get("passwordCredential").is_some_and(|p| !p.is_null()) {
        return Err(GraphError::AddKeyPasswordCredential);
    }
    let credential = keys::add_key_credential(obj.get("keyCredential").unwrap_or(&Value::Null))?;
    let view = key_credential_view(&credential, false);
    if let Some(list) = credentials_mut(t, owner, id) {
        list.push(credential);
    }
    Ok(Reply::Entity {
        status: Status::Ok,
        context: Context::KeyCredential,
        object: view,
    })
}

/// `removeKey`: the credential the body names by `keyId` goes.
fn remove_key(t: &mut Tenant, owner: KeyOwner, proven: ProvenOwner<'_>) -> Outcome {
    let ProvenOwner {
        id,
        credentials: creds,
        body: obj,
    } = proven;
    let key_id_text = obj
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or(GraphError::RequiredProperty { property: "keyId" })?;
    let key_id = Uuid::parse_str(key_id_text.trim())
        .map_err(|_| GraphError::invalid_because("keyId", format!("'{key_id_text}'.")))?;
    if !creds.iter().any(|k| k.key_id == key_id) {
        return Err(GraphError::not_found(key_id));
    }
    if let Some(list) = credentials_mut(t, owner, id) {
        list.retain(|k| k.key_id != key_id);
    }
    Ok(Reply::NoContent)
}
