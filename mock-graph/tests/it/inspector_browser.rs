//! The inspector page in a real headless Chromium, driven over WebDriver as a person would use
//! it (clicks, typing, Enter to submit): a refused token request appears in the live journal
//! with its AADSTS code and opens to its decoded client assertion; advancing the clock from the
//! form past a certificate's end marks it expired; a 429 rule added from the form makes the next
//! token request answer 429 with its Retry-After; a snapshot downloaded and uploaded gives the
//! same tenant. Each view is saved under `target/inspector-screenshots/`.
//!
//! Skipped visibly (the `prerequisites` crate) without Debian's chromium and chromium-driver,
//! which `cargo xtask test` installs. One browser at a time: the tests share a lock, because
//! several Chromiums at once on a small machine only make each slower.

use crate::support::*;
use crate::webdriver::{Browser, ENTER};
use serde_json::{Value, json};
use time::Duration;

static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The page at `view` of the default tenant, loaded and ready.
async fn open(browser: &Browser, env: &Env, view: &str) {
    let url = format!(
        "{}/_mock/ui/#/{}/{view}",
        env.server.url, env.server.tenant_id
    );
    browser.goto(&url).await;
    browser
        .wait_for(
            "the page to load",
            "return document.body.dataset.ready === 'yes'",
            json!([]),
        )
        .await;
}

