//! TPM keys against a real swtpm (one private instance per test): creation, attributes,
//! RS256/PS256 signatures verified with aws-lc-rs, slot exhaustion, reopening in a new context.

use adsync_client::keys::{
    KeyProvider, KeyRef, SignatureScheme, Signer, Tpm, TpmKeyBlobs, sign_message,
};
use swtpm::Swtpm;

fn tpm() -> (Swtpm, Tpm) {
    let sw = Swtpm::start().expect("swtpm starts");
    let tpm = Tpm::connect(&sw.tcti()).expect("TPM context");
    (sw, tpm)
}

#[test]
fn tpm_key_is_fixed_tpm_and_fixed_parent() {
    if !prerequisites::swtpm("tpm_keys::tpm_key_is_fixed_tpm_and_fixed_parent") {
        return;
    }
    let (_sw, tpm) = tpm();
    let key = tpm.create().unwrap();
    let attrs = key.attributes().unwrap();
    assert!(attrs.fixed_tpm, "{attrs:?}");
    assert!(attrs.fixed_parent, "{attrs:?}");
    assert!(attrs.sensitive_data_origin);
    assert!(attrs.sign);
    assert!(!attrs.decrypt);
    assert!(!attrs.restricted);
    assert!(key.is_hardware_backed());
    assert_eq!(key.public_key().bits(), 2048);
}

#[test]
fn tpm_signs_rs256_and_ps256_from_one_key() {
    if !prerequisites::swtpm("tpm_keys::tpm_signs_rs256_and_ps256_from_one_key") {
        return;
    }
    let (_sw, tpm) = tpm();
    let key = tpm.create_key().unwrap();
    for scheme in [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPssSha256,
    ] {
        let sig = sign_message(key.as_ref(), b"eyJhbGciOi.eyJhdWQiOi", scheme).unwrap();
        assert_eq!(sig.len(), 256);
        key.public_key()
            .verify(scheme, b"eyJhbGciOi.eyJhdWQiOi", &sig)
            .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
    }
}

#[test]
fn more_keys_than_object_slots_are_created_and_used_in_turn() {
    if !prerequisites::swtpm("tpm_keys::more_keys_than_object_slots_are_created_and_used_in_turn") {
        return;
    }
    let (_sw, tpm) = tpm();
    // swtpm has three transient object slots; the primary takes one.
    let keys: Vec<_> = (0..6).map(|_| tpm.create().unwrap()).collect();
    for round in 0..2 {
        for (i, key) in keys.iter().enumerate() {
            let msg = format!("round {round} key {i}");
            let sig = sign_message(key, msg.as_bytes(), SignatureScheme::RsaPssSha256).unwrap();
            key.public_key()
                .verify(SignatureScheme::RsaPssSha256, msg.as_bytes(), &sig)
                .unwrap();
        }
    }
}

#[test]
fn key_reopened_from_its_blobs_in_a_new_context_still_signs() {
    if !prerequisites::swtpm("tpm_keys::key_reopened_from_its_blobs_in_a_new_context_still_signs") {
        return;
    }
    let sw = Swtpm::start().unwrap();
    let (stored, public) = {
        let tpm = Tpm::connect(&sw.tcti()).unwrap();
        let key = tpm.create().unwrap();
        (key.key_ref(), key.public_key().clone())
    };
    // The first context is gone; the store's JSON round trip is what a restart sees.
    let json = serde_json::to_string(&stored).unwrap();
    let stored: KeyRef = serde_json::from_str(&json).unwrap();

    let tpm = Tpm::connect(&sw.tcti()).unwrap();
    let key = tpm.open_key(&stored).unwrap();
    assert_eq!(key.public_key(), &public);
    let sig = sign_message(
        key.as_ref(),
        b"after restart",
        SignatureScheme::RsaPkcs1Sha256,
    )
    .unwrap();
    public
        .verify(SignatureScheme::RsaPkcs1Sha256, b"after restart", &sig)
        .unwrap();
}

