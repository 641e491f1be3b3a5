//! A tenant's token-signing key: an RSA-2048 key with a self-signed certificate, published in
//! the JWKS with `kid` = `x5t` (base64url SHA-1 of the certificate), as Entra publishes its own.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::directory::base64_bytes;
use crate::ids::Thumbprint;
use crate::x509::rsa_public_key;

/// The signing key of a tenant.
pub struct SigningKey {
    key_pair: KeyPair,
    pkcs8_der: Vec<u8>,
    certificate_der: Vec<u8>,
    kid: String,
    /// PKCS#1 public key, for verifying the tokens this key signed.
    public_pkcs1: Vec<u8>,
    modulus_b64: String,
    exponent_b64: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// How a snapshot keeps the signing key, so a replayed tenant signs with the same key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyFixture {
    #[serde(with = "base64_bytes")]
    pub private_key_pkcs8: Option<Vec<u8>>,
    #[serde(with = "base64_bytes")]
    pub certificate: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
    #[error("the signing key in the fixture is unusable: {0}")]
    Invalid(String),
}

impl SigningKey {
    /// A fresh RSA-2048 key and a self-signed certificate for it.
    pub fn generate() -> Result<Self, SigningKeyError> {
        let key_pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| SigningKeyError::Generate(e.to_string()))?;
        let pkcs8 = key_pair
            .as_der()
            .map_err(|e| SigningKeyError::Generate(e.to_string()))?;
        let pkcs8_der = pkcs8.as_ref().to_vec();
        let certificate_der = self_signed_certificate(&pkcs8_der)?;
        Self::from_parts(pkcs8_der, certificate_der)
    }

    pub fn from_fixture(f: &SigningKeyFixture) -> Result<Self, SigningKeyError> {
        match (&f.private_key_pkcs8, &f.certificate) {
            (Some(k), Some(c)) => Self::from_parts(k.clone(), c.clone()),
            _ => Err(SigningKeyError::Invalid(
                "both privateKeyPkcs8 and certificate are needed".into(),
            )),
        }
    }

    pub fn to_fixture(&self) -> SigningKeyFixture {
        SigningKeyFixture {
            private_key_pkcs8: Some(self.pkcs8_der.clone()),
            certificate: Some(self.certificate_der.clone()),
        }
    }

    fn from_parts(pkcs8_der: Vec<u8>, certificate_der: Vec<u8>) -> Result<Self, SigningKeyError> {
        let key_pair =
            KeyPair::from_pkcs8(&pkcs8_der).map_err(|e| SigningKeyError::Invalid(e.to_string()))?;
        let public = rsa_public_key(&certificate_der)
            .map_err(|e| SigningKeyError::Invalid(e.to_string()))?;
        let kid = URL_SAFE_NO_PAD.encode(Thumbprint::sha1_of(&certificate_der).as_bytes());
        Ok(SigningKey {
            key_pair,
            pkcs8_der,
            certificate_der,
            kid,
            public_pkcs1: public.pkcs1_der.clone(),
            modulus_b64: URL_SAFE_NO_PAD.encode(&public.modulus),
            exponent_b64: URL_SAFE_NO_PAD.encode(&public.exponent),
        })
    }

    /// The key id: base64url SHA-1 of the certificate, also the `x5t`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact RS256 JWT over `claims`, with the header Entra's v1 tokens carry.
    pub fn sign_jwt(&self, claims: &impl Serialize) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid});
        // Claims are structs of strings, numbers and ids: JSON holds them all.
        let claims = serde_json::to_string(claims).expect("claims are JSON");
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // Signing with a valid in-memory RSA key cannot fail short of memory exhaustion.
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a loaded key");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Whether `signature` is this key's RS256 signature over `signing_input`: how Graph and
    /// the service models check the bearer tokens this tenant issued.
    pub fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        crate::jose::RsaAlgorithm::Rs256.verify(&self.public_pkcs1, signing_input, signature)
    }

    /// The key as a JWK, the way Entra lists it in `discovery/keys`.
    pub fn jwk(&self, issuer: &str) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.modulus_b64,
            "e": self.exponent_b64,
            "x5c": [STANDARD.encode(&self.certificate_der)],
            "issuer": issuer,
        })
    }
}

fn self_signed_certificate(pkcs8_der: &[u8]) -> Result<Vec<u8>, SigningKeyError> {
    let invalid = |e: rcgen::Error| SigningKeyError::Generate(e.to_string());
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8_der.to_vec()),
        &rcgen::PKCS_RSA_SHA256,
    )
    .map_err(invalid)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    // The subject Entra's own token-signing certificates carry.
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "accounts.accesscontrol.windows.net",
    );
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 12, 31);
    params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>() >> 1));
    Ok(params.self_signed(&key).map_err(invalid)?.der().to_vec())
}
