//! An administrator's own certificate and private key, as they bring them for BYOC/BYOA: a
//! PKCS#12 (PFX) file with its password (what `Import-PfxCertificate` takes), or a PEM
//! certificate with a PEM private key. Read into the certificate and the key's parts, and
//! checked against the article's requirements for the certificate (RSA, 2048 bits, SHA-256 with
//! RSA) and against each other, each refusal naming what is wrong. A PFX's CA certificates
//! (its chain) are counted, not kept: only the leaf goes into LOCAL_MACHINE\My.

use p12_keystore::Pkcs12Archive;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use zeroize::Zeroizing;

use crate::cert::{ByocError, Certificate, check_byoc_certificate};
use crate::keys::{PrivateKeyError, RsaPrivateParts};

/// Where the certificate and key come from.
pub enum CertificateSource {
    /// A PKCS#12 file and its password (empty when it has none).
    Pfx {
        der: Vec<u8>,
        password: Zeroizing<String>,
    },
    /// A PEM certificate (the first `CERTIFICATE` block) and a PEM private key
    /// (`PRIVATE KEY` or `RSA PRIVATE KEY`, not encrypted).
    Pem { certificate: Vec<u8>, key: Vec<u8> },
}

impl std::fmt::Debug for CertificateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CertificateSource::Pfx { .. } => "CertificateSource::Pfx",
            CertificateSource::Pem { .. } => "CertificateSource::Pem",
        })
    }
}

/// Why an administrator's certificate cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the PFX password is wrong (the file's integrity check fails)")]
    WrongPassword,
    #[error("the PFX cannot be read: {0}")]
    Pfx(String),
    #[error("the PFX holds no private key")]
    NoPrivateKey,
    #[error("the PFX holds {0} private keys; one is expected")]
    SeveralPrivateKeys(usize),
    #[error("the PFX holds no certificate for its private key")]
    NoCertificateForKey,
    #[error("the PEM certificate cannot be read: {0}")]
    PemCertificate(String),
    #[error(
        "the PEM private key is encrypted; decrypt it first (openssl pkcs8 -in KEY -out PLAIN)"
    )]
    EncryptedKey,
    #[error("the PEM file holds no private key")]
    NoPemKey,
    #[error(transparent)]
    Key(#[from] PrivateKeyError),
    #[error(transparent)]
    Certificate(#[from] ByocError),
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
}

/// What an import reads: the certificate, its key, and how many CA certificates came along.
#[derive(Debug)]
pub struct ImportedCertificate {
    pub certificate: Certificate,
    pub key: RsaPrivateParts,
    pub chain: usize,
}

/// Reads and checks an administrator's certificate and key.
pub fn read(source: &CertificateSource) -> Result<ImportedCertificate, ImportError> {
    match source {
        CertificateSource::Pfx { der, password } => read_pfx(der, password),
        CertificateSource::Pem { certificate, key } => read_pem(certificate, key),
    }
}

fn read_pfx(der: &[u8], password: &str) -> Result<ImportedCertificate, ImportError> {
    let archive = Pkcs12Archive::from_pkcs12(der, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => ImportError::WrongPassword,
        other => ImportError::Pfx(other.to_string()),
    })?;
    let key = match archive.keys.as_slice() {
        [] => return Err(ImportError::NoPrivateKey),
        [bag] => RsaPrivateParts::from_pkcs8(bag.key.as_der())?,
        several => return Err(ImportError::SeveralPrivateKeys(several.len())),
    };
    let mut leaf = None;
    let mut chain = 0;
    for bag in &archive.certs {
        let cert = Certificate::from_der(bag.cert.as_der().to_vec())
            .map_err(|e| ImportError::Pfx(e.to_string()))?;
        let public = cert.info().ok().and_then(|i| i.rsa_public_key);
        if leaf.is_none() && public.as_ref() == Some(key.public_key()) {
            leaf = Some(cert);
        } else {
            chain += 1;
        }
    }
    let certificate = leaf.ok_or(ImportError::NoCertificateForKey)?;
    check_byoc_certificate(&certificate)?;
    Ok(ImportedCertificate {
        certificate,
        key,
        chain,
    })
}

fn read_pem(certificate: &[u8], key: &[u8]) -> Result<ImportedCertificate, ImportError> {
    let certificate = Certificate::from_pem(certificate)
        .map_err(|e| ImportError::PemCertificate(e.to_string()))?;
    let public = check_byoc_certificate(&certificate)?;
    let text = String::from_utf8_lossy(key);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(ImportError::EncryptedKey);
    }
    let key = match PrivateKeyDer::from_pem_slice(key).map_err(|_| ImportError::NoPemKey)? {
        PrivateKeyDer::Pkcs8(der) => RsaPrivateParts::from_pkcs8(der.secret_pkcs8_der())?,
        PrivateKeyDer::Pkcs1(der) => RsaPrivateParts::from_pkcs1(der.secret_pkcs1_der())?,
        PrivateKeyDer::Sec1(_) => {
            return Err(PrivateKeyError::NotRsa {
                algorithm: "EC".into(),
            }
            .into());
        }
        _ => return Err(ImportError::NoPemKey),
    };
    if key.public_key() != &public {
        return Err(ImportError::KeyMismatch);
    }
    Ok(ImportedCertificate {
        certificate,
        key,
        chain: 0,
    })
}
