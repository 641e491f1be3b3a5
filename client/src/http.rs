//! The client's HTTP layer as a trait, so token and Graph code can be tested without a server.
//! The real transport is reqwest over rustls (aws-lc-rs) with the system's roots plus an
//! optional extra CA (the mock's `ca.pem`).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use reqwest::Method;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An HTTP request, fully built (the retry layer resends it as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// A request without a body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded_pairs(fields);
        let mut req = self.header("Content-Type", "application/x-www-form-urlencoded");
        req.body = Some(body.into_bytes());
        req
    }

    /// A JSON body.
    pub fn json(self, value: &serde_json::Value) -> Self {
        let mut req = self.header("Content-Type", "application/json");
        req.body = Some(value.to_string().into_bytes());
        req
    }

    /// The form fields of a form body (for tests and logs).
    pub fn form_fields(&self) -> Vec<(String, String)> {
        let body = self.body.as_deref().unwrap_or_default();
        url_decode_pairs(body)
    }

    /// A header's value, case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response as the client needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (lossy), for error values that keep the raw answer.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request never got an HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot set up HTTPS: {0}")]
    Setup(String),
    #[error("request to {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// Sends HTTP requests.
pub trait HttpTransport: Send + Sync + Debug {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// The real transport.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// HTTPS with the platform's roots, plus the CA certificates in `extra_ca_pem` if given.
    pub fn new(extra_ca_pem: Option<&[u8]>) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("adsync-client/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(100));
        if let Some(pem) = extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TransportError::Setup(format!("extra CA: {e}")))?;
            if certs.is_empty() {
                return Err(TransportError::Setup(
                    "extra CA file holds no certificate".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Setup(e.to_string()))?;
        Ok(Self { client })
    }
}

impl HttpTransport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let url = request.url.clone();
            let fail = |source| TransportError::Request {
                url: url.clone(),
                source,
            };
            let mut builder = self.client.request(request.method, &request.url);
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let response = builder.send().await.map_err(fail)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response.bytes().await.map_err(fail)?.to_vec();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

fn serde_urlencoded_pairs(fields: &[(&str, &str)]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // application/x-www-form-urlencoded keeps these unescaped (WHATWG URL standard).
    const FORM: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'*')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_');
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, FORM),
                utf8_percent_encode(v, FORM)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn url_decode_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_escape_and_round_trip() {
        let req = HttpRequest::new(Method::POST, "https://x/t").form(&[
            ("scope", "https://graph.microsoft.com/.default"),
            ("password", "P@ss w&rd="),
        ]);
        let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
        assert_eq!(
            body,
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&password=P%40ss%20w%26rd%3D"
        );
        assert_eq!(req.form_fields()[1].1, "P@ss w&rd=");
        assert_eq!(
            req.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn extra_ca_must_hold_a_certificate() {
        assert!(ReqwestTransport::new(Some(b"garbage")).is_err());
        assert!(ReqwestTransport::new(None).is_ok());
    }
}
