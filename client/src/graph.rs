//! A typed Microsoft Graph v1.0 client for what the application lifecycle needs: applications
//! (by object id or `(appId='...')`), keyCredentials through PATCH, addKey/removeKey with a
//! proof signed over a [`Signer`], service principals, app role assignments, users and
//! directory roles. Graph's error JSON becomes [`GraphServiceError`], raw body kept.

use std::fmt::Debug;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::assertion::proof_of_possession;
use crate::cert::Certificate;
use crate::clock::Clock;
use crate::cloud::Endpoints;
use crate::http::{BoxFuture, HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::ids::{ClientId, KeyCredentialId, ObjectId};
use crate::keys::{KeyError, Signer};
use crate::retry::{RetryPolicy, Sleeper, send_with_retry};
use crate::token::{AccessToken, CertificateCredential, TokenClient, TokenError};

/// Graph's error answer: `{"error":{"code","message","innerError":{"request-id",...}}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph {code} (HTTP {status}): {message}")]
pub struct GraphServiceError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub raw_body: String,
}

impl GraphServiceError {
    /// Parses a Graph error body; the `request-id` header fills in when innerError lacks it.
    pub fn parse(response: &HttpResponse) -> Option<Self> {
        #[derive(Deserialize)]
        struct Wire {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: String,
            #[serde(default)]
            message: String,
            #[serde(default, alias = "innererror", rename = "innerError")]
            inner: Option<InnerError>,
        }
        #[derive(Deserialize)]
        struct InnerError {
            #[serde(rename = "request-id")]
            request_id: Option<String>,
            #[serde(rename = "client-request-id")]
            client_request_id: Option<String>,
        }
        let raw_body = response.text();
        let wire: Wire = serde_json::from_str(&raw_body).ok()?;
        let inner = wire.error.inner;
        Some(Self {
            status: response.status,
            code: wire.error.code,
            message: wire.error.message,
            request_id: inner
                .as_ref()
                .and_then(|i| i.request_id.clone())
                .or_else(|| response.header("request-id").map(str::to_owned)),
            client_request_id: inner
                .and_then(|i| i.client_request_id)
                .or_else(|| response.header("client-request-id").map(str::to_owned)),
            raw_body,
        })
    }
}

/// Why a Graph call failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Service(Box<GraphServiceError>),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot get a Graph token: {0}")]
    Token(Box<TokenError>),
    #[error("cannot sign the proof of possession: {0}")]
    Signing(#[from] KeyError),
    #[error("unexpected Graph answer (HTTP {status}): {reason}")]
    Unexpected {
        status: u16,
        reason: String,
        raw_body: String,
    },
}

impl From<GraphServiceError> for GraphError {
    fn from(error: GraphServiceError) -> Self {
        GraphError::Service(Box::new(error))
    }
}

impl From<TokenError> for GraphError {
    fn from(error: TokenError) -> Self {
        GraphError::Token(Box::new(error))
    }
}

impl GraphError {
    /// Graph's error code, when Graph gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Service(e) => Some(&e.code),
            _ => None,
        }
    }
}

/// Supplies bearer tokens for Graph.
pub trait TokenSource: Send + Sync + Debug {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>>;
}

/// A token obtained elsewhere (e.g. an administrator's ROPC sign-in).
#[derive(Debug, Clone)]
pub struct StaticToken(pub AccessToken);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// App-only Graph tokens for an application identity, through the token cache.
#[derive(Debug, Clone)]
pub struct AppTokenSource {
    pub client: Arc<TokenClient>,
    pub credential: CertificateCredential,
}

impl TokenSource for AppTokenSource {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let resource = self.client.endpoints().graph_resource().to_owned();
            self.client.app_token(&self.credential, &resource).await
        })
    }
}

/// An application or service principal named by object id or by appId (alternate key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Id(ObjectId),
    AppId(ClientId),
}

