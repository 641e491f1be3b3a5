//! The scheduler: its runs, its settings, and the events they log (read back from the event log,
//! with the requests the tenant journaled).

use super::*;

#[when("the scheduler runs")]
#[given("the scheduler runs")]
async fn scheduler_runs(w: &mut EntraWorld) -> anyhow::Result<()> {
    let before = before_rotating(w, None).await?;
    let run = server(w).run_scheduler_once().await?;
    let effects = effects_since(w, &before).await?;
    let srv = sync(w);
    srv.last_cycle = run.sync_cycle.clone();
    srv.cycle_requests = effects.requests.clone();
    srv.last_rotation = run.rotation.clone();
    srv.run_effects = Some(effects);
    srv.last_run = Some(run);
    Ok(())
}

#[when(expr = "the scheduler setting {word} is set to {word}")]
#[given(expr = "the scheduler setting {word} is set to {word}")]
async fn scheduler_setting(w: &mut EntraWorld, name: String, value: String) -> anyhow::Result<()> {
    let flag: bool = value
        .parse()
        .with_context(|| format!("{value} is not true or false"))?;
    let mut change = SchedulerChange::default();
    match name.as_str() {
        "SyncCycleEnabled" => change.sync_cycle_enabled = Some(flag),
        "MaintenanceEnabled" => change.maintenance_enabled = Some(flag),
        "SchedulerSuspended" => change.scheduler_suspended = Some(flag),
        other => bail!("unknown scheduler setting {other}"),
    }
    server(w).set_scheduler(&change)?;
    Ok(())
}

fn last_run(w: &mut EntraWorld) -> anyhow::Result<&SchedulerRun> {
    sync(w)
        .last_run
        .as_ref()
        .ok_or_else(|| anyhow!("the scheduler has not run"))
}

/// The events the last scheduler run left in the event log (read back, not its report).
fn run_events(w: &mut EntraWorld) -> anyhow::Result<Vec<Event>> {
    sync(w)
        .run_effects
        .as_ref()
        .map(|e| e.events.clone())
        .ok_or_else(|| anyhow!("the scheduler has not run"))
}

#[then(expr = "the scheduler run logged event {int}")]
async fn run_logged(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = run_events(w)?;
    ensure!(
        events.iter().any(|e| e.id == id),
        "the run logged {:?}",
        ids_of(&events)
    );
    Ok(())
}

#[then(expr = "the scheduler run logged no event {int}")]
async fn run_not_logged(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = run_events(w)?;
    ensure!(
        !events.iter().any(|e| e.id == id),
        "the run logged {:?}",
        ids_of(&events)
    );
    Ok(())
}

#[then("the scheduler run did nothing")]
async fn run_did_nothing(w: &mut EntraWorld) -> anyhow::Result<()> {
    let effects = sync(w)
        .run_effects
        .clone()
        .ok_or_else(|| anyhow!("the scheduler has not run"))?;
    let run = last_run(w)?;
    ensure!(run.suspended, "the scheduler was not suspended");
    ensure!(
        run.events.is_empty() && run.rotation.is_none() && run.sync_cycle.is_none(),
        "the run did {run:?}"
    );
    // What the run reports is not enough: nothing in the event log, nothing sent to the
    // tenant, the same certificate.
    ensure!(
        effects.events.is_empty(),
        "the run logged {:?}",
        ids_of(&effects.events)
    );
    ensure!(
        effects.requests.is_empty(),
        "the run sent the tenant {:?}",
        effects
            .requests
            .iter()
            .map(|r| r
                .operation
                .map_or_else(|| r.path.clone(), |o| o.to_string()))
            .collect::<Vec<_>>()
    );
    let srv = sync(w);
    let before = srv
        .before_rotation
        .as_ref()
        .and_then(|b| b.certificate.clone());
    let now = srv
        .server
        .config()?
        .application
        .map(|a| a.certificate_sha256_hash);
    ensure!(
        now == before,
        "the connector's certificate changed from {before:?} to {now:?}"
    );
    Ok(())
}

fn ids_of(events: &[Event]) -> Vec<u32> {
    events.iter().map(|e| e.id).collect()
}

#[then(expr = "event {int} was logged with level {word} saying {string}")]
async fn event_logged(
    w: &mut EntraWorld,
    id: u32,
    level: String,
    text: String,
) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(id),
        ..Default::default()
    })?;
    let last = events
        .last()
        .ok_or_else(|| anyhow!("no event {id} in the event log"))?;
    ensure!(
        last.level.to_string() == level,
        "event {id} has level {}",
        last.level
    );
    ensure!(
        last.message.contains(&text),
        "event {id} says {:?}",
        last.message
    );
    Ok(())
}

#[then(expr = "no event {int} was logged")]
async fn no_event(w: &mut EntraWorld, id: u32) -> anyhow::Result<()> {
    let events = server(w).event_log().query(&EventQuery {
        id: Some(id),
        ..Default::default()
    })?;
    ensure!(
        events.is_empty(),
        "event {id} was logged: {:?}",
        events.last()
    );
    Ok(())
}
