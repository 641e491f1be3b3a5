//! `mock-graph import`: reads a tenant through Microsoft Graph with a token the user supplies
//! and writes a fixture that `serve --fixture` loads: the organization, users (no password:
//! Graph gives none out), directory role assignments, applications and service principals
//! with their key credentials' public parts (`key` asked for one object at a time, as Graph
//! requires), app role assignments and delegated permission grants. Client secrets' text never
//! leaves Graph and private keys were never in it, so nothing secret is written.
//!
//! Pages are followed through `@odata.nextLink`; a 429 or 503 is waited out (its Retry-After,
//! at most `MAX_WAIT`, up to `MAX_TRIES` times); a 401 or 403 stops with the permission the
//! token lacks. The result is checked by loading it as a fixture before it is written.

use std::time::Duration;

use entra_tenant::cloud::Cloud;
use entra_tenant::directory::first_party;
use entra_tenant::fixture::TenantFixture;
use entra_tenant::ids::AppId;
use serde_json::{Map, Value, json};

/// Where to read the tenant and how.
pub struct ImportSource {
    /// The Graph root, such as `https://graph.microsoft.com` (`/v1.0` is added).
    pub graph: String,
    pub token: String,
    pub http: reqwest::Client,
    /// `$top` for the large collections (applications, service principals, users); Graph
    /// allows up to 999 and pages beyond it.
    pub page_size: u32,
}

/// Why an import stopped, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "GET {path} was refused ({status} {code}: {message}); the token needs {needs} \
         (an application permission, admin-consented, or a delegated one with a directory role)"
    )]
    Refused {
        path: String,
        status: u16,
        code: String,
        message: String,
        needs: &'static str,
    },
    #[error("GET {path} was still throttled after {tries} tries; try again later")]
    Throttled { path: String, tries: u32 },
    #[error("GET {path}: {status} {body}")]
    Failed {
        path: String,
        status: u16,
        body: String,
    },
    #[error("GET {path}: {0}", path = .1)]
    Transport(reqwest::Error, String),
    #[error("GET {path}: the answer is not what Graph sends: {why}")]
    Shape { path: String, why: String },
    #[error("the imported tenant does not load as a fixture: {0}")]
    Fixture(String),
}

const MAX_TRIES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(60);

impl ImportSource {
    /// One Graph object (`path` from `/v1.0/`), waiting out throttling.
    async fn get(&self, path: &str) -> Result<Value, ImportError> {
        let url = if path.starts_with("https://") || path.starts_with("http://") {
            path.to_string()
        } else {
            format!("{}/v1.0/{path}", self.graph.trim_end_matches('/'))
        };
        for _ in 0..MAX_TRIES {
            let resp = self
                .http
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| ImportError::Transport(e, path.to_string()))?;
            let status = resp.status().as_u16();
            if status == 429 || status == 503 {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs)
                    .min(MAX_WAIT);
                eprintln!(
                    "mock-graph import: {path} throttled ({status}); waiting {} s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let body: Value = resp
                .json()
                .await
                .map_err(|e| ImportError::Transport(e, path.to_string()))?;
            if status == 401 || status == 403 {
                return Err(ImportError::Refused {
                    path: path.to_string(),
                    status,
                    code: body["error"]["code"].as_str().unwrap_or("").to_string(),
                    message: body["error"]["message"].as_str().unwrap_or("").to_string(),
                    needs: permission_for(path),
                });
            }
            if !(200..300).contains(&status) {
                return Err(ImportError::Failed {
                    path: path.to_string(),
                    status,
                    body: body.to_string(),
                });
            }
            return Ok(body);
        }
        Err(ImportError::Throttled {
            path: path.to_string(),
            tries: MAX_TRIES,
        })
    }

    /// Every item of a collection, page after page.
    async fn list(&self, path: &str) -> Result<Vec<Value>, ImportError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(page) = next.take() {
            let body = self.get(&page).await?;
            let value = body["value"].as_array().ok_or_else(|| ImportError::Shape {
                path: page.clone(),
                why: "no `value` array".into(),
            })?;
            items.extend(value.iter().cloned());
            next = body["@odata.nextLink"].as_str().map(str::to_string);
        }
        Ok(items)
    }
}

/// The least permission that reads `path`, for the refusal's message.
fn permission_for(path: &str) -> &'static str {
    if path.starts_with("applications") {
        "Application.Read.All"
    } else if path.starts_with("roleManagement") {
        "RoleManagement.Read.Directory"
    } else if path.starts_with("oauth2PermissionGrants") {
        "DelegatedPermissionGrant.Read.All (or Directory.Read.All)"
    } else {
        "Directory.Read.All"
    }
}

