//! Bad input everywhere, over real HTTPS on loopback: oversized bodies, malformed forms, wrong
//! content types, unknown query options, invalid UTF-8, huge URLs and headers, wrong methods
//! and paths. Every answer is a 4xx (never a 5xx, never a dropped connection) in the format of
//! the service that was called, and the server keeps serving: a good token request succeeds
//! after each case.
//!
//! Every request here is sent the way most clients send: the whole request is written before
//! a byte of the answer is read (see "The wire" below). A server that answers early and tears
//! the connection down fails these tests, as it fails Python's requests.
//!
//! The table is data: a row names the service side (login, Graph, control plane), how to
//! build the raw request and which statuses are acceptable. Rows are sent as raw HTTP/1.1 over
//! TLS, so they can carry what an HTTP library refuses to send. Graph rows go in `CASES` too.
//!
//! Requests broken at the HTTP framing level (a non-numeric Content-Length, raw non-ASCII
//! bytes in the request line, more than 100 header fields) are refused by hyper before any
//! service sees them, with a bare 400/431: there is no service to speak for them. Those rows
//! are marked `framing` and only need a 4xx.

use std::sync::Arc;
use std::time::Duration;

use mock_graph::core::fixture::TenantFixture;
use mock_graph::core::ids::AppId;
use mock_graph::testing::{Alg, TestCertificate, TestServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const MIB: usize = 1024 * 1024;

/// Which service's error format an answer must be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Login,
    Graph,
    Control,
}

/// What a row's request builder knows.
struct Ctx {
    tenant: String,
}

struct Case {
    name: &'static str,
    side: Side,
    build: fn(&Ctx) -> Vec<u8>,
    /// Acceptable statuses; empty means any 4xx.
    expect: &'static [u16],
    /// Broken at the HTTP level: refused by the HTTP stack, format not required.
    framing: bool,
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    }) && (method == "POST" || method == "PUT" || !body.is_empty())
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn token_path(c: &Ctx) -> String {
    format!("/{}/oauth2/v2.0/token", c.tenant)
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn valid_looking_form() -> Vec<u8> {
    format!(
        "grant_type=client_credentials&client_id=5b3c4e2a-0d1f-4c6b-8a7e-9f0e1d2c3b4a&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_assertion_type={}&client_assertion=a.b.c",
        JWT_BEARER.replace(':', "%3A")
    )
    .into_bytes()
}

const CASES: &[Case] = &[
    Case {
        name: "a body over the limit, with Content-Length",
        side: Side::Login,
        build: |c| request("POST", &token_path(c), &[FORM], &vec![b'a'; 2 * MIB]),
        expect: &[413],
        framing: false,
    },
    Case {
        name: "a body over the limit, chunked",
        side: Side::Login,
        build: |c| {
            let mut body = Vec::new();
            for _ in 0..40 {
                body.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
                body.extend(std::iter::repeat_n(b'a', 64 * 1024));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\n\r\n");
            request(
                "POST",
                &token_path(c),
                &[FORM, ("Transfer-Encoding", "chunked")],
                &body,
            )
        },
        expect: &[413],
        framing: false,
    },
    Case {
        name: "a body over the limit on v1",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &format!("/{}/oauth2/token", c.tenant),
                &[FORM],
                &vec![b'a'; MIB + 1],
            )
        },
        expect: &[413],
        framing: false,
    },
    Case {
        name: "a malformed form",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[FORM],
                b"%%%&&==&grant_type=%ZZ&client_id&=&%",
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a form of invalid UTF-8",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[FORM],
                b"grant_type=\xff\xfe&client_id=\xc3\x28&scope=%FF%FE",
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a JSON body",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[("Content-Type", "application/json")],
                br#"{"grant_type":"client_credentials"}"#,
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a multipart body",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[("Content-Type", "multipart/form-data; boundary=x")],
                b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n",
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "no content type",
        side: Side::Login,
        build: |c| request("POST", &token_path(c), &[], &valid_looking_form()),
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a content type with nonsense parameters",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=klingon;;; =",
                )],
                &valid_looking_form(),
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "unknown query options on the token endpoint",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &format!("{}?$select=x&foo=bar&api-version=99&%FF=%FE", token_path(c)),
                &[FORM],
                &valid_looking_form(),
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "unknown query options on discovery (ignored)",
        side: Side::Login,
        build: |c| {
            request(
                "GET",
                &format!(
                    "/{}/v2.0/.well-known/openid-configuration?$filter=x&foo&%FF",
                    c.tenant
                ),
                &[],
                b"",
            )
        },
        expect: &[200],
        framing: false,
    },
    Case {
        name: "a tenant segment of percent-encoded invalid UTF-8",
        side: Side::Login,
        build: |_| {
            request(
                "POST",
                "/%FF%FE/oauth2/v2.0/token",
                &[FORM],
                &valid_looking_form(),
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a UPN of percent-encoded invalid UTF-8 on user realm",
        side: Side::Login,
        build: |_| request("GET", "/common/userrealm/%FF%FE%40contoso.com", &[], b""),
        expect: &[200, 400],
        framing: false,
    },
    Case {
        name: "a client-request-id of invalid UTF-8",
        side: Side::Login,
        build: |c| {
            let mut r = request("POST", &token_path(c), &[FORM], &valid_looking_form());
            let at = r.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
            r.splice(
                at..at,
                b"client-request-id: \xff\xfe\x80\r\n".iter().copied(),
            );
            r
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a garbage Basic authorization",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[FORM, ("Authorization", "Basic %%%not-base64")],
                b"grant_type=client_credentials&scope=x",
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a URL over the limit",
        side: Side::Login,
        build: |c| {
            let q = "a".repeat(20 * 1024);
            request(
                "GET",
                &format!("/{}/discovery/v2.0/keys?x={q}", c.tenant),
                &[],
                b"",
            )
        },
        expect: &[414],
        framing: false,
    },
    Case {
        name: "one header over the limit",
        side: Side::Login,
        build: |c| {
            let big = "b".repeat(100 * 1024);
            request(
                "POST",
                &token_path(c),
                &[FORM, ("X-Junk", &big)],
                &valid_looking_form(),
            )
        },
        expect: &[431],
        framing: false,
    },
    Case {
        name: "many headers adding up over the limit",
        side: Side::Login,
        build: |c| {
            let v = "c".repeat(1000);
            let names: Vec<String> = (0..90).map(|i| format!("X-Junk-{i}")).collect();
            let headers: Vec<(&str, &str)> = names
                .iter()
                .map(|n| (n.as_str(), v.as_str()))
                .chain([FORM])
                .collect();
            request("POST", &token_path(c), &headers, &valid_looking_form())
        },
        expect: &[431],
        framing: false,
    },
    Case {
        name: "GET on the token endpoint",
        side: Side::Login,
        build: |c| request("GET", &token_path(c), &[], b""),
        expect: &[405],
        framing: false,
    },
    Case {
        name: "an unknown login path",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &format!("/{}/oauth2/v2.0/nope", c.tenant),
                &[FORM],
                b"",
            )
        },
        expect: &[404],
        framing: false,
    },
    Case {
        name: "a malformed tenant fixture on the control plane",
        side: Side::Control,
        build: |_| {
            request(
                "POST",
                "/_mock/tenants",
                &[("Content-Type", "application/json")],
                b"{\"tenant\": [",
            )
        },
        expect: &[400],
        framing: false,
    },
    Case {
        name: "a body over the limit on the control plane",
        side: Side::Control,
        build: |_| {
            request(
                "POST",
                "/_mock/tenants",
                &[("Content-Type", "application/json")],
                &vec![b' '; 2 * MIB],
            )
        },
        expect: &[413],
        framing: false,
    },
    Case {
        name: "a body over the limit on Graph",
        side: Side::Graph,
        build: |_| {
            request(
                "POST",
                "/v1.0/applications",
                &[("Content-Type", "application/json")],
                &vec![b' '; 2 * MIB],
            )
        },
        expect: &[413],
        framing: false,
    },
    Case {
        name: "a non-numeric Content-Length",
        side: Side::Login,
        build: |c| {
            request(
                "POST",
                &token_path(c),
                &[FORM, ("Content-Length", "abc")],
                b"",
            )
        },
        expect: &[400],
        framing: true,
    },
    Case {
        name: "raw non-ASCII bytes in the request line",
        side: Side::Login,
        build: |_| {
            b"GET /\xff\xfe/discovery/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                .to_vec()
        },
        expect: &[400],
        framing: true,
    },
    Case {
        name: "more header fields than the HTTP stack takes",
        side: Side::Login,
        build: |c| {
            let names: Vec<String> = (0..150).map(|i| format!("X-H-{i}")).collect();
            let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
            request(
                "GET",
                &format!("/{}/discovery/keys", c.tenant),
                &headers,
                b"",
            )
        },
        expect: &[431],
        framing: true,
    },
];

