//! The World: what one scenario owns. Each scenario gets its own mock (its own tenant and
//! clock on its own port), so scenarios run concurrently without seeing each other.

use std::collections::HashMap;
use std::fmt;

use mock_graph::core::ids::{AppId, ObjectId};
use mock_graph::testing::{TestCertificate, TestServer};
use serde_json::Value;

/// An application registered by a scenario, with the certificate it signs with.
pub struct ScenarioApp {
    pub app_id: AppId,
    pub object_id: ObjectId,
    pub service_principal_id: Option<ObjectId>,
    pub certificate: TestCertificate,
}

/// The last HTTP answer a step received.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct EntraWorld {
    mock: Option<TestServer>,
    pub http: Option<reqwest::Client>,
    pub apps: HashMap<String, ScenarioApp>,
    pub last: Option<Answer>,
}

impl fmt::Debug for EntraWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraWorld")
            .field("mock", &self.mock.as_ref().map(|m| &m.url))
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("last", &self.last)
            .finish()
    }
}

impl EntraWorld {
    async fn new() -> Result<Self, anyhow::Error> {
        Ok(EntraWorld {
            mock: None,
            http: None,
            apps: HashMap::new(),
            last: None,
        })
    }

    /// Starts this scenario's mock tenant (HTTPS, default fixture).
    pub async fn start_tenant(&mut self) -> anyhow::Result<()> {
        let server = TestServer::start().await?;
        let ca = server
            .ca_pem_text()
            .ok_or_else(|| anyhow::anyhow!("the mock has no CA"))?;
        self.http = Some(
            reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?)
                .build()?,
        );
        self.mock = Some(server);
        Ok(())
    }

    pub fn mock(&self) -> &TestServer {
        self.mock
            .as_ref()
            .expect("a step before this one must start the tenant (\"Given a tenant\")")
    }

    pub fn http(&self) -> &reqwest::Client {
        self.http
            .as_ref()
            .expect("the tenant's HTTP client exists once the tenant is started")
    }

    pub fn app(&self, name: &str) -> &ScenarioApp {
        self.apps
            .get(name)
            .unwrap_or_else(|| panic!("no application named {name:?} in this scenario"))
    }

    pub fn last(&self) -> &Answer {
        self.last
            .as_ref()
            .expect("a When step must have sent a request")
    }

    /// POSTs a form and keeps the answer.
    pub async fn post_form(
        &mut self,
        url: &str,
        content_type: &str,
        body: String,
    ) -> anyhow::Result<()> {
        let resp = self
            .http()
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.last = Some(Answer { status, body });
        Ok(())
    }
}
