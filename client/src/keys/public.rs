//! RSA public keys as the client handles them: modulus and exponent, with the PKCS#1
//! `RSAPublicKey` DER that certificates and verifiers want. No private material ever here.

use std::fmt;

use aws_lc_rs::signature::{self, UnparsedPublicKey};

use super::{KeyError, SignatureScheme};

/// An RSA public key: big-endian modulus and exponent without leading zero bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
    pkcs1: Vec<u8>,
}

impl RsaPublicKey {
    /// Builds a key from its big-endian components.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        if n.is_empty() || e.is_empty() {
            return Err(KeyError::InvalidPublicKey(
                "empty modulus or exponent".into(),
            ));
        }
        let mut body = der_integer(n);
        body.extend(der_integer(e));
        let pkcs1 = der_tlv(0x30, &body);
        Ok(Self {
            n: n.to_vec(),
            e: e.to_vec(),
            pkcs1,
        })
    }

    /// Parses a PKCS#1 `RSAPublicKey` DER (SEQUENCE of two INTEGERs).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let bad = |why: &str| KeyError::InvalidPublicKey(format!("PKCS#1 RSAPublicKey: {why}"));
        let (tag, body, rest) = read_tlv(der).ok_or_else(|| bad("truncated"))?;
        if tag != 0x30 || !rest.is_empty() {
            return Err(bad("not a single SEQUENCE"));
        }
        let (tag_n, n, rest) = read_tlv(body).ok_or_else(|| bad("truncated modulus"))?;
        let (tag_e, e, rest) = read_tlv(rest).ok_or_else(|| bad("truncated exponent"))?;
        if tag_n != 0x02 || tag_e != 0x02 || !rest.is_empty() {
            return Err(bad("expected two INTEGERs"));
        }
        Self::from_components(n, e)
    }

    /// The modulus, big-endian, no leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian, no leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        let lead = self.n.first().map_or(8, |b| b.leading_zeros() as usize);
        self.n.len() * 8 - lead
    }

    /// PKCS#1 `RSAPublicKey` DER: the content of a certificate's subjectPublicKey BIT STRING.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// Verifies `signature` over `message` (SHA-256 with the given padding).
    pub fn verify(
        &self,
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        let alg: &'static dyn signature::VerificationAlgorithm = match scheme {
            SignatureScheme::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SignatureScheme::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, &self.pkcs1)
            .verify(message, signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaPublicKey({} bits, e={})",
            self.bits(),
            hex::encode(&self.e)
        )
    }
}

pub(super) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn der_integer(magnitude: &[u8]) -> Vec<u8> {
    // DER INTEGERs are signed: a set high bit needs a 0x00 in front to stay positive.
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    der_tlv(0x02, &content)
}

pub(super) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Reads one DER TLV: (tag, content, rest). `None` when truncated or over-long.
pub(super) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, after) = rest.split_at(count);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_round_trip_adds_sign_byte_and_long_lengths() {
        let n = [0xC0u8; 256];
        let key = RsaPublicKey::from_components(&n, &[0x01, 0x00, 0x01]).unwrap();
        assert_eq!(key.bits(), 2048);
        let der = key.pkcs1_der();
        // SEQUENCE, long length (0x82) for 257+3+2+2 bytes of content
        assert_eq!(&der[..2], &[0x30, 0x82]);
        // the modulus INTEGER carries a leading 0x00
        assert_eq!(&der[4..8], &[0x02, 0x82, 0x01, 0x01]);
        assert_eq!(der[8], 0x00);
        let parsed = RsaPublicKey::from_pkcs1_der(der).unwrap();
        assert_eq!(parsed, key);
        assert_eq!(parsed.exponent(), &[0x01, 0x00, 0x01]);
    }

    #[test]
    fn malformed_der_is_refused() {
        assert!(RsaPublicKey::from_pkcs1_der(&[]).is_err());
        assert!(RsaPublicKey::from_pkcs1_der(&[0x30, 0x05, 0x02]).is_err());
        assert!(RsaPublicKey::from_pkcs1_der(&[0x31, 0x00]).is_err());
    }
}
