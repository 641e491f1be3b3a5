//! Newtypes for the identifiers of the directory: tenant ids, application (client) ids, object
//! ids, and certificate thumbprints. Keeping them apart stops an appId being used where Entra
//! wants an object id, the mistake the addKey proof (`iss` = object id) punishes. Also the
//! opaque ids Graph gives assignments (`opaque_id`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! guid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random identifier.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Entra writes GUIDs lowercase and hyphenated.
                write!(f, "{}", self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

guid_newtype!(
    /// The directory (tenant) id.
    TenantId
);
guid_newtype!(
    /// An application's `appId`, the client id of OAuth requests.
    AppId
);
guid_newtype!(
    /// A directory object's `id` (application, service principal, user).
    ObjectId
);

/// A certificate thumbprint as a client names it in a JOSE header: SHA-1 (`x5t`) or SHA-256
/// (`x5t#S256`) of the certificate's DER encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumbprint {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

impl Thumbprint {
    /// The thumbprint of `der` computed with the same hash as `self`.
    pub fn same_kind_of(&self, der: &[u8]) -> Thumbprint {
        match self {
            Thumbprint::Sha1(_) => Thumbprint::sha1_of(der),
            Thumbprint::Sha256(_) => Thumbprint::sha256_of(der),
        }
    }

    pub fn sha1_of(der: &[u8]) -> Thumbprint {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        let mut out = [0u8; 20];
        out.copy_from_slice(d.as_ref());
        Thumbprint::Sha1(out)
    }

    pub fn sha256_of(der: &[u8]) -> Thumbprint {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Thumbprint::Sha256(out)
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Thumbprint::Sha1(b) => b,
            Thumbprint::Sha256(b) => b,
        }
    }

    /// Uppercase hex, the way Entra prints thumbprints in AADSTS700027 messages.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.as_bytes())
    }
}

/// A new id as Graph gives app role assignments and role assignments: an opaque base64url
/// string (32 random bytes), not a GUID.
pub fn opaque_id() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_print_lowercase_and_parse_with_spaces() {
        let id: TenantId = " B6F0C1D2-3E4F-4A5B-8C9D-0E1F2A3B4C5D".parse().unwrap();
        assert_eq!(id.to_string(), "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d");
    }
}
