//! X.509 certificates: self-signed certificates made with rcgen over any [`Signer`], their
//! SHA-256 hash and thumbprint as Windows prints them, and the checks a bring-your-own
//! certificate (BYOC) must pass.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::ids::{Sha256Hash, Thumbprint};
use crate::keys::{KeyError, RsaPublicKey, SignatureScheme, Signer, sign_message};

/// The subject (CN) of the certificate Connect Sync manages itself. The documentation names no
/// subject: this one (seen on real servers by third parties) is the project's choice.
pub const MANAGED_CERT_SUBJECT_CN: &str = "Entra Connect Sync Provisioning";

/// Why a certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The bytes are not a DER (or PEM) X.509 certificate.
    #[error("not a valid X.509 certificate: {0}")]
    Parse(String),
    /// rcgen refused the parameters or the signature failed (the key error is logged).
    #[error("cannot create the certificate: {0}")]
    Create(#[from] rcgen::Error),
    /// The signing key failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A certificate, kept as its DER; parsed when something needs a field.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

/// The fields of a certificate the client shows and checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    /// Uppercase hex of the serial number's bytes.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The signature algorithm's OID, dotted.
    pub signature_algorithm: String,
    /// The RSA public key; `None` for other key types.
    pub rsa_public_key: Option<RsaPublicKey>,
    /// Public key size in bits, whatever the type.
    pub key_bits: usize,
}

const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";

impl Certificate {
    /// Wraps DER after checking it parses as a certificate.
    pub fn from_der(der: impl Into<Vec<u8>>) -> Result<Self, CertError> {
        let cert = Self { der: der.into() };
        cert.info()?;
        Ok(cert)
    }

    /// Reads the first certificate of a PEM text.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem)
            .map_err(|e| CertError::Parse(format!("PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(CertError::Parse(format!("PEM block is a {}", pem.label)));
        }
        Self::from_der(pem.contents)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM text (`-----BEGIN CERTIFICATE-----`, 64-column base64).
    pub fn to_pem(&self) -> String {
        let b64 = B64.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// Uppercase hex SHA-256 over the DER: the "Certificate SHA256 hash" that
    /// `Add-EntraApplicationRegistration -CertificateSHA256Hash` takes.
    pub fn sha256_hash(&self) -> Sha256Hash {
        Sha256Hash::from_digest(&self.sha256())
    }

    /// Uppercase hex SHA-1 over the DER: Windows' Thumbprint.
    pub fn thumbprint(&self) -> Thumbprint {
        Thumbprint::from_digest(&self.sha1())
    }

    /// Raw SHA-256 over the DER (for `x5t#S256`).
    pub fn sha256(&self) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// Raw SHA-1 over the DER (for `x5t`); SHA-1 here is an identifier, not a security check.
    pub fn sha1(&self) -> [u8; 20] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der);
        let mut out = [0u8; 20];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// Parses the fields the client uses.
    pub fn info(&self) -> Result<CertificateInfo, CertError> {
        let (rest, cert) =
            X509Certificate::from_der(&self.der).map_err(|e| CertError::Parse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::Parse(format!("{} trailing bytes", rest.len())));
        }
        let spki = cert.public_key();
        let parsed = spki.parsed().map_err(|e| CertError::Parse(e.to_string()))?;
        let rsa_public_key = match &parsed {
            PublicKey::RSA(rsa) => Some(
                RsaPublicKey::from_components(rsa.modulus, rsa.exponent)
                    .map_err(|e| CertError::Parse(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(CertificateInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: hex::encode_upper(cert.raw_serial()),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
            key_bits: parsed.key_size(),
            rsa_public_key,
        })
    }

    /// Whether the certificate's public key is `signer`'s.
    pub fn matches_key(&self, signer: &dyn Signer) -> Result<bool, CertError> {
        Ok(self.info()?.rsa_public_key.as_ref() == Some(signer.public_key()))
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({})", self.sha256_hash())
    }
}

/// What a new self-signed certificate should say.
#[derive(Debug, Clone)]
pub struct CertificateRequest {
    /// The subject and issuer common name.
    pub common_name: String,
    /// Start of validity; take it from the injected clock.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl CertificateRequest {
    /// The managed certificate: `CN=Entra Connect Sync Provisioning`, valid from `now` for
    /// `validity`.
    pub fn managed(now: OffsetDateTime, validity: time::Duration) -> Self {
        Self {
            common_name: MANAGED_CERT_SUBJECT_CN.to_owned(),
            not_before: now,
            not_after: now + validity,
        }
    }
}

/// Makes a self-signed certificate for `signer`'s key, signed (sha256WithRSAEncryption) by it.
pub fn self_signed(
    signer: &dyn Signer,
    request: &CertificateRequest,
) -> Result<Certificate, CertError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, request.common_name.as_str());
    params.distinguished_name = dn;
    params.not_before = request.not_before;
    params.not_after = request.not_after;
    // rcgen would otherwise derive the serial from the public key, giving every certificate
    // re-issued for the same key the same serial.
    params.serial_number = Some(random_serial()?);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&RcgenKey(signer))?;
    Certificate::from_der(cert.der().to_vec())
}

fn random_serial() -> Result<rcgen::SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        CertError::Key(KeyError::Crypto {
            operation: "random serial",
        })
    })?;
    // Positive (high bit clear) and without a leading zero byte, so DER keeps all 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

/// rcgen's view of a [`Signer`]: the TBS bytes go through the same hash-then-sign path as
/// every other signature the client makes.
struct RcgenKey<'a>(&'a dyn Signer);