// ---------------------------------------------------------------------------------------------
// The wire, as clients use it. Python's requests, curl without `Expect` and most HTTP/1.1
// libraries write the whole request before they read a byte of the answer; a server that
// answers early and closes resets them in mid-upload, and they report a connection error
// instead of the answer. So every helper here writes the complete request first and only then
// reads. HTTP/2 clients do the same through the h2 crate: the whole body (as flow control lets
// it through), then the answer.
// ---------------------------------------------------------------------------------------------

/// TCP, or TLS over TCP.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Wire for T {}

/// How long a helper waits before it calls an answer lost. It guards against hanging for ever
/// when a server never answers; no test depends on it (answers take milliseconds).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The client's socket send buffer (the kernel doubles it for its bookkeeping): a few of
/// loopback's 64 KiB segments, so that delayed ACKs do not stall the upload, and far less
/// than the 2 MiB bodies.
const SEND_BUFFER: u32 = 128 * 1024;

/// A raw HTTP answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(2048)]).into_owned()
}

fn tls_connector(server: &TestServer, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let ca = server.ca_pem_text().expect("TLS test server");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A mock to talk to, over TLS or plain TCP, with HTTP/1.1 or HTTP/2.
struct Target<'a> {
    server: &'a TestServer,
    /// ALPN `http/1.1` and `h2`; `None` when the server speaks plain HTTP.
    h1: Option<tokio_rustls::TlsConnector>,
    h2: Option<tokio_rustls::TlsConnector>,
}

impl<'a> Target<'a> {
    fn new(server: &'a TestServer) -> Self {
        let tls = server.ca_pem.is_some();
        Target {
            server,
            h1: tls.then(|| tls_connector(server, &[b"http/1.1"])),
            h2: tls.then(|| tls_connector(server, &[b"h2"])),
        }
    }

    fn name(&self) -> &'static str {
        if self.h1.is_some() { "TLS" } else { "plain" }
    }

    /// `127.0.0.1:PORT`.
    fn host(&self) -> &str {
        self.server
            .url
            .split_once("://")
            .map_or(self.server.url.as_str(), |(_, a)| a)
    }

    async fn wire(&self, http2: bool) -> Box<dyn Wire> {
        let addr = self.host();
        // A small send buffer, as a client on a real network has in effect: the upload is
        // still under way when the server decides, which is when an early close cuts it off.
        // With loopback's autotuned buffers the kernel would take the whole 2 MiB at once and
        // hide what clients elsewhere (and Python's requests even here) run into.
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .set_send_buffer_size(SEND_BUFFER)
            .expect("send buffer size");
        let tcp = socket
            .connect(addr.parse().expect("socket address"))
            .await
            .expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let connector = if http2 { &self.h2 } else { &self.h1 };
        match connector {
            None => Box::new(tcp),
            Some(c) => {
                let name = ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
                let tls = c.connect(name, tcp).await.expect("TLS handshake");
                if http2 {
                    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                }
                Box::new(tls)
            }
        }
    }

    /// Writes all of `request` on a fresh HTTP/1.1 connection, then reads `answers` answers.
    async fn h1(&self, request: &[u8], answers: usize) -> Result<Vec<Answer>, String> {
        h1_write_then_read(self.wire(false).await, request, answers).await
    }

    /// One HTTP/2 request on a fresh connection: the whole body, then the answer.
    async fn h2(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        content_length: bool,
    ) -> Result<Answer, String> {
        let uri = format!("{}{path}", self.server.url);
        let wire = self.wire(true).await;
        tokio::time::timeout(
            HANG_GUARD,
            h2_write_then_read(wire, method, &uri, headers, body, content_length),
        )
        .await
        .map_err(|_| "no answer (hang guard)".to_string())?
    }
}

/// An HTTP/1.1 request to `host` whose body is framed by Content-Length, or by chunks without
/// it.
fn framed_request(
    host: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunked: bool,
    close: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    if close {
        head.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        let mut out = head.into_bytes();
        for piece in body.chunks(64 * 1024) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        out
    }
}

/// Writes the whole of `request`, and only then reads until `answers` answers are complete.
/// An error when the server stops the upload or ends the connection without answering.
async fn h1_write_then_read(
    mut wire: Box<dyn Wire>,
    request: &[u8],
    answers: usize,
) -> Result<Vec<Answer>, String> {
    let exchange = async move {
        wire.write_all(request)
            .await
            .map_err(|e| format!("the upload was cut off: {e}"))?;
        wire.flush()
            .await
            .map_err(|e| format!("the upload was cut off: {e}"))?;
        let mut raw = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(parsed) = parse_answers(&raw, answers, false) {
                return Ok(parsed);
            }
            match wire.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return Err(format!(
                        "reading the answer failed: {e}; read so far: {:?}",
                        lossy(&raw)
                    ));
                }
            }
        }
        parse_answers(&raw, answers, true).ok_or_else(|| {
            format!(
                "the connection ended without {answers} complete answer(s): {:?}",
                lossy(&raw)
            )
        })
    };
    tokio::time::timeout(HANG_GUARD, exchange)
        .await
        .map_err(|_| "no answer (hang guard)".to_string())?
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first `n` answers in `raw` once they are complete. At the end of the stream an answer
/// framed by neither length nor chunks runs to the end.
fn parse_answers(raw: &[u8], n: usize, at_eof: bool) -> Option<Vec<Answer>> {
    let mut out = Vec::new();
    let mut rest = raw;
    while out.len() < n {
        let (answer, used) = parse_answer(rest, at_eof)?;
        out.push(answer);
        rest = &rest[used..];
    }
    Some(out)
}

