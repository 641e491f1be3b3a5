//! Private keys behind one interface. A [`KeyProvider`] creates or opens keys; a [`Signer`] is
//! a handle to one key that can report its public half and sign SHA-256 digests, and nothing
//! else: no method anywhere returns private key material. Certificates, client assertions and
//! proofs of possession are built over `dyn Signer`, so they are the same code for every kind
//! of key.
//!
//! Kinds: [`tpm`] (TPM 2.0 through tss-esapi; fixedTPM/fixedParent keys, and keys imported
//! with TPM2_Import that cannot be duplicated) and [`software`] (aws-lc-rs RSA-2048 in an
//! owner-only file). [`rsa_private`] reads a key an administrator brings, for either to import.

pub mod public;
pub mod rsa_private;
pub mod software;
pub mod tpm;

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

pub use public::RsaPublicKey;
pub use rsa_private::{PrivateKeyError, RsaPrivateParts};
pub use software::{SoftwareKey, SoftwareKeyStore};
pub use tpm::{Tpm, TpmKey, TpmKeyAttributes, TpmKeyBlobs};

/// RSA signature paddings the client uses, both over SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 (JWS `RS256`, X.509 sha256WithRSAEncryption).
    RsaPkcs1Sha256,
    /// RSASSA-PSS with MGF1-SHA-256 and a 32-byte salt (JWS `PS256`).
    RsaPssSha256,
}

/// A SHA-256 digest: what signers sign. Callers hash, keys only ever see digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Hashes `message`.
    pub fn of(message: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }
}

/// Where a key lives, for display and for policy (event 1014 warns on non-TPM BYOC keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// Inside a TPM 2.0, reached through this TCTI.
    Tpm { tcti: String },
    /// A software key file on disk (private, owner-only).
    Software { path: PathBuf },
}

impl KeyLocation {
    /// Whether the private key is held by hardware.
    pub fn is_hardware_backed(&self) -> bool {
        matches!(self, KeyLocation::Tpm { .. })
    }
}

/// How to find a key again: what the certificate stores keep next to each certificate.
///
/// For a TPM key these are the TPM's own blobs: the private part is encrypted by the TPM's
/// storage key and useless anywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyRef {
    /// A TPM-wrapped key: base64 of the TPM2B_PRIVATE contents and the marshalled TPMT_PUBLIC.
    Tpm { private: String, public: String },
    /// A software key file, by id, in the software key store.
    Software { id: String },
}

impl KeyRef {
    /// The reference to a TPM key with these blobs.
    pub fn from_tpm_blobs(blobs: &TpmKeyBlobs) -> Self {
        KeyRef::Tpm {
            private: B64.encode(&blobs.private),
            public: B64.encode(&blobs.public),
        }
    }

    /// The TPM blobs of a TPM reference.
    pub fn tpm_blobs(&self) -> Result<Option<TpmKeyBlobs>, KeyError> {
        match self {
            KeyRef::Tpm { private, public } => {
                let decode = |s: &str| {
                    B64.decode(s)
                        .map_err(|e| KeyError::InvalidKeyRef(format!("TPM blob: {e}")))
                };
                Ok(Some(TpmKeyBlobs {
                    private: decode(private)?,
                    public: decode(public)?,
                }))
            }
            KeyRef::Software { .. } => Ok(None),
        }
    }
}

/// Everything that can go wrong with keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The TPM refused or failed a command.
    #[error("TPM {operation} failed: {source}")]
    Tpm {
        operation: &'static str,
        #[source]
        source: tss_esapi::Error,
    },
    /// The TPM answered with something the client cannot use.
    #[error("TPM {operation}: {detail}")]
    TpmUnexpected {
        operation: &'static str,
        detail: String,
    },
    /// No TPM is configured but a TPM key was asked for.
    #[error("this key is in a TPM, but no TPM is configured (--tpm)")]
    NoTpm,
    /// A software cryptography operation failed.
    #[error("software key {operation} failed")]
    Crypto { operation: &'static str },
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A key file is readable by others than its owner; it is refused rather than used.
    #[error("key file {path} has mode {mode:o}; it must be readable by its owner only")]
    InsecurePermissions { path: PathBuf, mode: u32 },
    /// No software key with this id.
    #[error("no software key '{0}'")]
    NotFound(String),
    /// A stored key reference is corrupt.
    #[error("invalid key reference: {0}")]
    InvalidKeyRef(String),
    /// A public key could not be decoded.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
}

