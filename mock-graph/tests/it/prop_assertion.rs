//! Property tests of the token endpoint's core (`core::login::authorize`, no HTTP): from a valid
//! client assertion, a strategy mutates the header, the claims, the signature and the encoding
//! (other algorithms including `none` and HS256 keyed with the certificate, altered, dropped,
//! duplicated and escaped members, truncated and re-encoded segments, other keys, every time
//! boundary) and the client, resource and tenant clock around it. An independent oracle,
//! written from the documented order of checks (ARCHITECTURE.md, "The token endpoint's order
//! of checks"), predicts the outcome of each mutant: a token, or the AADSTS code (and for
//! 700027 which of its three reasons). The property: the core agrees with the oracle on every
//! case, so no mutant gets a token unless it is still a valid assertion by the rules.
//!
//! The oracle does not call the code under test. It decodes segments with the same base64 and
//! JSON libraries, but decides signature validity from provenance (which key signed which bytes
//! with which padding), not by verifying, and applies the rules in their documented order.
//!
//! `cargo test -p mock-graph --test it prop_assertion::` runs 256 cases; the long run is
//! `PROPTEST_CASES=1000000 cargo test --release -p mock-graph --test it prop_assertion::`.
//! Failures are kept in `mock-graph/proptest-regressions/` and replayed first.

use std::sync::{Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use mock_graph::core::clock::VirtualClock;
use mock_graph::core::directory::KeyCredential;
use mock_graph::core::fixture::TenantFixture;
use mock_graph::core::ids::{AppId, ObjectId};
use mock_graph::core::login::{self, Endpoint, Form, GrantType, LoginError, TokenRequest};
use mock_graph::core::tenant::Tenant;
use mock_graph::testing::{Alg, TestCertificate};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const BASE_URL: &str = "https://127.0.0.1:8443";
const SKEW: f64 = 300.0;
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const SYNC_APP_ID: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
/// Resources of the default fixture, by appId and App ID URI (lower case).
const KNOWN_RESOURCES: &[&str] = &[
    "https://graph.microsoft.com",
    GRAPH_APP_ID,
    SYNC_APP_ID,
    "https://graph.microsoft.com/",
];

/// The base time of the tenant clock; each case moves it by a chosen shift.
const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

// ---------------------------------------------------------------------------------------------
// The world: one tenant, applications and pre-generated keys (RSA keygen stays out of the loop).
// ---------------------------------------------------------------------------------------------

/// Certificates, by index.
const K_MAIN: usize = 0; // app A, Verify, [T0-30d, T0+30d)
const K_SIGN_USAGE: usize = 1; // app A, usage Sign (cannot verify assertions)
const K_ROLLED: usize = 2; // app A, Verify, [T0-60d, T0-10d) and [T0+10d, T0+60d)
const K_UNREGISTERED: usize = 3; // nowhere
const K_OTHER_APP: usize = 4; // app B, Verify, [T0-30d, T0+30d)
const K_ON_SP: usize = 5; // app A's service principal, Verify, [T0-30d, T0+30d)
const CERTS: usize = 6;

/// Which application a client_id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppRef {
    A,
    B,
    NoServicePrincipal,
    Disabled,
}

/// One key credential, as the oracle knows it.
struct Credential {
    app: AppRef,
    /// Held on the application's service principal instead of the application.
    on_service_principal: bool,
    cert: usize,
    verify: bool,
    start: OffsetDateTime,
    end: OffsetDateTime,
}

struct World {
    tenant: Mutex<Tenant>,
    tenant_id: String,
    domains: Vec<String>,
    app_ids: [(AppRef, AppId); 4],
    certs: Vec<TestCertificate>,
    sha1: Vec<[u8; 20]>,
    sha256: Vec<[u8; 32]>,
    credentials: Vec<Credential>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

fn build_world() -> World {
    let certs: Vec<TestCertificate> = (0..CERTS)
        .map(|_| TestCertificate::generate(T0 - days(400), T0 + days(400)).expect("keygen"))
        .collect();
    let mut tenant = Tenant::from_fixture(TenantFixture::default_fixture()).expect("fixture");
    tenant.clock = VirtualClock::frozen(T0);
    let a = tenant.register_application("prop app A");
    let b = tenant.register_application("prop app B");
    let no_sp = tenant.register_application("prop app without service principal");
    let disabled = tenant.register_application("prop app disabled");
    tenant
        .directory
        .service_principals
        .retain(|s| s.id != no_sp.service_principal_id);
    for sp in &mut tenant.directory.service_principals {
        if sp.id == disabled.service_principal_id {
            sp.account_enabled = false;
        }
    }
    let credentials = vec![
        Credential {
            app: AppRef::A,
            on_service_principal: false,
            cert: K_MAIN,
            verify: true,
            start: T0 - days(30),
            end: T0 + days(30),
        },
        Credential {
            app: AppRef::A,
            on_service_principal: false,
            cert: K_SIGN_USAGE,
            verify: false,
            start: T0 - days(30),
            end: T0 + days(30),
        },
        Credential {
            app: AppRef::A,
            on_service_principal: false,
            cert: K_ROLLED,
            verify: true,
            start: T0 - days(60),
            end: T0 - days(10),
        },
        Credential {
            app: AppRef::A,
            on_service_principal: false,
            cert: K_ROLLED,
            verify: true,
            start: T0 + days(10),
            end: T0 + days(60),
        },
        Credential {
            app: AppRef::A,
            on_service_principal: true,
            cert: K_ON_SP,
            verify: true,
            start: T0 - days(30),
            end: T0 + days(30),
        },
        Credential {
            app: AppRef::B,
            on_service_principal: false,
            cert: K_OTHER_APP,
            verify: true,
            start: T0 - days(30),
            end: T0 + days(30),
        },
        // The two applications that never get as far as a key still have one.
        Credential {
            app: AppRef::NoServicePrincipal,
            on_service_principal: false,
            cert: K_MAIN,
            verify: true,
            start: T0 - days(30),
            end: T0 + days(30),
        },
        Credential {
            app: AppRef::Disabled,
            on_service_principal: false,
            cert: K_MAIN,
            verify: true,
            start: T0 - days(30),
            end: T0 + days(30),
        },
    ];
    let object_of = |r: AppRef| -> ObjectId {
        match r {
            AppRef::A => a.application_id,
            AppRef::B => b.application_id,
            AppRef::NoServicePrincipal => no_sp.application_id,
            AppRef::Disabled => disabled.application_id,
        }
    };
    for c in credentials.iter().filter(|c| c.on_service_principal) {
        let key = KeyCredential {
            key_id: uuid::Uuid::new_v4(),
            custom_key_identifier: None,
            display_name: None,
            start_date_time: c.start,
            end_date_time: c.end,
            key_type: "AsymmetricX509Cert".into(),
            usage: "Verify".into(),
            key: Some(certs[c.cert].der.clone()),
            added_by: None,
        };
        let app_id = tenant
            .directory
            .application(object_of(c.app))
            .expect("application exists")
            .app_id;
        tenant
            .directory
            .service_principals
            .iter_mut()
            .find(|s| s.app_id == app_id)
            .expect("service principal exists")
            .key_credentials
            .push(key);
    }
    for c in credentials.iter().filter(|c| !c.on_service_principal) {
        let object = object_of(c.app);
        tenant
            .add_certificate(object, &certs[c.cert].der, c.start, c.end)
            .expect("application exists");
        if !c.verify {
            let app = tenant
                .directory
                .application_mut(object)
                .expect("application exists");
            let last: &mut KeyCredential = app.key_credentials.last_mut().expect("just added");
            last.usage = "Sign".into();
        }
    }
    let sha1 = certs
        .iter()
        .map(|c| digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &c.der))
        .collect();
    let sha256 = certs
        .iter()
        .map(|c| digest(&aws_lc_rs::digest::SHA256, &c.der))
        .collect();
    let tenant_id = tenant.id.to_string();
    let domains = tenant.verified_domains.clone();
    World {
        tenant: Mutex::new(tenant),
        tenant_id,
        domains,
        app_ids: [
            (AppRef::A, a.app_id),
            (AppRef::B, b.app_id),
            (AppRef::NoServicePrincipal, no_sp.app_id),
            (AppRef::Disabled, disabled.app_id),
        ],
        certs,
        sha1,
        sha256,
        credentials,
    }
}

