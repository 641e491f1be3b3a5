//! TPM 2.0 keys through tss-esapi 7.
//!
//! Layout in the TPM: a storage primary key under the owner hierarchy, re-derived from the same
//! template whenever needed (a TPM derives primaries deterministically from its seed), and
//! RSA-2048 signing keys created under it with fixedTPM and fixedParent, so the private key can
//! never be exported or duplicated. A child key lives outside the TPM as its two blobs (the
//! private part wrapped by the primary, and the marshalled public part); the certificate store
//! keeps them and every operation loads the key, uses it and flushes it. swtpm has only three
//! object slots and a direct TCTI connection does no context swapping, so never more than the
//! primary and one child are loaded at a time.
//!
//! The signing keys have scheme Null, so each call picks RSASSA (RS256) or RSAPSS (PS256).
//!
//! An administrator's existing key is brought in with TPM2_Import ([`Tpm::import`]), without
//! an inner or outer wrapper (the key travels to the TPM in the clear, which a local emulator's
//! socket allows; a TPM on a bus would want an inner wrapper). TPM2_Import needs fixedTPM and
//! fixedParent clear, so such a key is kept from leaving another way: its authPolicy is empty,
//! and TPM2_Duplicate needs a policy session whose digest matches it, which no session can.
//! Its blobs are stored and loaded exactly like a created key's.
//!
//! One `tss_esapi::Context` per [`Tpm`], behind a mutex: ESYS is not safe for concurrent
//! commands. Calls block for milliseconds; async code calls them from `spawn_blocking`.
//! [`Tpm::lazy`] opens the context at the first command, so a machine whose TPM cannot be
//! reached still runs everything that does not need it (and a failing TPM is an error of the
//! command that needed it, which the caller may answer by falling back to software).

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::handles::KeyHandle;
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::algorithm::PublicAlgorithm;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::structures::{
    Auth, Digest, EncryptedSecret, HashScheme, HashcheckTicket, Private, PrivateKeyRsa, Public,
    PublicBuilder, PublicKeyRsa, PublicRsaParametersBuilder, RsaExponent, RsaScheme, Sensitive,
    SensitiveBuffer, Signature, SignatureScheme as TpmSignatureScheme, SymmetricDefinitionObject,
};
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use tss_esapi::utils::{
    create_restricted_decryption_rsa_public, create_unrestricted_signing_rsa_public,
};
use tss_esapi::{Context, TctiNameConf};

use super::{
    KeyError, KeyLocation, KeyProvider, KeyRef, RsaPrivateParts, RsaPublicKey, Sha256Digest,
    SignatureScheme, Signer,
};

/// A TPM 2.0 reached through one TCTI, shared by clones.
#[derive(Clone)]
pub struct Tpm {
    tcti: String,
    conf: TctiNameConf,
    /// `None` until the context is opened (at the first command, for [`Tpm::lazy`]).
    state: Arc<Mutex<Option<TpmState>>>,
}

struct TpmState {
    context: Context,
    // Kept loaded between operations: re-deriving an RSA primary costs ~30 ms.
    primary: Option<KeyHandle>,
}

impl fmt::Debug for Tpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tpm").field("tcti", &self.tcti).finish()
    }
}

/// The two blobs that make a TPM key loadable again under the same primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmKeyBlobs {
    /// TPM2B_PRIVATE contents: encrypted by the TPM, meaningless outside it.
    pub private: Vec<u8>,
    /// Marshalled TPMT_PUBLIC.
    pub public: Vec<u8>,
}

/// Object attributes of a key as the TPM reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TpmKeyAttributes {
    pub fixed_tpm: bool,
    pub fixed_parent: bool,
    pub sensitive_data_origin: bool,
    pub sign: bool,
    pub decrypt: bool,
    pub restricted: bool,
    /// No authPolicy: TPM2_Duplicate (which needs a matching policy session) cannot take the
    /// key out, whatever fixedTPM and fixedParent say.
    pub auth_policy_empty: bool,
}

