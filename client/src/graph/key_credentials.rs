//! keyCredentials: a certificate as a verify key, the whole collection replaced through PATCH,
//! and addKey/removeKey with a proof of possession signed over a [`Signer`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::assertion::proof_of_possession;
use crate::cert::Certificate;
use crate::clock::Clock;
use crate::ids::{KeyCredentialId, ObjectId};
use crate::keys::Signer;

use super::client::{GraphClient, ObjectRef};
use super::error::GraphError;

/// A keyCredential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyCredentialId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<OffsetDateTime>,
    /// Base64 of the certificate DER; Graph returns it only on a `$select`ed single GET.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub usage: String,
}

impl KeyCredential {
    /// A certificate as a verify key: type AsymmetricX509Cert, usage Verify, the
    /// certificate's validity and subject.
    pub fn for_certificate(cert: &Certificate) -> Result<Self, GraphError> {
        let info = cert.info().map_err(GraphError::Certificate)?;
        Ok(Self {
            key_id: None,
            custom_key_identifier: None,
            display_name: Some(info.subject),
            start_date_time: Some(info.not_before),
            end_date_time: Some(info.not_after),
            key: Some(B64.encode(cert.der())),
            kind: "AsymmetricX509Cert".into(),
            usage: "Verify".into(),
        })
    }
}

impl GraphClient {
    /// Replaces the whole keyCredentials collection (PATCH semantics for collections).
    pub async fn set_key_credentials(
        &self,
        app: &ObjectRef,
        keys: &[KeyCredential],
    ) -> Result<(), GraphError> {
        self.update_application(app, &json!({ "keyCredentials": keys }))
            .await
    }

    /// addKey with a ready proof.
    pub async fn add_key(
        &self,
        app: &ObjectRef,
        key: &KeyCredential,
        proof: &str,
    ) -> Result<KeyCredential, GraphError> {
        let body = json!({ "keyCredential": key, "passwordCredential": null, "proof": proof });
        self.send_json(
            Method::POST,
            &format!("{}/addKey", app.path("applications")),
            &[],
            Some(&body),
        )
        .await
    }

    /// removeKey with a ready proof.
    pub async fn remove_key(
        &self,
        app: &ObjectRef,
        key_id: &KeyCredentialId,
        proof: &str,
    ) -> Result<(), GraphError> {
        let body = json!({ "keyId": key_id, "proof": proof });
        self.send_empty(
            Method::POST,
            &format!("{}/removeKey", app.path("applications")),
            Some(&body),
        )
        .await
    }

    /// Adds `new_cert` to the application `app_object_id`, proving possession of one of its
    /// current keys (`current_cert`, signed by `current_key`).
    pub async fn add_key_with_proof(
        &self,
        app_object_id: &ObjectId,
        new_cert: &Certificate,
        current_cert: &Certificate,
        current_key: &dyn Signer,
        clock: &dyn Clock,
    ) -> Result<KeyCredential, GraphError> {
        let proof = proof_of_possession(current_key, current_cert, app_object_id, clock)?;
        let key = KeyCredential::for_certificate(new_cert)?;
        self.add_key(&ObjectRef::Id(app_object_id.clone()), &key, &proof)
            .await
    }

    /// Removes the key `key_id` from the application `app_object_id`, with a proof signed
    /// by a key that stays.
    pub async fn remove_key_with_proof(
        &self,
        app_object_id: &ObjectId,
        key_id: &KeyCredentialId,
        signing_cert: &Certificate,
        signing_key: &dyn Signer,
        clock: &dyn Clock,
    ) -> Result<(), GraphError> {
        let proof = proof_of_possession(signing_key, signing_cert, app_object_id, clock)?;
        self.remove_key(&ObjectRef::Id(app_object_id.clone()), key_id, &proof)
            .await
    }
}
