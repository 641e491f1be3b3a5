//! Moving time: the tenant's clock and the sync server's clock move together, by a duration
//! or to a day counted from the connector certificate's own notAfter (read here, not by the client).

use super::*;

#[when(expr = "the clocks move forward {int} {word}")]
#[given(expr = "the clocks move forward {int} {word}")]
async fn clocks_forward(w: &mut EntraWorld, n: i64, unit: String) -> anyhow::Result<()> {
    let by = duration(n, &unit)?;
    advance(w, by).await
}

/// Moves both clocks so that the connector's certificate expires in `days` days (negative:
/// expired that many days ago). The certificate's notAfter is read from the certificate itself
/// (parsed here), not from the client's certificate check, whose verdict these steps test.
async fn move_to_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    let srv = server(w);
    let app = srv
        .config()?
        .application
        .ok_or_else(|| anyhow!("the connector has no certificate"))?;
    let entry = srv
        .store(app.certificate_store)
        .get(&app.certificate_sha256_hash)?
        .ok_or_else(|| anyhow!("the connector's certificate is not in its store"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(entry.certificate.der())
        .map_err(|e| anyhow!("the connector's certificate does not parse: {e}"))?;
    let not_after = OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())?;
    let target = not_after - Duration::days(days);
    let by = target - sync(w).clock.now();
    ensure!(!by.is_negative(), "the clocks would have to move backwards");
    advance(w, by).await
}

#[when(expr = "the clocks move to {int} days before the certificate expires")]
#[given(expr = "the clocks move to {int} days before the certificate expires")]
async fn to_days_before_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    move_to_expiry(w, days).await
}

#[when(expr = "the clocks move to {int} day(s) after the certificate expired")]
#[given(expr = "the clocks move to {int} day(s) after the certificate expired")]
async fn to_days_after_expiry(w: &mut EntraWorld, days: i64) -> anyhow::Result<()> {
    move_to_expiry(w, -days).await
}
