//! Propagation: an opt-in tenant property that makes the mock eventually consistent as Entra
//! is. Entra answers a write at once, but for a while other readers (Graph, the token endpoint)
//! do not see it: a new application is not found (AADSTS700016, Graph 404, 400
//! `NoBackingApplicationObject` for its service principal), a new key or secret is not
//! accepted (700027, 7000215), a new app role assignment or consent is not in tokens (no role,
//! 65001), a new directory role does not authorize yet (403). Microsoft publishes no number
//! (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/);
//! the `realistic` profile takes the delays people measured, each with its source below.
//!
//! The delay of a write is applied as a replication lag (`Tenant::write_with_lag`): the write
//! is answered as usual and its effect lands when the tenant clock has moved past the delay.
//! A fault rule's lag, when one matches, wins. The default is `immediate`.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::faults::MAX_LAG_SECONDS;

/// The kinds of writes that propagate separately, each with its own delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// Applications created, changed or deleted (other than their credentials).
    Applications,
    /// Service principals created, changed or deleted (other than their credentials).
    ServicePrincipals,
    /// Certificates and secrets: `keyCredentials` / `passwordCredentials`, addKey, removeKey.
    Credentials,
    AppRoleAssignments,
    /// Delegated permission grants (consent).
    PermissionGrants,
    /// Directory role members and role assignments.
    DirectoryRoles,
    Users,
}

/// How long each kind of write takes to be seen, in seconds (0: at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Propagation {
    #[serde(default, deserialize_with = "seconds")]
    pub applications: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub service_principals: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub credentials: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub app_role_assignments: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub permission_grants: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub directory_roles: u64,
    #[serde(default, deserialize_with = "seconds")]
    pub users: u64,
}

/// The profiles a fixture or the control plane may name instead of giving the delays.
pub const PROFILES: &[&str] = &["immediate", "realistic", "slow"];

impl Propagation {
    /// Every write seen at once: the default.
    pub const IMMEDIATE: Propagation = Propagation {
        applications: 0,
        service_principals: 0,
        credentials: 0,
        app_role_assignments: 0,
        permission_grants: 0,
        directory_roles: 0,
        users: 0,
    };

    /// Delays people measured against Entra.
    pub const REALISTIC: Propagation = Propagation {
        // "After a few seconds I am able to log in" with a new application
        // (https://github.com/hashicorp/vault-plugin-secrets-azure/issues/26); tools retry the
        // service principal of a new application for seconds (hamilton's odata client).
        applications: 10,
        service_principals: 10,
        // A new secret refused for 4 to 18 seconds
        // (https://github.com/microsoftgraph/microsoft-graph-docs/issues/17966).
        credentials: 15,
        // Roles and consent reach tokens after "a few minutes" at worst; 65001 for about 30
        // seconds after consent
        // (https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/2612).
        app_role_assignments: 30,
        permission_grants: 30,
        // A directory role of a new account: the Connect Sync documentation allows up to 15
        // minutes; a minute is the common case (the project's inference).
        directory_roles: 60,
        // A new user read back by id: "a 'Not Found'" for a while
        // (https://blogs.aaddevsup.xyz/2021/08/why-do-i-sometimes-get-a-404-when-trying-to-update-an-azure-directory-object-after-i-just-created-it/);
        // no figure is published, 5 seconds is the project's choice.
        users: 5,
    };

    /// The slow end of what was measured, to test retry logic under pressure.
    pub const SLOW: Propagation = Propagation {
        applications: 60,
        service_principals: 60,
        credentials: 60,
        // "Eventually consistent, up to two minutes" (https://github.com/Azure/ARO-HCP/pull/2723).
        app_role_assignments: 120,
        permission_grants: 120,
        // "It might take up to 15 minutes" (Connect Sync, authenticate-application-id).
        directory_roles: 900,
        users: 10,
    };

    /// The profile called `name`.
    pub fn profile(name: &str) -> Option<Propagation> {
        match name {
            "immediate" => Some(Self::IMMEDIATE),
            "realistic" => Some(Self::REALISTIC),
            "slow" => Some(Self::SLOW),
            _ => None,
        }
    }

