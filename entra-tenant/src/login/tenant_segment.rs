//! The `{tenant}` segment of a login path, classified before any lookup: a tenant id or domain
//! to look up, one of the multi-tenant names, or malformed (AADSTS900023).

use super::refusal::LoginError;

/// The tenant-independent names a path segment can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantSegment {
    /// A GUID or a domain name: look it up.
    Specific,
    /// `common`, `organizations` or `consumers`.
    MultiTenant,
}

/// Classifies `{tenant}` before any lookup: malformed identifiers fail with AADSTS900023.
pub fn classify_tenant_segment(segment: &str) -> Result<TenantSegment, LoginError> {
    let lower = segment.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        return Ok(TenantSegment::MultiTenant);
    }
    if segment.parse::<uuid::Uuid>().is_ok() || looks_like_domain(segment) {
        return Ok(TenantSegment::Specific);
    }
    Err(LoginError::InvalidTenantIdentifier {
        tenant: segment.to_string(),
    })
}

fn looks_like_domain(s: &str) -> bool {
    s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_segments() {
        assert_eq!(
            classify_tenant_segment("common"),
            Ok(TenantSegment::MultiTenant)
        );
        assert_eq!(
            classify_tenant_segment("contoso.onmicrosoft.com"),
            Ok(TenantSegment::Specific)
        );
        assert_eq!(
            classify_tenant_segment("b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"),
            Ok(TenantSegment::Specific)
        );
        assert!(matches!(
            classify_tenant_segment("not_a_tenant"),
            Err(LoginError::InvalidTenantIdentifier { .. })
        ));
    }
}
