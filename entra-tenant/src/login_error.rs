//! The login side's rule table: every way a token request can be refused, each with the AADSTS
//! code, OAuth `error` value, HTTP status and message Entra gives. Rendering to the wire lives
//! in one place (`http::login`); tests enumerate this table.

use time::OffsetDateTime;
use time::macros::format_description;

/// A refused login request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("tenant not found")]
    TenantNotFound { tenant: String },
    #[error("invalid tenant identifier")]
    InvalidTenantIdentifier { tenant: String },
    #[error("grant not supported over /common")]
    GrantNotSupportedOverCommon,
    #[error("missing parameter")]
    MissingParameter { name: &'static str },
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("unexpected client assertion type")]
    UnexpectedAssertionType,
    #[error("no client credential")]
    MissingClientCredential,
    #[error("confidential client without credential")]
    ConfidentialClientWithoutCredential,
    #[error("public client presented a credential")]
    PublicClientWithCredential,
    #[error("malformed client assertion")]
    MalformedAssertion { reason: String },
    #[error("application not found")]
    ApplicationNotFound { app_id: String, tenant: String },
    #[error("application disabled")]
    ApplicationDisabled { app_id: String },
    #[error("service principal missing")]
    MissingServicePrincipal { app_id: String, tenant_id: String },
    #[error("assertion issuer does not match client_id")]
    AssertionClientIdMismatch,
    #[error("assertion subject mismatches issuer")]
    SubjectMismatchesIssuer,
    #[error("assertion audience mismatch")]
    AudienceMismatch,
    #[error("certificate key not found")]
    KeyNotFound { thumbprint: String, app_id: String },
    #[error("certificate key expired")]
    KeyExpired {
        thumbprint: String,
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
    #[error("signature invalid")]
    SignatureInvalid {
        thumbprint: String,
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
    #[error("assertion outside its time range")]
    AssertionOutsideTimeRange {
        now: OffsetDateTime,
        nbf: OffsetDateTime,
        exp: OffsetDateTime,
    },
    #[error("invalid scope")]
    InvalidScope { scope: String },
    #[error("scope lacks /.default")]
    ScopeWithoutDefault { scope: String },
    #[error("scopes name several resources")]
    MultipleResources,
    #[error("resource not found")]
    ResourceNotFound { resource: String, tenant: String },
    #[error("invalid client secret")]
    InvalidClientSecret { app_id: String },
    #[error("client secret expired")]
    ClientSecretExpired { app_id: String },
    #[error("user not found")]
    UserNotFound { upn: String, tenant: String },
    #[error("invalid username or password")]
    InvalidUsernameOrPassword,
    #[error("user disabled")]
    UserDisabled,
    #[error("consent required")]
    ConsentRequired { app_id: String, app_name: String },
}

const CERT_DOC: &str = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .";

impl LoginError {
    /// The AADSTS number.
    pub fn code(&self) -> u32 {
        use LoginError::*;
        match self {
            TenantNotFound { .. } => 90002,
            InvalidTenantIdentifier { .. } => 900023,
            GrantNotSupportedOverCommon => 9001023,
            MissingParameter { .. } => 900144,
            UnsupportedGrantType => 70003,
            UnexpectedAssertionType => 90011,
            MissingClientCredential => 7000216,
            ConfidentialClientWithoutCredential => 7000218,
            PublicClientWithCredential => 700025,
            MalformedAssertion { .. } => 50027,
            ApplicationNotFound { .. } => 700016,
            ApplicationDisabled { .. } => 7000112,
            MissingServicePrincipal { .. } => 7000229,
            AssertionClientIdMismatch => 700021,
            SubjectMismatchesIssuer => 50048,
            AudienceMismatch => 700023,
            KeyNotFound { .. } | KeyExpired { .. } | SignatureInvalid { .. } => 700027,
            AssertionOutsideTimeRange { .. } => 700024,
            InvalidScope { .. } => 70011,
            ScopeWithoutDefault { .. } => 1002012,
            MultipleResources => 700022,
            ResourceNotFound { .. } => 500011,
            InvalidClientSecret { .. } => 7000215,
            ClientSecretExpired { .. } => 7000222,
            UserNotFound { .. } => 50034,
            InvalidUsernameOrPassword => 50126,
            UserDisabled => 50057,
            ConsentRequired { .. } => 65001,
        }
    }

    /// The OAuth 2.0 `error` value.
    pub fn error(&self) -> &'static str {
        use LoginError::*;
        match self {
            TenantNotFound { .. }
            | InvalidTenantIdentifier { .. }
            | GrantNotSupportedOverCommon
            | MissingParameter { .. }
            | UnexpectedAssertionType => "invalid_request",
            UnsupportedGrantType => "unsupported_grant_type",
            ApplicationNotFound { .. } | ApplicationDisabled { .. } => "unauthorized_client",
            InvalidScope { .. } | ScopeWithoutDefault { .. } | MultipleResources => "invalid_scope",
            ResourceNotFound { .. } => "invalid_resource",
            UserNotFound { .. }
            | InvalidUsernameOrPassword
            | UserDisabled
            | ConsentRequired { .. } => "invalid_grant",
            MissingClientCredential
            | ConfidentialClientWithoutCredential
            | PublicClientWithCredential
            | MalformedAssertion { .. }
            | MissingServicePrincipal { .. }
            | AssertionClientIdMismatch
            | SubjectMismatchesIssuer
            | AudienceMismatch
            | KeyNotFound { .. }
            | KeyExpired { .. }
            | SignatureInvalid { .. }
            | AssertionOutsideTimeRange { .. }
            | InvalidClientSecret { .. }
            | ClientSecretExpired { .. } => "invalid_client",
        }
    }

    /// `invalid_client` is 401, everything else 400, as Entra answers.
    pub fn status(&self) -> u16 {
        if self.error() == "invalid_client" {
            401
        } else {
            400
        }
    }

    /// The message after `AADSTS<code>: `.
    pub fn message(&self) -> String {
        use LoginError::*;
        match self {
            TenantNotFound { tenant } => format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
            InvalidTenantIdentifier { tenant } => {
                format!("Specified tenant identifier '{tenant}' is not valid.")
            }
            GrantNotSupportedOverCommon => {
                "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.".into()
            }
            MissingParameter { name } => {
                format!("The request body must contain the following parameter: '{name}'.")
            }
            UnsupportedGrantType => "The provided value for the input parameter 'grant_type' is not valid.".into(),
            UnexpectedAssertionType => "Unexpected client assertion type.".into(),
            MissingClientCredential => {
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".into()
            }
            ConfidentialClientWithoutCredential => {
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into()
            }
            PublicClientWithCredential => {
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.".into()
            }
            MalformedAssertion { reason } => {
                if reason.is_empty() {
                    "JWT token is invalid or malformed.".into()
                } else {
                    format!("JWT token is invalid or malformed. {reason}")
                }
            }
            ApplicationNotFound { app_id, tenant } => format!(
                "Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
            ApplicationDisabled { app_id } => {
                format!("Application '{app_id}' is disabled.")
            }
            MissingServicePrincipal { app_id, tenant_id } => format!(
                "The client application {app_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
            AssertionClientIdMismatch => format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. {CERT_DOC}"
            ),
            SubjectMismatchesIssuer => {
                "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client assertion.".into()
            }
            AudienceMismatch => {
                format!("Client assertion audience claim does not match Realm issuer. {CERT_DOC}")
            }
            KeyNotFound { thumbprint, app_id } => format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']"
            ),
            KeyExpired { thumbprint, start, end } => format!(
                "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']",
                key_date(*start),
                key_date(*end)
            ),
            SignatureInvalid { thumbprint, start, end } => format!(
                "Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']",
                key_date(*start),
                key_date(*end)
            ),
            AssertionOutsideTimeRange { now, nbf, exp } => format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. {CERT_DOC}",
                precise_date(*now),
                precise_date(*nbf),
                precise_date(*exp)
            ),
            InvalidScope { scope } => format!(
                "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid."
            ),
            ScopeWithoutDefault { scope } => format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
            MultipleResources => {
                "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope values must all be for the same resource.".into()
            }
            ResourceNotFound { resource, tenant } => format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
            InvalidClientSecret { app_id } => format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app_id}'."
            ),
            ClientSecretExpired { app_id } => format!(
                "The provided client secret keys for app '{app_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
            UserNotFound { upn, tenant } => format!(
                "The user account {upn} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory."
            ),
            InvalidUsernameOrPassword => {
                "Error validating credentials due to invalid username or password.".into()
            }
            UserDisabled => "The user account is disabled.".into(),
            ConsentRequired { app_id, app_name } => format!(
                "The user or administrator has not consented to use the application with ID '{app_id}' named '{app_name}'. Send an interactive authorization request for this user and resource."
            ),
        }
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
    fn invalid_client_is_401_and_the_rest_400() {
        assert_eq!(LoginError::AudienceMismatch.status(), 401);
        assert_eq!(LoginError::UnsupportedGrantType.status(), 400);
        assert_eq!(LoginError::InvalidUsernameOrPassword.status(), 400);
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
    }
}