fn digest<const N: usize>(alg: &'static aws_lc_rs::digest::Algorithm, data: &[u8]) -> [u8; N] {
    let d = aws_lc_rs::digest::digest(alg, data);
    let mut out = [0u8; N];
    out.copy_from_slice(d.as_ref());
    out
}

impl World {
    fn app_id(&self, r: AppRef) -> String {
        self.app_ids
            .iter()
            .find(|(k, _)| *k == r)
            .map(|(_, id)| id.to_string())
            .expect("every AppRef is registered")
    }
}

// ---------------------------------------------------------------------------------------------
// What a case is made of.
// ---------------------------------------------------------------------------------------------

/// The `client_id` form field.
#[derive(Clone, Copy, Debug)]
enum Client {
    App(AppRef),
    AppUpperCase(AppRef),
    UnknownGuid,
    NotAGuid,
}

/// The resource parameter (`scope` on v2, `resource` on v1).
#[derive(Clone, Debug)]
enum Resource {
    V2(&'static str),
    V1(&'static str),
    V2Missing,
}

/// A string-valued claim (`iss`, `sub`).
#[derive(Clone, Debug)]
enum Who {
    Absent,
    App(AppRef),
    AppUpperCase(AppRef),
    Unknown,
    Raw(&'static str),
}

/// The `aud` claim.
#[derive(Clone, Debug)]
enum Aud {
    /// `{scheme_host}/{name}{suffix}` with `trailing` slashes, optionally upper-cased.
    Built {
        host: usize,
        name: usize,
        suffix: usize,
        upper: bool,
        trailing: usize,
    },
    OtherTenant,
    Raw(&'static str),
    Absent,
    ArrayOfValid,
}

const HOSTS: &[&str] = &[
    BASE_URL,
    "https://localhost:8443",
    "http://127.0.0.1:8443",
    "https://127.0.0.1:8444",
    "https://login.microsoftonline.com",
];
const AUD_SUFFIXES: &[&str] = &[
    "/oauth2/v2.0/token",
    "/oauth2/token",
    "/v2.0",
    "",
    "/oauth2/v2.0/token/extra",
    "/oauth2/v2.0",
    "/v2",
];

/// A NumericDate claim (`nbf`, `exp`, `iat`), relative to the case's `now`.
#[derive(Clone, Debug)]
enum Time {
    Absent,
    Int(i64),
    Half(i64),
    Str(i64),
    StrHalf(i64),
    Exponent(i64),
    Raw(&'static str),
}

/// A thumbprint header value.
#[derive(Clone, Copy, Debug)]
enum Thumb {
    Absent,
    /// The cert's digest of the header's own kind, in one of four encodings.
    Of(usize, ThumbEncoding),
    /// The cert's digest of the other kind (wrong length).
    OtherKind(usize),
    NotAString,
    Garbage,
    /// The cert's digest with its last byte dropped.
    Short(usize),
}

#[derive(Clone, Copy, Debug)]
enum ThumbEncoding {
    UrlNoPad,
    UrlPad,
    Standard,
    StandardNoPad,
}

/// The `kid` header.
#[derive(Clone, Copy, Debug)]
enum Kid {
    Absent,
    /// A name that is no certificate's.
    Unrelated,
    /// The certificate's SHA-1 thumbprint in hex, as Microsoft.IdentityModel writes `kid`.
    Sha1Hex(usize),
    Empty,
    NotAString,
}

/// A whole-segment replacement of the header or payload JSON.
#[derive(Clone, Copy, Debug)]
enum Json {
    Object,
    Pretty,
    Array,
    StringValue,
    Truncated,
    Empty,
    NotUtf8,
    Bom,
    Null,
}

/// How a segment's bytes become text.
#[derive(Clone, Copy, Debug)]
enum Enc {
    UrlNoPad,
    UrlPad,
    Standard,
    StandardNoPad,
    InnerSpace,
    AppendA,
}

/// Who signs, and how.
#[derive(Clone, Copy, Debug)]
enum Signer {
    Key(usize, Alg),
    Empty,
    Random,
    /// HS256 keyed with the certificate's DER (the classic public-key confusion).
    HmacWithCertificate,
}

/// A change to the token after it was signed.
#[derive(Clone, Copy, Debug)]
enum Post {
    None,
    TamperPayload,
    TamperHeader,
    TruncateSignature(usize),
    AppendToSignature,
    FlipSignatureChar,
    DropSignature,
    ExtraSegment,
    TrailingDot,
    SwapHeaderAndPayload,
    Replace(&'static str),
}

/// A structural change to one member list.
#[derive(Clone, Copy, Debug)]
enum Member {
    None,
    /// Member `i` repeated at the end, with the same value or another.
    Duplicate(usize, bool),
    /// Member `i` removed.
    Drop(usize),
    /// Member `i`'s name written with its first character as a `\u00XX` escape.
    EscapeName(usize),
}

#[derive(Clone, Debug)]
struct Case {
    client: Client,
    resource: Resource,
    /// Seconds the tenant clock is moved from T0.
    shift: i64,
    alg: &'static str,
    alg_raw: Option<&'static str>,
    x5t: Thumb,
    x5t_s256: Thumb,
    kid: Kid,
    extra_header: Option<(&'static str, &'static str)>,
    header_json: Json,
    header_member: Member,
    iss: Who,
    sub: Option<Who>,
    aud: Aud,
    nbf: Time,
    exp: Time,
    iat: Time,
    extra_claim: Option<(&'static str, &'static str)>,
    payload_json: Json,
    payload_member: Member,
    header_enc: Enc,
    payload_enc: Enc,
    signer: Signer,
    post: Post,
}

// ---------------------------------------------------------------------------------------------
// Strategies: each knob mostly keeps the valid value, so a good share of cases get tokens.
// ---------------------------------------------------------------------------------------------

fn app_ref() -> impl Strategy<Value = AppRef> {
    prop_oneof![
        8 => Just(AppRef::A),
        2 => Just(AppRef::B),
        1 => Just(AppRef::NoServicePrincipal),
        1 => Just(AppRef::Disabled),
    ]
}

fn client() -> impl Strategy<Value = Client> {
    prop_oneof![
        40 => Just(Client::App(AppRef::A)),
        3 => Just(Client::AppUpperCase(AppRef::A)),
        3 => app_ref().prop_map(Client::App),
        1 => app_ref().prop_map(Client::AppUpperCase),
        1 => Just(Client::UnknownGuid),
        1 => Just(Client::NotAGuid),
    ]
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        30 => Just(Resource::V2("https://graph.microsoft.com/.default")),
        3 => Just(Resource::V2("6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default")),
        2 => Just(Resource::V2("https://graph.microsoft.com/.default openid profile offline_access")),
        1 => Just(Resource::V2("HTTPS://GRAPH.MICROSOFT.COM/.default")),
        1 => Just(Resource::V2("https://graph.microsoft.com/User.Read")),
        1 => Just(Resource::V2("https://graph.microsoft.com/.default 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default")),
        1 => Just(Resource::V2("openid profile")),
        1 => Just(Resource::V2("https://unknown.example.com/.default")),
        1 => Just(Resource::V2("User.Read")),
        1 => Just(Resource::V2("https://graph.microsoft.com/User.Read https://unknown.example.com/.default")),
        1 => Just(Resource::V2Missing),
        3 => Just(Resource::V1("https://graph.microsoft.com")),
        1 => Just(Resource::V1(SYNC_APP_ID)),
        1 => Just(Resource::V1("https://unknown.example.com")),
    ]
}

/// Tenant clock shifts: the valid middle, and both sides of every key-window boundary.
fn shift() -> impl Strategy<Value = i64> {
    let d = 86_400i64;
    let edges = [-60 * d, -30 * d, -10 * d, 10 * d, 30 * d, 60 * d];
    prop_oneof![
        20 => Just(0i64),
        4 => -10 * d + 1..10 * d,
        4 => (0..edges.len(), -2i64..=2).prop_map(move |(i, e)| edges[i] + e),
        1 => Just(-400 * d),
        1 => Just(400 * d),
    ]
}

fn alg() -> impl Strategy<Value = (&'static str, Option<&'static str>)> {
    prop_oneof![
        100 => Just(("PS256", None)),
        100 => Just(("RS256", None)),
        1 => Just(("none", None)),
        1 => Just(("HS256", None)),
        8 => Just(("RS384", None)),
        8 => Just(("RS512", None)),
        8 => Just(("PS384", None)),
        8 => Just(("PS512", None)),
        1 => Just(("ES256", None)),
        1 => Just(("rs256", None)),
        1 => Just(("", Some("256"))),
        1 => Just(("", Some("null"))),
        1 => Just(("", Some("[\"RS256\"]"))),
        1 => Just(("", Some("absent"))),
    ]
}

fn cert() -> impl Strategy<Value = usize> {
    prop_oneof![
        12 => Just(K_MAIN),
        3 => Just(K_ON_SP),
        1 => Just(K_SIGN_USAGE),
        2 => Just(K_ROLLED),
        1 => Just(K_UNREGISTERED),
        2 => Just(K_OTHER_APP),
    ]
}

fn thumb_encoding() -> impl Strategy<Value = ThumbEncoding> {
    prop_oneof![
        8 => Just(ThumbEncoding::UrlNoPad),
        1 => Just(ThumbEncoding::UrlPad),
        1 => Just(ThumbEncoding::Standard),
        1 => Just(ThumbEncoding::StandardNoPad),
    ]
}

fn thumb(present_weight: u32) -> impl Strategy<Value = Thumb> {
    prop_oneof![
        present_weight => (cert(), thumb_encoding()).prop_map(|(c, e)| Thumb::Of(c, e)),
        10 => Just(Thumb::Absent),
        1 => cert().prop_map(Thumb::OtherKind),
        1 => Just(Thumb::NotAString),
        1 => Just(Thumb::Garbage),
        1 => cert().prop_map(Thumb::Short),
    ]
}

/// `(x5t, x5t#S256)`: mostly one of them naming a certificate, sometimes both, neither, or bad.
fn thumbs() -> impl Strategy<Value = (Thumb, Thumb)> {
    let named = || (cert(), thumb_encoding()).prop_map(|(c, e)| Thumb::Of(c, e));
    prop_oneof![
        100 => named().prop_map(|t| (Thumb::Absent, t)),
        50 => named().prop_map(|t| (t, Thumb::Absent)),
        3 => (named(), named()),
        4 => (thumb(3), thumb(3)),
    ]
}

fn kid() -> impl Strategy<Value = Kid> {
    prop_oneof![
        40 => Just(Kid::Absent),
        2 => Just(Kid::Unrelated),
        2 => cert().prop_map(Kid::Sha1Hex),
        1 => Just(Kid::Empty),
        1 => Just(Kid::NotAString),
    ]
}

fn extra_header() -> impl Strategy<Value = Option<(&'static str, &'static str)>> {
    prop_oneof![
        30 => Just(None),
        1 => Just(Some(("x5c", "\"not even base64\""))),
        1 => Just(Some(("x5c", "[\"MIIB\"]"))),
        1 => Just(Some(("typ", "42"))),
        1 => Just(Some(("jku", "\"https://evil.example/keys\""))),
        1 => Just(Some(("x5t#S256", "\"\""))),
    ]
}

fn json() -> impl Strategy<Value = Json> {
    prop_oneof![
        200 => Just(Json::Object),
        6 => Just(Json::Pretty),
        1 => Just(Json::Array),
        1 => Just(Json::StringValue),
        1 => Just(Json::Truncated),
        1 => Just(Json::Empty),
        1 => Just(Json::NotUtf8),
        1 => Just(Json::Bom),
        1 => Just(Json::Null),
    ]
}

fn member() -> impl Strategy<Value = Member> {
    prop_oneof![
        70 => Just(Member::None),
        1 => (0usize..8, any::<bool>()).prop_map(|(i, same)| Member::Duplicate(i, same)),
        1 => (0usize..8).prop_map(Member::Drop),
        1 => (0usize..8).prop_map(Member::EscapeName),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        150 => Just(Who::App(AppRef::A)),
        2 => Just(Who::AppUpperCase(AppRef::A)),
        2 => app_ref().prop_map(Who::App),
        1 => Just(Who::Unknown),
        1 => Just(Who::Absent),
        1 => Just(Who::Raw("\"\"")),
        1 => Just(Who::Raw("42")),
        1 => Just(Who::Raw("null")),
        1 => Just(Who::Raw("[\"x\"]")),
        1 => Just(Who::Raw("{}")),
    ]
}

fn aud() -> impl Strategy<Value = Aud> {
    prop_oneof![
        100 => Just(Aud::Built { host: 0, name: 0, suffix: 0, upper: false, trailing: 0 }),
        20 => (0..HOSTS.len(), 0usize..3, 0..AUD_SUFFIXES.len(), any::<bool>(), 0usize..=2)
            .prop_map(|(host, name, suffix, upper, trailing)| Aud::Built { host, name, suffix, upper, trailing }),
        1 => Just(Aud::OtherTenant),
        1 => Just(Aud::Absent),
        1 => Just(Aud::ArrayOfValid),
        1 => Just(Aud::Raw("42")),
        1 => Just(Aud::Raw("null")),
        1 => Just(Aud::Raw("\"\"")),
        1 => Just(Aud::Raw("\" https://127.0.0.1:8443/b6f0c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d/oauth2/v2.0/token\"")),
    ]
}

/// Offsets that straddle the ±5 minute skew on either side of `now`.
fn boundary_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(-301i64),
        Just(-300),
        Just(-299),
        Just(-1),
        Just(0),
        Just(1),
        Just(299),
        Just(300),
        Just(301),
        -1000i64..1000,
    ]
}

fn time_value(valid: impl Strategy<Value = i64> + Clone + 'static) -> impl Strategy<Value = Time> {
    prop_oneof![
        150 => valid.clone().prop_map(Time::Int),
        6 => boundary_offset().prop_map(Time::Int),
        2 => boundary_offset().prop_map(Time::Half),
        2 => boundary_offset().prop_map(Time::Str),
        1 => boundary_offset().prop_map(Time::StrHalf),
        1 => valid.prop_map(Time::Exponent),
        2 => Just(Time::Absent),
        1 => Just(Time::Int(-400 * 86_400)),
        1 => Just(Time::Int(400 * 86_400)),
        1 => Just(Time::Raw("\"soon\"")),
        1 => Just(Time::Raw("\"\"")),
        1 => Just(Time::Raw("null")),
        1 => Just(Time::Raw("true")),
        1 => Just(Time::Raw("[1]")),
        1 => Just(Time::Raw("9223372036854775807")),
        1 => Just(Time::Raw("-9223372036854775808")),
        1 => Just(Time::Raw("18446744073709551615")),
        1 => Just(Time::Raw("1e300")),
        1 => Just(Time::Raw("-1e300")),
        1 => Just(Time::Raw("\"NaN\"")),
        1 => Just(Time::Raw("\"inf\"")),
    ]
}

fn extra_claim() -> impl Strategy<Value = Option<(&'static str, &'static str)>> {
    prop_oneof![
        8 => Just(None),
        1 => Just(Some(("jti", "42"))),
        1 => Just(Some(("azp", "\"someone-else\""))),
        1 => Just(Some(("tid", "\"00000000-0000-0000-0000-000000000000\""))),
        1 => Just(Some(("nested", "{\"aud\":1,\"aud\":2}"))),
    ]
}

fn enc() -> impl Strategy<Value = Enc> {
    prop_oneof![
        150 => Just(Enc::UrlNoPad),
        1 => Just(Enc::UrlPad),
        1 => Just(Enc::Standard),
        1 => Just(Enc::StandardNoPad),
        1 => Just(Enc::InnerSpace),
        1 => Just(Enc::AppendA),
    ]
}

fn signer() -> impl Strategy<Value = Signer> {
    let alg = prop_oneof![
        Just(Alg::Rs256),
        Just(Alg::Ps256),
        Just(Alg::Rs512),
        Just(Alg::Ps384)
    ];
    prop_oneof![
        // Signed by the key the header names, with the header's padding: see `Case::signer`.
        30 => Just(Signer::Key(usize::MAX, Alg::Rs256)),
        4 => (cert(), alg).prop_map(|(c, a)| Signer::Key(c, a)),
        1 => Just(Signer::Empty),
        1 => Just(Signer::Random),
        1 => Just(Signer::HmacWithCertificate),
    ]
}

fn post() -> impl Strategy<Value = Post> {
    prop_oneof![
        150 => Just(Post::None),
        1 => Just(Post::TamperPayload),
        1 => Just(Post::TamperHeader),
        1 => (1usize..5).prop_map(Post::TruncateSignature),
        1 => Just(Post::AppendToSignature),
        1 => Just(Post::FlipSignatureChar),
        1 => Just(Post::DropSignature),
        1 => Just(Post::ExtraSegment),
        1 => Just(Post::TrailingDot),
        1 => Just(Post::SwapHeaderAndPayload),
        1 => Just(Post::Replace("")),
        1 => Just(Post::Replace("   ")),
        1 => Just(Post::Replace("not-a-jwt")),
        1 => Just(Post::Replace("a.b.c")),
        1 => Just(Post::Replace("..")),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let request = (client(), resource(), shift());
    let header = (alg(), thumbs(), kid(), extra_header(), json(), member());
    let claims = (
        who(),
        // `sub` as MSAL sends it (absent here: it copies `iss`), anything `who` makes, or an
        // application other than `iss`'s: often enough that 50048 shows up in every run.
        prop_oneof![
            20 => Just(None),
            1 => who().prop_map(Some),
            1 => Just(Some(Who::Unknown)),
        ],
        aud(),
        time_value(-120i64..=60),
        time_value(60i64..=3600),
        time_value(-60i64..=60),
        extra_claim(),
        json(),
        member(),
    );
    let wire = (enc(), enc(), signer(), post());
    (request, header, claims, wire).prop_map(
        |(
            (client, resource, shift),
            ((alg, alg_raw), (x5t, x5t_s256), kid, extra_header, header_json, header_member),
            (iss, sub, aud, nbf, exp, iat, extra_claim, payload_json, payload_member),
            (header_enc, payload_enc, signer, post),
        )| Case {
            client,
            resource,
            shift,
            alg,
            alg_raw,
            x5t,
            x5t_s256,
            kid,
            extra_header,
            header_json,
            header_member,
            iss,
            sub,
            aud,
            nbf,
            exp,
            iat,
            extra_claim,
            payload_json,
            payload_member,
            header_enc,
            payload_enc,
            signer,
            post,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Building the request a case describes.
// ---------------------------------------------------------------------------------------------

/// Which key signed what, as the oracle needs to know it.
#[derive(Clone, Debug)]
struct Provenance {
    cert: usize,
    alg: Alg,
    signing_input: String,
    signature: String,
}

struct Built {
    form: Form,
    endpoint: Endpoint,
    token: String,
    now: OffsetDateTime,
    provenance: Option<Provenance>,
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn json_str(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn who_json(w: &World, who: &Who) -> Option<String> {
    match who {
        Who::Absent => None,
        Who::App(r) => Some(json_str(&w.app_id(*r))),
        Who::AppUpperCase(r) => Some(json_str(&w.app_id(*r).to_uppercase())),
        Who::Unknown => Some(json_str("0d9f1e57-7f0a-4f55-9a57-55a1b0c5e7aa")),
        Who::Raw(raw) => Some(raw.to_string()),
    }
}

fn built_aud(
    w: &World,
    host: usize,
    name: usize,
    suffix: usize,
    upper: bool,
    trailing: usize,
) -> String {
    let names = [
        w.tenant_id.clone(),
        w.domains.first().cloned().unwrap_or_default(),
        w.tenant_id.to_uppercase(),
    ];
    let mut s = format!("{}/{}{}", HOSTS[host], names[name], AUD_SUFFIXES[suffix]);
    if upper {
        s = s.to_uppercase();
    }
    s.push_str(&"/".repeat(trailing));
    s
}

fn aud_json(w: &World, aud: &Aud) -> Option<String> {
    match aud {
        Aud::Built {
            host,
            name,
            suffix,
            upper,
            trailing,
        } => Some(json_str(&built_aud(
            w, *host, *name, *suffix, *upper, *trailing,
        ))),
        Aud::OtherTenant => Some(json_str(&format!(
            "{BASE_URL}/3f5c0a56-2a4e-4d64-9a0e-1f6a2b3c4d5e/oauth2/v2.0/token"
        ))),
        Aud::Raw(raw) => Some(raw.to_string()),
        Aud::Absent => None,
        Aud::ArrayOfValid => {
            let v = built_aud(w, 0, 0, 0, false, 0);
            Some(format!("[{},{}]", json_str(&v), json_str(&v)))
        }
    }
}

fn time_json(now: i64, t: &Time) -> Option<String> {
    Some(match t {
        Time::Absent => return None,
        Time::Int(o) => (now + o).to_string(),
        Time::Half(o) => format!("{}.5", now + o),
        Time::Str(o) => json_str(&(now + o).to_string()),
        Time::StrHalf(o) => json_str(&format!("{}.5", now + o)),
        Time::Exponent(o) => format!("{:e}", (now + o) as f64),
        Time::Raw(raw) => raw.to_string(),
    })
}

fn thumb_json(w: &World, t: Thumb, sha256: bool) -> Option<String> {
    let digest_of = |c: usize, s256: bool| -> Vec<u8> {
        if s256 {
            w.sha256[c].to_vec()
        } else {
            w.sha1[c].to_vec()
        }
    };
    Some(match t {
        Thumb::Absent => return None,
        Thumb::Of(c, e) => {
            let d = digest_of(c, sha256);
            json_str(&match e {
                ThumbEncoding::UrlNoPad => URL_SAFE_NO_PAD.encode(d),
                ThumbEncoding::UrlPad => URL_SAFE.encode(d),
                ThumbEncoding::Standard => STANDARD.encode(d),
                ThumbEncoding::StandardNoPad => STANDARD_NO_PAD.encode(d),
            })
        }
        Thumb::OtherKind(c) => json_str(&URL_SAFE_NO_PAD.encode(digest_of(c, !sha256))),
        Thumb::NotAString => "[\"x\"]".to_string(),
        Thumb::Garbage => json_str("not a thumbprint!"),
        Thumb::Short(c) => {
            let d = digest_of(c, sha256);
            json_str(&URL_SAFE_NO_PAD.encode(&d[..d.len() - 1]))
        }
    })
}

/// Applies a structural change to a member list and renders it as JSON text.
fn render(members: Vec<(String, String)>, change: Member, form: Json) -> Vec<u8> {
    let mut members = members;
    let quoted = |name: &str| json_str(name);
    let mut names: Vec<String> = members.iter().map(|(n, _)| quoted(n)).collect();
    match change {
        Member::None => {}
        Member::Duplicate(i, same) if !members.is_empty() => {
            let i = i % members.len();
            let (name, value) = members[i].clone();
            let value = if same { value } else { json_str("other") };
            names.push(quoted(&name));
            members.push((name, value));
        }
        Member::Drop(i) if !members.is_empty() => {
            let i = i % members.len();
            members.remove(i);
            names.remove(i);
        }
        Member::EscapeName(i) if !members.is_empty() => {
            let i = i % members.len();
            let name = &members[i].0;
            let mut chars = name.chars();
            let first = chars.next().unwrap_or('a');
            names[i] = format!("\"\\u{:04x}{}\"", first as u32, chars.as_str());
        }
        _ => {}
    }
    let body: Vec<String> = names
        .iter()
        .zip(&members)
        .map(|(n, (_, v))| format!("{n}:{v}"))
        .collect();
    let object = format!("{{{}}}", body.join(","));
    match form {
        Json::Object => object.into_bytes(),
        Json::Pretty => format!("\n {{ {} }}\r\n\t", body.join(" ,\n  ")).into_bytes(),
        Json::Array => format!("[{object}]").into_bytes(),
        Json::StringValue => json_str(&object).into_bytes(),
        Json::Truncated => object.as_bytes()[..object.len() - 1].to_vec(),
        Json::Empty => Vec::new(),
        Json::NotUtf8 => {
            let mut b = object.into_bytes();
            b.insert(1, 0xff);
            b
        }
        Json::Bom => {
            let mut b = vec![0xef, 0xbb, 0xbf];
            b.extend(object.into_bytes());
            b
        }
        Json::Null => b"null".to_vec(),
    }
}

fn encode(bytes: &[u8], enc: Enc) -> String {
    match enc {
        Enc::UrlNoPad => URL_SAFE_NO_PAD.encode(bytes),
        Enc::UrlPad => URL_SAFE.encode(bytes),
        Enc::Standard => STANDARD.encode(bytes),
        Enc::StandardNoPad => STANDARD_NO_PAD.encode(bytes),
        Enc::InnerSpace => {
            let mut s = URL_SAFE_NO_PAD.encode(bytes);
            s.insert(s.len() / 2, ' ');
            s
        }
        Enc::AppendA => format!("{}A", URL_SAFE_NO_PAD.encode(bytes)),
    }
}

fn build(w: &World, c: &Case) -> Built {
    let now = T0 + Duration::seconds(c.shift);
    let t = now.unix_timestamp();

    let (form_field, resource_value, endpoint) = match &c.resource {
        Resource::V2(s) => (Some("scope"), *s, Endpoint::V2),
        Resource::V1(s) => (Some("resource"), *s, Endpoint::V1),
        Resource::V2Missing => (None, "", Endpoint::V2),
    };
    let client_id = match c.client {
        Client::App(r) => w.app_id(r),
        Client::AppUpperCase(r) => w.app_id(r).to_uppercase(),
        Client::UnknownGuid => "5b3c4e2a-0d1f-4c6b-8a7e-9f0e1d2c3b4a".to_string(),
        Client::NotAGuid => "not-a-guid".to_string(),
    };

    // Header.
    let mut header: Vec<(String, String)> = Vec::new();
    match c.alg_raw {
        None => header.push(("alg".into(), json_str(c.alg))),
        Some("absent") => {}
        Some(raw) => header.push(("alg".into(), raw.to_string())),
    }
    header.push(("typ".into(), json_str("JWT")));
    if let Some(v) = thumb_json(w, c.x5t, false) {
        header.push(("x5t".into(), v));
    }
    if let Some(v) = thumb_json(w, c.x5t_s256, true) {
        header.push(("x5t#S256".into(), v));
    }
    let kid = match c.kid {
        Kid::Absent => None,
        Kid::Unrelated => Some(json_str("some-key-id")),
        Kid::Sha1Hex(k) => Some(json_str(&hex_upper(&w.sha1[k]))),
        Kid::Empty => Some(json_str("")),
        Kid::NotAString => Some("42".to_string()),
    };
    if let Some(v) = kid {
        header.push(("kid".into(), v));
    }
    if let Some((k, v)) = c.extra_header
        && !header.iter().any(|(n, _)| n == k)
    {
        header.push((k.into(), v.into()));
    }

    // Claims.
    let mut claims: Vec<(String, String)> = Vec::new();
    if let Some(v) = aud_json(w, &c.aud) {
        claims.push(("aud".into(), v));
    }
    if let Some(v) = who_json(w, &c.iss) {
        claims.push(("iss".into(), v));
    }
    let sub = c.sub.as_ref().unwrap_or(&c.iss);
    if let Some(v) = who_json(w, sub) {
        claims.push(("sub".into(), v));
    }
    claims.push((
        "jti".into(),
        json_str("2b0e6f3a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"),
    ));
    for (name, value) in [("nbf", &c.nbf), ("exp", &c.exp), ("iat", &c.iat)] {
        if let Some(v) = time_json(t, value) {
            claims.push((name.into(), v));
        }
    }
    if let Some((k, v)) = c.extra_claim
        && !claims.iter().any(|(n, _)| n == k)
    {
        claims.push((k.into(), v.into()));
    }

    let header_bytes = render(header, c.header_member, c.header_json);
    let payload_bytes = render(claims, c.payload_member, c.payload_json);
    let h = encode(&header_bytes, c.header_enc);
    let p = encode(&payload_bytes, c.payload_enc);
    let signing_input = format!("{h}.{p}");

    // The default signer uses the key and padding the header names, as a real client does.
    let signer = match c.signer {
        Signer::Key(usize::MAX, _) => {
            let named = match (c.x5t_s256, c.x5t, c.kid) {
                (Thumb::Of(k, _), _, _)
                | (Thumb::Absent, Thumb::Of(k, _), _)
                | (Thumb::Absent, Thumb::Absent, Kid::Sha1Hex(k)) => k,
                _ => K_MAIN,
            };
            let padding = match c.alg {
                "RS256" => Alg::Rs256,
                "RS384" => Alg::Rs384,
                "RS512" => Alg::Rs512,
                "PS384" => Alg::Ps384,
                "PS512" => Alg::Ps512,
                _ => Alg::Ps256,
            };
            Signer::Key(named, padding)
        }
        other => other,
    };
    let (signature, provenance) = match signer {
        Signer::Key(k, a) => {
            let sig = URL_SAFE_NO_PAD.encode(w.certs[k].sign_bytes(signing_input.as_bytes(), a));
            (
                sig.clone(),
                Some(Provenance {
                    cert: k,
                    alg: a,
                    signing_input: signing_input.clone(),
                    signature: sig,
                }),
            )
        }
        Signer::Empty => (String::new(), None),
        Signer::Random => (URL_SAFE_NO_PAD.encode([0x5au8; 256]), None),
        Signer::HmacWithCertificate => {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &w.certs[K_MAIN].der);
            let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
            (URL_SAFE_NO_PAD.encode(tag.as_ref()), None)
        }
    };

    let token = match c.post {
        Post::None => format!("{signing_input}.{signature}"),
        Post::TamperPayload => {
            let mut tampered = payload_bytes.clone();
            tampered.push(b' ');
            format!("{h}.{}.{signature}", URL_SAFE_NO_PAD.encode(tampered))
        }
        Post::TamperHeader => {
            let mut tampered = header_bytes.clone();
            tampered.insert(0, b' ');
            format!("{}.{p}.{signature}", URL_SAFE_NO_PAD.encode(tampered))
        }
        Post::TruncateSignature(n) => {
            let keep = signature.len().saturating_sub(n);
            format!("{signing_input}.{}", &signature[..keep])
        }
        Post::AppendToSignature => format!("{signing_input}.{signature}A"),
        Post::FlipSignatureChar => {
            let mut s = signature.clone();
            if let Some(first) = s.chars().next() {
                let other = if first == 'B' { 'C' } else { 'B' };
                s.replace_range(0..1, &other.to_string());
            }
            format!("{signing_input}.{s}")
        }
        Post::DropSignature => signing_input.clone(),
        Post::ExtraSegment => format!("{signing_input}.{signature}.{signature}"),
        Post::TrailingDot => format!("{signing_input}.{signature}."),
        Post::SwapHeaderAndPayload => format!("{p}.{h}.{signature}"),
        Post::Replace(s) => s.to_string(),
    };

    let mut fields = vec![
        ("grant_type".to_string(), "client_credentials".to_string()),
        ("client_id".to_string(), client_id),
        ("client_assertion_type".to_string(), JWT_BEARER.to_string()),
        ("client_assertion".to_string(), token.clone()),
    ];
    if let Some(f) = form_field {
        fields.push((f.to_string(), resource_value.to_string()));
    }
    Built {
        form: Form(fields),
        endpoint,
        token,
        now,
        provenance,
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle: the documented order of checks, applied to the request as sent.
// ---------------------------------------------------------------------------------------------

/// What the endpoint must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Token,
    Refused(u32, Reason),
}

/// Which of the three AADSTS700027 refusals; `Other` for every other code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    KeyNotFound,
    KeyExpired,
    SignatureInvalid,
    Other,
}

fn refused(code: u32) -> Outcome {
    Outcome::Refused(code, Reason::Other)
}

fn actual(result: &Result<login::Grant, LoginError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Token,
        Err(e) => Outcome::Refused(
            e.code(),
            match e {
                LoginError::KeyNotFound { .. } => Reason::KeyNotFound,
                LoginError::KeyExpired { .. } => Reason::KeyExpired,
                LoginError::SignatureInvalid { .. } => Reason::SignatureInvalid,
                _ => Reason::Other,
            },
        ),
    }
}

/// A JSON object whose members are each named once; `None` otherwise (RFC 7515 §4: a JOSE
/// header with duplicate member names must be rejected, and so is such a claims set).
fn object_without_duplicates(bytes: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let map = value.as_object()?.clone();
    // Count the member names as written: a name repeated collapses in `map`.
    struct Names(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Names {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Names;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Names, A::Error> {
                    let mut names = Vec::new();
                    while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        names.push(k);
                    }
                    Ok(Names(names))
                }
            }
            d.deserialize_map(V)
        }
    }
    let names: Names = serde_json::from_slice(bytes).ok()?;
    (names.0.len() == map.len()).then_some(map)
}

/// A NumericDate: a JSON number, or a string holding a decimal number; finite.
fn numeric_date(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// A thumbprint header value: base64url or base64, padded or not, of any number of bytes.
fn thumbprint(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    let unpadded = s
        .strip_suffix("==")
        .or_else(|| s.strip_suffix('='))
        .unwrap_or(s);
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .or_else(|_| STANDARD_NO_PAD.decode(unpadded))
        .ok()
}

/// How the header names the signing certificate.
enum Locator {
    Sha256(Vec<u8>),
    Sha1(Vec<u8>),
    Kid(String),
}

/// The resource of an app-only request, or the refusal (v2 `scope` / v1 `resource`).
fn resource_outcome(endpoint: Endpoint, value: &str) -> Result<(), u32> {
    let known = |r: &str| {
        let r = r.to_ascii_lowercase();
        KNOWN_RESOURCES.contains(&r.as_str()) || KNOWN_RESOURCES.contains(&r.trim_end_matches('/'))
    };
    if endpoint == Endpoint::V1 {
        return if known(value.trim()) {
            Ok(())
        } else {
            Err(500011)
        };
    }
    let oidc = ["openid", "profile", "offline_access", "email"];
    let mut items = Vec::new();
    for item in value.split_whitespace() {
        if oidc.contains(&item.to_ascii_lowercase().as_str()) {
            continue;
        }
        // `<resource>/<permission>`, both non-empty; anything else names no resource.
        match item.rsplit_once('/') {
            Some((r, p)) if !r.is_empty() && !p.is_empty() => items.push((r, p)),
            _ => return Err(70011),
        }
    }
    if items.is_empty() {
        return Err(70011);
    }
    if items.iter().any(|(_, p)| *p != ".default") {
        return Err(1002012);
    }
    let first = items[0].0.trim_end_matches('/');
    if items
        .iter()
        .any(|(r, _)| !r.trim_end_matches('/').eq_ignore_ascii_case(first))
    {
        // Several resources: 70011 as captured at the token endpoint for client credentials.
        return Err(70011);
    }
    if known(first) { Ok(()) } else { Err(500011) }
}

fn oracle(w: &World, c: &Case, b: &Built) -> Outcome {
    // 3. Required parameters (grant_type and client_id are always sent here).
    let resource_value = match &c.resource {
        Resource::V2(s) | Resource::V1(s) => *s,
        Resource::V2Missing => return refused(900144),
    };
    // 4. Credential presence: an empty (or blank) assertion is no assertion.
    if b.token.trim().is_empty() {
        return refused(7000216);
    }
    // 5. The client.
    let app = match c.client {
        Client::App(r) | Client::AppUpperCase(r) => r,
        Client::UnknownGuid | Client::NotAGuid => return refused(700016),
    };
    match app {
        AppRef::NoServicePrincipal => return refused(7000229),
        AppRef::Disabled => return refused(7000112),
        AppRef::A | AppRef::B => {}
    }
    let client_id = w.app_id(app);

    // 7. The assertion: parse (50027).
    let malformed = refused(50027);
    let parts: Vec<&str> = b.token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return malformed;
    };
    let decode = |seg: &str| URL_SAFE_NO_PAD.decode(seg).ok();
    let Some(header) = decode(h).and_then(|x| object_without_duplicates(&x)) else {
        return malformed;
    };
    let Some(claims) = decode(p).and_then(|x| object_without_duplicates(&x)) else {
        return malformed;
    };
    if decode(s).is_none() {
        return malformed;
    }
    // `aud` with several values (5002741); an array of one is that value, of none no `aud`.
    let aud = match claims.get("aud") {
        Some(Value::Array(values)) if values.len() > 1 => return refused(5002741),
        Some(Value::Array(values)) => match values.first() {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return malformed,
        },
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return malformed,
    };
    // Claims of the wrong type (50027).
    let string_claim = |name: &str| -> Result<Option<&str>, ()> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(()),
        }
    };
    let (Ok(iss), Ok(sub)) = (string_claim("iss"), string_claim("sub")) else {
        return malformed;
    };
    let date = |name: &str| -> Result<Option<f64>, ()> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => numeric_date(v).map(Some).ok_or(()),
        }
    };
    let (Ok(exp), Ok(nbf)) = (date("exp"), date("nbf")) else {
        return malformed;
    };
    // Required claims (90014), in the order iss, sub, aud.
    let (Some(iss), Some(sub), Some(aud)) = (iss, sub, aud) else {
        return refused(90014);
    };
    // The algorithm: not a string (50027), not one Entra takes (5002738).
    let alg = match header.get("alg") {
        Some(Value::String(a)) => match a.as_str() {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            _ => return refused(5002738),
        },
        _ => return malformed,
    };
    // The key locator: x5t#S256, else x5t, else kid; none at all is 5002723.
    let locator = match (header.get("x5t#S256"), header.get("x5t"), header.get("kid")) {
        (Some(v), _, _) => match thumbprint(v) {
            Some(d) => Locator::Sha256(d),
            None => return malformed,
        },
        (None, Some(v), _) => match thumbprint(v) {
            Some(d) => Locator::Sha1(d),
            None => return malformed,
        },
        (None, None, Some(Value::String(k))) if !k.trim().is_empty() => {
            Locator::Kid(k.trim().to_string())
        }
        (None, None, Some(Value::String(_)) | None) => return refused(5002723),
        (None, None, Some(_)) => return malformed,
    };

    // Who (50048, then 700021).
    if iss != sub {
        return refused(50048);
    }
    if !iss.eq_ignore_ascii_case(&client_id) {
        return refused(700021);
    }

    // For whom (700023): this tenant's token endpoints and issuers, on this host, compared
    // without regard to case or one trailing slash.
    let aud = aud.strip_suffix('/').unwrap_or(aud);
    let mut names = vec![w.tenant_id.clone()];
    names.extend(w.domains.iter().cloned());
    let accepted = names.iter().any(|n| {
        ["/oauth2/v2.0/token", "/oauth2/token", "/v2.0", ""]
            .iter()
            .any(|suffix| format!("{BASE_URL}/{n}{suffix}").eq_ignore_ascii_case(aud))
    });
    if !accepted {
        return refused(700023);
    }

    // Which key (700027 not found, then expired).
    let cert_of = |k: usize| -> bool {
        match &locator {
            Locator::Sha256(d) => w.sha256[k].as_slice() == d.as_slice(),
            Locator::Sha1(d) => w.sha1[k].as_slice() == d.as_slice(),
            Locator::Kid(kid) => {
                kid.eq_ignore_ascii_case(&hex_upper(&w.sha1[k]))
                    || thumbprint(&Value::String(kid.clone())).as_deref() == Some(&w.sha1[k][..])
            }
        }
    };
    let found: Vec<&Credential> = w
        .credentials
        .iter()
        .filter(|cr| cr.app == app && cr.verify && cert_of(cr.cert))
        .collect();
    if found.is_empty() {
        return Outcome::Refused(700027, Reason::KeyNotFound);
    }
    if !found.iter().any(|cr| cr.start <= b.now && b.now < cr.end) {
        return Outcome::Refused(700027, Reason::KeyExpired);
    }

    // The signature (700027): made by that key, with the header's algorithm, over exactly
    // the header and payload sent, and sent unchanged.
    let key = found[0].cert;
    let signing_input = format!("{h}.{p}");
    let signed = b.provenance.as_ref().is_some_and(|pr| {
        pr.cert == key && pr.alg == alg && pr.signing_input == signing_input && pr.signature == *s
    });
    if !signed {
        return Outcome::Refused(700027, Reason::SignatureInvalid);
    }

    // The assertion's own window (700024): nbf − 5 min ≤ now < exp + 5 min; no `exp` is an
    // expiry in 1970.
    let now = b.now.unix_timestamp() as f64;
    let exp = exp.unwrap_or(0.0);
    if nbf.is_some_and(|n| now < n - SKEW) || now >= exp + SKEW {
        return refused(700024);
    }

    // 8. The resource.
    match resource_outcome(b.endpoint, resource_value) {
        Ok(()) => Outcome::Token,
        Err(code) => refused(code),
    }
}

// ---------------------------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------------------------

fn run(w: &World, c: &Case) -> (Outcome, Outcome, Built) {
    let b = build(w, c);
    let result = {
        let mut tenant = w.tenant.lock().unwrap_or_else(|p| p.into_inner());
        tenant.clock = VirtualClock::frozen(b.now);
        let req = TokenRequest {
            endpoint: b.endpoint,
            tenant_segment: &w.tenant_id,
            base_url: BASE_URL,
            form: &b.form,
            basic_auth: None,
        };
        login::authorize(&tenant, &req, GrantType::ClientCredentials)
    };
    if let Ok(grant) = &result {
        // A token is issued to the client the request named, and to no one else.
        let expected = match c.client {
            Client::App(r) | Client::AppUpperCase(r) => w.app_id(r),
            _ => String::new(),
        };
        assert_eq!(grant.access_claims.appid.to_string(), expected);
        assert_eq!(grant.access_claims.appidacr, "2");
    }
    (actual(&result), oracle(w, c, &b), b)
}

/// The property, run by hand rather than through `proptest!` so that it gets a thread with a
/// large stack (the nested strategy's value trees overflow the default 2 MiB in debug builds).
/// Cases: `PROPTEST_CASES` (default 256); failures persist in `proptest-regressions/`.
#[test]
fn mutated_assertions_get_exactly_what_the_rules_predict() {
    let worker = std::thread::Builder::new()
        .name("prop_assertion".into())
        .stack_size(256 << 20)
        .spawn(|| {
            let config = ProptestConfig {
                source_file: Some(file!()),
                // Under the package root, wherever the binary runs from.
                failure_persistence: Some(Box::new(
                    proptest::test_runner::FileFailurePersistence::Direct(concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/proptest-regressions/prop_assertion.txt"
                    )),
                )),
                // Shrinking re-signs on every step; bound it so a failure is reported promptly.
                max_shrink_iters: 20_000,
                ..ProptestConfig::default()
            };
            let mut runner = proptest::test_runner::TestRunner::new(config);
            let w = world();
            runner
                .run(&case(), |c| {
                    let (got, expected, b) = run(w, &c);
                    prop_assert_eq!(
                        &got,
                        &expected,
                        "token {:?} at {} with form {:?}",
                        b.token,
                        b.now,
                        b.form.0
                    );
                    Ok(())
                })
                .map_err(|e| e.to_string())
        })
        .expect("spawn the property's thread");
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

// ---------------------------------------------------------------------------------------------
// Sanity: the generators reach every outcome (a property that only ever sees 50027 proves
// little). Runs a fixed sample and counts outcomes.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_strategy_reaches_every_outcome() {
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(count_outcomes)
        .expect("spawn");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn count_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    use std::collections::BTreeMap;

