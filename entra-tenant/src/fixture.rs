//! The fixture format: a whole tenant as JSON (who it is, its clock, its `Directory` and its
//! signing key). A snapshot is a fixture, so what a test leaves behind can be loaded again with
//! `mock-graph serve --fixture` or `POST /_mock/tenants`.

use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::ClockFixture;
use crate::cloud::Cloud;
use crate::directory::Directory;
use crate::ids::TenantId;
use crate::signing::SigningKeyFixture;

/// The embedded default fixture (`fixtures/default.json`).
pub const DEFAULT_FIXTURE_JSON: &str = include_str!("../../fixtures/default.json");

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantInfo {
    pub id: TenantId,
    pub display_name: String,
    /// The `*.onmicrosoft.com` domain every tenant has.
    pub initial_domain: String,
    /// Other verified domains; the initial domain need not be repeated.
    #[serde(default)]
    pub verified_domains: Vec<String>,
    #[serde(default)]
    pub cloud: Cloud,
}

/// A whole tenant. Its members are `tenant`, `clock`, the directory's collections (`users`,
/// `applications`, ..., `services`) and `signingKey`; any other member is refused.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TenantFixture {
    pub tenant: TenantInfo,
    #[serde(default)]
    pub clock: ClockFixture,
    /// The directory's collections, as members of the fixture itself.
    #[serde(flatten)]
    pub directory: Directory,
    /// Absent in hand-written fixtures (a key is generated); present in snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKeyFixture>,
}

/// A fixture file that cannot be used, with what is wrong in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("the fixture is not valid JSON of the fixture format: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("the fixture is inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    SigningKey(#[from] crate::signing::SigningKeyError),
    #[error("`clock.now`: {0}")]
    Clock(crate::clock::ClockOutOfRange),
}

/// Every member a fixture may have, in the order a snapshot writes them.
fn members() -> &'static [&'static str] {
    static MEMBERS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        ["tenant", "clock"]
            .into_iter()
            .chain(Directory::members().iter().copied())
            .chain(["signingKey"])
            .collect()
    });
    &MEMBERS
}

/// Reads a fixture member by member, as a struct is read: an unknown member is refused where it
/// stands, naming the known ones. The directory's members are gathered and read as one
/// `Directory`, whose errors name the member at fault (`users[0].passwordProfile`).
impl<'de> Deserialize<'de> for TenantFixture {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FixtureVisitor)
    }
}

struct FixtureVisitor;

impl<'de> Visitor<'de> for FixtureVisitor {
    type Value = TenantFixture;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tenant fixture (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TenantFixture, A::Error> {
        let mut tenant: Option<TenantInfo> = None;
        let mut clock: Option<ClockFixture> = None;
        let mut signing_key: Option<Option<SigningKeyFixture>> = None;
        let mut directory = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(&name) = members().iter().find(|m| **m == key) else {
                return Err(de::Error::unknown_field(&key, members()));
            };
            let seen = match name {
                "tenant" => tenant.replace(map.next_value()?).is_some(),
                "clock" => clock.replace(map.next_value()?).is_some(),
                "signingKey" => signing_key.replace(map.next_value()?).is_some(),
                _ => directory.insert(key, map.next_value()?).is_some(),
            };
            if seen {
                return Err(de::Error::duplicate_field(name));
            }
        }
        let tenant = tenant.ok_or_else(|| de::Error::missing_field("tenant"))?;
        let directory: Directory = serde_path_to_error::deserialize(Value::Object(directory))
            .map_err(|e| de::Error::custom(format!("`{}`: {}", e.path(), e.inner())))?;
        Ok(TenantFixture {
            tenant,
            clock: clock.unwrap_or_default(),
            directory,
            signing_key: signing_key.flatten(),
        })
    }
}

impl TenantFixture {
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn default_fixture() -> Self {
        // The embedded fixture is checked by a unit test; it cannot fail at run time.
        Self::from_json(DEFAULT_FIXTURE_JSON).expect("embedded default fixture is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixture_parses_and_round_trips() {
        let f = TenantFixture::from_json(DEFAULT_FIXTURE_JSON).unwrap();
        assert_eq!(
            f.tenant.id.to_string(),
            "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"
        );
        assert_eq!(f.tenant.initial_domain, "contoso.onmicrosoft.com");
        let again = TenantFixture::from_json(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(f, again);
    }

    #[test]
    fn an_unknown_member_is_refused_before_a_missing_one() {
        let err = TenantFixture::from_json(r#"{"usres": []}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field `usres`, expected one of `tenant`, `clock`, `users`, `roleAssignments`, `applications`, `servicePrincipals`, `appRoleAssignments`, `oauth2PermissionGrants`, `services`, `signingKey`"),
            "{err}"
        );
        let err = TenantFixture::from_json(r#"{"users": [{"id": 7}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `tenant`"), "{err}");
    }

    #[test]
    fn a_bad_directory_member_is_named() {
        let mut f: Value = serde_json::from_str(DEFAULT_FIXTURE_JSON).unwrap();
        f["users"][1]["accountEnabled"] = Value::from("yes");
        let err = TenantFixture::from_json(&f.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`users[1].accountEnabled`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = TenantFixture::from_json(r#"{"tenant": {"id": "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d", "displayName": "x", "initialDomain": "x.onmicrosoft.com"}, "usres": []}"#)
            .unwrap_err();
        assert!(err.to_string().contains("usres"), "{err}");
    }
}
