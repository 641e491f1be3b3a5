//! Fuzzes the client assertion path of the token endpoint: `core::jose::parse` and
//! `core::login::verify_client_assertion` against a tenant with a registered certificate.
//!
//! Input: either a whole token (any bytes, read as UTF-8 lossily), or, when it holds a NUL
//! byte, `header JSON \0 payload JSON` that is base64url-encoded into a token with a dummy
//! signature, so the fuzzer explores the JSON and claim rules rather than base64. Must not
//! panic, and must never accept: the signature is never valid.

#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use mock_graph::core::clock::VirtualClock;
use mock_graph::core::fixture::TenantFixture;
use mock_graph::core::ids::AppId;
use mock_graph::core::jose;
use mock_graph::core::login::{self, Endpoint, Form, TokenRequest};
use mock_graph::core::tenant::Tenant;
use mock_graph::testing::TestCertificate;
use time::macros::datetime;

struct World {
    tenant: Tenant,
    app_id: AppId,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let now = datetime!(2026-03-01 12:00:00 UTC);
        let mut tenant = Tenant::from_fixture(TenantFixture::default_fixture()).expect("fixture");
        tenant.clock = VirtualClock::frozen(now);
        let cert = TestCertificate::generate(now - time::Duration::days(1), now + time::Duration::days(30))
            .expect("certificate");
        let app = tenant.register_application("fuzz");
        tenant.add_certificate(app.application_id, &cert.der, now - time::Duration::days(1), now + time::Duration::days(30));
        World { tenant, app_id: app.app_id }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let token = match data.iter().position(|&b| b == 0) {
        Some(i) => format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(&data[..i]),
            URL_SAFE_NO_PAD.encode(&data[i + 1..]),
            URL_SAFE_NO_PAD.encode([7u8; 256])
        ),
        None => String::from_utf8_lossy(data).into_owned(),
    };
    let _ = jose::parse(&token);
    let form = Form::default();
    let req = TokenRequest {
        endpoint: Endpoint::V2,
        tenant_segment: "contoso.onmicrosoft.com",
        base_url: "https://127.0.0.1:8443",
        form: &form,
        basic_auth: None,
    };
    let verdict = login::verify_client_assertion(&w.tenant, &req, w.app_id, &token);
    assert!(verdict.is_err(), "a token with a forged signature was accepted: {token}");
});
