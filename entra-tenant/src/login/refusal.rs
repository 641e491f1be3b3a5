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
/// What the scope refusals of the `client_credentials` grant start with (AADSTS70011 as
/// captured in https://github.com/Azure/azure-sdk-for-net/issues/9076).
const SCOPE_NOT_VALID: &str = "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.";

// Sources of the wording: the project's `docs/fidelity.md` names one for every row.
refusals! {
    TenantNotFound { tenant: String } => 90002, InvalidRequest, BadRequest,
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.";
    /// MSAL.NET's captured `InvalidTenantError900023`.
    InvalidTenantIdentifier { tenant: String } => 900023, InvalidRequest, BadRequest,
        "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain.";
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
    /// Not a compact JWS, a header or claim of the wrong JSON type, a member named twice.
    /// `invalid_request` and 400, as MSAL.NET's captured `SendTenantIdInCredentialValueError50027`.
    MalformedAssertion => 50027, InvalidRequest, BadRequest,
        "JWT token is invalid or malformed.";
    /// `aud` holds several values.
    TooManyAudiences { count: usize } => 5002741, InvalidClient, Unauthorized,
        "Number of audience values in the provided client credential exceed maximum allowed. {count} audience values provided, maximum allowed is 1.";
    /// A claim the assertion must carry (`iss`, `sub`, `aud`) is missing.
    MissingCredentialField { field: &'static str } => 90014, InvalidRequest, BadRequest,
        "The required field '{field}' is missing from the credential. Ensure that you have all the necessary parameters for the login request.";
    /// The list is Entra's own words; it names neither PS256 (which Entra takes) nor PS384/512.
    UnsupportedAlgorithm { alg: String } => 5002738, InvalidClient, Unauthorized,
        "Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,RS384,RS512'";
    NoKeyLocator => 5002723, InvalidClient, Unauthorized,
        "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.";
    /// `tenant` is the tenant's display name, as Entra names it in current answers.
    ApplicationNotFound { app_id: String, tenant: String } => 700016, UnauthorizedClient, BadRequest,
        "Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.";
    ApplicationDisabled { app_id: String, app_name: String } => 7000112, UnauthorizedClient, BadRequest,
        "Application '{app_id}'({app_name}) is disabled.";
    MissingServicePrincipal { app_id: String, tenant_id: String } => 7000229, InvalidClient, Unauthorized,
        "The client application {app_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119";
    AssertionClientIdMismatch => 700021, InvalidClient, Unauthorized,
        "Client assertion application identifier doesn't match 'client_id' parameter. {CERT_DOC}";
    SubjectMismatchesIssuer => 50048, InvalidClient, Unauthorized,
        "Subject must match the issuer claim in the client assertion.";
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
    /// Also a missing `exp` (printed as 1970) or `nbf` (valid from 1970).
    AssertionOutsideTimeRange { now: OffsetDateTime, nbf: OffsetDateTime, exp: OffsetDateTime } => 700024, InvalidClient, Unauthorized,
        "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. {CERT_DOC}",
        precise_date(*now), precise_date(*nbf), precise_date(*exp);
    /// A scope that names no resource.
    InvalidScope { scope: String } => 70011, InvalidScope, BadRequest,
        "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid.";
    /// Client credentials asking for several resources in one scope, as captured at the token
    /// endpoint (Entra's error list names 700022 for this; 700022 was only seen on /authorize).
    ScopeForSeveralResources { scope: String } => 70011, InvalidScope, BadRequest,
        "{SCOPE_NOT_VALID} The scope {scope} is not valid.";
    /// A delegated request mixing `.default` with named permissions.
    DefaultScopeCombined { scope: String } => 70011, InvalidScope, BadRequest,
        "{SCOPE_NOT_VALID} The scope {scope} is not valid. .default scope can't be combined with resource-specific scopes.";
    ScopeWithoutDefault { scope: String } => 1002012, InvalidScope, BadRequest,
        "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).";
    /// A delegated request (password grant) naming several resources.
    SeveralResourcesDelegated { scope: String } => 28000, InvalidScope, BadRequest,
        "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid.";
    /// `tenant` is the tenant's display name.
    ResourceNotFound { resource: String, tenant: String } => 500011, InvalidResource, BadRequest,
        "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.";
    InvalidClientSecret { app_id: String } => 7000215, InvalidClient, Unauthorized,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app_id}'.";
    ClientSecretExpired { app_id: String } => 7000222, InvalidClient, Unauthorized,
        "The provided client secret keys for app '{app_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.";
    /// Entra hides the account name: `{EmailHidden}` is literal.
    UserNotFound { tenant: String } => 50034, InvalidGrant, BadRequest,
        "The user account {{EmailHidden}} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory.";
    /// The user principal name's domain is another tenant's (`home`).
    UserOfAnotherTenant { home: String, tenant: String, app_id: String, app_name: String } => 50020, InvalidGrant, BadRequest,
        "User account '{{EmailHidden}}' from identity provider 'https://sts.windows.net/{home}/' does not exist in tenant '{tenant}' and cannot access the application '{app_id}'({app_name}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.";
    InvalidUsernameOrPassword => 50126, InvalidGrant, BadRequest,
        "Error validating credentials due to invalid username or password.";
    UserDisabled => 50057, InvalidGrant, BadRequest,
        "The user account is disabled.";
    /// The user must change the password first (`forceChangePasswordNextSignIn`); suberror
    /// `user_password_expired`.
    PasswordExpired => 50055, InvalidGrant, BadRequest,
        "The password is expired.";
    /// suberror `consent_required`.
    ConsentRequired { app_id: String, app_name: String } => 65001, InvalidGrant, BadRequest,
        "The user or administrator has not consented to use the application with ID '{app_id}' named '{app_name}'. Send an interactive authorization request for this user and resource.";
}

impl LoginError {
    /// The AADSTS number.
    pub fn code(&self) -> u32 {
        self.spec().code
    }

    /// The `suberror` Entra adds, which Microsoft's clients read to tell "ask the user" from a
    /// plain failure (msal-node raises `InteractionRequiredAuthError` for both).
    pub fn suberror(&self) -> Option<&'static str> {
        match self {
            LoginError::ConsentRequired { .. } => Some("consent_required"),
            LoginError::PasswordExpired => Some("user_password_expired"),
            _ => None,
        }
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
            MalformedAssertion,
            TooManyAudiences { count: 2 },
            MissingCredentialField { field: "iss" },
            UnsupportedAlgorithm { alg: s("HS256") },
            NoKeyLocator,
            ApplicationNotFound {
                app_id: s("a"),
                tenant: s("t"),
            },
            ApplicationDisabled {
                app_id: s("a"),
                app_name: s("n"),
            },
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
            ScopeForSeveralResources { scope: s("x y") },
            DefaultScopeCombined { scope: s("x y") },
            ScopeWithoutDefault { scope: s("x") },
            SeveralResourcesDelegated { scope: s("x y") },
            ResourceNotFound {
                resource: s("r"),
                tenant: s("t"),
            },
            InvalidClientSecret { app_id: s("a") },
            ClientSecretExpired { app_id: s("a") },
            UserNotFound { tenant: s("t") },
            UserOfAnotherTenant {
                home: s("h"),
                tenant: s("t"),
                app_id: s("a"),
                app_name: s("n"),
            },
            InvalidUsernameOrPassword,
            UserDisabled,
            PasswordExpired,
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
        assert_eq!(
            LoginError::UserNotFound { tenant: "t".into() }.message(),
            "The user account {EmailHidden} does not exist in the t directory. To sign into this application, the account must be added to the directory."
        );
    }
}
