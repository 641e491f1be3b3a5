//! The directory objects of a tenant, in the shape Microsoft Graph gives them (camelCase
//! properties) so that a snapshot reads like Graph output. Fields that Graph never returns but a
//! mock must know (a user's password, a secret's text) are marked as fixture-only.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{AppId, ObjectId, Thumbprint};

/// Binary properties (certificate DER, `customKeyIdentifier`) travel as standard base64 in Graph.
pub mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) => {
                let cleaned: String = t.chars().filter(|c| !c.is_whitespace()).collect();
                STANDARD
                    .decode(cleaned)
                    .map(Some)
                    .map_err(serde::de::Error::custom)
            }
        }
    }
}

/// A certificate or symmetric key registered on an application or service principal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    pub key_id: Uuid,
    #[serde(default, with = "base64_bytes")]
    pub custom_key_identifier: Option<Vec<u8>>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    #[serde(rename = "type")]
    pub key_type: String,
    pub usage: String,
    /// The certificate's DER encoding (public part only).
    #[serde(default, with = "base64_bytes")]
    pub key: Option<Vec<u8>>,
    /// Fixture-only: who added the credential, as far as the mock knows. Graph never shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<CredentialOrigin>,
}

/// How a credential came onto its object, kept by the mock beside it (the `addedBy` member of a
/// keyCredential in fixtures and snapshots; never part of Graph's answers). It decides whether
/// the credential is foreign (`KeyCredential::is_foreign`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialOrigin {
    /// The object id of the user or service principal that added it; `None` when no principal
    /// did (a test arranged the tenant in-process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<ObjectId>,
    pub via: CredentialVia,
}

/// The way a credential was added.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum CredentialVia {
    /// `addKey` on the object, with a proof signed by one of its certificates.
    AddKey,
    /// `keyCredentials` in the body that created the object.
    Create,
    /// A PATCH of the object's `keyCredentials`.
    Update,
    /// Written into a fixture by hand (with the principal it stands for).
    Fixture,
    /// Added in-process by a test (`Tenant::add_certificate`).
    Test,
}

impl CredentialOrigin {
    /// Added by `principal` through Graph.
    pub fn graph(principal: ObjectId, via: CredentialVia) -> Self {
        CredentialOrigin {
            principal_id: Some(principal),
            via,
        }
    }
}

pub const ASYMMETRIC_X509_CERT: &str = "AsymmetricX509Cert";
pub const USAGE_VERIFY: &str = "Verify";

impl KeyCredential {
    /// Whether this credential can verify a client assertion: an X.509 certificate for `Verify`.
    pub fn verifies_assertions(&self) -> bool {
        self.key_type == ASYMMETRIC_X509_CERT && self.usage == USAGE_VERIFY && self.key.is_some()
    }

    /// Whether the certificate's thumbprint (of the same hash kind) equals `thumbprint`.
    pub fn has_thumbprint(&self, thumbprint: &Thumbprint) -> bool {
        self.key
            .as_deref()
            .is_some_and(|der| &thumbprint.same_kind_of(der) == thumbprint)
    }

    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.start_date_time <= now && now < self.end_date_time
    }

    /// Whether the credential is foreign to its object: added by a principal other than the
    /// object's own service principal (`own`) and other than one of its `owners` (Entra makes
    /// the user or application that creates an application its owner). `None` when the mock
    /// does not know who added it (no `addedBy`, or no principal in it).
    pub fn is_foreign(&self, own: Option<ObjectId>, owners: &[ObjectId]) -> Option<bool> {
        let by = self.added_by.as_ref()?.principal_id?;
        Some(Some(by) != own && !owners.contains(&by))
    }
}

/// A client secret. `secretText` is fixture-only: Graph returns it once, at creation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: Uuid,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    pub secret_text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAccess {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub access_type: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// An application registration (the app's definition, owned by this tenant).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: ObjectId,
    pub app_id: AppId,
    pub display_name: String,
    #[serde(default = "default_sign_in_audience")]
    pub sign_in_audience: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    #[serde(default)]
    pub is_fallback_public_client: Option<bool>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// The roles the application defines; its service principal offers them.
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// `api` as the client set it (its `oauth2PermissionScopes` checked, and offered by the
    /// service principal); `null` until set.
    #[serde(default)]
    pub api: Option<serde_json::Value>,
    /// `web` as the client set it; `null` until set.
    #[serde(default)]
    pub web: Option<serde_json::Value>,
    /// The writable properties the mock does not act on (`notes`, `optionalClaims`, `spa`,
    /// `tags`, …) as the client set them, so that they read back as Graph would answer.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub kept: serde_json::Map<String, serde_json::Value>,
    /// Object ids of the application's owners (users or service principals).
    #[serde(default)]
    pub owners: Vec<ObjectId>,
}

fn default_sign_in_audience() -> String {
    "AzureADMyOrg".to_string()
}

impl Application {
    /// A new single-tenant application with no credentials, as Graph creates it.
    pub fn new(id: ObjectId, app_id: AppId, display_name: &str, now: OffsetDateTime) -> Self {
        Application {
            id,
            app_id,
            display_name: display_name.to_string(),
            sign_in_audience: default_sign_in_audience(),
            created_date_time: Some(now),
            identifier_uris: Vec::new(),
            is_fallback_public_client: None,
            key_credentials: Vec::new(),
            password_credentials: Vec::new(),
            required_resource_access: Vec::new(),
            app_roles: Vec::new(),
            api: None,
            web: None,
            kept: serde_json::Map::new(),
            owners: Vec::new(),
        }
    }
}

/// A role that a resource's service principal offers (`roles` claim values).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: Uuid,
    #[serde(default = "default_member_types")]
    pub allowed_member_types: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub display_name: String,
    #[serde(default = "default_true")]
    pub is_enabled: bool,
    #[serde(default)]
    pub origin: Option<String>,
    pub value: String,
}