#[test]
fn blobs_from_another_tpm_are_refused() {
    if !prerequisites::swtpm("tpm_keys::blobs_from_another_tpm_are_refused") {
        return;
    }
    let (_sw1, tpm1) = tpm();
    let (_sw2, tpm2) = tpm();
    let key = tpm1.create().unwrap();
    let blobs: TpmKeyBlobs = key.blobs().clone();
    let err = tpm2.open(blobs).unwrap_err();
    assert!(err.to_string().contains("load"), "{err}");
}

#[test]
fn tpm_is_usable_from_async_code_via_spawn_blocking() {
    if !prerequisites::swtpm("tpm_keys::tpm_is_usable_from_async_code_via_spawn_blocking") {
        return;
    }
    let (_sw, tpm) = tpm();
    let key = tpm.create_key().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let key = key.clone();
                tokio::task::spawn_blocking(move || {
                    let msg = format!("task {i}");
                    let sig =
                        sign_message(key.as_ref(), msg.as_bytes(), SignatureScheme::RsaPssSha256)
                            .unwrap();
                    key.public_key()
                        .verify(SignatureScheme::RsaPssSha256, msg.as_bytes(), &sig)
                        .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// A TPM named but not answering (its swtpm stopped): setting it up succeeds, each command that
/// needs it fails with a connection error, and it works again once the TPM answers (the first
/// command opens the context).
#[test]
fn a_lazy_tpm_fails_its_commands_not_its_setup() {
    if !prerequisites::swtpm("tpm_keys::a_lazy_tpm_fails_its_commands_not_its_setup") {
        return;
    }
    let sw = Swtpm::start().expect("swtpm starts");
    let tcti = sw.tcti();
    drop(sw);
    let dead = Tpm::lazy(&tcti).expect("a well-formed TCTI");
    let err = dead.create().expect_err("no TPM answers");
    assert!(err.to_string().starts_with("TPM connect failed"), "{err}");
    assert!(
        Tpm::connect(&tcti).is_err(),
        "connect opens the context at once"
    );
    assert!(
        Tpm::lazy("nosuchtcti:").is_err(),
        "a malformed TCTI is refused at once"
    );

    let (_sw, live) = tpm();
    let lazy = Tpm::lazy(live.tcti()).expect("a well-formed TCTI");
    drop(live);
    let key = lazy.create().expect("the first command opens the context");
    assert!(key.is_hardware_backed());
}

/// An administrator's key brought into the TPM with TPM2_Import: it signs in the TPM (both
/// paddings, checked with the key's public half), reopens from its blobs, and reads back as
/// imported (not fixedTPM/fixedParent, not TPM-generated) with an empty authPolicy, so
/// TPM2_Duplicate cannot take it out.
#[test]
fn an_imported_key_signs_in_the_tpm_and_cannot_be_duplicated() {
    if !prerequisites::swtpm("tpm_keys::an_imported_key_signs_in_the_tpm_and_cannot_be_duplicated")
    {
        return;
    }
    use aws_lc_rs::encoding::AsDer as _;
    let (_sw, tpm) = tpm();
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = pair.as_der().unwrap();
    let parts = adsync_client::keys::RsaPrivateParts::from_pkcs8(pkcs8.as_ref()).unwrap();
    let key = tpm.import(&parts).unwrap();
    assert_eq!(key.public_key(), parts.public_key());
    for scheme in [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::RsaPssSha256,
    ] {
        let sig = sign_message(&key, b"header.payload", scheme).unwrap();
        parts
            .public_key()
            .verify(scheme, b"header.payload", &sig)
            .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
    }
    let attrs = key.attributes().unwrap();
    assert!(!attrs.fixed_tpm && !attrs.fixed_parent, "{attrs:?}");
    assert!(!attrs.sensitive_data_origin, "{attrs:?}");
    assert!(
        attrs.sign && !attrs.decrypt && !attrs.restricted,
        "{attrs:?}"
    );
    assert!(attrs.auth_policy_empty, "{attrs:?}");
    let again = tpm.open(key.blobs().clone()).unwrap();
    assert_eq!(again.public_key(), parts.public_key());
    assert!(again.is_hardware_backed());
}