fn tpm_err(operation: &'static str) -> impl FnOnce(tss_esapi::Error) -> KeyError {
    move |source| KeyError::Tpm { operation, source }
}

impl Tpm {
    /// Opens a context on the TPM named by a TCTI string: `device:/dev/tpmrm0` on a real
    /// machine, `swtpm:host=127.0.0.1,port=P` against swtpm.
    pub fn connect(tcti: &str) -> Result<Self, KeyError> {
        let tpm = Self::lazy(tcti)?;
        tpm.opened(|_| Ok(()))?;
        Ok(tpm)
    }

    /// The TPM named by a TCTI string, reached at its first command: only a malformed TCTI is
    /// an error now; a TPM that cannot be reached fails the commands that need it.
    pub fn lazy(tcti: &str) -> Result<Self, KeyError> {
        let conf = TctiNameConf::from_str(tcti).map_err(tpm_err("TCTI configuration"))?;
        Ok(Self {
            tcti: tcti.to_owned(),
            conf,
            state: Arc::new(Mutex::new(None)),
        })
    }

    /// The TCTI this TPM is reached through.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    /// Creates a new non-exportable RSA-2048 signing key.
    pub fn create(&self) -> Result<TpmKey, KeyError> {
        let template = create_unrestricted_signing_rsa_public(
            RsaScheme::Null,
            RsaKeyBits::Rsa2048,
            RsaExponent::default(),
        )
        .map_err(tpm_err("building the key template"))?;
        let created = self.with_primary(|context, primary| {
            context
                .execute_with_nullauth_session(|c| {
                    c.create(primary, template, None, None, None, None)
                })
                .map_err(tpm_err("create"))
        })?;
        let blobs = TpmKeyBlobs {
            private: created.out_private.value().to_vec(),
            public: created
                .out_public
                .marshall()
                .map_err(tpm_err("marshalling the public area"))?,
        };
        TpmKey::new(self.clone(), blobs, &created.out_public)
    }