fn parse_answer(raw: &[u8], at_eof: bool) -> Option<(Answer, usize)> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let start = end + 4;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let (body, used) = if (100..200).contains(&status) || status == 204 || status == 304 {
        (Vec::new(), start)
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let body = raw.get(start..start + len)?;
        (body.to_vec(), start + len)
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let (body, len) = dechunk(&raw[start..])?;
        (body, start + len)
    } else if at_eof {
        (raw[start..].to_vec(), raw.len())
    } else {
        return None;
    };
    Some((
        Answer {
            status,
            headers,
            body,
        },
        used,
    ))
}

/// A chunked body and how many bytes it took, once its last chunk is in.
fn dechunk(raw: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let eol = at + find(&raw[at..], b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[at..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = eol + 2;
        if size == 0 {
            // Trailer fields, if any, then an empty line.
            loop {
                let eol = at + find(&raw[at..], b"\r\n")?;
                if eol == at {
                    return Some((out, at + 2));
                }
                at = eol + 2;
            }
        }
        out.extend_from_slice(raw.get(at..at + size)?);
        at += size + 2;
        if raw.len() < at {
            return None;
        }
    }
}

/// One HTTP/2 request: all of the body goes out (as fast as flow control lets it) before the
/// answer is looked at. A server that refuses the stream in mid-upload is an error here.
async fn h2_write_then_read(
    wire: Box<dyn Wire>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    content_length: bool,
) -> Result<Answer, String> {
    let (client, connection) = h2::client::handshake(wire)
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client
        .ready()
        .await
        .map_err(|e| format!("HTTP/2 connection: {e}"))?;
    let mut request = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if content_length {
        request = request.header("content-length", body.len());
    }
    let request = request.body(()).map_err(|e| e.to_string())?;
    let (response, mut stream) = client
        .send_request(request, false)
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut rest = bytes::Bytes::from(body);
    while !rest.is_empty() {
        stream.reserve_capacity(rest.len());
        let granted = std::future::poll_fn(|cx| stream.poll_capacity(cx))
            .await
            .ok_or("the server closed the stream in mid-upload")?
            .map_err(|e| format!("the upload was cut off: {e}"))?;
        let piece = rest.split_to(granted.min(rest.len()));
        stream
            .send_data(piece, false)
            .map_err(|e| format!("the upload was cut off: {e}"))?;
    }
    stream
        .send_data(bytes::Bytes::new(), true)
        .map_err(|e| format!("the upload was cut off: {e}"))?;
    let response = response
        .await
        .map_err(|e| format!("no answer after the upload: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut received = response.into_body();
    let mut body = Vec::new();
    while let Some(chunk) = received.data().await {
        let chunk = chunk.map_err(|e| format!("reading the answer: {e}"))?;
        let _ = received.flow_control().release_capacity(chunk.len());
        body.extend_from_slice(&chunk);
    }
    driver.abort();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Checks that `body` is an error in `side`'s format; returns a description of what is wrong.
fn format_problem(side: Side, answer: &Answer) -> Option<String> {
    let content_type = answer.header("content-type").unwrap_or_default();
    if !content_type.contains("json") {
        return Some(format!("content type {content_type:?}"));
    }
    let body: Value = match serde_json::from_slice(&answer.body) {
        Ok(v) => v,
        Err(e) => return Some(format!("body is not JSON ({e})")),
    };
    let ok = match side {
        Side::Login => {
            body["error"].is_string()
                && body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("AADSTS") && d.contains("Trace ID: "))
                && body["error_codes"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                && body["timestamp"].is_string()
                && body["trace_id"].is_string()
                && body["correlation_id"].is_string()
        }
        Side::Graph => {
            body["error"]["code"].is_string()
                && body["error"]["message"].is_string()
                && body["error"]["innerError"]["request-id"].is_string()
        }
        Side::Control => body["error"].is_string(),
    };
    (!ok).then(|| format!("not {side:?}'s error format: {body}"))
}

/// An application with a certificate, for the good request after every case.
struct Good {
    app_id: AppId,
    cert: TestCertificate,
}

fn register(server: &TestServer) -> Good {
    let now = server.with_tenant(|t| t.now());
    let (start, end) = (
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    );
    let cert = TestCertificate::generate(start, end).expect("certificate");
    let app_id = server.with_tenant(|t| {
        let r = t.register_application("bad input test app");
        t.add_certificate(r.application_id, &cert.der, start, end)
            .expect("application exists");
        r.app_id
    });
    Good { app_id, cert }
}

async fn good_request_succeeds(
    server: &TestServer,
    http: &reqwest::Client,
    good: &Good,
) -> Result<(), String> {
    let now = server.with_tenant(|t| t.now());
    let app_id = good.app_id.to_string();
    let assertion = good
        .cert
        .assertion(&app_id, &server.token_url_v2(), now, Alg::Ps256);
    let resp = http
        .post(server.token_url_v2())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app_id.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    match resp.status().as_u16() {
        200 => Ok(()),
        s => Err(format!("{s}: {}", resp.text().await.unwrap_or_default())),
    }
}

/// reqwest for `server`: trusting its CA over TLS, or plain.
fn http_client(server: &TestServer) -> reqwest::Client {
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = server.ca_pem_text() {
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"));
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn bad_input_gets_a_4xx_in_the_services_format_and_the_server_keeps_serving() {
    let server = TestServer::start().await.expect("mock starts");
    let target = Target::new(&server);
    let http = http_client(&server);
    let good = register(&server);
    good_request_succeeds(&server, &http, &good)
        .await
        .expect("a good request succeeds before any bad input");
    let ctx = Ctx {
        tenant: server.tenant_id.to_string(),
    };
    let mut failures = Vec::new();
    for case in CASES {
        let answer = match target.h1(&(case.build)(&ctx), 1).await {
            Ok(mut answers) => answers.remove(0),
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let status_ok = if case.expect.is_empty() {
            (400..500).contains(&answer.status)
        } else {
            case.expect.contains(&answer.status)
        };
        if !status_ok {
            failures.push(format!(
                "{}: status {} (expected {:?}): {}",
                case.name,
                answer.status,
                case.expect,
                answer.text()
            ));
        }
        let is_error = answer.status >= 400;
        if is_error
            && !case.framing
            && let Some(problem) = format_problem(case.side, &answer)
        {
            failures.push(format!("{}: {problem}", case.name));
        }
        if let Err(e) = good_request_succeeds(&server, &http, &good).await {
            failures.push(format!("{}: the next good request failed: {e}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// A body over the limit: every family of endpoints that takes a body, over TLS and plain TCP,
// HTTP/1.1 (Content-Length and chunked) and HTTP/2 (with and without content-length), each by
// a client that writes all of its 2 MiB before it reads. The answer is the service's own 413.
// ---------------------------------------------------------------------------------------------

/// An endpoint that takes a body, and the error format of its service.
struct Family {
    name: &'static str,
    side: Side,
    method: &'static str,
    path: String,
    content_type: &'static str,
}

const JSON: &str = "application/json";
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

fn families(server: &TestServer) -> Vec<Family> {
    let tid = server.tenant_id.to_string();
    let app = server.with_tenant(|t| t.register_application("oversized").application_id);
    vec![
        Family {
            name: "token v2",
            side: Side::Login,
            method: "POST",
            path: format!("/{tid}/oauth2/v2.0/token"),
            content_type: FORM_TYPE,
        },
        Family {
            name: "token v1",
            side: Side::Login,
            method: "POST",
            path: format!("/{tid}/oauth2/token"),
            content_type: FORM_TYPE,
        },
        Family {
            name: "Graph create application",
            side: Side::Graph,
            method: "POST",
            path: "/v1.0/applications".into(),
            content_type: JSON,
        },
        Family {
            name: "Graph update application",
            side: Side::Graph,
            method: "PATCH",
            path: format!("/v1.0/applications/{app}"),
            content_type: JSON,
        },
        Family {
            name: "addKey",
            side: Side::Graph,
            method: "POST",
            path: format!("/v1.0/applications/{app}/addKey"),
            content_type: JSON,
        },
        Family {
            name: "control plane: new tenant",
            side: Side::Control,
            method: "POST",
            path: "/_mock/tenants".into(),
            content_type: JSON,
        },
        Family {
            name: "control plane: snapshot",
            side: Side::Control,
            method: "PUT",
            path: format!("/_mock/tenants/{tid}/snapshot"),
            content_type: JSON,
        },
    ]
}

/// 2 MiB that look like what the endpoint takes: form fields or a JSON object.
fn oversized_body(content_type: &str) -> Vec<u8> {
    let (prefix, suffix): (&[u8], &[u8]) = if content_type == JSON {
        (br#"{"displayName":""#, br#""}"#)
    } else {
        (b"grant_type=client_credentials&client_id=x&padding=", b"")
    };
    let mut body = prefix.to_vec();
    body.resize(2 * MIB - suffix.len(), b'a');
    body.extend_from_slice(suffix);
    body
}

/// What is wrong with an answer to an oversized body, if anything: the status must be 413, the
/// content type and body those of the service.
fn too_large_problem(side: Side, answer: &Answer) -> Option<String> {
    if answer.status != 413 {
        return Some(format!("status {}: {}", answer.status, answer.text()));
    }
    let content_type = answer.header("content-type").unwrap_or_default();
    let type_ok = match side {
        Side::Login => content_type == "application/json; charset=utf-8",
        Side::Graph => content_type.starts_with("application/json;odata.metadata=minimal"),
        Side::Control => content_type == "application/json",
    };
    if !type_ok {
        return Some(format!("content type {content_type:?}"));
    }
    if let Some(problem) = format_problem(side, answer) {
        return Some(problem);
    }
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let says = |text: Option<&str>| text.is_some_and(|t| t.contains("larger than 1048576 bytes"));
    let ok = match side {
        Side::Login => {
            body["error"] == "invalid_request"
                && body["error_codes"] == serde_json::json!([90023])
                && body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("AADSTS90023: "))
                && says(body["error_description"].as_str())
        }
        Side::Graph => {
            body["error"]["code"] == "BadRequest" && says(body["error"]["message"].as_str())
        }
        Side::Control => says(body["error"].as_str()),
    };
    (!ok).then(|| format!("not the expected refusal: {body}"))
}

/// How an oversized body travels.
#[derive(Clone, Copy, Debug)]
enum Upload {
    /// HTTP/1.1, framed by Content-Length or by chunks.
    Http1 { chunked: bool },
    /// HTTP/2, with or without a content-length header.
    Http2 { content_length: bool },
}

const UPLOADS: [Upload; 4] = [
    Upload::Http1 { chunked: false },
    Upload::Http1 { chunked: true },
    Upload::Http2 {
        content_length: true,
    },
    Upload::Http2 {
        content_length: false,
    },
];

async fn upload(target: &Target<'_>, family: &Family, how: Upload) -> Result<Answer, String> {
    let body = oversized_body(family.content_type);
    let headers = [("Content-Type", family.content_type)];
    match how {
        Upload::Http1 { chunked } => {
            let request = framed_request(
                target.host(),
                family.method,
                &family.path,
                &headers,
                &body,
                chunked,
                true,
            );
            target.h1(&request, 1).await.map(|mut a| a.remove(0))
        }
        Upload::Http2 { content_length } => {
            target
                .h2(family.method, &family.path, &headers, body, content_length)
                .await
        }
    }
}

#[tokio::test]
async fn an_oversized_body_gets_the_services_413_by_a_client_that_writes_it_all_first() {
    let tls = TestServer::start().await.expect("mock starts");
    let plain = TestServer::start_with(TenantFixture::default_fixture(), false)
        .await
        .expect("mock starts");
    let mut failures = Vec::new();
    let mut sent = 0;
    for server in [&tls, &plain] {
        let target = Target::new(server);
        let http = http_client(server);
        let good = register(server);
        for family in families(server) {
            for how in UPLOADS {
                sent += 1;
                let what = format!("{} over {} {how:?}", family.name, target.name());
                match upload(&target, &family, how).await {
                    Ok(answer) => {
                        if let Some(problem) = too_large_problem(family.side, &answer) {
                            failures.push(format!("{what}: {problem}"));
                        }
                    }
                    Err(e) => failures.push(format!("{what}: no readable answer: {e}")),
                }
            }
        }
        if let Err(e) = good_request_succeeds(server, &http, &good).await {
            failures.push(format!(
                "{}: the server stopped serving: {e}",
                target.name()
            ));
        }
    }
    assert_eq!(sent, 2 * 7 * UPLOADS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A real HTTP/2 client (reqwest, prior knowledge on plain HTTP and ALPN over TLS) gets the
/// same answers.
#[tokio::test]
async fn over_http2_a_real_client_reads_the_413() {
    let tls = TestServer::start().await.expect("mock starts");
    let plain = TestServer::start_with(TenantFixture::default_fixture(), false)
        .await
        .expect("mock starts");
    let prior_knowledge = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let mut failures = Vec::new();
    for (server, http) in [(&tls, http_client(&tls)), (&plain, prior_knowledge)] {
        for family in families(server) {
            let resp = http
                .request(
                    family.method.parse().expect("method"),
                    format!("{}{}", server.url, family.path),
                )
                .header("content-type", family.content_type)
                .body(oversized_body(family.content_type))
                .send()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{} on {}: {e:?}", family.name, server.url));
                    continue;
                }
            };
            if resp.version() != reqwest::Version::HTTP_2 {
                failures.push(format!("{}: spoke {:?}", family.name, resp.version()));
            }
            let answer = Answer {
                status: resp.status().as_u16(),
                headers: resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                    .collect(),
                body: resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            };
            if let Some(problem) = too_large_problem(family.side, &answer) {
                failures.push(format!("{} on {}: {problem}", family.name, server.url));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The rest of an oversized body is read, so an HTTP/1.1 connection goes on: a second request
/// written behind a 2 MiB one is answered on the same connection.
#[tokio::test]
async fn after_an_oversized_body_the_connection_carries_the_next_request() {
    let server = TestServer::start().await.expect("mock starts");
    let target = Target::new(&server);
    let tid = server.tenant_id;
    for chunked in [false, true] {
        let mut both = framed_request(
            target.host(),
            "POST",
            &format!("/{tid}/oauth2/v2.0/token"),
            &[("Content-Type", FORM_TYPE)],
            &oversized_body(FORM_TYPE),
            chunked,
            false,
        );
        both.extend_from_slice(&request(
            "GET",
            &format!("/{tid}/discovery/v2.0/keys"),
            &[],
            b"",
        ));
        let answers = target
            .h1(&both, 2)
            .await
            .unwrap_or_else(|e| panic!("chunked {chunked}: {e}"));
        assert_eq!(answers[0].status, 413, "{}", answers[0].text());
        assert_eq!(answers[1].status, 200, "{}", answers[1].text());
        let keys: Value = serde_json::from_slice(&answers[1].body).expect("JWKS");
        assert!(keys["keys"].is_array(), "{keys}");
    }
}

/// Beyond the drain bound the mock does not read on: a declared length over it, or a client
/// that waits for `100 Continue`, gets its 413 at once with `Connection: close`.
#[tokio::test]
async fn a_body_the_mock_will_not_read_is_refused_at_once_and_the_connection_closed() {
    let server = TestServer::start().await.expect("mock starts");
    let target = Target::new(&server);
    let http = http_client(&server);
    let good = register(&server);
    let path = server.token_url_v2().replace(&server.url, "");
    let heads = [
        (
            "a declared length over the drain bound",
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM_TYPE}\r\nContent-Length: {}\r\n\r\n",
                100 * MIB
            ),
        ),
        (
            "Expect: 100-continue with a body over the limit",
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM_TYPE}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
                2 * MIB
            ),
        ),
    ];
    for (name, head) in heads {
        // Only the head is written: the body would never be read.
        let answers = target
            .h1(head.as_bytes(), 1)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let answer = &answers[0];
        assert_eq!(too_large_problem(Side::Login, answer), None, "{name}");
        assert_eq!(answer.header("connection"), Some("close"), "{name}");
    }
    good_request_succeeds(&server, &http, &good)
        .await
        .expect("the server still serves");
}

/// A chunked upload that never ends is read up to the drain bound and no further: the mock
/// closes the connection, so the upload fails instead of running for ever. (Whether the
/// client still reads the 413 depends on its TCP stack once it has written past what the
/// mock read, so only the end of the upload is asserted, and the answer if one came.)
#[tokio::test]
async fn an_endless_upload_is_cut_off_at_the_drain_bound() {
    let server = TestServer::start().await.expect("mock starts");
    let target = Target::new(&server);
    let http = http_client(&server);
    let good = register(&server);
    let wire = target.wire(false).await;
    let (mut rd, mut wr) = tokio::io::split(wire);
    let head = format!(
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.tenant_id
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
        chunk.extend(std::iter::repeat_n(b'a', 64 * 1024));
        chunk.extend_from_slice(b"\r\n");
        let mut written: u64 = 0;
        loop {
            wr.write_all(&chunk).await?;
            written += chunk.len() as u64;
            // Far past any bound the mock could have: it should have stopped reading by now.
            if written > 1024 * MIB as u64 {
                return Ok::<u64, std::io::Error>(written);
            }
        }
    });
    let reader = tokio::spawn(async move {
        let mut raw = Vec::new();
        let _ = rd.read_to_end(&mut raw).await;
        raw
    });
    let written = tokio::time::timeout(HANG_GUARD, writer)
        .await
        .expect("the upload ends")
        .expect("writer task");
    assert!(
        written.is_err(),
        "the mock read {} bytes of an endless upload",
        written.unwrap_or_default()
    );
    let raw = tokio::time::timeout(HANG_GUARD, reader)
        .await
        .expect("the connection ends")
        .expect("reader task");
    if let Some(answers) = parse_answers(&raw, 1, true) {
        assert_eq!(too_large_problem(Side::Login, &answers[0]), None);
        assert_eq!(answers[0].header("connection"), Some("close"));
    }
    good_request_succeeds(&server, &http, &good)
        .await
        .expect("the server still serves");
}

#[tokio::test]
async fn over_http2_oversized_requests_get_the_services_format() {
    let server = TestServer::start().await.expect("mock starts");
    let http = http_client(&server);
    let good = register(&server);
    let url = server.token_url_v2();

    let resp = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 2 * MIB])
        .send()
        .await
        .expect("answer to an oversized body");
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.expect("JSON");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .starts_with("AADSTS"),
        "{body}"
    );

    let resp = http
        .post(&url)
        .header("x-junk", "j".repeat(100 * 1024))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    // hyper's HTTP/2 header-list limit may refuse the stream itself; either way, a 4xx or a
    // refused stream, never a 5xx, and the server goes on.
    if let Ok(resp) = resp {
        assert!(
            (400..500).contains(&resp.status().as_u16()),
            "{}",
            resp.status()
        );
    }
    good_request_succeeds(&server, &http, &good)
        .await
        .expect("the server still serves");
}

// ---------------------------------------------------------------------------------------------
// Numbers from outside. Every number a client can send that feeds arithmetic or a conversion:
// the tenant clock (`advance_seconds`, `set`, a fixture's `clock.now`), fault rules
// (`lag_seconds`, `delay_ms`, `retry_after`, `count`, `status`), Graph's `$top` and
// `$skiptoken`, key credential dates, addKey proof times, assertion NumericDates, tokens
// issued at the ends of the clock's range, a fixture's export count. One table, one helper:
// each row is sent by the write-then-read client over TLS and gets exactly its status, a
// refusal naming the field in the service's own format, never a 5xx.
// ---------------------------------------------------------------------------------------------

use crate::support::{Env, SYNC_SERVICE, TestCert};
use mock_graph::core::tenant::{RegisteredApplication, Tenant};

/// What a row's requests can use.
struct Num<'a> {
    env: &'a Env,
    /// An application with the certificate `cert`: assertions, proofs and its own token.
    app: RegisteredApplication,
    cert: TestCert,
    /// Another certificate, to add with addKey.
    new_cert: TestCert,
    /// An application without credentials, whose keyCredentials the rows replace.
    keys_app: RegisteredApplication,
}

impl Num<'_> {
    fn tid(&self) -> String {
        self.env.server.tenant_id.to_string()
    }

    fn now(&self) -> i64 {
        self.env.now().unix_timestamp()
    }

    /// A JWT signed by `cert`, with the claims as raw JSON text (numbers JSON values cannot
    /// hold, such as 1e400, included).
    fn jwt(&self, header: Value, claims: &str) -> String {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = URL_SAFE_NO_PAD.encode(self.cert.sign(input.as_bytes()));
        format!("{input}.{signature}")
    }
}

/// Who a row's request authenticates as (tokens are fetched when the row is sent).
#[derive(Clone, Copy, Debug)]
enum As {
    Nobody,
    /// A Global Administrator's delegated Graph token.
    Admin,
    /// The application's own Graph token (it may roll its own keys).
    App,
    /// The application's token for the synchronization service.
    SyncApp,
}

/// A request of a row.
struct Sent {
    method: &'static str,
    path: String,
    body: Vec<u8>,
    content_type: &'static str,
}

struct NumberCase {
    name: &'static str,
    side: Side,
    /// Arranges the tenant in-process first: state a fixture or snapshot could have brought.
    arrange: Option<fn(&Num, &mut Tenant)>,
    who: As,
    build: fn(&Num) -> Sent,
    expect: u16,
    /// What a refusal's message must contain: the field's name (Graph's own words for it
    /// where Graph has them, the clamped date for AADSTS700024).
    names: &'static str,
}

fn clock(n: &Num, body: &str) -> Sent {
    Sent {
        method: "POST",
        path: format!("/_mock/tenants/{}/clock", n.tid()),
        body: body.as_bytes().to_vec(),
        content_type: JSON,
    }
}

/// A fault rule on an operation no row calls, with `members` added.
fn fault(n: &Num, members: &str) -> Sent {
    Sent {
        method: "POST",
        path: format!("/_mock/tenants/{}/faults", n.tid()),
        body: format!(r#"{{"match": {{"operation": "passwordWriteback.offboard"}}, {members}}}"#)
            .into_bytes(),
        content_type: JSON,
    }
}

fn get(path: String) -> Sent {
    Sent {
        method: "GET",
        path,
        body: Vec::new(),
        content_type: JSON,
    }
}

fn top(value: &str) -> Sent {
    get(format!("/v1.0/applications?$top={value}"))
}

fn skiptoken(offset: &str) -> Sent {
    use base64::Engine;
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("mock-offset:{offset}"));
    get(format!("/v1.0/applications?$skiptoken={token}"))
}

/// PATCH of the keys application's keyCredentials with one credential of these members.
fn key_dates(n: &Num, members: &str) -> Sent {
    Sent {
        method: "PATCH",
        path: format!("/v1.0/applications/{}", n.keys_app.application_id),
        body: format!(r#"{{"keyCredentials": [{{{members}}}]}}"#).into_bytes(),
        content_type: JSON,
    }
}

fn symmetric(n: &Num, start: &str, end: &str) -> Sent {
    key_dates(
        n,
        &format!(
            r#""type": "Symmetric", "usage": "Sign", "key": "AAECAwQFBgc=", "startDateTime": "{start}", "endDateTime": "{end}""#
        ),
    )
}

fn certificate_until(n: &Num, end: &str) -> Sent {
    key_dates(
        n,
        &format!(
            r#""type": "AsymmetricX509Cert", "usage": "Verify", "key": "{}", "endDateTime": "{end}""#,
            n.cert.key_b64()
        ),
    )
}

/// addKey on the application with a proof whose `nbf` and `exp` are these raw JSON values.
fn add_key(n: &Num, nbf: &str, exp: &str) -> Sent {
    let oid = n.app.application_id;
    let proof = n.jwt(
        serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": n.cert.x5t()}),
        &format!(
            r#"{{"aud": "00000002-0000-0000-c000-000000000000", "iss": "{oid}", "nbf": {nbf}, "exp": {exp}}}"#
        ),
    );
    Sent {
        method: "POST",
        path: format!("/v1.0/applications/{oid}/addKey"),
        body: serde_json::json!({"keyCredential": n.new_cert.key_credential(), "passwordCredential": null, "proof": proof})
            .to_string()
            .into_bytes(),
        content_type: JSON,
    }
}

/// A client-credentials request with an assertion whose time claims are these raw JSON
/// members (`"exp": 1e300, "nbf": 0`).
fn assertion(n: &Num, times: &str) -> Sent {
    let app_id = n.app.app_id.to_string();
    let aud = n.env.server.token_url_v2();
    let jwt = n.jwt(
        serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": n.cert.x5t()}),
        &format!(r#"{{"aud": "{aud}", "iss": "{app_id}", "sub": "{app_id}", {times}}}"#),
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", &app_id)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .append_pair("client_assertion_type", JWT_BEARER)
        .append_pair("client_assertion", &jwt)
        .finish();
    Sent {
        method: "POST",
        path: format!("/{}/oauth2/v2.0/token", n.tid()),
        body: form.into_bytes(),
        content_type: FORM_TYPE,
    }
}

/// A token for the Global Administrator by password (the grant that needs no certificate, so
/// it works at any time the tenant clock shows).
fn password_grant(n: &Num) -> Sent {
    let upn = format!("admin@{}", n.env.domain());
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("client_id", crate::support::GRAPH_CLI)
        .append_pair("username", &upn)
        .append_pair("password", crate::support::PASSWORD)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .finish();
    Sent {
        method: "POST",
        path: format!("/{}/oauth2/v2.0/token", n.tid()),
        body: form.into_bytes(),
        content_type: FORM_TYPE,
    }
}

/// A new tenant from the default fixture under a fresh id and domain, with this clock.
fn tenant_with_clock(clock: Value) -> Sent {
    let mut fixture: Value =
        serde_json::from_str(mock_graph::core::fixture::DEFAULT_FIXTURE_JSON).expect("fixture");
    fixture["tenant"]["id"] = Value::String(uuid::Uuid::new_v4().to_string());
    fixture["tenant"]["initialDomain"] = Value::String(format!(
        "n{}.onmicrosoft.com",
        uuid::Uuid::new_v4().simple()
    ));
    fixture["tenant"]["verifiedDomains"] = Value::Array(Vec::new());
    fixture["clock"] = clock;
    Sent {
        method: "POST",
        path: "/_mock/tenants".into(),
        body: fixture.to_string().into_bytes(),
        content_type: JSON,
    }
}

/// The tenant's own snapshot put back, with this clock.
fn snapshot_with_clock(n: &Num, clock: Value) -> Sent {
    let mut snapshot =
        serde_json::to_value(n.env.server.with_tenant(|t| t.to_fixture())).expect("snapshot JSON");
    snapshot["clock"] = clock;
    Sent {
        method: "PUT",
        path: format!("/_mock/tenants/{}/snapshot", n.tid()),
        body: snapshot.to_string().into_bytes(),
        content_type: JSON,
    }
}

const LONGEST_LAG: &str = "3155760000";

/// The rows run in order: the clock rows that move the tenant's time come last.
const NUMBERS: &[NumberCase] = &[
    // Fault rules.
    NumberCase {
        name: "lag_seconds: u64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": 18446744073709551615"#),
        expect: 400,
        names: "`lag_seconds`",
    },
    NumberCase {
        name: "lag_seconds: i64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": 9223372036854775807"#),
        expect: 400,
        names: "`lag_seconds`",
    },
    NumberCase {
        name: "lag_seconds: a second over a century",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": 3155760001"#),
        expect: 400,
        names: "`lag_seconds`",
    },
    NumberCase {
        name: "lag_seconds: negative",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": -1"#),
        expect: 400,
        names: "`lag_seconds`",
    },
    NumberCase {
        name: "lag_seconds: a fraction",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": 1.5"#),
        expect: 400,
        names: "`lag_seconds`",
    },
    NumberCase {
        name: "lag_seconds: a century",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""lag_seconds": 3155760000"#),
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "delay_ms: u64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""delay_ms": 18446744073709551615"#),
        expect: 400,
        names: "`delay_ms`",
    },
    NumberCase {
        name: "delay_ms: a millisecond over five minutes",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""delay_ms": 300001"#),
        expect: 400,
        names: "`delay_ms`",
    },
    NumberCase {
        name: "delay_ms: negative",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""delay_ms": -5"#),
        expect: 400,
        names: "`delay_ms`",
    },
    NumberCase {
        name: "delay_ms: five minutes",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""delay_ms": 300000"#),
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "retry_after: u64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "retry_after": 18446744073709551615"#),
        expect: 400,
        names: "`retry_after`",
    },
    NumberCase {
        name: "retry_after: past i32::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "retry_after": 2147483648"#),
        expect: 400,
        names: "`retry_after`",
    },
    NumberCase {
        name: "retry_after: negative",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "retry_after": -1"#),
        expect: 400,
        names: "`retry_after`",
    },
    NumberCase {
        name: "retry_after: i32::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "retry_after": 2147483647"#),
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "count: zero",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "count": 0"#),
        expect: 400,
        names: "`count`",
    },
    NumberCase {
        name: "count: negative",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "count": -1"#),
        expect: 400,
        names: "`count`",
    },
    NumberCase {
        name: "count: past u32::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "count": 4294967296"#),
        expect: 400,
        names: "`count`",
    },
    NumberCase {
        name: "count: u32::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 429, "count": 4294967295"#),
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "status: 600",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 600"#),
        expect: 400,
        names: "`status`",
    },
    NumberCase {
        name: "status: 399",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 399"#),
        expect: 400,
        names: "`status`",
    },
    NumberCase {
        name: "status: past u16::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": 65936"#),
        expect: 400,
        names: "`status`",
    },
    NumberCase {
        name: "status: negative",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": -503"#),
        expect: 400,
        names: "`status`",
    },
    NumberCase {
        name: "status: a string",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| fault(n, r#""status": "503""#),
        expect: 400,
        names: "`status`",
    },
    NumberCase {
        name: "a write held back by the longest lag",
        side: Side::Graph,
        arrange: Some(|_, t| {
            let spec = mock_graph::core::faults::FaultSpec::from_json(
                format!(r#"{{"match": {{"operation": "applications.create"}}, "lag_seconds": {LONGEST_LAG}, "count": 1}}"#)
                    .as_bytes(),
            )
            .expect("the longest lag is a valid rule");
            t.controls.faults.add(spec).expect("rule added");
        }),
        who: As::Admin,
        build: |_| Sent {
            method: "POST",
            path: "/v1.0/applications".into(),
            body: br#"{"displayName": "held back for a century"}"#.to_vec(),
            content_type: JSON,
        },
        expect: 201,
        names: "",
    },
    // Graph's query options.
    NumberCase {
        name: "$top: 0",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("0"),
        expect: 400,
        names: "page size specified: '0'",
    },
    NumberCase {
        name: "$top: negative",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("-1"),
        expect: 400,
        names: "page size specified: '-1'",
    },
    NumberCase {
        name: "$top: 1000",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("1000"),
        expect: 400,
        names: "page size specified: '1000'",
    },
    NumberCase {
        name: "$top: past u64::MAX",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("18446744073709551616"),
        expect: 400,
        names: "page size specified",
    },
    NumberCase {
        name: "$top: not a number",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("ten"),
        expect: 400,
        names: "page size specified: 'ten'",
    },
    NumberCase {
        name: "$top: an exponent",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("1e3"),
        expect: 400,
        names: "page size specified: '1e3'",
    },
    NumberCase {
        name: "$top: 999",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| top("999"),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "$skiptoken: forged at usize::MAX",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| skiptoken("18446744073709551615"),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "$skiptoken: forged past usize::MAX",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| skiptoken("18446744073709551616"),
        expect: 400,
        names: "$skiptoken",
    },
    // Key credential dates.
    NumberCase {
        name: "keyCredential startDateTime: year 0",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "0000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        expect: 400,
        names: "'startDateTime'",
    },
    NumberCase {
        name: "keyCredential startDateTime: year -5000",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "-5000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        expect: 400,
        names: "'startDateTime'",
    },
    NumberCase {
        name: "keyCredential endDateTime: year 10000",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "2020-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
        expect: 400,
        names: "'endDateTime'",
    },
    NumberCase {
        name: "keyCredential endDateTime: 9999-12-31 at an offset that ends past the calendar",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "2020-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59"),
        expect: 400,
        names: "'endDateTime'",
    },
    NumberCase {
        name: "keyCredential endDateTime: a number",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "2020-01-01T00:00:00Z", "253402300799"),
        expect: 400,
        names: "'endDateTime'",
    },
    NumberCase {
        name: "keyCredential endDateTime: after the certificate, in year 9999",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| certificate_until(n, "9999-12-31T23:59:59Z"),
        expect: 400,
        names: "end date",
    },
    NumberCase {
        name: "keyCredential dates: the first and last of the calendar",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |n| symmetric(n, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        expect: 204,
        names: "",
    },
    // addKey proofs: Graph answers every bad proof with 401 Authentication_MissingOrMalformed.
    NumberCase {
        name: "proof: nbf and exp 1e300",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, "1e300", "1e300"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: nbf and exp near i64::MAX",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, "9223372036854775207", "9223372036854775807"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: exp u64::MAX",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, &n.now().to_string(), "18446744073709551615"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: nbf and exp -1e300",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, "-1e300", "-1e300"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: NaN",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, r#""NaN""#, r#""NaN""#),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: exp 1e400 as a string",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, &n.now().to_string(), r#""1e400""#),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: exp 1e400 as a number",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, &n.now().to_string(), "1e400"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: negative times",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, "-1", "599"),
        expect: 401,
        names: "",
    },
    NumberCase {
        name: "proof: valid",
        side: Side::Graph,
        arrange: None,
        who: As::App,
        build: |n| add_key(n, &n.now().to_string(), &(n.now() + 600).to_string()),
        expect: 200,
        names: "",
    },
    // Assertion NumericDates.
    NumberCase {
        name: "assertion: nbf and exp 1e300 (AADSTS700024 shows the calendar's end)",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""nbf": 1e300, "exp": 1e300"#),
        expect: 401,
        names: "assertion valid from 9999-12-31T23:59:59.9999999Z",
    },
    NumberCase {
        name: "assertion: exp -1e300 (AADSTS700024 shows the calendar's start)",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": -1e300"#),
        expect: 401,
        names: "expiry time of assertion 0001-01-01T00:00:00.0000000Z",
    },
    NumberCase {
        name: "assertion: exp -1",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": -1"#),
        expect: 401,
        names: "expiry time of assertion 1969-12-31T23:59:59.0000000Z",
    },
    NumberCase {
        name: "assertion: exp NaN",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": "NaN""#),
        expect: 400,
        names: "AADSTS50027",
    },
    NumberCase {
        name: "assertion: exp 1e400 as a string",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": "1e400""#),
        expect: 400,
        names: "AADSTS50027",
    },
    NumberCase {
        name: "assertion: exp 1e400 as a number",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": 1e400"#),
        expect: 400,
        names: "AADSTS50027",
    },
    NumberCase {
        name: "assertion: exp u64::MAX (Entra sets no limit on exp)",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| assertion(n, r#""exp": 18446744073709551615"#),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "assertion: nbf i64::MIN, iat 1e300",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: |n| {
            assertion(
                n,
                &format!(
                    r#""nbf": -9223372036854775808, "iat": 1e300, "exp": {}"#,
                    n.now() + 600
                ),
            )
        },
        expect: 200,
        names: "",
    },
    // A count that came with a snapshot, at its end.
    NumberCase {
        name: "export with exportedObjects at u64::MAX",
        side: Side::Graph,
        arrange: Some(|n, t| {
            t.directory.services.exported_objects = u64::MAX;
            t.assign_app_role(
                n.app.service_principal_id,
                SYNC_SERVICE.parse().expect("appId"),
                "ADSynchronization.ReadWrite.All",
            );
        }),
        who: As::SyncApp,
        build: |n| {
            Sent {
            method: "POST",
            path: "/adsync/v1/export".into(),
            body: format!(
                r#"{{"objects": [{{"sourceAnchor": "AAECAwQ=", "userPrincipalName": "alice@{}", "displayName": "Alice"}}]}}"#,
                n.env.domain()
            )
            .into_bytes(),
            content_type: JSON,
        }
        },
        expect: 200,
        names: "",
    },
    // Fixtures and snapshots.
    NumberCase {
        name: "a new tenant whose clock is in year 9999",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |_| tenant_with_clock(serde_json::json!({"now": "9999-12-31T23:59:59Z"})),
        expect: 400,
        names: "`clock.now`",
    },
    NumberCase {
        name: "a new tenant whose frozen clock is before 1970",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |_| {
            tenant_with_clock(serde_json::json!({"now": "1969-12-31T23:59:59Z", "frozen": true}))
        },
        expect: 400,
        names: "`clock.now`",
    },
    NumberCase {
        name: "a new tenant whose clock is in year 8999",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |_| tenant_with_clock(serde_json::json!({"now": "8999-12-31T00:00:00Z"})),
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "a snapshot whose clock is in year 9999",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| snapshot_with_clock(n, serde_json::json!({"now": "9999-12-31T23:59:59Z"})),
        expect: 400,
        names: "`clock.now`",
    },
    // The tenant clock.
    NumberCase {
        name: "advance_seconds: i64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 9223372036854775807}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: i64::MIN",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": -9223372036854775808}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: past the year 9000",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 300000000000}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: back before 1970",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": -3000000000}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: past u64::MAX",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 18446744073709551616}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: 1e300",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 1e300}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: a fraction",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 1.5}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "advance_seconds: a string",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": "60"}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "set: year 9999",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "9999-12-31T23:59:59Z"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: year 8999 at an offset that is past 9000 in UTC",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "8999-12-31T23:59:59-23:59"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: year 0",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "0000-01-01T00:00:00Z"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: a second before 1970",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "1969-12-31T23:59:59Z"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: year -5000",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "-5000-01-01T00:00:00Z"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: year 10000",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "+10000-01-01T00:00:00Z"}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "set: a number",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": 253402300799}"#),
        expect: 400,
        names: "`set`",
    },
    NumberCase {
        name: "advance_seconds: a minute",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 60}"#),
        expect: 200,
        names: "",
    },
    // Tokens and Graph at the ends of the clock's range.
    NumberCase {
        name: "set: the latest time",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "9000-01-01T00:00:00Z"}"#),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "a token at the latest time",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: password_grant,
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "Graph at the latest time",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| get("/v1.0/organization".into()),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "a write held back by the longest lag, at the latest time",
        side: Side::Graph,
        arrange: Some(|_, t| {
            let spec = mock_graph::core::faults::FaultSpec::from_json(
                format!(r#"{{"match": {{"operation": "applications.create"}}, "lag_seconds": {LONGEST_LAG}, "count": 1}}"#)
                    .as_bytes(),
            )
            .expect("the longest lag is a valid rule");
            t.controls.faults.add(spec).expect("rule added");
        }),
        who: As::Admin,
        build: |_| Sent {
            method: "POST",
            path: "/v1.0/applications".into(),
            body: br#"{"displayName": "held back past the year 9000"}"#.to_vec(),
            content_type: JSON,
        },
        expect: 201,
        names: "",
    },
    NumberCase {
        name: "advance_seconds: a second past the latest time",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": 1}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
    NumberCase {
        name: "set: the earliest time",
        side: Side::Control,
        // Frozen first: a running clock set to the earliest second has moved past it by the time
        // a loaded machine sends "a second before the earliest time", which is then valid.
        arrange: Some(|_, t| t.clock = mock_graph::core::clock::VirtualClock::frozen(t.now())),
        who: As::Nobody,
        build: |n| clock(n, r#"{"set": "1970-01-01T00:00:00Z"}"#),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "a token at the earliest time",
        side: Side::Login,
        arrange: None,
        who: As::Nobody,
        build: password_grant,
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "Graph at the earliest time",
        side: Side::Graph,
        arrange: None,
        who: As::Admin,
        build: |_| get("/v1.0/organization".into()),
        expect: 200,
        names: "",
    },
    NumberCase {
        name: "advance_seconds: a second before the earliest time",
        side: Side::Control,
        arrange: None,
        who: As::Nobody,
        build: |n| clock(n, r#"{"advance_seconds": -1}"#),
        expect: 400,
        names: "`advance_seconds`",
    },
];

/// The message of an error answer, wherever its service puts it.
fn error_message(side: Side, body: &Value) -> String {
    let message = match side {
        Side::Login => &body["error_description"],
        Side::Graph => &body["error"]["message"],
        Side::Control => &body["error"],
    };
    message.as_str().unwrap_or_default().to_string()
}

async fn send_number(
    n: &Num<'_>,
    target: &Target<'_>,
    case: &NumberCase,
) -> Result<Answer, String> {
    let token = match case.who {
        As::Nobody => None,
        As::Admin => Some(n.env.user_token("admin").await),
        As::App => Some(
            n.env
                .app_token(&n.app.app_id.to_string(), &n.cert, crate::support::GRAPH)
                .await,
        ),
        As::SyncApp => Some(
            n.env
                .app_token(&n.app.app_id.to_string(), &n.cert, SYNC_SERVICE)
                .await,
        ),
    };
    let sent = (case.build)(n);
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", sent.content_type)];
    if let Some(a) = &authorization {
        headers.push(("Authorization", a.as_str()));
    }
    let request = framed_request(
        target.host(),
        sent.method,
        &sent.path,
        &headers,
        &sent.body,
        false,
        true,
    );
    target.h1(&request, 1).await.map(|mut a| a.remove(0))
}

#[tokio::test]
async fn numbers_from_outside_get_a_400_naming_the_field_or_a_documented_clamp() {
    let env = Env::start().await;
    let cert = TestCert::new("numbers");
    let app = env.register_app("numbers", &cert);
    let keys_app = env
        .server
        .with_tenant(|t| t.register_application("numbers keys"));
    let n = Num {
        env: &env,
        app,
        cert,
        new_cert: TestCert::new("numbers new"),
        keys_app,
    };
    let target = Target::new(&env.server);
    let mut failures = Vec::new();
    for case in NUMBERS {
        if let Some(arrange) = case.arrange {
            env.server.with_tenant(|t| arrange(&n, t));
        }
        let answer = match send_number(&n, &target, case).await {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        if answer.status != case.expect {
            failures.push(format!(
                "{}: status {} (expected {}): {}",
                case.name,
                answer.status,
                case.expect,
                answer.text()
            ));
            continue;
        }
        if answer.status >= 400 {
            if let Some(problem) = format_problem(case.side, &answer) {
                failures.push(format!("{}: {problem}", case.name));
                continue;
            }
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            let message = error_message(case.side, &body);
            if !message.contains(case.names) {
                failures.push(format!(
                    "{}: the message does not name {:?}: {message}",
                    case.name, case.names
                ));
            }
        }
    }
    // The tenant is whole and serving: its clock is set back to today, and a token is issued.
    let today = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let resp = env
        .call(
            "POST",
            &format!("/_mock/tenants/{}/clock", n.tid()),
            None,
            Some(serde_json::json!({ "set": today })),
        )
        .await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    env.user_token("admin").await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
