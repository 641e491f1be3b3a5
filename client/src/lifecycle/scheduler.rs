//! The scheduler: its settings (`Get-/Set-ADSyncScheduler`: sync cycle every 30 minutes by
//! default, `SyncCycleEnabled`, `MaintenanceEnabled`, suspension) and one run of it. A run,
//! unless the scheduler is suspended: the maintenance task when it is enabled (automatic
//! onboarding, warnings 1011/1012, automatic rotation of a managed certificate), warning 1014,
//! and the sync cycle when it is due. Suspended, or with maintenance disabled, nothing is
//! onboarded or rotated by itself and no 1011/1012 is written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::config::{JsonFile, ManagedBy, serde_as_string};
use crate::events::{Event, Level, SOURCE_ADSYNC, ids};

use super::certcheck::{CertificateStatus, CheckEvents};
use super::error::LifecycleError;
use super::onboarding::AutomaticOnboarding;
use super::rotation::RotationOutcome;
use super::server::SyncServer;
use super::sync_cycle::{PolicyType, SyncCycleResult};

/// The default (and shortest allowed) sync cycle interval.
pub const DEFAULT_INTERVAL: Duration = Duration::minutes(30);
/// How long run history is kept by default.
pub const DEFAULT_PURGE: Duration = Duration::days(7);

/// A `d.HH:mm:ss` TimeSpan, as the scheduler cmdlets print and take intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpan(pub Duration);

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.whole_seconds();
        let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
        if d > 0 {
            write!(f, "{d}.{h:02}:{m:02}:{sec:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{sec:02}")
        }
    }
}

impl FromStr for TimeSpan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid interval '{s}' (expected d.HH:mm:ss or HH:mm:ss)");
        let (days, rest) = match s.trim().split_once('.') {
            Some((d, r)) => (d.parse::<i64>().map_err(|_| bad())?, r),
            None => (0, s.trim()),
        };
        let parts: Vec<i64> = rest
            .split(':')
            .map(|p| p.parse::<i64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let [h, m, sec] = parts[..] else {
            return Err(bad());
        };
        if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) || days < 0 {
            return Err(bad());
        }
        Ok(TimeSpan(Duration::seconds(
            days * 86400 + h * 3600 + m * 60 + sec,
        )))
    }
}

serde_as_string!(TimeSpan);

/// The scheduler's settings, with `Get-ADSyncScheduler`'s property names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchedulerSettings {
    #[serde(default)]
    pub customized_sync_cycle_interval: Option<TimeSpan>,
    #[serde(default)]
    pub next_sync_cycle_policy_type: PolicyType,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_sync_cycle_start_time_in_utc: Option<OffsetDateTime>,
    pub purge_run_history_interval: TimeSpan,
    pub sync_cycle_enabled: bool,
    pub maintenance_enabled: bool,
    #[serde(default)]
    pub staging_mode_enabled: bool,
    #[serde(default)]
    pub scheduler_suspended: bool,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            customized_sync_cycle_interval: None,
            next_sync_cycle_policy_type: PolicyType::Delta,
            next_sync_cycle_start_time_in_utc: None,
            purge_run_history_interval: TimeSpan(DEFAULT_PURGE),
            sync_cycle_enabled: true,
            maintenance_enabled: true,
            staging_mode_enabled: false,
            scheduler_suspended: false,
        }
    }
}

impl SchedulerSettings {
    /// The interval in effect: the customized one, never shorter than the allowed one.
    pub fn effective_interval(&self) -> Duration {
        self.customized_sync_cycle_interval
            .map_or(DEFAULT_INTERVAL, |t| t.0.max(DEFAULT_INTERVAL))
    }
}

/// `Get-ADSyncScheduler`'s output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchedulerView {
    pub allowed_sync_cycle_interval: TimeSpan,
    pub currently_effective_sync_cycle_interval: TimeSpan,
    #[serde(flatten)]
    pub settings: SchedulerSettings,
}

/// A change to the settings (`Set-ADSyncScheduler`); `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SchedulerChange {
    pub sync_cycle_enabled: Option<bool>,
    pub maintenance_enabled: Option<bool>,
    pub scheduler_suspended: Option<bool>,
    pub customized_sync_cycle_interval: Option<Option<TimeSpan>>,
    pub next_sync_cycle_policy_type: Option<PolicyType>,
    pub purge_run_history_interval: Option<TimeSpan>,
}

/// What one scheduler run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchedulerRun {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub suspended: bool,
    pub automatic_onboarding: Option<String>,
    pub certificate: Option<CertificateStatus>,
    pub rotation: Option<RotationOutcome>,
    pub rotation_error: Option<String>,
    pub sync_cycle: Option<SyncCycleResult>,
    /// The events this run wrote.
    pub events: Vec<Event>,
}

fn settings_file(server: &SyncServer) -> JsonFile {
    JsonFile::new(server.state_dir().join("scheduler.json"), 0o600)
}

impl SyncServer {
    /// `Get-ADSyncScheduler`.
    pub fn scheduler(&self) -> Result<SchedulerView, LifecycleError> {
        let settings = self.scheduler_settings()?;
        Ok(SchedulerView {
            allowed_sync_cycle_interval: TimeSpan(DEFAULT_INTERVAL),
            currently_effective_sync_cycle_interval: TimeSpan(settings.effective_interval()),
            settings,
        })
    }