impl ObjectRef {
    fn path(&self, collection: &str) -> String {
        match self {
            ObjectRef::Id(id) => format!("{collection}/{}", segment(id.as_str())),
            // OData string literals double their quotes.
            ObjectRef::AppId(app_id) => format!(
                "{collection}(appId='{}')",
                segment(&app_id.as_str().replace('\'', "''"))
            ),
        }
    }
}

/// What cannot appear raw in a URL path segment (RFC 3986); GUIDs, UPNs and quotes stay
/// readable, which is how Graph's own documentation writes these URLs.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A keyCredential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyCredentialId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<OffsetDateTime>,
    /// Base64 of the certificate DER; Graph returns it only on a `$select`ed single GET.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub usage: String,
}

impl KeyCredential {
    /// A certificate as a verify key: type AsymmetricX509Cert, usage Verify, the
    /// certificate's validity and subject.
    pub fn for_certificate(cert: &Certificate) -> Result<Self, GraphError> {
        let info = cert.info().map_err(|e| GraphError::Unexpected {
            status: 0,
            reason: e.to_string(),
            raw_body: String::new(),
        })?;
        Ok(Self {
            key_id: None,
            custom_key_identifier: None,
            display_name: Some(info.subject),
            start_date_time: Some(info.not_before),
            end_date_time: Some(info.not_after),
            key: Some(B64.encode(cert.der())),
            kind: "AsymmetricX509Cert".into(),
            usage: "Verify".into(),
        })
    }
}

/// `requiredResourceAccess` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    pub resource_access: Vec<ResourceAccess>,
}

/// One permission in `requiredResourceAccess`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: String,
    /// `Role` (application permission) or `Scope`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The application properties the client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: ObjectId,
    pub app_id: ClientId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

/// An app role a resource offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
    #[serde(default)]
    pub is_enabled: Option<bool>,
}

/// The service principal properties the client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: ObjectId,
    pub app_id: ClientId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
}

/// An app role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    pub resource_id: ObjectId,
    pub app_role_id: String,
    #[serde(default)]
    pub principal_type: Option<String>,
    #[serde(default)]
    pub resource_display_name: Option<String>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: ObjectId,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

/// An activated directory role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: ObjectId,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role_template_id: Option<String>,
}

/// A verified domain of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub name: String,
    #[serde(default)]
    pub is_initial: bool,
    #[serde(default)]
    pub is_default: bool,
}

/// The tenant (`/organization`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
}

impl Organization {
    /// The initial `*.onmicrosoft.com` domain (or the first verified one).
    pub fn initial_domain(&self) -> Option<&str> {
        self.verified_domains
            .iter()
            .find(|d| d.is_initial)
            .or_else(|| self.verified_domains.first())
            .map(|d| d.name.as_str())
    }
}

/// A directory role assignment (`/roleManagement/directory/roleAssignments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignment {
    pub id: String,
    pub principal_id: ObjectId,
    pub role_definition_id: String,
    #[serde(default)]
    pub directory_scope_id: Option<String>,
}

/// Any directory object (role members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryObject {
    pub id: ObjectId,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default, rename = "userPrincipalName")]
    pub user_principal_name: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(default, rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Limit on pages followed, so a server that keeps handing out links cannot loop us forever.
const MAX_PAGES: usize = 100;

/// The Graph client.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: Arc<dyn HttpTransport>,
    sleeper: Arc<dyn Sleeper>,
    retry: RetryPolicy,
    endpoints: Endpoints,
    token: Arc<dyn TokenSource>,
}

