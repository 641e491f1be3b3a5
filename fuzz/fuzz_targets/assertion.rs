//! Fuzzes the client assertion path of the token endpoint: `entra_tenant::jose::parse` and
//! `entra_tenant::login::verify_client_assertion`, on a tenant where one application with a
//! fixed appId has one certificate registered (a shipped test key, `fixtures/keys/usgov.*.pem`),
//! at a fixed time. Every input is judged by an oracle written here, independently of the code
//! under test.
//!
//! Input: the first byte picks how the rest becomes a token.
//!
//! - `0`: the rest is the token (read as UTF-8, lossily).
//! - `1`: `header JSON \0 payload JSON`, base64url-encoded and **signed with the registered
//!   key** (PS256 when the header's `alg` says so, else RS256), so the fuzzer gets past the
//!   signature and explores the claim, audience and time rules.
//! - `2`: one of the valid assertions the target starts from (the next byte picks RS256/`x5t` or
//!   PS256/`x5t#S256`), changed by edits `[op, position (2 bytes), length, bytes…]…` (op % 3:
//!   overwrite, insert, delete), so the fuzzer forges signatures, headers and claims of a token
//!   that would otherwise be accepted.
//!
//! Must not panic, and must never accept a token the oracle refuses: one whose signature does
//! not verify (aws-lc-rs, directly) under the registered certificate's key for the header's
//! algorithm and thumbprint, whose `iss`/`sub` are not the application, whose `aud` is not one
//! of the tenant's token endpoints or issuers on this host, or whose `exp`/`nbf` put the fixed
//! time outside the assertion's window (5 minutes of skew). Before fuzzing, the target checks
//! that its own valid assertions are accepted, so the deep checks are reachable.

#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use entra_tenant::clock::VirtualClock;
use entra_tenant::fixture::TenantFixture;
use entra_tenant::ids::AppId;
use entra_tenant::jose;
use entra_tenant::login::{self, Endpoint, Form, LoginError, TokenRequest};
use entra_tenant::tenant::Tenant;
use entra_tenant::testing::{Alg, TestCertificate};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

/// The registered application's appId: fixed, so that inputs mean the same in every run.
const APP_ID: &str = "f0220000-0000-4000-8000-00000000f022";
const BASE_URL: &str = "https://127.0.0.1:8443";
const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
/// The assertion window's skew either side, as Entra allows it.
const SKEW: f64 = 300.0;
const CERT_PEM: &str = include_str!("../../fixtures/keys/usgov.crt.pem");
const KEY_PEM: &str = include_str!("../../fixtures/keys/usgov.key.pem");

struct World {
    tenant: Tenant,
    app_id: AppId,
    cert: TestCertificate,
    /// The certificate's RSA public key (PKCS#1), for the oracle.
    public_key: Vec<u8>,
    /// Valid assertions: RS256 with `x5t`, PS256 with `x5t#S256`.
    valid: [String; 2],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut tenant = Tenant::from_fixture(TenantFixture::default_fixture()).expect("fixture");
        tenant.clock = VirtualClock::frozen(NOW);
        let cert = TestCertificate::from_pem(CERT_PEM, KEY_PEM).expect("the shipped test key");
        let app_id: AppId = APP_ID.parse().expect("app id");
        let registered = tenant.register_application("fuzz");
        for a in tenant.directory.applications.iter_mut() {
            if a.id == registered.application_id {
                a.app_id = app_id;
            }
        }
        for s in tenant.directory.service_principals.iter_mut() {
            if s.id == registered.service_principal_id {
                s.app_id = app_id;
            }
        }
        tenant.add_certificate(
            registered.application_id,
            &cert.der,
            NOW - time::Duration::days(1),
            NOW + time::Duration::days(30),
        );
        let pkcs8 = pem_body(KEY_PEM);
        let public_key = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pkcs8)
            .expect("PKCS#8 key")
            .public_key()
            .as_ref()
            .to_vec();
        let audience = format!("{BASE_URL}/{}/oauth2/v2.0/token", tenant.id);
        let valid = [Alg::Rs256, Alg::Ps256].map(|alg| cert.assertion(APP_ID, &audience, NOW, alg));
        let w = World {
            tenant,
            app_id,
            cert,
            public_key,
            valid,
        };
        // Without this the target proves nothing: every input would fail before the key lookup.
        for token in &w.valid {
            assert!(
                verify(&w, token).is_ok(),
                "the target's own valid assertion is refused: {:?}",
                verify(&w, token)
            );
            oracle(&w, token).expect("the oracle accepts the valid assertion");
        }
        w
    })
}

fn pem_body(text: &str) -> Vec<u8> {
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD.decode(b64).expect("PEM body")
}

