//! A tenant as a person reads it (the inspector page, `GET /_mock/tenants/{tid}/summary`):
//! every application and service principal with its credentials (thumbprints, dates, the time
//! left on the tenant's clock, and whether each is expired, expiring or foreign), the app role
//! assignments and consent grants with the names they refer to resolved, and the users with
//! their directory roles. Computed from the tenant, never stored; no secret is in it (a client
//! secret's text and a user's password are not).

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::cloud::Cloud;
use crate::directory::{
    ASYMMETRIC_X509_CERT, CredentialVia, Directory, KeyCredential, PasswordCredential,
};
use crate::ids::{ObjectId, TenantId, Thumbprint};
use crate::roles;
use crate::tenant::Tenant;

/// A credential that ends within this many days is expiring: the window in which Entra Connect
/// Sync warns (event 1011) and rotates.
pub const EXPIRING_WITHIN_DAYS: i64 = 150;

/// Where a credential stands on the tenant's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CredentialStatus {
    /// Its window has not begun.
    NotYetValid,
    /// Valid for more than `EXPIRING_WITHIN_DAYS`.
    Valid,
    /// Valid, and ends within `EXPIRING_WITHIN_DAYS`.
    Expiring,
    /// Its window has ended.
    Expired,
}

impl CredentialStatus {
    /// The status of a credential valid from `start` until `end` (exclusive), at `now`.
    pub fn at(now: OffsetDateTime, start: OffsetDateTime, end: OffsetDateTime) -> Self {
        if now >= end {
            CredentialStatus::Expired
        } else if now < start {
            CredentialStatus::NotYetValid
        } else if end - now <= Duration::days(EXPIRING_WITHIN_DAYS) {
            CredentialStatus::Expiring
        } else {
            CredentialStatus::Valid
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    pub tenant: TenantHeading,
    pub clock: ClockSummary,
    pub expiring_within_days: i64,
    pub applications: Vec<ApplicationSummary>,
    pub service_principals: Vec<ServicePrincipalSummary>,
    pub app_role_assignments: Vec<AssignmentSummary>,
    pub oauth2_permission_grants: Vec<GrantSummary>,
    pub users: Vec<UserSummary>,
}

/// Who the tenant is (also each row of `GET /_mock/tenants`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantHeading {
    pub id: TenantId,
    pub display_name: String,
    pub initial_domain: String,
    pub verified_domains: Vec<String>,
    pub cloud: Cloud,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockSummary {
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    pub frozen: bool,
}

/// A principal named by id, with its name when the tenant has it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    pub id: ObjectId,
    pub app_id: String,
    pub display_name: String,
    /// The application's service principal in this tenant, if it has one.
    pub service_principal_id: Option<ObjectId>,
    pub owners: Vec<Named>,
    pub key_credentials: Vec<CredentialSummary>,
    pub password_credentials: Vec<SecretSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipalSummary {
    pub id: ObjectId,
    pub app_id: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub service_principal_type: String,
    /// Whether an application object of this tenant defines it (otherwise it is another
    /// tenant's application, such as Microsoft's first-party services).
    pub has_application: bool,
    pub app_roles: usize,
    pub key_credentials: Vec<CredentialSummary>,
}

/// A certificate or key credential.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub key_type: String,
    pub usage: String,
    /// SHA-1 of the certificate (uppercase hex), what `x5t` names; `None` when it is no
    /// certificate the mock holds.
    pub sha1: Option<String>,
    /// SHA-256 of the certificate (uppercase hex), what `x5t#S256` and Connect Sync's
    /// `CertificateSHA256Hash` name.
    pub sha256: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    /// Seconds from the tenant's now to the end date; negative once expired.
    pub seconds_left: i64,
    pub status: CredentialStatus,
    /// Added by someone other than the object itself or (for an application) one of its
    /// owners; `None` when the mock does not know who added it.
    pub foreign: Option<bool>,
    pub added_by: Option<AddedBy>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedBy {
    pub principal: Option<Named>,
    pub via: CredentialVia,
}

/// A client secret: its metadata, never its text.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSummary {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    pub hint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    pub seconds_left: i64,
    pub status: CredentialStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentSummary {
    pub id: String,
    pub principal: Named,
    pub principal_type: String,
    pub resource: Named,
    pub app_role_id: Uuid,
    /// The role's value (`Application.ReadWrite.All`), when the resource defines it.
    pub app_role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantSummary {
    pub id: String,
    pub client: Named,
    pub consent_type: String,
    pub principal: Option<Named>,
    pub resource: Named,
    pub scope: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: ObjectId,
    pub user_principal_name: String,
    pub display_name: String,
    pub account_enabled: bool,
    /// Whether the user can sign in with a password (never the password itself).
    pub has_password: bool,
    pub directory_roles: Vec<Named>,
}

impl TenantHeading {
    pub fn of(t: &Tenant) -> Self {
        TenantHeading {
            id: t.id,
            display_name: t.display_name.clone(),
            initial_domain: t.initial_domain.clone(),
            verified_domains: t.verified_domains.clone(),
            cloud: t.cloud,
        }
    }
}

/// The name of the user or service principal `id`.
fn principal_name(d: &Directory, id: ObjectId) -> Option<String> {
    d.user(id)
        .map(|u| u.user_principal_name.clone())
        .or_else(|| d.service_principal(id).map(|s| s.display_name.clone()))
}

fn named(d: &Directory, id: ObjectId) -> Named {
    Named {
        id: id.to_string(),
        name: principal_name(d, id),
    }
}

fn seconds_left(now: OffsetDateTime, end: OffsetDateTime) -> i64 {
    (end - now).whole_seconds()
}

fn credential(
    d: &Directory,
    k: &KeyCredential,
    now: OffsetDateTime,
    own: Option<ObjectId>,
    owners: &[ObjectId],
) -> CredentialSummary {
    let der = k
        .key
        .as_deref()
        .filter(|_| k.key_type == ASYMMETRIC_X509_CERT);
    CredentialSummary {
        key_id: k.key_id,
        display_name: k.display_name.clone(),
        key_type: k.key_type.clone(),
        usage: k.usage.clone(),
        sha1: der.map(|d| Thumbprint::sha1_of(d).to_hex()),
        sha256: der.map(|d| Thumbprint::sha256_of(d).to_hex()),
        start_date_time: k.start_date_time,
        end_date_time: k.end_date_time,
        seconds_left: seconds_left(now, k.end_date_time),
        status: CredentialStatus::at(now, k.start_date_time, k.end_date_time),
        foreign: k.is_foreign(own, owners),
        added_by: k.added_by.as_ref().map(|o| AddedBy {
            principal: o.principal_id.map(|p| named(d, p)),
            via: o.via,
        }),
    }
}

fn secret(p: &PasswordCredential, now: OffsetDateTime) -> SecretSummary {
    SecretSummary {
        key_id: p.key_id,
        display_name: p.display_name.clone(),
        hint: p.hint.clone(),
        start_date_time: p.start_date_time,
        end_date_time: p.end_date_time,
        seconds_left: seconds_left(now, p.end_date_time),
        status: CredentialStatus::at(now, p.start_date_time, p.end_date_time),
    }
}

impl TenantSummary {
    /// The tenant as it is now, on its own clock.
    pub fn of(t: &Tenant) -> Self {
        let d = &t.directory;
        let now = t.now();
        let sp_name = |id: ObjectId| Named {
            id: id.to_string(),
            name: d.service_principal(id).map(|s| s.display_name.clone()),
        };
        let applications = d
            .applications
            .iter()
            .map(|a| {
                let own = d.service_principal_by_app_id(a.app_id).map(|s| s.id);
                ApplicationSummary {
                    id: a.id,
                    app_id: a.app_id.to_string(),
                    display_name: a.display_name.clone(),
                    service_principal_id: own,
                    owners: a.owners.iter().map(|o| named(d, *o)).collect(),
                    key_credentials: a
                        .key_credentials
                        .iter()
                        .map(|k| credential(d, k, now, own, &a.owners))
                        .collect(),
                    password_credentials: a
                        .password_credentials
                        .iter()
                        .map(|p| secret(p, now))
                        .collect(),
                }
            })
            .collect();
        let service_principals = d
            .service_principals
            .iter()
            .map(|s| ServicePrincipalSummary {
                id: s.id,
                app_id: s.app_id.to_string(),
                display_name: s.display_name.clone(),
                account_enabled: s.account_enabled,
                service_principal_type: s.service_principal_type.clone(),
                has_application: d.application_by_app_id(s.app_id).is_some(),
                app_roles: s.app_roles.len(),
                key_credentials: s
                    .key_credentials
                    .iter()
                    .map(|k| credential(d, k, now, Some(s.id), &[]))
                    .collect(),
            })
            .collect();
        let app_role_assignments = d
            .app_role_assignments
            .iter()
            .map(|a| AssignmentSummary {
                id: a.id.clone(),
                principal: named(d, a.principal_id),
                principal_type: a.principal_type.clone(),
                resource: sp_name(a.resource_id),
                app_role_id: a.app_role_id,
                app_role: d
                    .service_principal(a.resource_id)
                    .and_then(|r| r.app_role(a.app_role_id))
                    .map(|r| r.value.clone()),
            })
            .collect();
        let oauth2_permission_grants = d
            .oauth2_permission_grants
            .iter()
            .map(|g| GrantSummary {
                id: g.id.clone(),
                client: sp_name(g.client_id),
                consent_type: g.consent_type.clone(),
                principal: g.principal_id.map(|p| named(d, p)),
                resource: sp_name(g.resource_id),
                scope: g.scope.clone(),
            })
            .collect();
        let users = d
            .users
            .iter()
            .map(|u| UserSummary {
                id: u.id,
                user_principal_name: u.user_principal_name.clone(),
                display_name: u.display_name.clone(),
                account_enabled: u.account_enabled,
                has_password: u.password_profile.is_set(),
                directory_roles: d
                    .directory_roles_of(u.id)
                    .into_iter()
                    .map(|r| Named {
                        id: r.to_string(),
                        name: roles::display_name(r).map(str::to_string),
                    })
                    .collect(),
            })
            .collect();
        TenantSummary {
            tenant: TenantHeading::of(t),
            clock: ClockSummary {
                now,
                frozen: t.clock.is_frozen(),
            },
            expiring_within_days: EXPIRING_WITHIN_DAYS,
            applications,
            service_principals,
            app_role_assignments,
            oauth2_permission_grants,
            users,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fixture::TenantFixture;

    #[test]
    fn statuses_follow_the_tenant_clock() {
        let start = datetime!(2026-01-01 0:00 UTC);
        let end = datetime!(2027-01-01 0:00 UTC);
        let at = |now| CredentialStatus::at(now, start, end);
        assert_eq!(
            at(datetime!(2025-12-31 23:59:59 UTC)),
            CredentialStatus::NotYetValid
        );
        assert_eq!(at(start), CredentialStatus::Valid);
        assert_eq!(at(end - Duration::days(151)), CredentialStatus::Valid);
        assert_eq!(at(end - Duration::days(150)), CredentialStatus::Expiring);
        assert_eq!(at(end - Duration::seconds(1)), CredentialStatus::Expiring);
        assert_eq!(at(end), CredentialStatus::Expired);
    }

    /// The shipped foreign-credential fixture: the sync app's own certificate (added by the
    /// application itself) is not foreign, the helpdesk's (added by an administrator who does
    /// not own the application) is.
    #[test]
    fn the_foreign_fixture_marks_its_foreign_key() {
        let text = include_str!("../../fixtures/foreign-credential.json");
        let t = Tenant::from_fixture(TenantFixture::from_json(text).unwrap()).unwrap();
        let s = TenantSummary::of(&t);
        let app = &s.applications[0];
        let marks: Vec<(Option<&str>, Option<bool>)> = app
            .key_credentials
            .iter()
            .map(|k| (k.display_name.as_deref(), k.foreign))
            .collect();
        assert_eq!(
            marks,
            [
                (Some("CN=Entra Connect Sync Provisioning"), Some(false)),
                (Some("CN=Contoso Helpdesk Automation"), Some(true)),
            ]
        );
        let helpdesk = &app.key_credentials[1];
        assert_eq!(
            helpdesk.added_by.as_ref().and_then(|a| a.principal.clone()),
            Some(Named {
                id: "a1000000-0000-4000-8000-000000000003".into(),
                name: Some("appadmin@contoso-foreign.onmicrosoft.com".into()),
            })
        );
        assert_eq!(helpdesk.sha1.as_deref().map(str::len), Some(40));
        assert_eq!(helpdesk.sha256.as_deref().map(str::len), Some(64));
        assert_eq!(helpdesk.status, CredentialStatus::Valid);
    }

    #[test]
    fn users_show_their_roles_but_no_password() {
        let t = Tenant::from_fixture(TenantFixture::default_fixture()).unwrap();
        let s = TenantSummary::of(&t);
        let admin = s
            .users
            .iter()
            .find(|u| u.user_principal_name.starts_with("admin@"))
            .unwrap();
        assert_eq!(
            admin.directory_roles[0].name.as_deref(),
            Some("Global Administrator")
        );
        assert!(admin.has_password);
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("Passw0rd!"), "no password in a summary");
    }
}