/// A delegated permission a resource offers (`scp` claim values): an entry of
/// `oauth2PermissionScopes`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    pub id: Uuid,
    #[serde(default)]
    pub admin_consent_description: Option<String>,
    #[serde(default)]
    pub admin_consent_display_name: Option<String>,
    #[serde(default = "default_true")]
    pub is_enabled: bool,
    /// `Admin` (only an administrator may consent) or `User`.
    #[serde(rename = "type", default = "default_scope_type")]
    pub scope_type: String,
    pub value: String,
}

fn default_scope_type() -> String {
    "User".to_string()
}

fn default_member_types() -> Vec<String> {
    vec!["Application".to_string()]
}

fn default_true() -> bool {
    true
}

/// An application's instance in this tenant: what tokens are issued to and for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: ObjectId,
    pub app_id: AppId,
    pub display_name: String,
    #[serde(default = "default_true")]
    pub account_enabled: bool,
    /// The tenant that owns the application; Microsoft's own tenant for first-party apps.
    #[serde(default)]
    pub app_owner_organization_id: Option<Uuid>,
    #[serde(default = "default_sp_type")]
    pub service_principal_type: String,
    /// Names a token request may use as resource (`{name}/.default`), besides the appId.
    #[serde(default)]
    pub service_principal_names: Vec<String>,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// The delegated permissions the service principal offers as a resource.
    #[serde(default)]
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    /// Credentials held on the service principal itself: a `Verify` certificate here
    /// authenticates the application in this tenant like one on the application object,
    /// without showing on the application (app instance property lock documentation).
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Client secrets held on the service principal (`secretText` is fixture-only).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Fixture-only: a first-party public client (no application object in this tenant) that
    /// may sign users in with a password, such as Microsoft Graph Command Line Tools.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_public_client: bool,
    /// The writable properties the mock does not act on (`notes`, `tags`,
    /// `appRoleAssignmentRequired`, …) as the client set them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub kept: serde_json::Map<String, serde_json::Value>,
}

fn default_sp_type() -> String {
    "Application".to_string()
}

impl ServicePrincipal {
    /// The service principal of this tenant's application `app_id`.
    pub fn for_application(id: ObjectId, app_id: AppId, display_name: &str, tenant: Uuid) -> Self {
        ServicePrincipal {
            id,
            app_id,
            display_name: display_name.to_string(),
            account_enabled: true,
            app_owner_organization_id: Some(tenant),
            service_principal_type: default_sp_type(),
            service_principal_names: vec![app_id.to_string()],
            app_roles: Vec::new(),
            oauth2_permission_scopes: Vec::new(),
            key_credentials: Vec::new(),
            password_credentials: Vec::new(),
            is_public_client: false,
            kept: serde_json::Map::new(),
        }
    }

    /// Whether `resource` (an appId or one of the names) designates this service principal.
    /// Entra compares App ID URIs without regard to case or a trailing slash.
    pub fn is_named(&self, resource: &str) -> bool {
        let wanted = resource.trim_end_matches('/');
        wanted.eq_ignore_ascii_case(&self.app_id.to_string())
            || self
                .service_principal_names
                .iter()
                .any(|n| n.trim_end_matches('/').eq_ignore_ascii_case(wanted))
    }

    pub fn app_role(&self, id: Uuid) -> Option<&AppRole> {
        self.app_roles.iter().find(|r| r.id == id)
    }
}

/// A grant of an app role of `resource_id` to `principal_id`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    #[serde(default = "default_principal_type")]
    pub principal_type: String,
    #[serde(default)]
    pub principal_display_name: Option<String>,
    pub resource_id: ObjectId,
    #[serde(default)]
    pub resource_display_name: Option<String>,
    pub app_role_id: Uuid,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
}

fn default_principal_type() -> String {
    "ServicePrincipal".to_string()
}

/// Delegated-permission consent: which scopes `client_id` may get on `resource_id` for users.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    pub id: String,
    pub client_id: ObjectId,
    #[serde(default = "default_consent_type")]
    pub consent_type: String,
    #[serde(default)]
    pub principal_id: Option<ObjectId>,
    pub resource_id: ObjectId,
    pub scope: String,
}

fn default_consent_type() -> String {
    "AllPrincipals".to_string()
}

/// Fixture-only part of a user: the password Graph never returns. A user without one (an
/// imported user: Graph never gives passwords out) cannot sign in with a password until a
/// fixture or snapshot gives it one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordProfile {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub force_change_password_next_sign_in: bool,
}

impl PasswordProfile {
    /// Whether the user has a password to sign in with.
    pub fn is_set(&self) -> bool {
        !self.password.is_empty()
    }

    fn is_unset(&self) -> bool {
        *self == PasswordProfile::default()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: ObjectId,
    pub user_principal_name: String,
    pub display_name: String,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default = "default_true")]
    pub account_enabled: bool,
    #[serde(default, skip_serializing_if = "PasswordProfile::is_unset")]
    pub password_profile: PasswordProfile,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
    /// The source anchor of a user synchronized from on-premises AD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_immutable_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_sync_enabled: Option<bool>,
    /// The writable properties the mock does not act on (`givenName`, `jobTitle`, …) as the
    /// client set them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub kept: serde_json::Map<String, serde_json::Value>,
}

/// A directory role held by a principal (Graph's unifiedRoleAssignment, tenant-wide scope).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    /// The role's template id (what tokens carry in `wids`).
    pub role_definition_id: Uuid,
    #[serde(default = "default_scope")]
    pub directory_scope_id: String,
}

fn default_scope() -> String {
    "/".to_string()
}
