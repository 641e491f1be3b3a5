//! Newtypes for the protocol strings the client passes around, so a tenant id cannot be handed
//! where a client id belongs and hashes are always in their canonical (uppercase hex) form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a protocol string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}': {reason}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value as is; the server is the judge of its format.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

string_id!(
    /// An application (client) id: the `appId` GUID, `client_id` on the token endpoint.
    ClientId
);
string_id!(
    /// A tenant: its GUID or one of its verified domains, as the login URL path takes it.
    TenantId
);
string_id!(
    /// A directory object id (`id` of an application, service principal or user).
    ObjectId
);
string_id!(
    /// The `keyId` GUID of a keyCredential.
    KeyCredentialId
);
string_id!(
    /// A local account allowed to use a private key (e.g. `NT SERVICE\ADSync`).
    AccountName
);

macro_rules! hex_digest {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The raw digest bytes, rendered the way Windows shows them.
            pub fn from_digest(bytes: &[u8; $len]) -> Self {
                Self(hex::encode_upper(bytes))
            }

            /// Uppercase hex, `$len * 2` characters.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The digest bytes.
            pub fn to_bytes(&self) -> [u8; $len] {
                let mut out = [0u8; $len];
                // The constructor only admits valid hex of the right length.
                if hex::decode_to_slice(&self.0, &mut out).is_err() {
                    unreachable!("validated on construction");
                }
                out
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            /// Accepts either case and surrounding whitespace, as pasted from PowerShell.
            fn from_str(value: &str) -> Result<Self, IdError> {
                let trimmed = value.trim();
                let err = |reason| IdError {
                    what: $what,
                    value: value.to_owned(),
                    reason,
                };
                if trimmed.len() != $len * 2 {
                    return Err(err(concat!("expected ", stringify!($len), " bytes of hex")));
                }
                if !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err("not hexadecimal"));
                }
                Ok(Self(trimmed.to_ascii_uppercase()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex_digest!(
    /// A certificate's SHA-256 hash: uppercase hex of SHA-256 over the DER, as the
    /// documentation's script prints it (`ToHexString`, or `X2` per byte).
    Sha256Hash,
    32,
    "certificate SHA-256 hash"
);
hex_digest!(
    /// A certificate's thumbprint: uppercase hex of SHA-1 over the DER (Windows' Thumbprint).
    Thumbprint,
    20,
    "certificate thumbprint"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_canonical_uppercase_and_validated() {
        let lower = "ab".repeat(32);
        let hash: Sha256Hash = format!(" {lower} ").parse().unwrap();
        assert_eq!(hash.as_str(), "AB".repeat(32));
        assert_eq!(hash.to_bytes(), [0xab; 32]);
        assert!("abc".parse::<Sha256Hash>().is_err());
        assert!("zz".repeat(32).parse::<Sha256Hash>().is_err());
        assert!("ab".repeat(32).parse::<Thumbprint>().is_err());
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", "AB".repeat(32)));
        assert!(serde_json::from_str::<Sha256Hash>("\"nothex\"").is_err());
    }
}
