//! The `mock-graph serve` contract, on the real binary: one JSON ready line on stdout with the
//! real port, the CA kept in the state directory (and reused on the next start), discovery
//! answering over HTTPS with that CA, `--fixture`, `--no-tls` answering over plain HTTP, and a
//! clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Serve {
    child: Child,
    ready: Value,
    /// The rest of stdout, read once the process has exited.
    stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(state_dir: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-graph"))
        .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mock-graph");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines
        .next()
        .expect("a ready line")
        .expect("readable stdout");
    let ready: Value = serde_json::from_str(&line).expect("the ready line is JSON");
    Serve {
        child,
        ready,
        stdout: lines,
    }
}

fn https(ca_pem: &str) -> reqwest::Client {
    let ca = std::fs::read(ca_pem).expect("the CA file exists");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_line_discovery_and_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), &[]);
    let ready = server.ready.clone();
    let keys: Vec<&str> = ready
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["event", "url", "ca_pem", "tenants"],
        "the contract's order: {ready}"
    );
    assert_eq!(ready["event"], "ready");
    let url = ready["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let ca_pem = ready["ca_pem"].as_str().unwrap();
    assert_eq!(Path::new(ca_pem), dir.path().join("ca.pem"));
    assert_eq!(
        ready["tenants"][0]["id"],
        "b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d"
    );
    assert_eq!(ready["tenants"][0]["domain"], "contoso.onmicrosoft.com");

    let doc: Value = https(ca_pem)
        .get(format!(
            "{url}/b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["token_endpoint"],
        format!("{url}/b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d/oauth2/v2.0/token")
    );

    // SIGTERM stops it cleanly.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        // Only a hang should meet this bound; the mock itself gives connections 5 s.
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
    let after: Vec<String> = server.stdout.by_ref().map_while(Result::ok).collect();
    assert!(
        after.is_empty(),
        "stdout carries only the ready line: {after:?}"
    );

    // The next start reuses the CA, so clients trust it once.
    let ca_before = std::fs::read(ca_pem).unwrap();
    let again = serve(dir.path(), &[]);
    assert_eq!(
        std::fs::read(again.ready["ca_pem"].as_str().unwrap()).unwrap(),
        ca_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_and_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/usgov.json");
    let server = serve(
        dir.path(),
        &["--no-tls", "--fixture", fixture.to_str().unwrap()],
    );
    let url = server.ready["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(server.ready["ca_pem"].is_null(), "no CA without TLS");
    assert_eq!(
        server.ready["tenants"][0]["domain"],
        "contosogov.onmicrosoft.us"
    );

    // It answers over plain HTTP, for the fixture's tenant, with URLs on the same scheme.
    let tenant = server.ready["tenants"][0]["id"].as_str().unwrap();
    let resp = reqwest::Client::new()
        .get(format!(
            "{url}/contosogov.onmicrosoft.us/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .expect("a plain HTTP answer");
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["token_endpoint"],
        format!("{url}/{tenant}/oauth2/v2.0/token"),
        "{doc}"
    );

    // A broken fixture is refused with a message and a non-zero exit.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"tenant": {"id": "not-a-guid"}}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mock-graph"))
        .args(["serve", "--listen", "127.0.0.1:0", "--fixture"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.json"), "names the file: {stderr}");
    assert!(out.stdout.is_empty(), "no ready line for a broken fixture");
}
