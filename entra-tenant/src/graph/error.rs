//! Microsoft Graph's rule table: every way a Graph (or first-party service) request can be
//! refused, one row each, with its Graph error code, HTTP status and message. The row is the
//! only place a refusal's words are; `mock-graph`'s `http::graph_json` is the one place that
//! renders them as `{"error":{"code","message","innerError":{...}}}`.

use std::fmt;

use uuid::Uuid;

use crate::ids::ObjectId;
use crate::status::Status;

const INVALID_TOKEN: &str = "InvalidAuthenticationToken";
const MISSING_OR_MALFORMED: &str = "Authentication_MissingOrMalformed";
const IDENTITY_NOT_FOUND: &str = "Authorization_IdentityNotFound";
const DENIED: &str = "Authorization_RequestDenied";
const NOT_FOUND: &str = "Request_ResourceNotFound";
const REQUEST_BAD_REQUEST: &str = "Request_BadRequest";
/// The OData layer's code (unknown segment, property or payload).
const ODATA_BAD_REQUEST: &str = "BadRequest";
const UNSUPPORTED_QUERY: &str = "Request_UnsupportedQuery";
const SAME_KEY_VALUE: &str = "Request_MultipleObjectsWithSameKeyValue";

/// Declares the table: `Variant { fields } => code, status, "message", args;`. The message is
/// a format string over the variant's fields.
macro_rules! graph_errors {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({ $($field:ident: $ty:ty),* $(,)? })? =>
            $code:ident, $status:ident, $message:literal $(, $arg:expr)* ;
    )*) => {
        /// A refused Graph request.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum GraphError {
            $($(#[$doc])* $variant $({ $($field: $ty),* })?,)*
        }

        impl GraphError {
            /// The `error.code` of the body.
            pub fn code(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $code,)*
                }
            }

            pub fn status(&self) -> Status {
                match self {
                    $(Self::$variant { .. } => Status::$status,)*
                }
            }

            /// The `error.message` of the body, in Graph's words where they are known.
            pub fn message(&self) -> String {
                match self {
                    $(
                        #[allow(unused_variables)]
                        Self::$variant $({ $($field),* })? => format!($message $(, $arg)*),
                    )*
                }
            }
        }
    };
}

