//! The login side's rule table: every way a token or discovery request can be refused, one row
//! each, with the AADSTS code, OAuth `error`, HTTP status and message Entra gives. The row is
//! the only place a refusal is described; rendering it on the wire lives in one place too
//! (`mock-graph`'s `http::entra_json`). Tests enumerate the table through `LoginError::examples`.

use std::fmt;

use time::OffsetDateTime;
use time::macros::format_description;

use crate::status::Status;

/// The OAuth 2.0 `error` values Entra answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    InvalidResource,
    UnauthorizedClient,
    UnsupportedGrantType,
    /// Discovery's answer for a tenant that is not there.
    InvalidTenant,
    ServerError,
    TemporarilyUnavailable,
}

impl OAuthError {
    pub const fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidResource => "invalid_resource",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidTenant => "invalid_tenant",
            OAuthError::ServerError => "server_error",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// A refusal's row of the table, but for its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusalSpec {
    /// The AADSTS number.
    pub code: u32,
    pub error: OAuthError,
    pub status: Status,
}

/// Declares the table: `Variant { fields } => code, error, status, "message", args;`. The
/// message is a format string over the variant's fields.
macro_rules! refusals {
    ($(
        $(#[$doc:meta])*
        $variant:ident $({ $($field:ident: $ty:ty),* $(,)? })? =>
            $code:literal, $error:ident, $status:ident,
            $message:literal $(, $arg:expr)* ;
    )*) => {
        /// A refused login request.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum LoginError {
            $($(#[$doc])* $variant $({ $($field: $ty),* })?,)*
        }

        impl LoginError {
            /// The name of every refusal, in the table's order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($variant),)*];

            /// The refusal's name (its variant).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)*
                }
            }

            /// Code, OAuth `error` and status.
            pub fn spec(&self) -> RefusalSpec {
                match self {
                    $(Self::$variant { .. } => RefusalSpec {
                        code: $code,
                        error: OAuthError::$error,
                        status: Status::$status,
                    },)*
                }
            }

            /// The message after `AADSTS<code>: `.
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

const CERT_DOC: &str = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";

refusals! {
    TenantNotFound { tenant: String } => 90002, InvalidRequest, BadRequest,
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.";
    InvalidTenantIdentifier { tenant: String } => 900023, InvalidRequest, BadRequest,
        "Specified tenant identifier '{tenant}' is not valid.";
    GrantNotSupportedOverCommon => 9001023, InvalidRequest, BadRequest,
        "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.";
    MissingParameter { name: &'static str } => 900144, InvalidRequest, BadRequest,
        "The request body must contain the following parameter: '{name}'.";
    UnsupportedGrantType => 70003, UnsupportedGrantType, BadRequest,
        "The provided value for the input parameter 'grant_type' is not valid.";
    UnexpectedAssertionType => 90011, InvalidRequest, BadRequest,
        "Unexpected client assertion type.";
    MissingClientCredential => 7000216, InvalidClient, Unauthorized,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.";
    ConfidentialClientWithoutCredential => 7000218, InvalidClient, Unauthorized,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
    PublicClientWithCredential => 700025, InvalidClient, Unauthorized,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.";
    /// `reason` is empty or a sentence that follows the fixed text.
    MalformedAssertion { reason: String } => 50027, InvalidClient, Unauthorized,
        "JWT token is invalid or malformed.{}", following(reason);
    ApplicationNotFound { app_id: String, tenant: String } => 700016, UnauthorizedClient, BadRequest,
        "Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.";
    ApplicationDisabled { app_id: String } => 7000112, UnauthorizedClient, BadRequest,
        "Application '{app_id}' is disabled.";
    MissingServicePrincipal { app_id: String, tenant_id: String } => 7000229, InvalidClient, Unauthorized,
        "The client application {app_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119";
    AssertionClientIdMismatch => 700021, InvalidClient, Unauthorized,
        "Client assertion application identifier doesn't match 'client_id' parameter. {CERT_DOC}";
    SubjectMismatchesIssuer => 50048, InvalidClient, Unauthorized,
        "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client assertion.";
    AudienceMismatch => 700023, InvalidClient, Unauthorized,
        "Client assertion audience claim does not match Realm issuer. {CERT_DOC}";
    KeyNotFound { thumbprint: String, app_id: String } => 700027, InvalidClient, Unauthorized,
        "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']";
    KeyExpired { thumbprint: String, start: OffsetDateTime, end: OffsetDateTime } => 700027, InvalidClient, Unauthorized,
        "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']",
        key_date(*start), key_date(*end);
    SignatureInvalid { thumbprint: String, start: OffsetDateTime, end: OffsetDateTime } => 700027, InvalidClient, Unauthorized,
        "Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']",
        key_date(*start), key_date(*end);
    AssertionOutsideTimeRange { now: OffsetDateTime, nbf: OffsetDateTime, exp: OffsetDateTime } => 700024, InvalidClient, Unauthorized,
        "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. {CERT_DOC}",
        precise_date(*now), precise_date(*nbf), precise_date(*exp);
    InvalidScope { scope: String } => 70011, InvalidScope, BadRequest,
        "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid.";
    ScopeWithoutDefault { scope: String } => 1002012, InvalidScope, BadRequest,
        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).";
    MultipleResources => 700022, InvalidScope, BadRequest,
        "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope values must all be for the same resource.";
    ResourceNotFound { resource: String, tenant: String } => 500011, InvalidResource, BadRequest,
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.";
    InvalidClientSecret { app_id: String } => 7000215, InvalidClient, Unauthorized,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app_id}'.";
    ClientSecretExpired { app_id: String } => 7000222, InvalidClient, Unauthorized,
        "The provided client secret keys for app '{app_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.";
    UserNotFound { upn: String, tenant: String } => 50034, InvalidGrant, BadRequest,
        "The user account {upn} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory.";
    InvalidUsernameOrPassword => 50126, InvalidGrant, BadRequest,
        "Error validating credentials due to invalid username or password.";
    UserDisabled => 50057, InvalidGrant, BadRequest,
        "The user account is disabled.";
    ConsentRequired { app_id: String, app_name: String } => 65001, InvalidGrant, BadRequest,
        "The user or administrator has not consented to use the application with ID '{app_id}' named '{app_name}'. Send an interactive authorization request for this user and resource.";
}

impl LoginError {
    /// The AADSTS number.
    pub fn code(&self) -> u32 {
        self.spec().code
    }

    /// One refusal of each kind, in the table's order, for tests that walk the table.
    pub fn examples() -> Vec<LoginError> {
        use LoginError::*;
        let s = |v: &str| v.to_string();
        let t = OffsetDateTime::UNIX_EPOCH;
        vec![
            TenantNotFound { tenant: s("t") },
            InvalidTenantIdentifier { tenant: s("t") },
            GrantNotSupportedOverCommon,
            MissingParameter { name: "client_id" },
            UnsupportedGrantType,
            UnexpectedAssertionType,
            MissingClientCredential,
            ConfidentialClientWithoutCredential,
            PublicClientWithCredential,
            MalformedAssertion { reason: s("") },
            ApplicationNotFound {
                app_id: s("a"),
                tenant: s("t"),
            },
            ApplicationDisabled { app_id: s("a") },
            MissingServicePrincipal {
                app_id: s("a"),
                tenant_id: s("t"),
            },
            AssertionClientIdMismatch,
            SubjectMismatchesIssuer,
            AudienceMismatch,
            KeyNotFound {
                thumbprint: s("AB"),
                app_id: s("a"),
            },
            KeyExpired {
                thumbprint: s("AB"),
                start: t,
                end: t,
            },
            SignatureInvalid {
                thumbprint: s("AB"),
                start: t,
                end: t,
            },
            AssertionOutsideTimeRange {
                now: t,
                nbf: t,
                exp: t,
            },
            InvalidScope { scope: s("x") },
            ScopeWithoutDefault { scope: s("x") },
            MultipleResources,
            ResourceNotFound {
                resource: s("r"),
                tenant: s("t"),
            },
            InvalidClientSecret { app_id: s("a") },
            ClientSecretExpired { app_id: s("a") },
            UserNotFound {
                upn: s("u"),
                tenant: s("t"),
            },
            InvalidUsernameOrPassword,
            UserDisabled,
            ConsentRequired {
                app_id: s("a"),
                app_name: s("n"),
            },
        ]
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AADSTS{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for LoginError {}

/// `" {reason}"`, or nothing for an empty reason.
fn following(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    }
}

/// `MM/dd/yyyy HH:mm:ss`, how Entra prints a key's window in AADSTS700027.
fn key_date(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[month]/[day]/[year] [hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

/// `yyyy-MM-ddTHH:mm:ss.fffffffZ`, how Entra prints instants in AADSTS700024.
fn precise_date(t: OffsetDateTime) -> String {
    let base = t
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("{base}.{:07}Z", t.nanosecond() / 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_examples_cover_the_table() {
        let examples = LoginError::examples();
        let names: Vec<&str> = examples.iter().map(LoginError::name).collect();
        assert_eq!(names, LoginError::NAMES);
    }

    /// Entra's rule, held by every row: `invalid_client` is 401, everything else 400.
    #[test]
    fn invalid_client_is_401_and_the_rest_400() {
        for e in LoginError::examples() {
            let spec = e.spec();
            let want = if spec.error == OAuthError::InvalidClient {
                Status::Unauthorized
            } else {
                Status::BadRequest
            };
            assert_eq!(spec.status, want, "{}", e.name());
        }
    }

    #[test]
    fn key_window_printed_as_entra_does() {
        let e = LoginError::KeyExpired {
            thumbprint: "AB".into(),
            start: datetime!(2021-06-29 21:13:15 UTC),
            end: datetime!(2023-06-29 21:13:15 UTC),
        };
        assert!(
            e.message()
                .contains("Found key 'Start=06/29/2021 21:13:15, End=06/29/2023 21:13:15'")
        );
        let t = LoginError::AssertionOutsideTimeRange {
            now: datetime!(2025-08-29 05:47:32.1501147 UTC),
            nbf: OffsetDateTime::UNIX_EPOCH,
            exp: datetime!(2025-08-29 00:30:05 UTC),
        };
        assert!(t.message().contains(
            "Current time: 2025-08-29T05:47:32.1501147Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2025-08-29T00:30:05.0000000Z."
        ));
        let m = LoginError::MalformedAssertion {
            reason: "No certificate thumbprint specified in token header.".into(),
        };
        assert_eq!(
            m.message(),
            "JWT token is invalid or malformed. No certificate thumbprint specified in token header."
        );
    }
}