    let w = world();
    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    let strategy = case();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..1500 {
        let c = strategy
            .new_tree(&mut runner)
            .expect("strategy yields a case")
            .current();
        // Only the oracle is consulted: no signing needed for counting, but `build` signs.
        let b = build(w, &c);
        let label = match oracle(w, &c, &b) {
            Outcome::Token => "token".to_string(),
            Outcome::Refused(code, Reason::Other) => code.to_string(),
            Outcome::Refused(code, reason) => format!("{code} {reason:?}"),
        };
        *seen.entry(label).or_default() += 1;
    }
    let wanted = [
        "token",
        "900144",
        "7000216",
        "700016",
        "7000229",
        "7000112",
        "50027",
        "5002741",
        "90014",
        "5002738",
        "5002723",
        "50048",
        "700021",
        "700023",
        "700027 KeyNotFound",
        "700027 KeyExpired",
        "700027 SignatureInvalid",
        "700024",
        "1002012",
        "70011",
        "500011",
    ];
    for label in wanted {
        assert!(seen.contains_key(label), "never reached {label}: {seen:?}");
    }
    assert!(
        seen["token"] * 10 >= 1500,
        "fewer than 10% of cases get a token: {seen:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Numbers of any size. NumericDates anywhere in f64, i64 and u64 (integers, fractions,
// exponents, strings, and what is no number at all) against a tenant clock inside the key's
// window, and tokens issued with the tenant clock anywhere in its range: the core never
// panics, AADSTS700024 prints its instants inside .NET's calendar (clamped to its ends, as the
// mock documents, not replaced by another date), and issued times follow the clock.
// ---------------------------------------------------------------------------------------------

/// A NumericDate claim as a client might write it.
#[derive(Clone, Debug)]
enum NumericDate {
    /// `now + offset`, as a JSON integer.
    Near(i64),
    Int(i64),
    Unsigned(u64),
    /// A JSON number in exponent form.
    Float(f64),
    /// A decimal string (MSAL.NET writes strings).
    Str(f64),
    /// No number at all: the claim is malformed.
    Invalid(&'static str),
    /// A JSON number too large for f64: the payload is not JSON.
    Unparsable,
}

impl NumericDate {
    /// The JSON text of the claim, and the value the rules see (`None`: malformed).
    fn render(&self, now: i64) -> (String, Option<f64>) {
        match self {
            NumericDate::Near(o) => ((now + o).to_string(), Some((now + o) as f64)),
            NumericDate::Int(n) => (n.to_string(), Some(*n as f64)),
            NumericDate::Unsigned(n) => (n.to_string(), Some(*n as f64)),
            NumericDate::Float(f) => (format!("{f:e}"), Some(*f)),
            NumericDate::Str(f) => (json_str(&f.to_string()), Some(*f)),
            NumericDate::Invalid(raw) => (raw.to_string(), None),
            NumericDate::Unparsable => ("1e400".to_string(), None),
        }
    }
}

fn any_numeric_date() -> impl Strategy<Value = NumericDate> {
    let finite = any::<f64>().prop_filter("finite", |f| f.is_finite());
    prop_oneof![
        4 => (-1000i64..1000).prop_map(NumericDate::Near),
        2 => any::<i64>().prop_map(NumericDate::Int),
        1 => any::<u64>().prop_map(NumericDate::Unsigned),
        2 => finite.clone().prop_map(NumericDate::Float),
        1 => finite.prop_map(NumericDate::Str),
        1 => prop_oneof![
            Just(NumericDate::Invalid("\"NaN\"")),
            Just(NumericDate::Invalid("\"-inf\"")),
            Just(NumericDate::Invalid("\"1e400\"")),
            Just(NumericDate::Invalid("null")),
            Just(NumericDate::Invalid("[1]")),
        ],
        1 => Just(NumericDate::Unparsable),
    ]
}

/// How Entra prints an instant in AADSTS700024, clamped to .NET's calendar: written from the
/// calendar's ends, not from the code under test.
fn printed_instant(seconds: f64) -> String {
    // 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z as Unix seconds.
    const FIRST: f64 = -62_135_596_800.0;
    const END: f64 = 253_402_300_800.0;
    if seconds <= FIRST {
        return "0001-01-01T00:00:00.0000000Z".into();
    }
    if seconds >= END {
        return "9999-12-31T23:59:59.9999999Z".into();
    }
    let t = OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128)
        .expect("inside the calendar");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// One client-credentials request of app A, signed with its key, with these time claims.
fn time_claims_request(
    w: &World,
    now: OffsetDateTime,
    claims: &[(&str, &NumericDate)],
) -> (Result<login::Grant, LoginError>, Vec<Option<f64>>) {
    let app_id = w.app_id(AppRef::A);
    let aud = format!("{BASE_URL}/{}/oauth2/v2.0/token", w.tenant_id);
    let mut payload = format!(
        "{{\"aud\":{},\"iss\":{},\"sub\":{}",
        json_str(&aud),
        json_str(&app_id),
        json_str(&app_id)
    );
    let mut values = Vec::new();
    for (name, date) in claims {
        let (text, value) = date.render(now.unix_timestamp());
        payload.push_str(&format!(",{}:{text}", json_str(name)));
        values.push(value);
    }
    payload.push('}');
    let cert = &w.certs[K_MAIN];
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(cert.header(Alg::Rs256).to_string()),
        URL_SAFE_NO_PAD.encode(&payload)
    );
    let signature = URL_SAFE_NO_PAD.encode(cert.sign_bytes(input.as_bytes(), Alg::Rs256));
    let assertion = format!("{input}.{signature}");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", &app_id)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .append_pair("client_assertion_type", JWT_BEARER)
        .append_pair("client_assertion", &assertion)
        .finish();
    let form = Form::parse(body.as_bytes());
    let mut tenant = w.tenant.lock().unwrap_or_else(|p| p.into_inner());
    tenant.clock = VirtualClock::frozen(now);
    let req = TokenRequest {
        endpoint: Endpoint::V2,
        tenant_segment: &w.tenant_id,
        base_url: BASE_URL,
        form: &form,
        basic_auth: None,
    };
    (
        login::authorize(&tenant, &req, GrantType::ClientCredentials),
        values,
    )
}

fn numbers_config() -> ProptestConfig {
    ProptestConfig {
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/proptest-regressions/prop_numbers.txt"
            )),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(numbers_config())]