impl rcgen::PublicKeyData for RcgenKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key().pkcs1_der()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RcgenKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        sign_message(self.0, msg, SignatureScheme::RsaPkcs1Sha256).map_err(|e| {
            // rcgen's error carries no cause; keep it in the log.
            tracing::error!(error = %e, "signing a certificate failed");
            rcgen::Error::RemoteKeyError
        })
    }
}

/// What is wrong with a bring-your-own certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ByocError {
    #[error("the certificate's key is not RSA (RSA 2048 is required)")]
    NotRsa,
    #[error("the certificate's RSA key is {bits} bits; 2048 bits is required")]
    KeyLength { bits: usize },
    #[error(
        "the certificate is signed with {found}; SHA-256 with RSA (1.2.840.113549.1.1.11) is required"
    )]
    SignatureAlgorithm { found: String },
    #[error("the certificate has no private key in the store")]
    NoPrivateKey,
    #[error("the certificate's private key does not match its public key")]
    KeyMismatch,
    #[error("the certificate's private key is exportable; a non-exportable key is required")]
    Exportable,
    #[error("the certificate cannot be read: {0}")]
    Unreadable(String),
}

/// A BYOC certificate that passed: whether its key is in a TPM (if not: event 1014).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByocCheck {
    pub hardware_backed: bool,
}

/// Checks what the article requires of a BYOC certificate itself: an RSA key of 2048 bits, a
/// SHA-256 with RSA signature. Returns its public key.
pub fn check_byoc_certificate(cert: &Certificate) -> Result<RsaPublicKey, ByocError> {
    let info = cert
        .info()
        .map_err(|e| ByocError::Unreadable(e.to_string()))?;
    let Some(public) = info.rsa_public_key else {
        return Err(ByocError::NotRsa);
    };
    if public.bits() != 2048 {
        return Err(ByocError::KeyLength {
            bits: public.bits(),
        });
    }
    if info.signature_algorithm != SHA256_WITH_RSA {
        return Err(ByocError::SignatureAlgorithm {
            found: info.signature_algorithm,
        });
    }
    Ok(public)
}

/// Checks a BYOC certificate: RSA, 2048 bits, SHA-256 signature, private key present and
/// matching, non-exportable. `signer` is the opened private key, `None` when there is none.
pub fn validate_byoc(
    cert: &Certificate,
    signer: Option<&dyn Signer>,
    key_exportable: bool,
) -> Result<ByocCheck, ByocError> {
    let public = check_byoc_certificate(cert)?;
    let signer = signer.ok_or(ByocError::NoPrivateKey)?;
    if signer.public_key() != &public {
        return Err(ByocError::KeyMismatch);
    }
    if key_exportable {
        return Err(ByocError::Exportable);
    }
    Ok(ByocCheck {
        hardware_backed: signer.is_hardware_backed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKeyStore;
    use time::macros::datetime;

    #[test]
    fn managed_certificate_has_the_chosen_subject_validity_and_a_random_serial() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKeyStore::new(dir.path()).create().unwrap();
        let now = datetime!(2026-03-01 12:00 UTC);
        let request = CertificateRequest::managed(now, time::Duration::days(180));
        let a = self_signed(&key, &request).unwrap();
        let b = self_signed(&key, &request).unwrap();
        let info = a.info().unwrap();
        assert_eq!(info.subject, "CN=Entra Connect Sync Provisioning");
        assert_eq!(info.issuer, info.subject);
        assert_eq!(info.not_before, now);
        assert_eq!(info.not_after, datetime!(2026-08-28 12:00 UTC));
        assert_eq!(info.signature_algorithm, SHA256_WITH_RSA);
        assert_eq!(info.key_bits, 2048);
        assert!(a.matches_key(&key).unwrap());
        assert_ne!(info.serial, b.info().unwrap().serial);
        assert_eq!(info.serial.len(), 32);
        assert_eq!(
            validate_byoc(&a, Some(&key), false),
            Ok(ByocCheck {
                hardware_backed: false
            })
        );
    }

    #[test]
    fn certificate_signature_verifies_under_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKeyStore::new(dir.path()).create().unwrap();
        let now = datetime!(2026-03-01 12:00 UTC);
        let cert = self_signed(
            &key,
            &CertificateRequest::managed(now, time::Duration::days(1)),
        )
        .unwrap();
        let (_, parsed) = X509Certificate::from_der(cert.der()).unwrap();
        key.public_key()
            .verify(
                SignatureScheme::RsaPkcs1Sha256,
                parsed.tbs_certificate.as_ref(),
                &parsed.signature_value.data,
            )
            .unwrap();
    }

    #[test]
    fn byoc_validation_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let store = SoftwareKeyStore::new(dir.path());
        let key = store.create().unwrap();
        let other = store.create().unwrap();
        let now = datetime!(2026-03-01 12:00 UTC);
        let cert = self_signed(
            &key,
            &CertificateRequest::managed(now, time::Duration::days(1)),
        )
        .unwrap();
        assert_eq!(
            validate_byoc(&cert, None, false),
            Err(ByocError::NoPrivateKey)
        );
        assert_eq!(
            validate_byoc(&cert, Some(&other), false),
            Err(ByocError::KeyMismatch)
        );
        let err = validate_byoc(&cert, Some(&key), true).unwrap_err();
        assert_eq!(err, ByocError::Exportable);
        assert!(err.to_string().contains("non-exportable"));
    }

    #[test]
    fn pem_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKeyStore::new(dir.path()).create().unwrap();
        let now = datetime!(2026-03-01 12:00 UTC);
        let cert = self_signed(
            &key,
            &CertificateRequest::managed(now, time::Duration::days(1)),
        )
        .unwrap();
        assert_eq!(
            Certificate::from_pem(cert.to_pem().as_bytes()).unwrap(),
            cert
        );
        assert!(Certificate::from_der(b"not a cert".to_vec()).is_err());
    }
}
