//! An RSA private key an administrator brings from outside (from a PFX, or a PEM file): read
//! from PKCS#8 or PKCS#1 DER to what a provider imports it from — the PKCS#8 the software store
//! keeps, and the modulus, exponent and first prime a TPM import takes. Checked for consistency
//! by aws-lc-rs before anything uses it. The private parts are wiped when dropped, and no
//! method hands them to anything but a key provider in this crate.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use zeroize::Zeroizing;

use super::RsaPublicKey;
use super::public::{der_tlv, read_tlv, strip_zeros};

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// id-Ed25519, 1.3.101.112.
const ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// Why a private key cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error("the private key is not RSA ({algorithm}); an RSA 2048 key is required")]
    NotRsa { algorithm: String },
    #[error("the private key is {bits}-bit RSA; 2048 bits is required")]
    KeyLength { bits: usize },
    #[error("the private key is not a PKCS#8 or PKCS#1 key: {0}")]
    Malformed(String),
    #[error("the private key is not a consistent RSA key")]
    Inconsistent,
}

/// An RSA private key read from outside, ready for a provider to import.
pub struct RsaPrivateParts {
    pkcs8: Zeroizing<Vec<u8>>,
    prime: Zeroizing<Vec<u8>>,
    public: RsaPublicKey,
}

impl fmt::Debug for RsaPrivateParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateParts")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl RsaPrivateParts {
    /// Reads a PKCS#8 `PrivateKeyInfo` ("PRIVATE KEY"); a key of another algorithm is named.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, PrivateKeyError> {
        let malformed = |what: &str| PrivateKeyError::Malformed(format!("PKCS#8: {what}"));
        let (tag, info, _) = read_tlv(der).ok_or_else(|| malformed("truncated"))?;
        if tag != 0x30 {
            return Err(malformed("not a SEQUENCE"));
        }
        let (_, _version, rest) = read_tlv(info).ok_or_else(|| malformed("no version"))?;
        let (_, algorithm, rest) = read_tlv(rest).ok_or_else(|| malformed("no algorithm"))?;
        let (_, oid, _) = read_tlv(algorithm).ok_or_else(|| malformed("no algorithm OID"))?;
        if oid != RSA_ENCRYPTION {
            let algorithm = match oid {
                EC_PUBLIC_KEY => "EC".to_owned(),
                ED25519 => "Ed25519".to_owned(),
                other => format!("algorithm OID {}", hex::encode(other)),
            };
            return Err(PrivateKeyError::NotRsa { algorithm });
        }
        let (tag, pkcs1, _) = read_tlv(rest).ok_or_else(|| malformed("no private key"))?;
        if tag != 0x04 {
            return Err(malformed("the private key is not an OCTET STRING"));
        }
        Self::parts(der.to_vec(), pkcs1)
    }

    /// Reads a PKCS#1 `RSAPrivateKey` ("RSA PRIVATE KEY").
    pub fn from_pkcs1(der: &[u8]) -> Result<Self, PrivateKeyError> {
        let mut algorithm = der_tlv(0x06, RSA_ENCRYPTION);
        algorithm.extend(der_tlv(0x05, &[]));
        let mut info = der_tlv(0x02, &[0]);
        info.extend(der_tlv(0x30, &algorithm));
        info.extend(der_tlv(0x04, der));
        Self::parts(der_tlv(0x30, &info), der)
    }

    fn parts(pkcs8: Vec<u8>, pkcs1: &[u8]) -> Result<Self, PrivateKeyError> {
        let pkcs8 = Zeroizing::new(pkcs8);
        let malformed = |what: &str| PrivateKeyError::Malformed(format!("RSAPrivateKey: {what}"));
        // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv }
        let (_, mut fields, _) = read_tlv(pkcs1).ok_or_else(|| malformed("truncated"))?;
        let mut integers = Vec::with_capacity(5);
        for _ in 0..5 {
            let (tag, value, rest) = read_tlv(fields).ok_or_else(|| malformed("truncated"))?;
            if tag != 0x02 {
                return Err(malformed("a field is not an INTEGER"));
            }
            integers.push(value);
            fields = rest;
        }
        let modulus = RsaPublicKey::from_components(integers[1], integers[2])
            .map_err(|e| malformed(&e.to_string()))?;
        if modulus.bits() != 2048 {
            return Err(PrivateKeyError::KeyLength {
                bits: modulus.bits(),
            });
        }
        // aws-lc-rs checks the key's consistency (and re-encodes it canonically).
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| PrivateKeyError::Inconsistent)?;
        let canonical = pair
            .as_der()
            .map_err(|_| PrivateKeyError::Inconsistent)?
            .as_ref()
            .to_vec();
        let public = RsaPublicKey::from_pkcs1_der(pair.public_key().as_ref())
            .map_err(|_| PrivateKeyError::Inconsistent)?;
        if public != modulus {
            return Err(PrivateKeyError::Inconsistent);
        }
        let prime = Zeroizing::new(strip_zeros(integers[4]).to_vec());
        Ok(Self {
            pkcs8: Zeroizing::new(canonical),
            prime,
            public,
        })
    }

    /// The public half.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// PKCS#8 DER, for the software store.
    pub(crate) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The first prime, big-endian without a sign byte: what a TPM import takes besides the
    /// public key.
    pub(crate) fn prime(&self) -> &[u8] {
        &self.prime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_and_pkcs8_give_the_same_key_and_other_algorithms_are_named() {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap().as_ref().to_vec();
        let from8 = RsaPrivateParts::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(from8.public_key().bits(), 2048);
        assert_eq!(from8.prime().len(), 128);
        assert!(from8.prime()[0] & 0x80 != 0);
        // The PKCS#1 inside the PKCS#8 reads to the same key.
        let (_, info, _) = read_tlv(&pkcs8).unwrap();
        let (_, _, rest) = read_tlv(info).unwrap();
        let (_, _, rest) = read_tlv(rest).unwrap();
        let (_, pkcs1, _) = read_tlv(rest).unwrap();
        let from1 = RsaPrivateParts::from_pkcs1(pkcs1).unwrap();
        assert_eq!(from1.public_key(), from8.public_key());
        assert_eq!(from1.prime(), from8.prime());
        assert!(!format!("{from1:?}").contains("prime"));

        let ec = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .unwrap();
        let ec_der = ec.to_pkcs8v1().unwrap();
        assert_eq!(
            RsaPrivateParts::from_pkcs8(ec_der.as_ref()).unwrap_err(),
            PrivateKeyError::NotRsa {
                algorithm: "EC".into()
            }
        );
        assert!(matches!(
            RsaPrivateParts::from_pkcs8(b"not a key"),
            Err(PrivateKeyError::Malformed(_))
        ));
    }
}