    /// `exp`, `nbf` and `iat` of any size: a token, AADSTS50027 (malformed) or AADSTS700024
    /// exactly as the skew rule says, and 700024's message with both instants printed (clamped).
    #[test]
    fn numeric_dates_of_any_size_get_the_rules_answer(
        shift in -20i64 * 86_400..20 * 86_400,
        exp in any_numeric_date(),
        nbf in proptest::option::of(any_numeric_date()),
        iat in proptest::option::of(any_numeric_date()),
    ) {
        let w = world();
        let now = T0 + Duration::seconds(shift);
        let mut claims = vec![("exp", &exp)];
        if let Some(n) = &nbf {
            claims.push(("nbf", n));
        }
        if let Some(i) = &iat {
            claims.push(("iat", i));
        }
        let unparsable = claims.iter().any(|(_, d)| matches!(d, NumericDate::Unparsable));
        let (result, values) = time_claims_request(w, now, &claims);
        let exp_value = values[0];
        let nbf_value = nbf.as_ref().map(|_| values[1]);
        // iat is not checked by Entra's rules; it only has to be JSON.
        let malformed = unparsable || exp_value.is_none() || nbf_value.is_some_and(|v| v.is_none());
        let now_s = now.unix_timestamp() as f64;
        match (malformed, result) {
            (true, Err(e)) => prop_assert_eq!(e.code(), 50027),
            (true, Ok(_)) => prop_assert!(false, "a malformed NumericDate got a token"),
            (false, result) => {
                let exp = exp_value.expect("well-formed");
                let nbf = nbf_value.flatten();
                let outside = nbf.is_some_and(|n| now_s < n - SKEW) || now_s >= exp + SKEW;
                match result {
                    Ok(_) => prop_assert!(!outside, "exp {exp}, nbf {nbf:?}, now {now_s}: a token"),
                    Err(e) => {
                        prop_assert!(outside, "exp {exp}, nbf {nbf:?}, now {now_s}: {e:?}");
                        prop_assert_eq!(e.code(), 700024);
                        let message = e.message();
                        let from = format!("assertion valid from {}", printed_instant(nbf.unwrap_or(0.0)));
                        let until = format!("expiry time of assertion {}", printed_instant(exp));
                        prop_assert!(message.contains(&from), "{} in {}", from, message);
                        prop_assert!(message.contains(&until), "{} in {}", until, message);
                    }
                }
            }
        }
    }