    pub fn scheduler_settings(&self) -> Result<SchedulerSettings, LifecycleError> {
        Ok(settings_file(self).load()?.unwrap_or_default())
    }

    /// `Set-ADSyncScheduler`.
    pub fn set_scheduler(&self, change: &SchedulerChange) -> Result<SchedulerView, LifecycleError> {
        let mut s = self.scheduler_settings()?;
        if let Some(v) = change.sync_cycle_enabled {
            s.sync_cycle_enabled = v;
        }
        if let Some(v) = change.maintenance_enabled {
            s.maintenance_enabled = v;
        }
        if let Some(v) = change.scheduler_suspended {
            s.scheduler_suspended = v;
        }
        if let Some(v) = change.customized_sync_cycle_interval {
            s.customized_sync_cycle_interval = v;
        }
        if let Some(v) = change.next_sync_cycle_policy_type {
            s.next_sync_cycle_policy_type = v;
        }
        if let Some(v) = change.purge_run_history_interval {
            s.purge_run_history_interval = v;
        }
        settings_file(self).save(&s)?;
        self.scheduler()
    }

    /// One run of the scheduler at the client's current time.
    pub async fn run_scheduler_once(&self) -> Result<SchedulerRun, LifecycleError> {
        let mut settings = self.scheduler_settings()?;
        let now = self.now();
        let before = self.event_log().all()?.len();
        let mut run = SchedulerRun {
            time: now,
            suspended: settings.scheduler_suspended,
            automatic_onboarding: None,
            certificate: None,
            rotation: None,
            rotation_error: None,
            sync_cycle: None,
            events: Vec::new(),
        };
        if settings.scheduler_suspended {
            return Ok(run);
        }
        if settings.maintenance_enabled {
            run.automatic_onboarding = self.maintain_onboarding().await?;
        }
        // Warnings 1011/1012 belong to maintenance; 1014 to every run.
        run.certificate = self.check_certificate(CheckEvents {
            expiry: settings.maintenance_enabled,
            not_in_tpm: true,
        })?;
        if settings.maintenance_enabled {
            match self.maintain_rotation(run.certificate.as_ref()).await {
                Ok(outcome) => run.rotation = outcome,
                Err(e) => {
                    self.event(
                        ids::ROTATION_FAILED,
                        Level::Error,
                        SOURCE_ADSYNC,
                        format!("Automatic certificate rotation failed: {e}"),
                    )?;
                    run.rotation_error = Some(e.to_string());
                }
            }
        }
        let due = settings
            .next_sync_cycle_start_time_in_utc
            .is_none_or(|t| t <= now);
        if settings.sync_cycle_enabled && due {
            let policy = settings.next_sync_cycle_policy_type;
            run.sync_cycle = Some(self.start_sync_cycle(policy).await?);
            settings.next_sync_cycle_policy_type = PolicyType::Delta;
            settings.next_sync_cycle_start_time_in_utc = Some(now + settings.effective_interval());
            settings_file(self).save(&settings)?;
        }
        run.events = self.event_log().all()?.into_iter().skip(before).collect();
        Ok(run)
    }

    async fn maintain_onboarding(&self) -> Result<Option<String>, LifecycleError> {
        match self.automatic_onboarding().await {
            Ok(AutomaticOnboarding::NotApplicable) => Ok(None),
            Ok(AutomaticOnboarding::Scheduled { not_before }) => Ok(Some(format!(
                "scheduled at {}",
                not_before
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ))),
            Ok(AutomaticOnboarding::Onboarded { app_id }) => {
                Ok(Some(format!("onboarded to application {app_id}")))
            }
            Err(e) => {
                self.event(
                    ids::SYNC_CYCLE_FAILED,
                    Level::Warning,
                    SOURCE_ADSYNC,
                    format!("Automatic onboarding to application authentication failed; the next run retries: {e}"),
                )?;
                Ok(Some(format!("failed: {e}")))
            }
        }
    }

    /// Finishes an interrupted rotation, or rotates a managed certificate that is due.
    async fn maintain_rotation(
        &self,
        status: Option<&CertificateStatus>,
    ) -> Result<Option<RotationOutcome>, LifecycleError> {
        if let Some(journal) = self.rotation_journal()? {
            return self.advance_rotation(journal, true).await.map(Some);
        }
        let config = self.config()?;
        let managed = config
            .active_application()
            .is_some_and(|a| a.certificate_managed_by == ManagedBy::ConnectSync);
        let due = status.is_some_and(|s| s.rotation_due);
        if !(managed && due && config.automatic_rotation_enabled) {
            return Ok(None);
        }
        self.rotate_credential(None, None).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_read_and_print_like_powershell() {
        let t: TimeSpan = "1.02:03:04".parse().unwrap();
        assert_eq!(t.0.whole_seconds(), 93784);
        assert_eq!(t.to_string(), "1.02:03:04");
        assert_eq!(TimeSpan(DEFAULT_INTERVAL).to_string(), "00:30:00");
        assert!("25:00:00".parse::<TimeSpan>().is_err());
        let s = SchedulerSettings {
            customized_sync_cycle_interval: Some("00:10:00".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(s.effective_interval(), DEFAULT_INTERVAL);
    }
}
