//! Every way a Graph (or first-party service) request can be refused, as one table: each
//! variant carries its Graph error code, HTTP status and message. `crate::http::graph` is the
//! one place that renders them as `{"error":{"code","message","innerError":{...}}}`.

/// A refused Graph request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("no bearer token")]
    TokenMissing,
    #[error("the bearer token is not a JWT")]
    TokenMalformed,
    #[error("the bearer token's signature does not verify with the tenant's key")]
    TokenSignature,
    #[error("the bearer token is for another audience")]
    TokenAudience,
    #[error("the bearer token is for another tenant")]
    TokenTenant,
    #[error("the bearer token is expired or not yet valid")]
    TokenLifetime,
    #[error("the calling identity is not in the directory")]
    IdentityNotFound,
    #[error("insufficient privileges")]
    Denied,
    #[error("the proof of possession is invalid: {0}")]
    Proof(&'static str),
    #[error("the object has no valid certificate to verify a proof of possession")]
    NoValidCertificate,
    #[error("resource {0} not found")]
    NotFound(String),
    #[error("invalid object identifier {0}")]
    InvalidObjectId(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Refusals of the OData layer (unknown segment, property or payload), code `BadRequest`.
    #[error("OData: {0}")]
    OData(String),
    #[error("unsupported query: {0}")]
    UnsupportedQuery(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the app role assignment already exists")]
    AssignmentExists,
    #[error("the app role is not defined by resource {resource}")]
    AppRoleNotFound { resource: String },
    #[error("an object with the same {property} exists")]
    SameValue { property: &'static str },
    #[error("an object with the same key value exists: {0}")]
    Duplicate(String),
    #[error("one or more added object references already exist")]
    ReferenceExists,
    #[error("password does not meet complexity requirements")]
    PasswordComplexity,
    #[error("injected fault {code} ({status})")]
    Injected {
        status: u16,
        code: String,
        retry_after: Option<u64>,
    },
}

impl GraphError {
    /// The `error.code` of the body.
    pub fn code(&self) -> &str {
        use GraphError::*;
        match self {
            TokenMissing | TokenMalformed | TokenSignature | TokenAudience | TokenTenant
            | TokenLifetime => "InvalidAuthenticationToken",
            IdentityNotFound => "Authorization_IdentityNotFound",
            Denied => "Authorization_RequestDenied",
            Proof(_) | NoValidCertificate => "Authentication_MissingOrMalformed",
            NotFound(_) => "Request_ResourceNotFound",
            InvalidObjectId(_)
            | BadRequest(_)
            | AssignmentExists
            | AppRoleNotFound { .. }
            | SameValue { .. }
            | ReferenceExists
            | PasswordComplexity => "Request_BadRequest",
            OData(_) => "BadRequest",
            UnsupportedQuery(_) => "Request_UnsupportedQuery",
            MethodNotAllowed => "Request_BadRequest",
            Duplicate(_) => "Request_MultipleObjectsWithSameKeyValue",
            Injected { code, .. } => code,
        }
    }

    pub fn status(&self) -> u16 {
        use GraphError::*;
        match self {
            TokenMissing | TokenMalformed | TokenSignature | TokenAudience | TokenTenant
            | TokenLifetime => 401,
            Proof(_) | NoValidCertificate => 401,
            IdentityNotFound | Denied => 403,
            NotFound(_) => 404,
            MethodNotAllowed => 405,
            Duplicate(_) => 409,
            Injected { status, .. } => *status,
            _ => 400,
        }
    }

    /// The `error.message` of the body, in Graph's words where they are known.
    pub fn message(&self) -> String {
        use GraphError::*;
        match self {
            TokenMissing => "Access token is empty.".into(),
            TokenMalformed => "CompactToken parsing failed with error code: 80049217".into(),
            TokenSignature => "Access token validation failure. Invalid signature.".into(),
            TokenAudience => "Access token validation failure. Invalid audience.".into(),
            TokenTenant => "Access token validation failure. Invalid tenant.".into(),
            TokenLifetime => "Lifetime validation failed, the token is expired.".into(),
            IdentityNotFound => "The identity of the calling application could not be established.".into(),
            Denied => "Insufficient privileges to complete the operation.".into(),
            Proof(_) => "Access Token missing or malformed.".into(),
            NoValidCertificate => "Access Token missing or malformed. The object has no valid certificate to verify the proof; use PATCH to add a certificate.".into(),
            NotFound(id) => format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
            InvalidObjectId(id) => format!("Invalid object identifier '{id}'."),
            BadRequest(m) | OData(m) | UnsupportedQuery(m) => m.clone(),
            MethodNotAllowed => "The specified HTTP method is not allowed for the request target.".into(),
            AssignmentExists => "Permission being assigned already exists on the object.".into(),
            AppRoleNotFound { resource } => {
                format!("Permission being assigned was not found on application '{resource}'.")
            }
            SameValue { property } => {
                format!("Another object with the same value for property {property} already exists.")
            }
            Duplicate(m) => m.clone(),
            ReferenceExists => {
                "One or more added object references already exist for the following modified properties: 'members'.".into()
            }
            PasswordComplexity => {
                "The specified password does not comply with password complexity requirements. Please provide a different password.".into()
            }
            Injected { status, retry_after, .. } => match (status, retry_after) {
                (429, Some(s)) => format!("Your request is throttled temporarily. Please try after {s} seconds."),
                (429, None) => "Your request is throttled temporarily.".into(),
                _ => "The mock's fault injection answered this request.".into(),
            },
        }
    }

    /// Seconds for a `Retry-After` header, when the error carries one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            GraphError::Injected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: Vec<(GraphError, u16, &str)> = vec![
            (GraphError::TokenMissing, 401, "InvalidAuthenticationToken"),
            (GraphError::Denied, 403, "Authorization_RequestDenied"),
            (
                GraphError::Proof("aud"),
                401,
                "Authentication_MissingOrMalformed",
            ),
            (
                GraphError::NotFound("x".into()),
                404,
                "Request_ResourceNotFound",
            ),
            (GraphError::AssignmentExists, 400, "Request_BadRequest"),
            (GraphError::OData("x".into()), 400, "BadRequest"),
            (
                GraphError::Duplicate("x".into()),
                409,
                "Request_MultipleObjectsWithSameKeyValue",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status(), e.code()), (status, code), "{e:?}");
        }
    }
}
