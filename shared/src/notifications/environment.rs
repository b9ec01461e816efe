//! notification-job's settings and clients, from the environment, once per
//! container. The SendGrid API key comes from Secrets Manager, never from an
//! environment variable.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use super::runner::NotificationRunner;
use crate::config::{self, ConfigError};
use crate::sendgrid::{Address, RetryPolicy, SendGrid};

impl NotificationRunner {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = crate::aws::sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let jobs_table = config::required("JOBS_TABLE")?;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let api_key = sendgrid_api_key(&secrets, &config::required("SENDGRID_API_KEY_SECRET_ARN")?).await?;
        let sendgrid = SendGrid::new(
            config::string_or("SENDGRID_BASE_URL", "https://api.sendgrid.com"),
            api_key,
            RetryPolicy::default(),
        )
        .map_err(|e| ConfigError::Invalid {
            name: "SENDGRID_BASE_URL",
            reason: e.to_string(),
        })?;
        let from = Address {
            email: config::required("SENDGRID_FROM_EMAIL")?,
            name: Some(config::string_or("SENDGRID_FROM_NAME", "")).filter(|n| !n.is_empty()),
        };
        Ok(Self::new(
            &dynamodb,
            &jobs_table,
            &config::required("PROJECTIONS_TABLE")?,
            sendgrid,
            from,
        ))
    }
}

/// The secret's value: the key itself, or JSON with an `api_key` (or `apiKey`) member.
pub async fn sendgrid_api_key(secrets: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "SENDGRID_API_KEY_SECRET_ARN",
        reason,
    };
    let secret = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| invalid(DisplayErrorContext(e).to_string()))?
        .secret_string
        .ok_or_else(|| invalid("the secret has no string value".into()))?;
    match serde_json::from_str::<serde_json::Value>(&secret) {
        Ok(json) => ["api_key", "apiKey"]
            .iter()
            .find_map(|name| json.get(name).and_then(|v| v.as_str()).map(str::to_owned))
            .ok_or_else(|| invalid("the secret's JSON has no api_key".into())),
        Err(_) => Ok(secret.trim().to_owned()),
    }
}
