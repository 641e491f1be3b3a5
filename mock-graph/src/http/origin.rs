//! Where a request came from and to: whether the connection was TLS (`ConnectionInfo`, inserted
//! by the server loop) and the `scheme://host[:port]` it was sent to (`base_url`), which every
//! URL the mock hands out uses so that clients stay on the mock.

use http::request::Parts;
use http::{HeaderMap, Uri};

/// What the connection told about a request: whether it came over TLS. Inserted by the server
/// loop; absent when a test drives the router directly, which then counts as plain HTTP.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionInfo {
    pub tls: bool,
}

/// `scheme://host[:port]` the request came to.
pub fn base_url(parts: &Parts) -> String {
    let tls = parts
        .extensions
        .get::<ConnectionInfo>()
        .is_some_and(|c| c.tls);
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", host(&parts.headers, &parts.uri))
}

fn host(headers: &HeaderMap, uri: &Uri) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string())
}