    /// Tokens issued with the tenant clock anywhere in its range: back-dated `iat`/`nbf` and
    /// `exp` follow the clock, and the v1 answer's `expires_on`/`not_before` agree.
    #[test]
    fn tokens_issued_anywhere_in_the_clocks_range_follow_the_clock(
        seconds in prop_oneof![
            1 => Just(mock_graph::core::clock::EARLIEST.unix_timestamp()),
            1 => Just(mock_graph::core::clock::LATEST.unix_timestamp()),
            8 => mock_graph::core::clock::EARLIEST.unix_timestamp()
                ..=mock_graph::core::clock::LATEST.unix_timestamp(),
        ],
        v1 in any::<bool>(),
    ) {
        let w = world();
        let now = OffsetDateTime::from_unix_timestamp(seconds).expect("in the calendar");
        let (endpoint, resource) = if v1 {
            (Endpoint::V1, ("resource", "https://graph.microsoft.com"))
        } else {
            (Endpoint::V2, ("scope", "https://graph.microsoft.com/.default"))
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "password")
            .append_pair("client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e")
            .append_pair("username", "admin@contoso.onmicrosoft.com")
            .append_pair("password", "Passw0rd!")
            .append_pair(resource.0, resource.1)
            .finish();
        let form = Form::parse(body.as_bytes());
        let (grant, key) = {
            let mut tenant = w.tenant.lock().unwrap_or_else(|p| p.into_inner());
            prop_assert!(tenant.set_clock(now).is_ok(), "{now} is in the clock's range");
            tenant.clock = VirtualClock::frozen(now);
            let req = TokenRequest {
                endpoint,
                tenant_segment: &w.tenant_id,
                base_url: BASE_URL,
                form: &form,
                basic_auth: None,
            };
            let grant = login::authorize(&tenant, &req, GrantType::Password);
            (grant, tenant.signing_key.clone())
        };
        let grant = match grant {
            Ok(g) => g,
            Err(e) => return Err(TestCaseError::fail(format!("at {now}: {e:?}"))),
        };
        let claims = &grant.access_claims;
        prop_assert_eq!(claims.iat, seconds - 300);
        prop_assert_eq!(claims.nbf, seconds - 300);
        prop_assert_eq!(claims.exp, seconds + 3599);
        let answer = login::token_response(&grant, &key);
        prop_assert!(answer["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
        if v1 {
            prop_assert_eq!(&answer["expires_on"], &Value::String((seconds + 3599).to_string()));
            prop_assert_eq!(&answer["not_before"], &Value::String((seconds - 300).to_string()));
        }
    }
}
