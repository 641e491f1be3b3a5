//! Reading the parts of an X.509 certificate the mock needs: its RSA public key, in the forms
//! signature verification (PKCS#1) and JWKS (modulus, exponent) want.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// An RSA public key taken from a certificate.
#[derive(Clone, Debug)]
pub struct RsaPublicKey {
    /// PKCS#1 `RSAPublicKey` DER: what aws-lc-rs verifies with.
    pub pkcs1_der: Vec<u8>,
    /// Big-endian modulus without leading zeros.
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

impl RsaPublicKey {
    pub fn bits(&self) -> usize {
        self.modulus.len() * 8
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("the value is not a DER-encoded X.509 certificate")]
    NotACertificate,
    #[error("the certificate's key is not an RSA key")]
    NotRsa,
}

/// The RSA public key of the DER certificate `der`.
pub fn rsa_public_key(der: &[u8]) -> Result<RsaPublicKey, CertificateError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|_| CertificateError::NotACertificate)?;
    if !rest.is_empty() {
        return Err(CertificateError::NotACertificate);
    }
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Ok(RsaPublicKey {
            pkcs1_der: spki.subject_public_key.data.to_vec(),
            modulus: strip_leading_zeros(rsa.modulus),
            exponent: strip_leading_zeros(rsa.exponent),
        }),
        Ok(_) => Err(CertificateError::NotRsa),
        Err(_) => Err(CertificateError::NotACertificate),
    }
}

fn strip_leading_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}