    /// Imports an administrator's RSA-2048 key (TPM2_Import under the storage primary): the
    /// key signs in the TPM from then on and cannot be duplicated out of it (empty authPolicy).
    /// The TPM itself checks that the prime belongs to the modulus.
    pub fn import(&self, key: &RsaPrivateParts) -> Result<TpmKey, KeyError> {
        let exponent = match key.public_key().exponent() {
            [0x01, 0x00, 0x01] => RsaExponent::default(),
            other => {
                let value = other.iter().try_fold(0u32, |acc, &b| {
                    acc.checked_mul(256).map(|v| v | u32::from(b))
                });
                RsaExponent::create(value.unwrap_or(0)).map_err(tpm_err("the key's exponent"))?
            }
        };
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(false)
            .with_fixed_parent(false)
            .with_sensitive_data_origin(false)
            .with_user_with_auth(true)
            .with_sign_encrypt(true)
            .with_decrypt(false)
            .with_restricted(false)
            .with_encrypted_duplication(false)
            .build()
            .map_err(tpm_err("building the imported key's attributes"))?;
        let public = PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::Rsa)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attributes)
            .with_rsa_parameters(
                PublicRsaParametersBuilder::new_unrestricted_signing_key(
                    RsaScheme::Null,
                    RsaKeyBits::Rsa2048,
                    exponent,
                )
                .build()
                .map_err(tpm_err("building the imported key's parameters"))?,
            )
            .with_rsa_unique_identifier(
                PublicKeyRsa::try_from(key.public_key().modulus().to_vec())
                    .map_err(tpm_err("the key's modulus"))?,
            )
            .build()
            .map_err(tpm_err("building the imported key's public area"))?;
        let sensitive = Sensitive::Rsa {
            auth_value: Auth::default(),
            seed_value: Digest::default(),
            sensitive: PrivateKeyRsa::try_from(key.prime().to_vec())
                .map_err(tpm_err("the key's prime"))?,
        };
        // No wrapper: the duplicate is the size-prefixed TPMT_SENSITIVE itself.
        let duplicate = SensitiveBuffer::try_from(sensitive)
            .and_then(|buffer| buffer.marshall())
            .and_then(Private::try_from)
            .map_err(tpm_err("marshalling the key"))?;
        let private = self.with_primary(|context, primary| {
            context
                .execute_with_nullauth_session(|c| {
                    c.import(
                        primary.into(),
                        None,
                        public.clone(),
                        duplicate,
                        EncryptedSecret::default(),
                        SymmetricDefinitionObject::Null,
                    )
                })
                .map_err(tpm_err("import"))
        })?;
        let blobs = TpmKeyBlobs {
            private: private.value().to_vec(),
            public: public
                .marshall()
                .map_err(tpm_err("marshalling the public area"))?,
        };
        let imported = TpmKey::new(self.clone(), blobs, &public)?;
        // Loading proves the TPM took it (and it checks the key's binding again).
        self.with_loaded(&imported.blobs, |_, _| Ok(()))?;
        Ok(imported)
    }

    /// Opens a key from its blobs (in this or any later context on the same TPM).
    pub fn open(&self, blobs: TpmKeyBlobs) -> Result<TpmKey, KeyError> {
        let public =
            Public::unmarshall(&blobs.public).map_err(tpm_err("reading the public blob"))?;
        let key = TpmKey::new(self.clone(), blobs, &public)?;
        // Loading proves the blobs belong to this TPM's primary before anyone relies on them.
        self.with_loaded(&key.blobs, |_, _| Ok(()))?;
        Ok(key)
    }

    fn lock(&self) -> MutexGuard<'_, Option<TpmState>> {
        // A panic mid-command leaves at worst a loaded handle that the next flush or the
        // context's Drop cleans up; the context itself stays usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the open context, opening it first if need be.
    fn opened<T>(
        &self,
        f: impl FnOnce(&mut TpmState) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        let mut guard = self.lock();
        if guard.is_none() {
            let context = Context::new(self.conf.clone()).map_err(tpm_err("connect"))?;
            *guard = Some(TpmState {
                context,
                primary: None,
            });
        }
        match guard.as_mut() {
            Some(state) => f(state),
            None => Err(KeyError::NoTpm),
        }
    }

    fn with_primary<T>(
        &self,
        f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        self.opened(|state| {
            let primary = match state.primary {
                Some(handle) => handle,
                None => {
                    let template = create_restricted_decryption_rsa_public(
                        SymmetricDefinitionObject::AES_128_CFB,
                        RsaKeyBits::Rsa2048,
                        RsaExponent::default(),
                    )
                    .map_err(tpm_err("building the primary template"))?;
                    let created = state
                        .context
                        .execute_with_nullauth_session(|c| {
                            c.create_primary(Hierarchy::Owner, template, None, None, None, None)
                        })
                        .map_err(tpm_err("create_primary"))?;
                    state.primary = Some(created.key_handle);
                    created.key_handle
                }
            };
            f(&mut state.context, primary)
        })
    }

    /// Loads the key, runs `f`, and flushes the key whatever `f` returned.
    fn with_loaded<T>(
        &self,
        blobs: &TpmKeyBlobs,
        f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        let private = Private::try_from(blobs.private.clone())
            .map_err(tpm_err("reading the private blob"))?;
        let public =
            Public::unmarshall(&blobs.public).map_err(tpm_err("reading the public blob"))?;
        self.with_primary(|context, primary| {
            let handle = context
                .execute_with_nullauth_session(|c| c.load(primary, private, public))
                .map_err(tpm_err("load"))?;
            let result = f(context, handle);
            let flushed = context
                .flush_context(handle.into())
                .map_err(tpm_err("flush"));
            match (result, flushed) {
                (Ok(value), Ok(())) => Ok(value),
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            }
        })
    }
}

impl KeyProvider for Tpm {
    fn create_key(&self) -> Result<Arc<dyn Signer>, KeyError> {
        Ok(Arc::new(self.create()?))
    }

    fn open_key(&self, key: &KeyRef) -> Result<Arc<dyn Signer>, KeyError> {
        match key.tpm_blobs()? {
            Some(blobs) => Ok(Arc::new(self.open(blobs)?)),
            None => Err(KeyError::InvalidKeyRef(
                "a software key cannot be opened by the TPM".into(),
            )),
        }
    }