fn is_microsoft_public_client(sp: &Value) -> bool {
    let owner = sp["appOwnerOrganizationId"].as_str();
    let app_id = sp["appId"].as_str().and_then(|a| a.parse::<AppId>().ok());
    match (owner, app_id) {
        (Some(owner), Some(app_id))
            if owner == first_party::MICROSOFT_SERVICES_TENANT.to_string() =>
        {
            first_party::service_principal(Cloud::default(), app_id)
                .is_some_and(|known| known.is_public_client)
        }
        _ => false,
    }
}

/// Graph's annotations (`@odata.*`) are no part of an object.
fn plain(mut o: Value) -> Value {
    if let Some(m) = o.as_object_mut() {
        m.retain(|k, _| !k.starts_with('@'));
    }
    o
}

fn id_of(o: &Value) -> String {
    o["id"].as_str().unwrap_or_default().to_string()
}

/// An application or service principal with its key credentials' public parts: Graph gives
/// `key` only for one object with `$select=keyCredentials`.
async fn with_keys(src: &ImportSource, set: &str, o: Value) -> Result<Value, ImportError> {
    let mut o = plain(o);
    let id = id_of(&o);
    let keys = src
        .get(&format!("{set}/{id}?$select=keyCredentials"))
        .await?;
    o["keyCredentials"] = keys["keyCredentials"].clone();
    // A secret's text is never given out; its metadata stays.
    if let Some(Value::Array(secrets)) = o.get_mut("passwordCredentials") {
        for s in secrets {
            if let Some(m) = s.as_object_mut() {
                m.remove("secretText");
            }
        }
    }
    Ok(o)
}

/// Reads the tenant and returns it as fixture JSON, checked by loading it (references resolve,
/// names are unique) before anything is written.
pub async fn import(src: &ImportSource) -> Result<Value, ImportError> {
    let orgs = src.list("organization").await?;
    let org = orgs.first().ok_or_else(|| ImportError::Shape {
        path: "organization".into(),
        why: "no organization".into(),
    })?;
    let domains: Vec<&Value> = org["verifiedDomains"]
        .as_array()
        .map(|d| d.iter().collect())
        .unwrap_or_default();
    let initial = domains
        .iter()
        .find(|d| d["isInitial"] == true)
        .and_then(|d| d["name"].as_str())
        .ok_or_else(|| ImportError::Shape {
            path: "organization".into(),
            why: "no initial domain among verifiedDomains".into(),
        })?;
    let others: Vec<&str> = domains
        .iter()
        .filter_map(|d| d["name"].as_str())
        .filter(|n| *n != initial)
        .collect();

    let mut applications = Vec::new();
    let top = src.page_size;
    for a in src.list(&format!("applications?$top={top}")).await? {
        applications.push(with_keys(src, "applications", a).await?);
    }
    let mut service_principals = Vec::new();
    let mut app_role_assignments: Vec<Value> = Vec::new();
    for sp in src.list(&format!("servicePrincipals?$top={top}")).await? {
        let mut sp = with_keys(src, "servicePrincipals", sp).await?;
        // Graph does not say that a Microsoft application is a public client users sign in
        // through (Graph Command Line Tools, ...); the mock's catalogue knows.
        if is_microsoft_public_client(&sp) {
            sp["isPublicClient"] = json!(true);
        }
        // Every assignment has a resource: listing each resource's assignments lists them all.
        let held = src
            .list(&format!(
                "servicePrincipals/{}/appRoleAssignedTo",
                id_of(&sp)
            ))
            .await?;
        app_role_assignments.extend(held.into_iter().map(plain));
        service_principals.push(sp);
    }
    let mut users = Vec::new();
    for u in src.list(&format!("users?$top={top}")).await? {
        users.push(plain(u));
    }
    let grants: Vec<Value> = src
        .list("oauth2PermissionGrants")
        .await?
        .into_iter()
        .map(plain)
        .collect();
    let role_assignments: Vec<Value> = src
        .list("roleManagement/directory/roleAssignments")
        .await?
        .into_iter()
        .map(plain)
        .collect();

    let mut tenant = Map::new();
    tenant.insert("id".into(), org["id"].clone());
    tenant.insert("displayName".into(), org["displayName"].clone());
    tenant.insert("initialDomain".into(), json!(initial));
    tenant.insert("verifiedDomains".into(), json!(others));
    let fixture = json!({
        "tenant": tenant,
        "users": users,
        "roleAssignments": role_assignments,
        "applications": applications,
        "servicePrincipals": service_principals,
        "appRoleAssignments": app_role_assignments,
        "oauth2PermissionGrants": grants,
    });
    let loaded = TenantFixture::from_json(&fixture.to_string())
        .map_err(|e| ImportError::Fixture(e.to_string()))?;
    loaded
        .directory
        .check_references()
        .map_err(ImportError::Fixture)?;
    Ok(fixture)
}
