//! The Connect Sync authentication lifecycle, done by the client against the tenant: one
//! [`SyncServer`] (configuration, stores, event log, scheduler) and one module per job.
//!
//! - [`server`]: the server's shared pieces (state, clock, HTTP, admin and app sessions).
//! - [`install`]: a new installation (the managed application from 2.5.3.0) and an in-place
//!   upgrade, with or without the checkbox that configures application authentication.
//! - [`legacy`]: the legacy `Sync_*` service account (add, remove, rollback).
//! - [`registration`]: the application in Entra: registration, permissions, BYOA checks.
//! - [`onboarding`]: managed, BYOC, BYOA and automatic onboarding; the switch to it.
//! - [`certificates`]: the connector's certificates: managed ones made, BYOC ones found and
//!   validated, retired ones removed.
//! - [`byoc`]: an administrator's certificate in LOCAL_MACHINE (`adsync new-certificate`).
//! - [`certcheck`]: events 1011/1012/1014.
//! - [`journal`]: the rotation journal's format, and the points where a crash test stops it.
//! - [`rotation`]: journaled rotation (the steps, resuming after a crash).
//! - [`sync_cycle`]: token and export; events 906 and 6900.
//! - [`scheduler`]: settings and one scheduler run.
//! - [`hygiene`]: the application's other credentials: foreign ones reported, stale ones
//!   removed (`Remove-EntraApplicationKey`).
//! - [`view`]: `Get-ADSyncEntraConnectorCredential` and the current configuration.
//! - [`services`]: the first-party service models' client.
//! - [`error`]: [`LifecycleError`], with the [`Precondition`] kinds and a crash test's stop.

pub mod byoc;
pub mod certcheck;
pub mod certificates;
pub mod error;
pub mod hygiene;
pub mod install;
pub mod journal;
pub mod legacy;
pub mod onboarding;
pub mod registration;
pub mod rotation;
pub mod scheduler;
pub mod server;
pub mod services;
pub mod sync_cycle;
pub mod view;

pub use error::{LifecycleError, Precondition};
pub use server::{AdminCredentials, ServerOptions, SyncServer};
