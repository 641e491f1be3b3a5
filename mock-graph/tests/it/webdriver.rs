//! Just enough W3C WebDriver to drive the inspector page in a real headless Chromium: starts
//! Debian's `chromedriver` on a free port, opens one browser session, finds elements by CSS,
//! clicks and types as a person would, runs a script to read the page, and saves screenshots.
//! Spoken over plain HTTP with reqwest, so no WebDriver crate is needed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prerequisites::Chromium;
use serde_json::{Value, json};

/// The key WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver's code for the Enter key, sent as text.
pub const ENTER: &str = "\u{E007}";

/// How long a `wait_for` waits: the machine running the suite may be busy.
const PATIENCE: Duration = Duration::from_secs(30);

/// A browser session, closed (with its chromedriver) when dropped.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
    /// Where the browser saves downloads.
    pub downloads: tempfile::TempDir,
}

/// An element of the page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that accepts the mock's own CA-less
    /// certificate (the test server's CA is not in the browser's store), 1280×800.
    pub async fn start(chromium: &Chromium) -> Browser {
        let port = free_port();
        let driver = Command::new(&chromium.driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = tempfile::tempdir().expect("download dir");
        // The flags that keep Chromium off the network it may not reach, and a fresh profile.
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,800".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium.browser,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_string();
        Browser {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            _profile: profile,
            downloads,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp: Value = req
            .send()
            .await
            .expect("WebDriver answers")
            .json()
            .await
            .expect("WebDriver JSON");
        if resp["value"].get("error").is_some() {
            panic!("WebDriver {method} {path}: {}", resp["value"]);
        }
        resp["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns what it returns.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Waits until `script` returns true; panics naming `what` after `PATIENCE`.
    pub async fn wait_for(&self, what: &str, script: &str, args: Value) {
        let deadline = Instant::now() + PATIENCE;
        while self.eval(script, args.clone()).await != json!(true) {
            assert!(Instant::now() < deadline, "waited in vain for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page shows `css` and returns it.
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.wait_for(
            css,
            "return document.querySelector(arguments[0]) !== null",
            json!([css]),
        )
        .await;
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        Element {
            browser: self,
            id: v[ELEMENT].as_str().expect("element id").to_string(),
        }
    }

    /// The text of the element `css`, as shown.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await
    }

    /// Saves what the browser shows as `target/inspector-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("screenshot written");
        path
    }

    /// The one file downloaded into `downloads`, once it is complete.
    pub async fn downloaded(&self) -> PathBuf {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let done: Vec<PathBuf> = std::fs::read_dir(self.downloads.path())
                .expect("download dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            if let [one] = done.as_slice() {
                return one.clone();
            }
            assert!(Instant::now() < deadline, "no download arrived");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; then the driver, which this test started.
        let close = self.http.delete(&self.session).send();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let _ = tokio::task::block_in_place(|| handle.block_on(close));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) {
        self.browser.post(&self.path("/click"), json!({})).await;
    }

    /// Types `text` into the element, as keys (`ENTER` submits a form).
    pub async fn type_text(&self, text: &str) {
        self.browser
            .post(&self.path("/value"), json!({ "text": text }))
            .await;
    }

    pub async fn clear(&self) {
        self.browser.post(&self.path("/clear"), json!({})).await;
    }

    pub async fn text(&self) -> String {
        let v = self
            .browser
            .command(reqwest::Method::GET, &self.path("/text"), None)
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Gives a file input the file at `path`, as choosing it in the file dialog does.
    pub async fn choose_file(&self, path: &Path) {
        self.type_text(&path.display().to_string()).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("port")
        .port()
}

/// `target/inspector-screenshots`, beside the build.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("inspector-screenshots")
}
