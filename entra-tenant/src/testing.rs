//! Test support (the `testing` feature): a software certificate, and client assertions signed
//! with it in whatever shape a test wants (every header and claim can be changed), so the token
//! endpoint's rules can be exercised one by one. The one test certificate of every crate's
//! tests and of the fuzz targets. This is not the client: the real client builds its assertions
//! in `adsync-client`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::ids::Thumbprint;

/// The signature an assertion carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Ps256,
}

/// An RSA-2048 key and a self-signed certificate for it.
pub struct TestCertificate {
    key: KeyPair,
    pub der: Vec<u8>,
}

impl TestCertificate {
    /// A new key and certificate valid from `not_before` to `not_after`.
    pub fn generate(not_before: OffsetDateTime, not_after: OffsetDateTime) -> anyhow::Result<Self> {
        Self::generate_named("mock-graph test certificate", not_before, not_after)
    }

    /// [`TestCertificate::generate`] with `CN={common_name}` as subject (Graph shows it as a new
    /// keyCredential's default `displayName`).
    pub fn generate_named(
        common_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let key = KeyPair::generate(KeySize::Rsa2048)?;
        let pkcs8 = key.as_der()?;
        let rcgen_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec()),
            &rcgen::PKCS_RSA_SHA256,
        )?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>() >> 1));
        let der = params.self_signed(&rcgen_key)?.der().to_vec();
        Ok(TestCertificate { key, der })
    }

    /// A certificate (DER) and its PKCS#8 private key (DER).
    pub fn from_der(der: Vec<u8>, private_key_pkcs8: &[u8]) -> anyhow::Result<Self> {
        let key = KeyPair::from_pkcs8(private_key_pkcs8)?;
        Ok(TestCertificate { key, der })
    }

    /// A certificate and its PKCS#8 private key, both PEM (such as `fixtures/keys/*.pem`).
    pub fn from_pem(certificate_pem: &str, private_key_pem: &str) -> anyhow::Result<Self> {
        let der = pem_body(certificate_pem, "CERTIFICATE")?;
        Self::from_der(der, &pem_body(private_key_pem, "PRIVATE KEY")?)
    }

    /// The private key as PKCS#8 DER.
    pub fn private_key_pkcs8(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.key.as_der()?.as_ref().to_vec())
    }

    /// The private key as PKCS#8 PEM, for handing to other clients (MSAL) in tests.
    pub fn private_key_pem(&self) -> anyhow::Result<String> {
        Ok(pem("PRIVATE KEY", &self.private_key_pkcs8()?))
    }

    pub fn certificate_pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// base64url SHA-1 of the certificate: the `x5t` header.
    pub fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(Thumbprint::sha1_of(&self.der).as_bytes())
    }

    /// base64url SHA-256 of the certificate: the `x5t#S256` header.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Thumbprint::sha256_of(&self.der).as_bytes())
    }

    /// Uppercase hex SHA-1, as Entra prints it.
    pub fn sha1_hex(&self) -> String {
        Thumbprint::sha1_of(&self.der).to_hex()
    }

    pub fn x5c(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// The header MSAL.NET sends for `alg`.
    pub fn header(&self, alg: Alg) -> Value {
        match alg {
            Alg::Rs256 => json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t()}),
            Alg::Ps256 => json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.x5t_s256()}),
        }
    }

    /// Claims of a valid assertion for `client_id` posted to `audience` at `now`.
    pub fn claims(client_id: &str, audience: &str, now: OffsetDateTime) -> Value {
        let t = now.unix_timestamp();
        json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": t,
            "iat": t,
            "exp": t + 600,
        })
    }

    /// Signs `header` and `claims` as given, with `alg`'s padding whatever the header says.
    pub fn sign(&self, header: &Value, claims: &Value, alg: Alg) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(self.sign_bytes(input.as_bytes(), alg))
        )
    }

    /// A valid assertion in MSAL.NET's shape.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
        alg: Alg,
    ) -> String {
        self.sign(
            &self.header(alg),
            &Self::claims(client_id, audience, now),
            alg,
        )
    }

    pub fn sign_bytes(&self, message: &[u8], alg: Alg) -> Vec<u8> {
        let padding: &'static dyn RsaEncoding = match alg {
            Alg::Rs256 => &RSA_PKCS1_SHA256,
            Alg::Ps256 => &RSA_PSS_SHA256,
        };
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key
            .sign(padding, &rng, message, &mut sig)
            .expect("RSA signing with a loaded key");
        sig
    }
}

fn pem_body(text: &str, label: &str) -> anyhow::Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| anyhow::anyhow!("no {begin} block"))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| anyhow::anyhow!("no {end} line"))?
        + start;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Ok(STANDARD.decode(b64)?)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