fn verify(w: &World, token: &str) -> Result<(), LoginError> {
    let form = Form::default();
    let req = TokenRequest {
        endpoint: Endpoint::V2,
        tenant_segment: "contoso.onmicrosoft.com",
        base_url: BASE_URL,
        form: &form,
        basic_auth: None,
    };
    login::verify_client_assertion(&w.tenant, &req, w.app_id, token)
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Mode 1: signs `header \0 payload` with the registered key.
fn signed(w: &World, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    let alg = match serde_json::from_slice::<Value>(header) {
        Ok(h) if h["alg"] == "PS256" => Alg::Ps256,
        _ => Alg::Rs256,
    };
    let signature = w.cert.sign_bytes(input.as_bytes(), alg);
    format!("{input}.{}", b64url(&signature))
}

/// Mode 2: a valid assertion changed by the edits in `data`.
fn mutated(w: &World, data: &[u8]) -> String {
    let Some((&variant, mut edits)) = data.split_first() else {
        return w.valid[0].clone();
    };
    let mut token = w.valid[usize::from(variant % 2)].clone().into_bytes();
    while let [op, hi, lo, len, rest @ ..] = edits {
        let at = usize::from(u16::from_be_bytes([*hi, *lo])) % (token.len() + 1);
        let len = usize::from(*len % 16);
        match op % 3 {
            0 => {
                let bytes = &rest[..len.min(rest.len())];
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(slot) = token.get_mut(at + i) {
                        *slot = *b;
                    }
                }
                edits = &rest[bytes.len()..];
            }
            1 => {
                let bytes = &rest[..len.min(rest.len())];
                token.splice(at..at, bytes.iter().copied());
                edits = &rest[bytes.len()..];
            }
            _ => {
                let end = (at + len).min(token.len());
                token.drain(at..end);
                edits = rest;
            }
        }
    }
    String::from_utf8_lossy(&token).into_owned()
}

/// What must hold of any token the endpoint accepts, checked without the code under test.
fn oracle(w: &World, token: &str) -> Result<(), String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err("not three parts".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&decode(p)?).map_err(|e| e.to_string())?;
    let signature = decode(s)?;

    // The header names the registered certificate...
    let digest = |alg: &'static aws_lc_rs::digest::Algorithm| {
        aws_lc_rs::digest::digest(alg, &w.cert.der)
            .as_ref()
            .to_vec()
    };
    let names = |v: &Value, expected: Vec<u8>| {
        v.as_str().is_some_and(|t| {
            let t = t.trim().trim_end_matches('=');
            let bytes = URL_SAFE_NO_PAD
                .decode(t)
                .or_else(|_| STANDARD_NO_PAD.decode(t));
            bytes.is_ok_and(|b| b == expected)
        })
    };
    let named = match (header.get("x5t#S256"), header.get("x5t")) {
        (Some(v), _) => names(v, digest(&aws_lc_rs::digest::SHA256)),
        (None, Some(v)) => names(v, digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY)),
        (None, None) => false,
    };
    if !named {
        return Err("the header does not name the registered certificate".into());
    }
    // ...and its key signed exactly these bytes with the header's algorithm.
    let algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm =
        match header["alg"].as_str() {
            Some("RS256") => &RSA_PKCS1_2048_8192_SHA256,
            Some("PS256") => &RSA_PSS_2048_8192_SHA256,
            other => return Err(format!("alg {other:?}")),
        };
    UnparsedPublicKey::new(algorithm, &w.public_key)
        .verify(&token.as_bytes()[..h.len() + 1 + p.len()], &signature)
        .map_err(|_| "the signature does not verify under the registered key".to_string())?;

    // Who and for whom.
    let is_app = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(APP_ID));
    if !is_app(&claims["iss"]) || !is_app(&claims["sub"]) {
        return Err(format!("iss {} / sub {}", claims["iss"], claims["sub"]));
    }
    let aud = claims["aud"].as_str().ok_or("aud is not a string")?;
    let aud = aud.strip_suffix('/').unwrap_or(aud);
    let audience_ok = w.tenant.names().iter().any(|name| {
        ["/oauth2/v2.0/token", "/oauth2/token", "/v2.0", ""]
            .iter()
            .any(|suffix| aud.eq_ignore_ascii_case(&format!("{BASE_URL}/{name}{suffix}")))
    });
    if !audience_ok {
        return Err(format!("aud {aud:?}"));
    }

    // When: exp required, nbf optional, both within the skew of the fixed time.
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let now = NOW.unix_timestamp() as f64;
    let exp = number(&claims["exp"]).ok_or("no numeric exp")?;
    if !exp.is_finite() || now >= exp + SKEW {
        return Err(format!("expired: exp {exp}"));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = number(nbf).ok_or("a non-numeric nbf")?;
        if !nbf.is_finite() || now < nbf - SKEW {
            return Err(format!("not yet valid: nbf {nbf}"));
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => match rest.iter().position(|&b| b == 0) {
            Some(i) => signed(w, &rest[..i], &rest[i + 1..]),
            None => signed(w, rest, b"{}"),
        },
        _ => mutated(w, rest),
    };
    let _ = jose::parse(&token);
    if verify(w, &token).is_ok()
        && let Err(why) = oracle(w, &token)
    {
        panic!("the token endpoint accepted a token it must refuse ({why}): {token}");
    }
});
