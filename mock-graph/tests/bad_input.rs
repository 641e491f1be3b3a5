//! Bad input everywhere, over real HTTPS on loopback: oversized bodies, malformed forms, wrong
//! content types, unknown query options, invalid UTF-8, huge URLs and headers, wrong methods
//! and paths. Every answer is a 4xx (never a 5xx, never a dropped connection) in the format of
//! the service that was called, and the server keeps serving: a good token request succeeds
//! after each case.
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

use mock_graph::core::ids::AppId;
use mock_graph::testing::{Alg, TestCertificate, TestServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// A raw HTTP/1.1 answer.
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
}

fn tls_connector(server: &TestServer) -> tokio_rustls::TlsConnector {
    let ca = server.ca_pem_text().expect("TLS test server");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends `bytes` over a fresh TLS connection and reads the answer until the server closes.
/// Writing runs beside reading, so a server that answers before reading the whole body (a
/// refused upload) is heard rather than reset.
async fn send_raw(
    server: &TestServer,
    connector: &tokio_rustls::TlsConnector,
    bytes: Vec<u8>,
) -> Answer {
    let addr = server.url.trim_start_matches("https://").to_string();
    let tcp = TcpStream::connect(&addr).await.expect("connect");
    let name = ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&bytes).await;
        let _ = wr.flush().await;
        // Keep the write half open until the server closes: dropping it would send
        // close_notify and some servers stop answering.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(wr);
    });
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if complete(&raw) {
                break;
            }
        }
    })
    .await;
    writer.abort();
    assert!(
        read.is_ok(),
        "no complete answer within 20 s: {:?}",
        String::from_utf8_lossy(&raw)
    );
    parse_answer(&raw)
}

/// Whether `raw` holds a whole response (by Content-Length or a final chunk).
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

fn parse_answer(raw: &[u8]) -> Answer {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
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

fn http_client(server: &TestServer) -> reqwest::Client {
    let ca = server.ca_pem_text().expect("TLS test server");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"))
        .build()
        .expect("client")
}

#[tokio::test]
async fn bad_input_gets_a_4xx_in_the_services_format_and_the_server_keeps_serving() {
    let server = TestServer::start().await.expect("mock starts");
    let connector = tls_connector(&server);
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
        let answer = send_raw(&server, &connector, (case.build)(&ctx)).await;
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
                String::from_utf8_lossy(&answer.body)
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

/// HTTP/2 (what reqwest negotiates): the same limits hold on the other protocol.
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
