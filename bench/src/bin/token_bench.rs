//! The token endpoint under load. Starts `mock-graph serve` (release build) as a child process
//! with a fixture that registers the benchmark's application and certificate, drives
//! `POST /{tenant}/oauth2/v2.0/token` with pre-generated, distinct PS256 client assertions over
//! loopback HTTPS at several concurrency levels, and prints requests/s, p50/p99 latency,
//! errors, the mock's peak RSS, its start-to-ready time, and throughput as a fraction of what
//! this machine's cores can do in RSA alone (verify one RS256 signature + sign one RS256
//! token, per request). Then a long run at full speed samples the mock's RSS over time, to
//! show that memory stays flat.
//!
//! `cargo build --release -p mock-graph -p entra-bench && target/release/token-bench`
//! (options: `--seconds N` per level, `--levels 1,16,64`, `--memory-seconds N`,
//! `--memory-concurrency N`, `--mock PATH`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mock_graph::core::fixture::TenantFixture;
use mock_graph::core::tenant::Tenant;
use mock_graph::testing::{Alg, TestCertificate};
use serde_json::Value;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const SCOPE: &str = "https://graph.microsoft.com/.default";

struct Options {
    seconds: u64,
    levels: Vec<usize>,
    memory_seconds: u64,
    memory_concurrency: usize,
    pool: usize,
    mock: Option<PathBuf>,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        seconds: 10,
        levels: vec![1, 16, 64],
        memory_seconds: 60,
        memory_concurrency: 16,
        pool: 20_000,
        mock: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => o.seconds = value()?.parse()?,
            "--levels" => {
                o.levels = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--memory-seconds" => o.memory_seconds = value()?.parse()?,
            "--memory-concurrency" => o.memory_concurrency = value()?.parse()?,
            "--assertions" => o.pool = value()?.parse()?,
            "--mock" => o.mock = Some(value()?.into()),
            "-h" | "--help" => {
                println!(
                    "token-bench [--seconds N] [--levels 1,16,64] [--memory-seconds N] [--memory-concurrency N] [--assertions N] [--mock PATH]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// The `mock-graph` binary next to this one (both in target/release).
fn mock_binary(o: &Options) -> anyhow::Result<PathBuf> {
    if let Some(p) = &o.mock {
        return Ok(p.clone());
    }
    let here = std::env::current_exe()?;
    let sibling = here.with_file_name("mock-graph");
    if sibling.is_file() {
        return Ok(sibling);
    }
    bail!(
        "no mock-graph binary at {}: run `cargo build --release -p mock-graph` first, or pass --mock PATH",
        sibling.display()
    )
}

/// Resident set size of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) that process `pid` has used, from /proc (clock ticks of 10 ms).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Samples the RSS of `pid` every 200 ms until stopped; keeps the peak and a timeline.
struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Vec<(f64, u64)>>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut timeline = Vec::new();
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    p.fetch_max(kib, Ordering::Relaxed);
                    timeline.push((t0.elapsed().as_secs_f64(), kib));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            timeline
        });
        RssSampler {
            peak,
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> (u64, Vec<(f64, u64)>) {
        self.stop.store(true, Ordering::Relaxed);
        let timeline = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (self.peak.load(Ordering::Relaxed), timeline)
    }
}

/// The machine's RSA ceiling: (verify one RS256 signature + sign one RS256 token) pairs per
/// second with aws-lc-rs on every core, the work the mock must do per token request; and the
/// CPU time one pair costs (independent of other load on the machine).
fn rsa_ceiling(seconds: f64) -> anyhow::Result<(f64, f64)> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{
        KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
    };
    let key = KeyPair::generate(KeySize::Rsa2048)?;
    let pkcs8 = key.as_der()?.as_ref().to_vec();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let message = vec![b'x'; 700];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
        .map_err(|_| anyhow::anyhow!("sign"))?;
    let public = key.public_key().as_ref().to_vec();
    let pairs = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds("self");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (pkcs8, message, signature, public, pairs) = (
                pkcs8.clone(),
                message.clone(),
                signature.clone(),
                public.clone(),
                pairs.clone(),
            );
            std::thread::spawn(move || {
                let key = KeyPair::from_pkcs8(&pkcs8).expect("key");
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let verifier = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public);
                let mut out = vec![0u8; key.public_modulus_len()];
                let mut n = 0u64;
                while Instant::now() < deadline {
                    verifier.verify(&message, &signature).expect("verifies");
                    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut out)
                        .expect("signs");
                    n += 1;
                }
                pairs.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let cpu = cpu_seconds("self") - cpu0;
    let n = pairs.load(Ordering::Relaxed) as f64;
    Ok((n / seconds, 1e6 * cpu / n.max(1.0)))
}

/// Writes a fixture: the default tenant plus the benchmark's application and certificate.
fn write_fixture(dir: &std::path::Path) -> anyhow::Result<(PathBuf, TestCertificate, String)> {
    let mut tenant = Tenant::from_fixture(TenantFixture::default_fixture())?;
    let now = tenant.now();
    let (start, end) = (
        now - time::Duration::days(1),
        now + time::Duration::days(365),
    );
    let cert = TestCertificate::generate(start, end)?;
    let app = tenant.register_application("entra-bench");
    tenant
        .add_certificate(app.application_id, &cert.der, start, end)
        .context("add certificate")?;
    let path = dir.join("bench-fixture.json");
    std::fs::write(&path, serde_json::to_string_pretty(&tenant.to_fixture())?)?;
    Ok((path, cert, app.app_id.to_string()))
}

struct Mock {
    child: Child,
    url: String,
    ca_pem: PathBuf,
    tenant: String,
    ready_after: Duration,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock(
    binary: &PathBuf,
    state_dir: &std::path::Path,
    fixture: &PathBuf,
) -> anyhow::Result<Mock> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .arg("--fixture")
        .arg(fixture)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("start {}", binary.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let ready_after = started.elapsed();
    let ready: Value =
        serde_json::from_str(&line).with_context(|| format!("ready line {line:?}"))?;
    Ok(Mock {
        url: ready["url"].as_str().context("url")?.to_string(),
        ca_pem: ready["ca_pem"].as_str().context("ca_pem")?.into(),
        tenant: ready["tenants"][0]["id"]
            .as_str()
            .context("tenant")?
            .to_string(),
        ready_after,
        child,
    })
}

struct LevelResult {
    concurrency: usize,
    requests: u64,
    errors: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_kib: u64,
    first_error: Option<String>,
    /// CPU seconds the mock and this load generator used during the level.
    mock_cpu: f64,
    client_cpu: f64,
}

/// Runs `concurrency` workers against the token endpoint for `seconds`.
async fn run_level(
    http: &reqwest::Client,
    url: &str,
    forms: &Arc<Vec<String>>,
    next: &Arc<AtomicUsize>,
    concurrency: usize,
    seconds: u64,
    pid: u32,
) -> LevelResult {
    let sampler = RssSampler::start(pid);
    let (mock_cpu0, own_cpu0) = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, forms, next) = (http.clone(), url.to_string(), forms.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(64 * 1024);
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                let body = forms[next.fetch_add(1, Ordering::Relaxed) % forms.len()].clone();
                let t = Instant::now();
                let outcome = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                let ok = match outcome {
                    Ok(resp) => {
                        let status = resp.status();
                        let text = resp.bytes().await.unwrap_or_default();
                        if status != 200 && first_error.is_none() {
                            first_error =
                                Some(format!("{status}: {}", String::from_utf8_lossy(&text)));
                        }
                        status == 200
                    }
                    Err(e) => {
                        first_error.get_or_insert_with(|| e.to_string());
                        false
                    }
                };
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        if let Ok((l, e, f)) = t.await {
            all.extend(l);
            errors += e;
            if first_error.is_none() {
                first_error = f;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mock_cpu = cpu_seconds(&pid.to_string()) - mock_cpu0;
    let client_cpu = cpu_seconds("self") - own_cpu0;
    let (peak, _) = sampler.finish();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i] as f64 / 1000.0
    };
    LevelResult {
        concurrency,
        requests: all.len() as u64,
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        peak_rss_kib: peak,
        first_error,
        mock_cpu,
        client_cpu,
    }
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let binary = mock_binary(&o)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("token-bench: {cores} cores; the load generator runs on the same cores as the mock,");
    println!("so every figure below includes the client's own TLS and HTTP work.\n");

    println!(
        "measuring the RSA ceiling (RS256 verify + RS256 sign, aws-lc-rs, {cores} threads, 3 s) ..."
    );
    let (ceiling, pair_us) = rsa_ceiling(3.0)?;
    println!(
        "  ceiling: {ceiling:.0} verify+sign pairs/s (one pair costs {pair_us:.0} µs of CPU; {:.0} pairs/s on an idle machine); load average {}\n",
        1e6 * cores as f64 / pair_us,
        load_average()
    );

    let work = tempfile::tempdir()?;
    let (fixture, cert, app_id) = write_fixture(work.path())?;
    let mock = start_mock(&binary, &work.path().join("state"), &fixture)?;
    let pid = mock.child.id();
    println!(
        "mock-graph started: ready after {:.1} ms, RSS {} KiB at rest, {}",
        mock.ready_after.as_secs_f64() * 1000.0,
        rss_kib(pid).unwrap_or(0),
        mock.url
    );
    let url = format!("{}/{}/oauth2/v2.0/token", mock.url, mock.tenant);

    // Distinct assertions (each its own jti), signed in advance on every core.
    let t = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let cert = Arc::new(cert);
    let per_thread = o.pool.div_ceil(cores);
    let makers: Vec<_> = (0..cores)
        .map(|_| {
            let (cert, app_id, url) = (cert.clone(), app_id.clone(), url.clone());
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| {
                        let assertion = cert.assertion(&app_id, &url, now, Alg::Ps256);
                        form_body(&app_id, &assertion)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let forms: Vec<String> = makers
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    println!(
        "{} distinct PS256 assertions signed in advance in {:.1} s (reused round-robin; the mock does not enforce jti uniqueness, as Entra does not)\n",
        forms.len(),
        t.elapsed().as_secs_f64()
    );
    let forms = Arc::new(forms);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()?;
    let ca = std::fs::read(&mock.ca_pem)?;
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .http1_only()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));

    runtime.block_on(async {
        // Warm-up: connections, TLS sessions, the mock's first allocations.
        let _ = run_level(&http, &url, &forms, &next, 16, 2, pid).await;
        println!(
            "{:>11} {:>9} {:>8} {:>7} {:>7} {:>6} {:>9} {:>10} {:>12} {:>11} {:>9} {:>5}",
            "concurrency", "requests", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS", "of ceiling",
            "mock µs/req", "of RSA cost", "client µs", "load"
        );
        for &c in &o.levels {
            let load = load_average();
            let r = run_level(&http, &url, &forms, &next, c, o.seconds, pid).await;
            let rps = r.requests as f64 / r.seconds;
            let mock_us = 1e6 * r.mock_cpu / r.requests.max(1) as f64;
            println!(
                "{:>11} {:>9} {:>8.0} {:>7.2} {:>7.2} {:>6} {:>5.1} MiB {:>9.1}% {:>12.0} {:>10.0}% {:>9.0} {:>5}",
                r.concurrency,
                r.requests,
                rps,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                r.peak_rss_kib as f64 / 1024.0,
                100.0 * rps / ceiling,
                mock_us,
                100.0 * pair_us / mock_us,
                1e6 * r.client_cpu / r.requests.max(1) as f64,
                load
            );
            if let Some(e) = r.first_error {
                println!("            first error: {}", e.chars().take(300).collect::<String>());
            }
        }

        // Memory: a long run at full speed, RSS sampled over time.
        println!(
            "\nmemory: {} s at concurrency {}, RSS of the mock sampled every 200 ms",
            o.memory_seconds, o.memory_concurrency
        );
        let sampler = RssSampler::start(pid);
        let r = run_level(
            &http,
            &url,
            &forms,
            &next,
            o.memory_concurrency,
            o.memory_seconds,
            pid,
        )
        .await;
        let (peak, timeline) = sampler.finish();
        let at = |s: f64| {
            timeline
                .iter()
                .find(|(t, _)| *t >= s)
                .or(timeline.last())
                .map_or(0, |(_, k)| *k)
        };
        let total = o.memory_seconds as f64;
        let marks: Vec<String> = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|f| format!("{:.0}s {:.1} MiB", f * total, at(f * total * 0.999) as f64 / 1024.0))
            .collect();
        println!("  {}", marks.join(", "));
        let (early, late) = (at(total * 0.25), at(total * 0.999));
        println!(
            "  {} requests ({:.0}/s, {} errors); peak {:.1} MiB; growth from 25% to the end: {:+.1} MiB",
            r.requests,
            r.requests as f64 / r.seconds,
            r.errors,
            peak as f64 / 1024.0,
            (late as f64 - early as f64) / 1024.0
        );
    });

    println!("\ntargets: at concurrency >= 16, >= 70% of the ceiling, p99 < 10 ms, RSS < 64 MiB");
    println!(
        "columns: 'mock µs/req' is the mock's CPU time per request; 'of RSA cost' is the RSA floor\n\
         (one verify + one sign on one core) as a share of it, i.e. how much of the mock's work is\n\
         the unavoidable RSA; 'client µs' is this load generator's CPU per request; 'load' is the\n\
         1-minute load average when the level started (other work on the machine skews req/s)."
    );
    Ok(())
}

fn form_body(app_id: &str, assertion: &str) -> String {
    form_urlencoded_pairs(&[
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("scope", SCOPE),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ])
}

/// `application/x-www-form-urlencoded` without another dependency: every byte outside the
/// unreserved set is percent-encoded.
fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
