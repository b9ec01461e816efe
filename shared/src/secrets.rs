//! Subscriber credentials at rest: encrypted with KMS under an encryption context
//! naming the tenant and subscription, so a ciphertext copied to another record
//! cannot be decrypted there.

use std::future::Future;

use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::tenant::TenantId;

/// The variable naming the KMS key that seals subscriber secrets.
pub const KEY_VARIABLE: &str = "SECRETS_KMS_KEY_ID";

/// What responses show instead of a secret.
pub const MASK: &str = "****";

/// A KMS ciphertext (base64). Never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedSecret(String);

impl SealedSecret {
    /// The masked stand-in used in API responses.
    pub fn masked() -> Self {
        Self(MASK.to_owned())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("secret sealing: {0}")]
pub struct SealError(String);

pub trait SecretSealer: Send + Sync {
    fn seal(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        plaintext: &str,
    ) -> impl Future<Output = Result<SealedSecret, SealError>> + Send;

    fn open(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        sealed: &SealedSecret,
    ) -> impl Future<Output = Result<String, SealError>> + Send;
}

pub struct KmsSealer {
    client: Client,
    key_id: String,
}

impl KmsSealer {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

impl SecretSealer for KmsSealer {
    async fn seal(&self, tenant: &TenantId, subscription_id: &str, plaintext: &str) -> Result<SealedSecret, SealError> {
        let output = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext.as_bytes()))
            .encryption_context("tenant", tenant.as_str())
            .encryption_context("subscriptionId", subscription_id)
            .send()
            .await
            .map_err(|e| SealError(DisplayErrorContext(e).to_string()))?;
        let blob = output
            .ciphertext_blob
            .ok_or_else(|| SealError("KMS returned no ciphertext".into()))?;
        Ok(SealedSecret(STANDARD.encode(blob.as_ref())))
    }

    async fn open(&self, tenant: &TenantId, subscription_id: &str, sealed: &SealedSecret) -> Result<String, SealError> {
        let ciphertext = STANDARD
            .decode(&sealed.0)
            .map_err(|e| SealError(format!("stored ciphertext: {e}")))?;
        let output = self
            .client
            .decrypt()
            // Naming the key makes KMS refuse a ciphertext made under any other key.
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context("tenant", tenant.as_str())
            .encryption_context("subscriptionId", subscription_id)
            .send()
            .await
            .map_err(|e| SealError(DisplayErrorContext(e).to_string()))?;
        let plaintext = output
            .plaintext
            .ok_or_else(|| SealError("KMS returned no plaintext".into()))?;
        String::from_utf8(plaintext.into_inner()).map_err(|_| SealError("plaintext is not UTF-8".into()))
    }
}

/// A reversible stand-in for KMS in unit tests (not encryption).
#[derive(Default)]
pub struct FakeSealer;

impl SecretSealer for FakeSealer {
    async fn seal(&self, tenant: &TenantId, subscription_id: &str, plaintext: &str) -> Result<SealedSecret, SealError> {
        Ok(SealedSecret(
            STANDARD.encode(format!("{tenant}/{subscription_id}/{plaintext}")),
        ))
    }

    async fn open(&self, tenant: &TenantId, subscription_id: &str, sealed: &SealedSecret) -> Result<String, SealError> {
        let text = STANDARD
            .decode(&sealed.0)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| SealError("not sealed by FakeSealer".into()))?;
        text.strip_prefix(&format!("{tenant}/{subscription_id}/"))
            .map(str::to_owned)
            .ok_or_else(|| SealError("sealed for another record".into()))
    }
}