    fn is_hardware_backed(&self) -> bool {
        true
    }
}

/// One TPM-resident signing key, known by its blobs.
#[derive(Debug, Clone)]
pub struct TpmKey {
    tpm: Tpm,
    blobs: TpmKeyBlobs,
    public: RsaPublicKey,
}

impl TpmKey {
    fn new(tpm: Tpm, blobs: TpmKeyBlobs, public: &Public) -> Result<Self, KeyError> {
        let public = rsa_public_of(public)?;
        Ok(Self { tpm, blobs, public })
    }

    /// The blobs to store so the key can be opened again.
    pub fn blobs(&self) -> &TpmKeyBlobs {
        &self.blobs
    }

    /// Reads the key's object attributes back from the TPM (ReadPublic on the loaded key).
    pub fn attributes(&self) -> Result<TpmKeyAttributes, KeyError> {
        let public = self.tpm.with_loaded(&self.blobs, |context, handle| {
            context
                .read_public(handle)
                .map(|(public, _, _)| public)
                .map_err(tpm_err("read_public"))
        })?;
        let a = public.object_attributes();
        Ok(TpmKeyAttributes {
            fixed_tpm: a.fixed_tpm(),
            fixed_parent: a.fixed_parent(),
            sensitive_data_origin: a.sensitive_data_origin(),
            sign: a.sign_encrypt(),
            decrypt: a.decrypt(),
            restricted: a.restricted(),
            auth_policy_empty: public.auth_policy().is_empty(),
        })
    }
}

impl Signer for TpmKey {
    fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    fn sign_digest(
        &self,
        digest: &Sha256Digest,
        scheme: SignatureScheme,
    ) -> Result<Vec<u8>, KeyError> {
        let hash_scheme = HashScheme::new(HashingAlgorithm::Sha256);
        let tpm_scheme = match scheme {
            SignatureScheme::RsaPkcs1Sha256 => TpmSignatureScheme::RsaSsa { hash_scheme },
            SignatureScheme::RsaPssSha256 => TpmSignatureScheme::RsaPss { hash_scheme },
        };
        let tpm_digest = Digest::try_from(digest.0.to_vec()).map_err(tpm_err("digest"))?;
        // A NULL ticket is what TPM2_Sign takes for digests hashed outside the TPM by an
        // unrestricted key.
        let ticket = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })
        .map_err(tpm_err("hash-check ticket"))?;
        let signature = self.tpm.with_loaded(&self.blobs, |context, handle| {
            context
                .execute_with_nullauth_session(|c| c.sign(handle, tpm_digest, tpm_scheme, ticket))
                .map_err(tpm_err("sign"))
        })?;
        match (scheme, signature) {
            (SignatureScheme::RsaPkcs1Sha256, Signature::RsaSsa(s))
            | (SignatureScheme::RsaPssSha256, Signature::RsaPss(s)) => {
                Ok(s.signature().value().to_vec())
            }
            (_, other) => Err(KeyError::TpmUnexpected {
                operation: "sign",
                detail: format!("signature of kind {:?}", other.algorithm()),
            }),
        }
    }

    fn location(&self) -> KeyLocation {
        KeyLocation::Tpm {
            tcti: self.tpm.tcti.clone(),
        }
    }

    fn key_ref(&self) -> KeyRef {
        KeyRef::from_tpm_blobs(&self.blobs)
    }
}

fn rsa_public_of(public: &Public) -> Result<RsaPublicKey, KeyError> {
    match public {
        Public::Rsa {
            parameters, unique, ..
        } => {
            // 0 is the TPM's shorthand for the default exponent 65537.
            let e = match parameters.exponent().value() {
                0 => 65537,
                e => e,
            };
            RsaPublicKey::from_components(unique.value(), &e.to_be_bytes())
        }
        _ => Err(KeyError::TpmUnexpected {
            operation: "reading the public area",
            detail: "not an RSA key".into(),
        }),
    }
}
