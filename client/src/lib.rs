//! The real client: everything an Entra Connect Sync server does to authenticate with an
//! application identity. It never depends on the mock: its endpoints come from a cloud profile
//! or an explicit authority URL.
//!
//! Layout:
//! - [`clock`]: the injected time source.
//! - [`ids`]: newtypes for protocol strings (client, tenant and object ids, certificate hashes).
//! - [`keys`]: key providers (TPM 2.0, software) behind the `KeyProvider`/`Signer` traits.
//! - [`cert`]: self-signed certificates over any signer; BYOC validation.
//! - [`import`]: an administrator's own certificate and key (PFX or PEM), read and checked.
//! - [`store`]: the CURRENT_USER and LOCAL_MACHINE certificate stores on disk.
//! - [`assertion`]: client assertions and addKey/removeKey proofs, JWS built by hand.
//! - [`cloud`]: login and Graph endpoints per cloud.
//! - [`http`], [`retry`]: the injectable HTTP layer and bounded retry with an injectable sleeper.
//! - [`token`]: token acquisition (client credentials with a certificate; username/password)
//!   and the token cache.
//! - [`graph`]: the Microsoft Graph calls the lifecycle needs, one module per job, and the send
//!   path that the first-party service models' client shares.
//! - [`config`]: the connector's configuration, persisted atomically.
//! - [`events`]: the Application event log's part for the sync server.
//! - [`lifecycle`]: onboarding, the scheduler, rotation, revocation, the legacy account.

pub mod assertion;
pub mod cert;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod events;
mod fsutil;
pub mod graph;
pub mod http;
pub mod ids;
pub mod import;
pub mod keys;
pub mod lifecycle;
pub mod retry;
pub mod store;
pub mod testing;
pub mod token;
