//! notification-job's settings. The SendGrid API key comes from Secrets
//! Manager, never from an environment variable.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::sendgrid::Address;
use crate::storage::schema::{JOBS, PROJECTIONS};

#[derive(Debug, Clone)]
pub struct NotificationConfig {
    pub jobs_table: String,
    pub projections_table: String,
    /// The secret holding the SendGrid API key.
    pub sendgrid_key_secret_arn: String,
    pub sendgrid_base_url: String,
    /// The sender of every e-mail.
    pub from: Address,
}

const SECRET_ARN: &str = "SENDGRID_API_KEY_SECRET_ARN";
const BASE_URL: &str = "SENDGRID_BASE_URL";
const FROM_EMAIL: &str = "SENDGRID_FROM_EMAIL";
const FROM_NAME: &str = "SENDGRID_FROM_NAME";

impl FunctionConfig for NotificationConfig {
    const VARIABLES: &'static [&'static str] = &[
        JOBS.env_var,
        PROJECTIONS.env_var,
        SECRET_ARN,
        BASE_URL,
        FROM_EMAIL,
        FROM_NAME,
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        Ok(Self {
            jobs_table: env.required(JOBS.env_var)?,
            projections_table: env.required(PROJECTIONS.env_var)?,
            sendgrid_key_secret_arn: env.required(SECRET_ARN)?,
            sendgrid_base_url: env.string_or(BASE_URL, "https://api.sendgrid.com"),
            from: Address {
                email: env.required(FROM_EMAIL)?,
                name: Some(env.string_or(FROM_NAME, "")).filter(|n| !n.is_empty()),
            },
        })
    }
}

impl NotificationConfig {
    /// A SendGrid base URL that is not a URL names its variable.
    pub(super) fn invalid_base_url(reason: impl ToString) -> ConfigError {
        ConfigError::Invalid {
            name: BASE_URL,
            reason: reason.to_string(),
        }
    }
}

/// The secret's value: the key itself, or JSON with an `api_key` (or `apiKey`) member.
pub async fn sendgrid_api_key(secrets: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: SECRET_ARN,
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
