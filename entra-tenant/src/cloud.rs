//! Which Microsoft cloud a tenant lives in, and the names that differ between clouds
//! (discovery documents' `cloud_instance_name` and `msgraph_host`).

use serde::{Deserialize, Serialize};

/// Which Microsoft cloud the tenant lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    #[default]
    Global,
    /// US Government ("Arlington").
    Usgov,
    China,
}

impl Cloud {
    /// `cloud_instance_name` of discovery documents.
    pub fn instance_name(self) -> &'static str {
        match self {
            Cloud::Global => "microsoftonline.com",
            Cloud::Usgov => "microsoftonline.us",
            Cloud::China => "partner.microsoftonline.cn",
        }
    }

    /// `msgraph_host` of discovery documents.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "graph.microsoft.com",
            Cloud::Usgov => "graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }
}