graph_errors! {
    // The bearer token and the caller.
    TokenMissing => INVALID_TOKEN, Unauthorized, "Access token is empty.";
    TokenMalformed => INVALID_TOKEN, Unauthorized,
        "CompactToken parsing failed with error code: 80049217";
    TokenSignature => INVALID_TOKEN, Unauthorized,
        "Access token validation failure. Invalid signature.";
    TokenAudience => INVALID_TOKEN, Unauthorized,
        "Access token validation failure. Invalid audience.";
    TokenTenant => INVALID_TOKEN, Unauthorized,
        "Access token validation failure. Invalid tenant.";
    TokenLifetime => INVALID_TOKEN, Unauthorized,
        "Lifetime validation failed, the token is expired.";
    IdentityNotFound => IDENTITY_NOT_FOUND, Forbidden,
        "The identity of the calling application could not be established.";
    Denied => DENIED, Forbidden, "Insufficient privileges to complete the operation.";
    MeNeedsUser => REQUEST_BAD_REQUEST, BadRequest,
        "/me request is only valid with delegated authentication flow.";
    /// A bad addKey/removeKey proof; `reason` is for the mock's own diagnostics only.
    Proof { reason: &'static str } => MISSING_OR_MALFORMED, Unauthorized,
        "Access Token missing or malformed.";
    NoValidCertificate => MISSING_OR_MALFORMED, Unauthorized,
        "Access Token missing or malformed. The object has no valid certificate to verify the proof; use PATCH to add a certificate.";

    // Addressing: the URL, its keys and the method.
    NotFound { id: String } => NOT_FOUND, NotFound,
        "Resource '{id}' does not exist or one of its queried reference-property objects are not present.";
    InvalidObjectId { id: String } => REQUEST_BAD_REQUEST, BadRequest,
        "Invalid object identifier '{id}'.";
    SegmentNotFound { segment: String } => ODATA_BAD_REQUEST, BadRequest,
        "Resource not found for the segment '{segment}'.";
    NotAnAlternateKey { property: String, type_name: &'static str } => ODATA_BAD_REQUEST, BadRequest,
        "The property '{property}' is not an alternate key of type '{type_name}'.";
    MethodNotAllowed => REQUEST_BAD_REQUEST, MethodNotAllowed,
        "The specified HTTP method is not allowed for the request target.";

    // The payload and its properties.
    UnreadablePayload => ODATA_BAD_REQUEST, BadRequest,
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.";
    UnknownProperty { name: String, type_name: &'static str } => ODATA_BAD_REQUEST, BadRequest,
        "Property '{name}' does not exist on type '{type_name}'. Make sure to only use property names that are defined by the type.";
    ReadOnlyProperty { name: String } => REQUEST_BAD_REQUEST, BadRequest,
        "Property '{name}' is read-only and cannot be set.";
    /// "Invalid value specified for property '…'", on a resource type or not, with what was
    /// wrong or not.
    InvalidValue { property: String, resource: Option<&'static str>, detail: Option<String> } =>
        REQUEST_BAD_REQUEST, BadRequest,
        "Invalid value specified for property '{property}'{}{}",
        of_resource(*resource), detail_or_stop(detail.as_deref());
    RequiredProperty { property: &'static str } => REQUEST_BAD_REQUEST, BadRequest,
        "The property '{property}' is required.";

    // Applications and service principals.
    PasswordCredentialsNotUpdatable => REQUEST_BAD_REQUEST, BadRequest,
        "Updates to the passwordCredentials property are not supported; use addPassword and removePassword.";
    TooManyResources => REQUEST_BAD_REQUEST, BadRequest,
        "The requiredResourceAccess collection may name at most 50 resources.";
    TooManyPermissions => REQUEST_BAD_REQUEST, BadRequest,
        "The requiredResourceAccess collection may name at most 400 permissions.";
    InvalidResourceAppId { value: String } => REQUEST_BAD_REQUEST, BadRequest,
        "Invalid resourceAppId '{value}' in requiredResourceAccess.";
    InvalidResourceAccessType { value: String } => REQUEST_BAD_REQUEST, BadRequest,
        "Invalid resourceAccess type '{value}': acceptable values are Role and Scope.";
    NoSuchApplication { app_id: String } => REQUEST_BAD_REQUEST, BadRequest,
        "The appId '{app_id}' of the service principal does not reference a valid application object.";
    ServicePrincipalNameInUse { app_id: String } => SAME_KEY_VALUE, Conflict,
        "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use.";

    // keyCredentials, addKey and removeKey.
    AddKeyPasswordCredential => REQUEST_BAD_REQUEST, BadRequest,
        "The mock supports addKey with certificates only (passwordCredential must be null).";
    InvalidKeyCredential { detail: String } => ODATA_BAD_REQUEST, BadRequest,
        "Invalid key credential in the request payload: {detail}";
    KeyCredentialsNotArray => ODATA_BAD_REQUEST, BadRequest,
        "The property 'keyCredentials' must be an array.";
    RequiredOnKeyCredential { property: &'static str } => REQUEST_BAD_REQUEST, BadRequest,
        "The property '{property}' is required on a key credential.";
    InvalidKeyType => REQUEST_BAD_REQUEST, BadRequest,
        "The value for the property \"type\" in one of your credentials is invalid. Acceptable values are AsymmetricX509Cert, X509CertAndPassword, Symmetric.";
    InvalidKeyUsage { acceptable: String } => REQUEST_BAD_REQUEST, BadRequest,
        "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are {acceptable}.";
    KeyNotBase64 => REQUEST_BAD_REQUEST, BadRequest, "Key credential key is not valid base64.";
    CustomKeyIdentifierNotBase64 => REQUEST_BAD_REQUEST, BadRequest,
        "Key credential customKeyIdentifier is not valid base64.";
    KeyNotACertificate => REQUEST_BAD_REQUEST, BadRequest,
        "Key credential key is not a valid certificate.";
    InvalidStartDate => REQUEST_BAD_REQUEST, BadRequest, "Key credential start date is invalid.";
    InvalidEndDate => REQUEST_BAD_REQUEST, BadRequest, "Key credential end date is invalid.";
    KeyChanged => REQUEST_BAD_REQUEST, BadRequest,
        "Update to existing credential with KeyId is not allowed.";
    DuplicateKeyId { key_id: Uuid } => REQUEST_BAD_REQUEST, BadRequest,
        "The keyId '{key_id}' is used by more than one key credential.";

    // App role assignments.
    AssignmentUrlMismatch { property: &'static str, service_principal: ObjectId } =>
        REQUEST_BAD_REQUEST, BadRequest,
        "The {property} in the request body does not match the service principal '{service_principal}' of the request URL.";
    AssignmentExists => REQUEST_BAD_REQUEST, BadRequest,
        "Permission being assigned already exists on the object.";
    AppRoleNotFound { resource: ObjectId } => REQUEST_BAD_REQUEST, BadRequest,
        "Permission being assigned was not found on application '{resource}'.";

    // Users.
    UnverifiedDomain => REQUEST_BAD_REQUEST, BadRequest,
        "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.";
    SameValue { property: &'static str } => REQUEST_BAD_REQUEST, BadRequest,
        "Another object with the same value for property {property} already exists.";
    PasswordComplexity => REQUEST_BAD_REQUEST, BadRequest,
        "The specified password does not comply with password complexity requirements. Please provide a different password.";

    // Directory roles and role assignments.
    MemberReferenceMissing => REQUEST_BAD_REQUEST, BadRequest,
        "The request body must name the member in '@odata.id'.";
    ReferenceExists => REQUEST_BAD_REQUEST, BadRequest,
        "One or more added object references already exist for the following modified properties: 'members'.";
    TenantWideScopeOnly => REQUEST_BAD_REQUEST, BadRequest,
        "The mock supports the tenant-wide directory scope '/' only.";
    UnknownRoleDefinition { role: Uuid } => REQUEST_BAD_REQUEST, BadRequest,
        "The role definition '{role}' does not exist.";
    ConflictingObject => REQUEST_BAD_REQUEST, BadRequest,
        "A conflicting object with one or more of the specified property values is present in the directory.";

    // OData query options.
    EmptySelect => ODATA_BAD_REQUEST, BadRequest,
        "Invalid $select: the list of properties is empty.";
    InvalidPageSize { value: String, max: usize } => REQUEST_BAD_REQUEST, BadRequest,
        "Invalid page size specified: '{value}'. Must be between 1 and {max} inclusive.";
    UnsupportedOption { option: String } => UNSUPPORTED_QUERY, BadRequest,
        "The mock does not support the query option '${option}'.";
    InvalidFilter { text: String } => REQUEST_BAD_REQUEST, BadRequest,
        "Invalid filter clause: {text}";
    UnsupportedOperator { property: String, operator: String } => UNSUPPORTED_QUERY, BadRequest,
        "Unsupported or invalid query filter clause specified for property '{property}': operator '{operator}' is not supported by the mock.";
    UnsupportedFilter { property: String, resource: String } => UNSUPPORTED_QUERY, BadRequest,
        "Unsupported or invalid query filter clause specified for property '{property}' of resource '{resource}'.";
    UnknownSelectProperty { name: String, type_name: String } => ODATA_BAD_REQUEST, BadRequest,
        "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type '{type_name}'.";
    InvalidSkipToken => REQUEST_BAD_REQUEST, BadRequest, "The $skiptoken is invalid.";

    // The first-party service models.
    InvalidClientVersion => REQUEST_BAD_REQUEST, BadRequest,
        "'clientVersion' must be a version such as 2.5.79.0.";
    InvalidExportBatch { detail: String } => REQUEST_BAD_REQUEST, BadRequest,
        "The export batch is not valid: {detail}";
    ExportsUsersOnly { object_type: String } => REQUEST_BAD_REQUEST, BadRequest,
        "The model exports users only, not '{object_type}'.";
    ExportDomainNotVerified { upn: String } => REQUEST_BAD_REQUEST, BadRequest,
        "The domain of '{upn}' is not a verified domain of the tenant.";
    DisplayNameRequired => REQUEST_BAD_REQUEST, BadRequest, "'displayName' is required.";
    NoSyncServicePrincipal => REQUEST_BAD_REQUEST, BadRequest,
        "The tenant has no Microsoft Entra AD Synchronization Service principal.";
}

impl GraphError {
    /// `NotFound` for `id`.
    pub fn not_found(id: impl fmt::Display) -> Self {
        GraphError::NotFound { id: id.to_string() }
    }

    /// `InvalidObjectId` for `id`.
    pub fn invalid_id(id: impl Into<String>) -> Self {
        GraphError::InvalidObjectId { id: id.into() }
    }

    /// "Invalid value specified for property '{property}'."
    pub fn invalid(property: impl Into<String>) -> Self {
        GraphError::InvalidValue {
            property: property.into(),
            resource: None,
            detail: None,
        }
    }

    /// "Invalid value specified for property '{property}' of resource '{resource}'."
    pub fn invalid_on(property: impl Into<String>, resource: &'static str) -> Self {
        GraphError::InvalidValue {
            property: property.into(),
            resource: Some(resource),
            detail: None,
        }
    }

    /// "Invalid value specified for property '{property}': {detail}"
    pub fn invalid_because(property: impl Into<String>, detail: impl Into<String>) -> Self {
        GraphError::InvalidValue {
            property: property.into(),
            resource: None,
            detail: Some(detail.into()),
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for GraphError {}

fn of_resource(resource: Option<&str>) -> String {
    resource
        .map(|r| format!(" of resource '{r}'"))
        .unwrap_or_default()
}

fn detail_or_stop(detail: Option<&str>) -> String {
    match detail {
        Some(d) => format!(": {d}"),
        None => ".".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: Vec<(GraphError, Status, &str)> = vec![
            (
                GraphError::TokenMissing,
                Status::Unauthorized,
                "InvalidAuthenticationToken",
            ),
            (
                GraphError::Denied,
                Status::Forbidden,
                "Authorization_RequestDenied",
            ),
            (
                GraphError::Proof { reason: "aud" },
                Status::Unauthorized,
                "Authentication_MissingOrMalformed",
            ),
            (
                GraphError::not_found("x"),
                Status::NotFound,
                "Request_ResourceNotFound",
            ),
            (
                GraphError::AssignmentExists,
                Status::BadRequest,
                "Request_BadRequest",
            ),
            (
                GraphError::UnreadablePayload,
                Status::BadRequest,
                "BadRequest",
            ),
            (
                GraphError::ServicePrincipalNameInUse { app_id: "x".into() },
                Status::Conflict,
                "Request_MultipleObjectsWithSameKeyValue",
            ),
            (
                GraphError::MethodNotAllowed,
                Status::MethodNotAllowed,
                "Request_BadRequest",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status(), e.code()), (status, code), "{e:?}");
        }
    }

    #[test]
    fn invalid_values_in_every_form() {
        assert_eq!(
            GraphError::invalid("displayName").message(),
            "Invalid value specified for property 'displayName'."
        );
        assert_eq!(
            GraphError::invalid_on("displayName", "Application").message(),
            "Invalid value specified for property 'displayName' of resource 'Application'."
        );
        assert_eq!(
            GraphError::invalid_because("signInAudience", "'Mars'.").message(),
            "Invalid value specified for property 'signInAudience': 'Mars'."
        );
        let dated = GraphError::InvalidValue {
            property: "endDateTime".into(),
            resource: Some("KeyCredential"),
            detail: Some("the date is out of range.".into()),
        };
        assert_eq!(
            dated.message(),
            "Invalid value specified for property 'endDateTime' of resource 'KeyCredential': the date is out of range."
        );
    }
}