/// A handle to one private key. Implementations keep the key inside their provider.
pub trait Signer: Send + Sync + Debug {
    /// The public half.
    fn public_key(&self) -> &RsaPublicKey;

    /// Signs a SHA-256 digest with the given padding; returns the raw RSA signature
    /// (big-endian, as long as the modulus), which is what JWS and X.509 carry.
    fn sign_digest(
        &self,
        digest: &Sha256Digest,
        scheme: SignatureScheme,
    ) -> Result<Vec<u8>, KeyError>;

    /// Where the key lives.
    fn location(&self) -> KeyLocation;

    /// How to open this key again later.
    fn key_ref(&self) -> KeyRef;

    /// Whether the private key is held by hardware (a TPM).
    fn is_hardware_backed(&self) -> bool {
        self.location().is_hardware_backed()
    }
}

/// Hashes `message` with SHA-256 and signs the digest: the one path all signing code takes.
pub fn sign_message(
    signer: &dyn Signer,
    message: &[u8],
    scheme: SignatureScheme,
) -> Result<Vec<u8>, KeyError> {
    signer.sign_digest(&Sha256Digest::of(message), scheme)
}

/// Creates and opens keys of one kind.
pub trait KeyProvider: Send + Sync + Debug {
    /// Creates a fresh RSA-2048 signing key.
    fn create_key(&self) -> Result<Arc<dyn Signer>, KeyError>;

    /// Opens a key this provider created earlier.
    fn open_key(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError>;

    /// Whether keys from this provider are hardware-backed.
    fn is_hardware_backed(&self) -> bool;
}

/// The key providers of one machine: its TPM when it has one, and the software store.
#[derive(Debug, Clone)]
pub struct KeyProviders {
    tpm: Option<Tpm>,
    /// Where new TPM keys come from: the TPM itself, unless a test put another provider in
    /// front of it (one that refuses, to see the fallback to software).
    tpm_keys: Option<Arc<dyn KeyProvider>>,
    software: SoftwareKeyStore,
}

impl KeyProviders {
    /// The providers of a machine; `tpm` is `None` on a machine without a TPM.
    pub fn new(tpm: Option<Tpm>, software: SoftwareKeyStore) -> Self {
        Self {
            tpm,
            tpm_keys: None,
            software,
        }
    }

    /// The same providers, with new TPM keys made by `provider` (tests: a TPM that refuses).
    pub fn with_tpm_key_creator(mut self, provider: Arc<dyn KeyProvider>) -> Self {
        self.tpm_keys = Some(provider);
        self
    }

    /// The TPM, when there is one.
    pub fn tpm(&self) -> Option<&Tpm> {
        self.tpm.as_ref()
    }

    /// The software key store.
    pub fn software(&self) -> &SoftwareKeyStore {
        &self.software
    }

    /// Where a managed certificate's key goes first: the TPM when the machine has one (when
    /// it cannot be used, the caller falls back to the software store). `None` without a TPM.
    pub fn tpm_key_creator(&self) -> Option<&dyn KeyProvider> {
        match (&self.tpm_keys, &self.tpm) {
            (Some(provider), _) => Some(provider.as_ref()),
            (None, Some(tpm)) => Some(tpm),
            (None, None) => None,
        }
    }

    /// Opens any stored key reference with the provider it belongs to.
    pub fn open(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        match key {
            KeyRef::Tpm { .. } => self.tpm.as_ref().ok_or(KeyError::NoTpm)?.open_key(key),
            KeyRef::Software { .. } => self.software.open_key(key),
        }
    }
}