/// Follows the navigation link to `view`, as a person clicks it.
async fn show(browser: &Browser, view: &str) {
    browser
        .find(&format!("#views a[data-view='{view}']"))
        .await
        .click()
        .await;
    browser
        .wait_for(
            view,
            "return !document.getElementById('view-' + arguments[0]).hidden",
            json!([view]),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_request_appears_in_the_journal_with_its_aadsts_code() {
    let Some(chromium) = prerequisites::chromium("inspector_browser::journal") else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let env = Env::start().await;
    let registered = TestCert::new("registered");
    let app = env.register_app("Journal", &registered);
    let browser = Browser::start(&chromium).await;
    open(&browser, &env, "journal").await;
    browser
        .wait_for(
            "the live journal",
            "return document.getElementById('journal-state').textContent === 'Live'",
            json!([]),
        )
        .await;

    // Signed with a certificate the application does not hold: AADSTS700027.
    let other = TestCert::new("not-registered");
    let refused = env
        .app_token_answer(
            &app.app_id.to_string(),
            &other,
            "https://graph.microsoft.com",
        )
        .await;
    assert!(refused["error_codes"][0] == 700027, "{refused}");

    let row = "#journal-list tr[data-outcome='refused']";
    browser.find(row).await;
    let text = browser.text(row).await;
    assert!(text.contains("700027"), "{text}");
    assert!(text.contains(&app.app_id.to_string()), "{text}");
    browser.screenshot("journal").await;

    // Opened, the entry shows why and the assertion it carried, decoded.
    browser.find(&format!("{row} a")).await.click().await;
    let entry = browser.text("#journal-entry").await;
    assert!(entry.contains("AADSTS700027"), "{entry}");
    assert!(
        entry.contains(&other.x5t()),
        "the assertion's header: {entry}"
    );
    assert!(
        entry.contains(&app.app_id.to_string()),
        "its claims: {entry}"
    );
    assert!(!entry.contains("PRIVATE KEY"));
    browser.screenshot("journal-entry").await;
    // Scrolled to the decoded assertion, as a reader would.
    browser
        .eval(
            "const h = [...document.querySelectorAll('#entry-body h4')].pop(); \
             h.scrollIntoView({block: 'start'}); return true",
            json!([]),
        )
        .await;
    browser.screenshot("journal-entry-assertion").await;

    // Narrow, the same list reads as cards.
    browser.resize(420, 900).await;
    browser.screenshot("journal-narrow").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn advancing_the_clock_past_a_certificates_end_marks_it_expired() {
    let Some(chromium) = prerequisites::chromium("inspector_browser::clock") else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let env = Env::start().await;
    // `register_app` gives the certificate 300 days.
    let app = env.register_app("Expiring soon", &TestCert::new("soon"));
    let key_id = env.server.with_tenant(|t| {
        t.directory
            .application(app.application_id)
            .unwrap()
            .key_credentials[0]
            .key_id
    });
    let credential = format!("#applications li.credential[data-key-id='{key_id}']");
    let browser = Browser::start(&chromium).await;
    open(&browser, &env, "directory").await;
    browser.find(&credential).await;
    let class = browser
        .eval(
            "return document.querySelector(arguments[0]).className",
            json!([credential]),
        )
        .await;
    assert!(class.as_str().unwrap().contains("valid"), "{class}");
    // The test put the key in place itself: no principal added it, and the page says so.
    let marks = browser.text(&format!("{credential} .marks")).await;
    assert!(marks.contains("Added by a test"), "{marks}");
    let started = env.now();
    browser.screenshot("directory").await;

    show(&browser, "clock").await;
    let amount = browser.find("#advance-amount").await;
    amount.clear().await;
    // Days is the unit the form starts with; Enter submits.
    amount.type_text(&format!("301{ENTER}")).await;
    browser
        .wait_for(
            "the clock to move",
            "return document.getElementById('notice').textContent.includes('Moved by')",
            json!([]),
        )
        .await;
    browser.screenshot("clock").await;
    // The Set field offers the time the clock moved to (the notice names it; the clock's own
    // display runs on), not the one it left.
    let offered = browser
        .eval("return document.getElementById('set-at').value", json!([]))
        .await;
    let offered = offered.as_str().unwrap_or_default().to_owned();
    let notice = browser.text("#notice").await;
    assert!(
        !offered.is_empty() && notice.contains(&format!("clock shows {offered}")),
        "the Set field offers {offered:?} after the advance: {notice}"
    );
    let moved = env.now() - started;
    assert!(
        moved >= Duration::days(301) && moved < Duration::days(301) + Duration::minutes(5),
        "the tenant's clock moved by 301 days, not {moved}"
    );

    show(&browser, "directory").await;
    browser
        .wait_for(
            "the credential to be marked expired",
            "const e = document.querySelector(arguments[0]); \
             return e !== null && e.classList.contains('expired') && e.textContent.includes('Expired')",
            json!([credential]),
        )
        .await;
    browser.screenshot("directory-expired").await;
    browser.resize(420, 900).await;
    browser.screenshot("directory-narrow").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_rule_added_from_the_form_answers_the_next_token_request() {
    let Some(chromium) = prerequisites::chromium("inspector_browser::faults") else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let env = Env::start().await;
    let app = env.register_app("Throttled", &TestCert::new("throttled"));
    let browser = Browser::start(&chromium).await;
    open(&browser, &env, "faults").await;

    // Match by operation (the form's default), the token endpoint.
    browser
        .find("#fault-operation option[value='token']")
        .await
        .click()
        .await;
    browser.find("#fault-retry").await.type_text("7").await;
    let status = browser.find("#fault-status").await;
    status.type_text(&format!("429{ENTER}")).await;
    browser.find("#fault-list tr[data-rule]").await;
    let rule = browser.text("#fault-list tr[data-rule]").await;
    assert!(rule.contains("429"), "{rule}");
    browser.screenshot("faults").await;

    let throttled = env
        .http
        .post(env.server.token_url_v2())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &app.app_id.to_string()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");
    // The journal names the rule that answered.
    let journal = env
        .call(
            "GET",
            &format!("/_mock/tenants/{}/requests", env.server.tenant_id),
            None,
            None,
        )
        .await;
    let last = journal.body["value"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["status"], 429, "{last}");
    assert!(last["fault"].is_string(), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_downloaded_and_uploaded_gives_the_same_tenant() {
    let Some(chromium) = prerequisites::chromium("inspector_browser::snapshot") else {
        return;
    };
    let _one = ONE_BROWSER.lock().await;
    let env = Env::start().await;
    // A frozen clock, so that the tenant's time is part of what must come back unchanged.
    env.call(
        "POST",
        &format!("/_mock/tenants/{}/clock", env.server.tenant_id),
        None,
        Some(json!({"frozen": true})),
    )
    .await
    .assert_status(200);
    env.register_app("Kept", &TestCert::new("kept"));
    let snapshot_path = format!("/_mock/tenants/{}/snapshot", env.server.tenant_id);
    let before = env.call("GET", &snapshot_path, None, None).await;
    let before = before.assert_status(200).clone();

    let browser = Browser::start(&chromium).await;
    open(&browser, &env, "snapshot").await;
    browser.find("#snapshot-download").await.click().await;
    let file = browser.downloaded().await;
    let downloaded: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(downloaded, before, "the download is the snapshot");
    browser.screenshot("snapshot").await;

    // The tenant changes; the upload puts it back.
    env.register_app("Added after the download", &TestCert::new("later"));
    let changed = env.call("GET", &snapshot_path, None, None).await;
    assert_ne!(changed.body, before);
    browser.find("#replace-file").await.choose_file(&file).await;
    browser
        .find("#snapshot-replace button[type='submit']")
        .await
        .click()
        .await;
    browser
        .wait_for(
            "the tenant to be replaced",
            "return document.getElementById('notice').textContent.includes('now holds')",
            json!([]),
        )
        .await;
    browser.screenshot("snapshot-replaced").await;
    let after = env.call("GET", &snapshot_path, None, None).await;
    assert_eq!(after.assert_status(200), &before);
}