impl GraphClient {
    pub fn new(
        http: Arc<dyn HttpTransport>,
        sleeper: Arc<dyn Sleeper>,
        endpoints: Endpoints,
        token: Arc<dyn TokenSource>,
    ) -> Self {
        Self {
            http,
            sleeper,
            retry: RetryPolicy::default(),
            endpoints,
            token,
        }
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    // ---- applications

    pub async fn create_application(
        &self,
        body: &serde_json::Value,
    ) -> Result<Application, GraphError> {
        self.send_json(Method::POST, "applications", &[], Some(body))
            .await
    }

    pub async fn get_application(&self, app: &ObjectRef) -> Result<Application, GraphError> {
        self.send_json(Method::GET, &app.path("applications"), &[], None)
            .await
    }

    /// Lists applications, e.g. with `filter` = `appId eq '...'` or `displayName eq '...'`.
    pub async fn list_applications(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<Application>, GraphError> {
        self.list("applications", filter).await
    }

    /// PATCH: only the properties in `patch` change.
    pub async fn update_application(
        &self,
        app: &ObjectRef,
        patch: &serde_json::Value,
    ) -> Result<(), GraphError> {
        self.send_empty(Method::PATCH, &app.path("applications"), Some(patch))
            .await
    }

    pub async fn delete_application(&self, app: &ObjectRef) -> Result<(), GraphError> {
        self.send_empty(Method::DELETE, &app.path("applications"), None)
            .await
    }

    /// Replaces the whole keyCredentials collection (PATCH semantics for collections).
    pub async fn set_key_credentials(
        &self,
        app: &ObjectRef,
        keys: &[KeyCredential],
    ) -> Result<(), GraphError> {
        self.update_application(app, &json!({ "keyCredentials": keys }))
            .await
    }

    /// addKey with a ready proof.
    pub async fn add_key(
        &self,
        app: &ObjectRef,
        key: &KeyCredential,
        proof: &str,
    ) -> Result<KeyCredential, GraphError> {
        let body = json!({ "keyCredential": key, "passwordCredential": null, "proof": proof });
        self.send_json(
            Method::POST,
            &format!("{}/addKey", app.path("applications")),
            &[],
            Some(&body),
        )
        .await
    }

    /// removeKey with a ready proof.
    pub async fn remove_key(
        &self,
        app: &ObjectRef,
        key_id: &KeyCredentialId,
        proof: &str,
    ) -> Result<(), GraphError> {
        let body = json!({ "keyId": key_id, "proof": proof });
        self.send_empty(
            Method::POST,
            &format!("{}/removeKey", app.path("applications")),
            Some(&body),
        )
        .await
    }

    /// Adds `new_cert` to the application `app_object_id`, proving possession of one of its
    /// current keys (`current_cert`, signed by `current_key`).
    pub async fn add_key_with_proof(
        &self,
        app_object_id: &ObjectId,
        new_cert: &Certificate,
        current_cert: &Certificate,
        current_key: &dyn Signer,
        clock: &dyn Clock,
    ) -> Result<KeyCredential, GraphError> {
        let proof = proof_of_possession(current_key, current_cert, app_object_id, clock)?;
        let key = KeyCredential::for_certificate(new_cert)?;
        self.add_key(&ObjectRef::Id(app_object_id.clone()), &key, &proof)
            .await
    }

    /// Removes the key `key_id` from the application `app_object_id`, with a proof signed
    /// by a key that stays.
    pub async fn remove_key_with_proof(
        &self,
        app_object_id: &ObjectId,
        key_id: &KeyCredentialId,
        signing_cert: &Certificate,
        signing_key: &dyn Signer,
        clock: &dyn Clock,
    ) -> Result<(), GraphError> {
        let proof = proof_of_possession(signing_key, signing_cert, app_object_id, clock)?;
        self.remove_key(&ObjectRef::Id(app_object_id.clone()), key_id, &proof)
            .await
    }

    // ---- service principals and app roles

    pub async fn create_service_principal(
        &self,
        app_id: &ClientId,
    ) -> Result<ServicePrincipal, GraphError> {
        self.send_json(
            Method::POST,
            "servicePrincipals",
            &[],
            Some(&json!({ "appId": app_id })),
        )
        .await
    }

    pub async fn get_service_principal(
        &self,
        sp: &ObjectRef,
    ) -> Result<ServicePrincipal, GraphError> {
        self.send_json(Method::GET, &sp.path("servicePrincipals"), &[], None)
            .await
    }

    pub async fn list_service_principals(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<ServicePrincipal>, GraphError> {
        self.list("servicePrincipals", filter).await
    }

    pub async fn delete_service_principal(&self, sp: &ObjectRef) -> Result<(), GraphError> {
        self.send_empty(Method::DELETE, &sp.path("servicePrincipals"), None)
            .await
    }

    /// The app roles `principal` holds.
    pub async fn list_app_role_assignments(
        &self,
        principal: &ObjectRef,
    ) -> Result<Vec<AppRoleAssignment>, GraphError> {
        self.list(
            &format!("{}/appRoleAssignments", principal.path("servicePrincipals")),
            None,
        )
        .await
    }

    /// Grants `principal_id` the role `app_role_id` of the resource service principal.
    pub async fn assign_app_role(
        &self,
        principal_id: &ObjectId,
        resource_id: &ObjectId,
        app_role_id: &str,
    ) -> Result<AppRoleAssignment, GraphError> {
        let body = json!({ "principalId": principal_id, "resourceId": resource_id, "appRoleId": app_role_id });
        let path = format!(
            "servicePrincipals/{}/appRoleAssignments",
            segment(principal_id.as_str())
        );
        self.send_json(Method::POST, &path, &[], Some(&body)).await
    }

    pub async fn delete_app_role_assignment(
        &self,
        principal_id: &ObjectId,
        assignment_id: &str,
    ) -> Result<(), GraphError> {
        let path = format!(
            "servicePrincipals/{}/appRoleAssignments/{}",
            segment(principal_id.as_str()),
            segment(assignment_id)
        );
        self.send_empty(Method::DELETE, &path, None).await
    }

    // ---- users and directory roles

    pub async fn create_user(&self, body: &serde_json::Value) -> Result<User, GraphError> {
        self.send_json(Method::POST, "users", &[], Some(body)).await
    }

    /// A user by object id or userPrincipalName.
    pub async fn get_user(&self, id_or_upn: &str) -> Result<User, GraphError> {
        self.send_json(
            Method::GET,
            &format!("users/{}", segment(id_or_upn)),
            &[],
            None,
        )
        .await
    }

    pub async fn list_users(&self, filter: Option<&str>) -> Result<Vec<User>, GraphError> {
        self.list("users", filter).await
    }

    pub async fn update_user(
        &self,
        id_or_upn: &str,
        patch: &serde_json::Value,
    ) -> Result<(), GraphError> {
        self.send_empty(
            Method::PATCH,
            &format!("users/{}", segment(id_or_upn)),
            Some(patch),
        )
        .await
    }

    pub async fn delete_user(&self, id_or_upn: &str) -> Result<(), GraphError> {
        self.send_empty(
            Method::DELETE,
            &format!("users/{}", segment(id_or_upn)),
            None,
        )
        .await
    }

    pub async fn list_directory_roles(&self) -> Result<Vec<DirectoryRole>, GraphError> {
        self.list("directoryRoles", None).await
    }

    pub async fn list_directory_role_members(
        &self,
        role_id: &ObjectId,
    ) -> Result<Vec<DirectoryObject>, GraphError> {
        self.list(
            &format!("directoryRoles/{}/members", segment(role_id.as_str())),
            None,
        )
        .await
    }

    /// Adds a member to a directory role (`POST .../members/$ref`).
    pub async fn add_directory_role_member(
        &self,
        role_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<(), GraphError> {
        let body = json!({
            "@odata.id": self.endpoints.graph_url(&format!("directoryObjects/{}", segment(member_id.as_str())))
        });
        let path = format!("directoryRoles/{}/members/$ref", segment(role_id.as_str()));
        self.send_empty(Method::POST, &path, Some(&body)).await
    }

    pub async fn remove_directory_role_member(
        &self,
        role_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<(), GraphError> {
        let path = format!(
            "directoryRoles/{}/members/{}/$ref",
            segment(role_id.as_str()),
            segment(member_id.as_str())
        );
        self.send_empty(Method::DELETE, &path, None).await
    }

    // ---- organization and role management

    /// The signed-in tenant.
    pub async fn get_organization(&self) -> Result<Organization, GraphError> {
        let orgs: Vec<Organization> = self.list("organization", None).await?;
        orgs.into_iter()
            .next()
            .ok_or_else(|| GraphError::Unexpected {
                status: 200,
                reason: "no organization in the answer".into(),
                raw_body: String::new(),
            })
    }

    /// Directory role assignments, e.g. filtered by `principalId eq '...'`.
    pub async fn list_role_assignments(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<UnifiedRoleAssignment>, GraphError> {
        self.list("roleManagement/directory/roleAssignments", filter)
            .await
    }

    /// Assigns the directory role `role_definition_id` (a template id) tenant-wide.
    pub async fn create_role_assignment(
        &self,
        principal_id: &ObjectId,
        role_definition_id: &str,
    ) -> Result<UnifiedRoleAssignment, GraphError> {
        let body = json!({
            "principalId": principal_id,
            "roleDefinitionId": role_definition_id,
            "directoryScopeId": "/",
        });
        self.send_json(
            Method::POST,
            "roleManagement/directory/roleAssignments",
            &[],
            Some(&body),
        )
        .await
    }

    pub async fn delete_role_assignment(&self, id: &str) -> Result<(), GraphError> {
        self.send_empty(
            Method::DELETE,
            &format!("roleManagement/directory/roleAssignments/{}", segment(id)),
            None,
        )
        .await
    }

    // ---- plumbing

    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        filter: Option<&str>,
    ) -> Result<Vec<T>, GraphError> {
        let query: Vec<(&str, &str)> = filter.map(|f| ("$filter", f)).into_iter().collect();
        let mut url = self.url(path, &query)?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.send_url(Method::GET, url, None).await?;
            items.extend(page.value);
            match page.next_link {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(GraphError::Unexpected {
            status: 200,
            reason: format!("more than {MAX_PAGES} pages at {path}"),
            raw_body: String::new(),
        })
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, GraphError> {
        let url = self.url(path, query)?;
        self.send_url(method, url, body).await
    }

    async fn send_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), GraphError> {
        let url = self.url(path, &[])?;
        self.send(method, url, body).await.map(|_| ())
    }

    async fn send_url<T: DeserializeOwned>(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GraphError> {
        let response = self.send(method, url, body).await?;
        serde_json::from_slice(&response.body).map_err(|e| GraphError::Unexpected {
            status: response.status,
            reason: e.to_string(),
            raw_body: response.text(),
        })
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpResponse, GraphError> {
        let token = self.token.token().await?;
        let request = build_request(method, url, token.secret(), body);
        let response = send_with_retry(
            self.http.as_ref(),
            self.sleeper.as_ref(),
            &self.retry,
            &request,
        )
        .await?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        Err(match GraphServiceError::parse(&response) {
            Some(e) => e.into(),
            None => GraphError::Unexpected {
                status: response.status,
                reason: "not a Graph error body".into(),
                raw_body: response.text(),
            },
        })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<String, GraphError> {
        let raw = self.endpoints.graph_url(path);
        let mut url = Url::parse(&raw).map_err(|e| GraphError::Unexpected {
            status: 0,
            reason: format!("bad URL {raw}: {e}"),
            raw_body: String::new(),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
    }
}

/// The HTTP request for one Graph call: bearer token, JSON body, a fresh client-request-id.
pub fn build_request(
    method: Method,
    url: String,
    token: &str,
    body: Option<&serde_json::Value>,
) -> HttpRequest {
    let request = HttpRequest::new(method, url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .header("client-request-id", uuid::Uuid::new_v4().to_string());
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}