    pub fn is_immediate(&self) -> bool {
        *self == Self::IMMEDIATE
    }

    /// How long a write of `kind` takes to be seen; `None` when at once.
    pub fn delay(&self, kind: WriteKind) -> Option<Duration> {
        let seconds = match kind {
            WriteKind::Applications => self.applications,
            WriteKind::ServicePrincipals => self.service_principals,
            WriteKind::Credentials => self.credentials,
            WriteKind::AppRoleAssignments => self.app_role_assignments,
            WriteKind::PermissionGrants => self.permission_grants,
            WriteKind::DirectoryRoles => self.directory_roles,
            WriteKind::Users => self.users,
        };
        // Bounded where it enters (`seconds`), so the conversion holds.
        let seconds = i64::try_from(seconds.min(MAX_LAG_SECONDS)).ok()?;
        (seconds > 0).then(|| Duration::seconds(seconds))
    }

    /// Reads a setting as a fixture or the control plane gives it: a profile's name, or the
    /// delays (kinds left out are immediate).
    pub fn from_json(v: &serde_json::Value) -> Result<Propagation, String> {
        match v {
            serde_json::Value::String(name) => Self::profile(name).ok_or_else(|| {
                format!(
                    "unknown propagation profile `{name}`, expected one of {}",
                    PROFILES.join(", ")
                )
            }),
            serde_json::Value::Object(_) => {
                serde_json::from_value(v.clone()).map_err(|e| e.to_string())
            }
            _ => Err(format!(
                "a propagation profile ({}) or an object of delays in seconds",
                PROFILES.join(", ")
            )),
        }
    }
}

/// A delay in seconds, at most `MAX_LAG_SECONDS` (a century stands for "never").
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = u64::deserialize(d)?;
    if s > MAX_LAG_SECONDS {
        return Err(de::Error::custom(format!(
            "a delay must be at most {MAX_LAG_SECONDS} seconds (a century), not {s}"
        )));
    }
    Ok(s)
}

/// The fixture's `tenant.propagation`: a profile's name or the delays.
pub fn deserialize_setting<'de, D: Deserializer<'de>>(d: D) -> Result<Propagation, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Propagation::from_json(&v).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_and_delays_are_read() {
        assert_eq!(
            Propagation::from_json(&json!("realistic")),
            Ok(Propagation::REALISTIC)
        );
        let p = Propagation::from_json(&json!({"credentials": 20})).unwrap();
        assert_eq!(p.delay(WriteKind::Credentials), Some(Duration::seconds(20)));
        assert_eq!(p.delay(WriteKind::Users), None);
        for name in PROFILES {
            assert!(Propagation::profile(name).is_some(), "{name}");
        }
        assert!(Propagation::IMMEDIATE.is_immediate());
        assert!(Propagation::default().is_immediate());
    }

    #[test]
    fn bad_settings_are_named() {
        let cases = [
            (json!("eventual"), "unknown propagation profile `eventual`"),
            (json!({"credential": 5}), "unknown field `credential`"),
            (json!({"users": -1}), "invalid value"),
            (
                json!({"users": 3155760001u64}),
                "at most 3155760000 seconds",
            ),
            (json!(5), "a propagation profile"),
        ];
        for (v, words) in cases {
            let e = Propagation::from_json(&v).unwrap_err();
            assert!(e.contains(words), "{v}: {e}");
        }
    }

    #[test]
    fn no_profile_but_immediate_sees_writes_at_once() {
        for p in [Propagation::REALISTIC, Propagation::SLOW] {
            for kind in [
                WriteKind::Applications,
                WriteKind::ServicePrincipals,
                WriteKind::Credentials,
                WriteKind::AppRoleAssignments,
                WriteKind::PermissionGrants,
                WriteKind::DirectoryRoles,
                WriteKind::Users,
            ] {
                assert!(p.delay(kind).is_some(), "{p:?} {kind:?}");
            }
        }
    }
}
