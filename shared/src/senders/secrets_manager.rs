//! Tenants' senders in Secrets Manager, one secret per tenant named
//! `<prefix><tenant>/sendgrid` (the prefix is the stack's, so one IAM resource
//! pattern covers them all). The value is JSON: `api_key`, `from_email`, `from_name`.
//! The sender alone (no key) is the secret's description, JSON too: what
//! `GET /api/v1/settings/sendgrid` answers is read with `DescribeSecret`, which
//! never returns the value, so that function's role cannot read any key.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::{SenderStore, StoredAddress, StoredSender};
use crate::aws::ErrorKind;
use crate::sendgrid::{Address, ApiKey, Sender};
use crate::storage::StorageError;
use crate::tenant::TenantId;

/// The variable naming the prefix of tenants' secrets.
pub const PREFIX_VARIABLE: &str = "TENANT_SECRETS_PREFIX";

pub struct SecretsManagerSenders {
    client: Client,
    prefix: String,
}

/// The secret's value. It names its tenant too: a key read for one tenant is
/// used only if it was written for that tenant, whatever the names.
#[derive(Serialize, Deserialize)]
struct SecretValue {
    tenant: String,
    api_key: String,
    from_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_name: Option<String>,
}

/// The secret's description: its sender without the key, and its tenant.
#[derive(Serialize, Deserialize)]
struct Description {
    tenant: String,
    from_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_name: Option<String>,
}

impl SecretsManagerSenders {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    /// Tenant ids hold no `/`, so no tenant's name is another's.
    fn name(&self, tenant: &TenantId) -> String {
        format!("{}{tenant}/sendgrid", self.prefix)
    }

    /// The new value and its description in one call.
    async fn put_value(&self, name: &str, value: &str, description: &str) -> Result<(), PutError> {
        match self
            .client
            .update_secret()
            .secret_id(name)
            .description(description)
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Err(PutError::Missing),
            Err(err) if err.code() == Some("InvalidRequestException") => {
                Err(PutError::Failed(being_deleted("UpdateSecret", err)))
            }
            Err(err) => Err(PutError::Failed(StorageError::sdk("UpdateSecret", err))),
        }
    }

    async fn create(&self, name: &str, value: &str, description: &str) -> Result<bool, StorageError> {
        match self
            .client
            .create_secret()
            .name(name)
            .description(description)
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            // Another request created it first.
            Err(err) if err.code() == Some("ResourceExistsException") => Ok(false),
            Err(err) if err.code() == Some("InvalidRequestException") => Err(being_deleted("CreateSecret", err)),
            Err(err) => Err(StorageError::sdk("CreateSecret", err)),
        }
    }
}

/// Secrets Manager refuses to write a secret of a name still being deleted (a
/// DELETE just before): a moment later it is gone, so the caller may try again.
fn being_deleted<E>(what: &'static str, err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StorageError::caused(
        ErrorKind::Conflict,
        format!("{what} (the tenant's previous key is still being deleted)"),
        err,
    )
}

enum PutError {
    Missing,
    Failed(StorageError),
}

impl SenderStore for SecretsManagerSenders {
    async fn get(&self, tenant: &TenantId) -> Result<Option<StoredSender>, StorageError> {
        let output = match self.client.get_secret_value().secret_id(self.name(tenant)).send().await {
            Ok(output) => output,
            Err(err) if gone(err.code()) => return Ok(None),
            Err(err) => return Err(StorageError::sdk("GetSecretValue", err)),
        };
        let value: SecretValue = output
            .secret_string()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| StorageError::other("a tenant's SendGrid secret is not as this service writes it"))?;
        if value.tenant != tenant.as_str() {
            tracing::error!(%tenant, "a SendGrid secret under this tenant's name was written for another; not used");
            return Ok(None);
        }
        let updated_at = output
            .created_date()
            .and_then(|at| DateTime::from_timestamp_millis(at.to_millis().ok()?))
            .unwrap_or_else(Utc::now);
        Ok(Some(StoredSender {
            sender: Sender {
                key: ApiKey::new(value.api_key),
                from: Address {
                    email: value.from_email,
                    name: value.from_name,
                },
            },
            updated_at,
        }))
    }

    async fn put(&self, tenant: &TenantId, sender: &Sender) -> Result<StoredSender, StorageError> {
        let value = SecretValue {
            tenant: tenant.to_string(),
            api_key: sender.key.expose().to_owned(),
            from_email: sender.from.email.clone(),
            from_name: sender.from.name.clone(),
        };
        let description = Description {
            tenant: tenant.to_string(),
            from_email: sender.from.email.clone(),
            from_name: sender.from.name.clone(),
        };
        // Serialising plain strings cannot fail.
        let value = serde_json::to_string(&value).unwrap_or_default();
        let description = serde_json::to_string(&description).unwrap_or_default();
        let name = self.name(tenant);
        // Most puts replace a key: try that first, and create the secret when missing.
        match self.put_value(&name, &value, &description).await {
            Ok(()) => {}
            Err(PutError::Failed(err)) => return Err(err),
            Err(PutError::Missing) => {
                if !self.create(&name, &value, &description).await? {
                    self.put_value(&name, &value, &description)
                        .await
                        .map_err(|err| match err {
                            PutError::Failed(err) => err,
                            PutError::Missing => StorageError::new(ErrorKind::Conflict, "PutSecretValue", None),
                        })?;
                }
            }
        }
        Ok(StoredSender {
            sender: sender.clone(),
            updated_at: Utc::now(),
        })
    }

    async fn address(&self, tenant: &TenantId) -> Result<Option<StoredAddress>, StorageError> {
        let output = match self.client.describe_secret().secret_id(self.name(tenant)).send().await {
            Ok(output) if output.deleted_date().is_some() => return Ok(None),
            Ok(output) => output,
            Err(err) if gone(err.code()) => return Ok(None),
            Err(err) => return Err(StorageError::sdk("DescribeSecret", err)),
        };
        let Some(description) = output
            .description()
            .and_then(|text| serde_json::from_str::<Description>(text).ok())
        else {
            // Written before the sender was kept in the description.
            return Err(StorageError::other(
                "the tenant's SendGrid secret does not describe its sender (written before it did): \
                 PUT the settings again",
            ));
        };
        if description.tenant != tenant.as_str() {
            tracing::error!(%tenant, "a SendGrid secret under this tenant's name was written for another; not used");
            return Ok(None);
        }
        let updated_at = output
            .last_changed_date()
            .or(output.created_date())
            .and_then(|at| DateTime::from_timestamp_millis(at.to_millis().ok()?))
            .unwrap_or_else(Utc::now);
        Ok(Some(StoredAddress {
            from: Address {
                email: description.from_email,
                name: description.from_name,
            },
            updated_at,
        }))
    }

    async fn delete(&self, tenant: &TenantId) -> Result<(), StorageError> {
        // Without recovery: the tenant may set a new key right away, and the old
        // one is not kept by the service once the tenant took it back.
        let deleted = self
            .client
            .delete_secret()
            .secret_id(self.name(tenant))
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Already gone, or already being deleted.
            Err(err)
                if matches!(
                    err.code(),
                    Some("ResourceNotFoundException" | "InvalidRequestException")
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(StorageError::sdk("DeleteSecret", err)),
        }
    }
}

/// Whether a secret call's error code says there is no secret (InvalidRequestException:
/// it is being deleted).
fn gone(code: Option<&str>) -> bool {
    matches!(code, Some("ResourceNotFoundException" | "InvalidRequestException"))
}
