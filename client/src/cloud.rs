//! Cloud profiles: where the login service and Microsoft Graph are for each national cloud, or
//! explicit URLs (the mock, a proxy). Nothing else in the client names a host.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

use crate::ids::TenantId;

/// appId of the Microsoft Entra AD Synchronization Service (the same in every cloud).
pub const SYNC_SERVICE_APP_ID: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";

/// A national cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    /// US Government "Arlington".
    UsGov,
    /// Microsoft Azure operated by 21Vianet.
    China,
}

impl FromStr for Cloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "global" | "public" | "azurecloud" => Ok(Cloud::Global),
            "usgov" | "arlington" | "azureusgovernment" => Ok(Cloud::UsGov),
            "china" | "azurechinacloud" => Ok(Cloud::China),
            other => Err(format!("unknown cloud '{other}' (global, usgov, china)")),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::China => "china",
        })
    }
}

/// Login and Graph base URLs, and the resource identifier Graph tokens are requested for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    authority: Url,
    graph: Url,
    graph_resource: String,
}

/// A URL given on the command line or in configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} URL '{value}': {reason}")]
pub struct EndpointError {
    pub what: &'static str,
    pub value: String,
    pub reason: String,
}

impl Endpoints {
    /// The real endpoints of a cloud.
    pub fn for_cloud(cloud: Cloud) -> Self {
        let (login, graph) = match cloud {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
        };
        // Constants; a failure would be a typo above, caught by the tests.
        match Self::new(login, graph) {
            Ok(endpoints) => endpoints,
            Err(e) => unreachable!("built-in endpoint: {e}"),
        }
    }

    /// Explicit endpoints; the Graph resource defaults to the Graph base URL.
    pub fn new(authority: &str, graph: &str) -> Result<Self, EndpointError> {
        let authority = parse("authority", authority)?;
        let graph = parse("Graph", graph)?;
        let graph_resource = graph.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            authority,
            graph,
            graph_resource,
        })
    }

    /// Overrides the resource identifier of Graph tokens (when Graph is reached at a URL that
    /// is not its identifier, e.g. through a proxy).
    pub fn with_graph_resource(mut self, resource: impl Into<String>) -> Self {
        self.graph_resource = resource.into();
        self
    }

    /// The login service base URL.
    pub fn authority(&self) -> &Url {
        &self.authority
    }

    /// The Graph base URL (without `/v1.0`).
    pub fn graph(&self) -> &Url {
        &self.graph
    }

    /// The resource identifier for Graph tokens.
    pub fn graph_resource(&self) -> &str {
        &self.graph_resource
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`: also the `aud` of client assertions.
    pub fn token_url_v2(&self, tenant: &TenantId) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority.as_str().trim_end_matches('/'),
            tenant
        )
    }

    /// `{graph}/v1.0/{path}`.
    pub fn graph_url(&self, path: &str) -> String {
        format!(
            "{}/v1.0/{}",
            self.graph.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// `resource/.default`: the scope of a client-credentials request for one resource.
pub fn default_scope(resource: &str) -> String {
    format!("{}/.default", resource.trim_end_matches('/'))
}

fn parse(what: &'static str, value: &str) -> Result<Url, EndpointError> {
    let err = |reason: String| EndpointError {
        what,
        value: value.to_owned(),
        reason,
    };
    let url = Url::parse(value).map_err(|e| err(e.to_string()))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(err("scheme must be https (or http for a local mock)".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("no query or fragment allowed".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_profiles_name_the_real_hosts() {
        let tenant = TenantId::from("contoso.onmicrosoft.com");
        let global = Endpoints::for_cloud(Cloud::Global);
        assert_eq!(
            global.token_url_v2(&tenant),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            default_scope(global.graph_resource()),
            "https://graph.microsoft.com/.default"
        );
        let usgov = Endpoints::for_cloud("arlington".parse().unwrap());
        assert_eq!(
            usgov.authority().host_str(),
            Some("login.microsoftonline.us")
        );
        assert_eq!(
            usgov.graph_url("/applications"),
            "https://graph.microsoft.us/v1.0/applications"
        );
        let china = Endpoints::for_cloud(Cloud::China);
        assert_eq!(china.authority().host_str(), Some("login.chinacloudapi.cn"));
        assert_eq!(
            china.graph().host_str(),
            Some("microsoftgraph.chinacloudapi.cn")
        );
        assert!("mars".parse::<Cloud>().is_err());
    }

    #[test]
    fn explicit_authority_is_used_verbatim() {
        let e = Endpoints::new("https://127.0.0.1:8443/", "https://127.0.0.1:8443").unwrap();
        assert_eq!(
            e.token_url_v2(&"t1".into()),
            "https://127.0.0.1:8443/t1/oauth2/v2.0/token"
        );
        assert_eq!(e.graph_resource(), "https://127.0.0.1:8443");
        assert_eq!(
            default_scope(SYNC_SERVICE_APP_ID),
            format!("{SYNC_SERVICE_APP_ID}/.default")
        );
        assert!(Endpoints::new("ftp://x", "https://y").is_err());
        assert!(Endpoints::new("not a url", "https://y").is_err());
    }
}
