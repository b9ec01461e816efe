//! notification-job's settings. SendGrid keys come from Secrets Manager, never
//! from an environment variable: each tenant's own, and the stack's for the
//! tenants the operator lists.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::{ConfigError, Environment, FunctionConfig};
use crate::senders::PREFIX_VARIABLE as TENANT_SECRETS_PREFIX;
use crate::sendgrid::Address;
use crate::storage::schema::{JOBS, PROJECTIONS};
use crate::tenant::TenantList;

#[derive(Debug, Clone)]
pub struct NotificationConfig {
    pub jobs_table: String,
    pub projections_table: String,
    pub sendgrid_base_url: String,
    /// Each tenant's own sender is the secret `<prefix><tenant>/sendgrid`.
    pub tenant_secrets_prefix: String,
    /// The stack's sender; `None` when no tenant may send as the stack.
    pub stack_sender: Option<StackSenderConfig>,
    /// Runs of one tenant's jobs that may go on at once.
    pub runs_per_tenant: u32,
}

/// The stack's SendGrid key and sender, and who may use them.
#[derive(Debug, Clone)]
pub struct StackSenderConfig {
    /// The secret holding the stack's SendGrid API key.
    pub key_secret_arn: String,
    pub from: Address,
    /// Tenants without a key of their own that send with the stack's.
    pub tenants: TenantList,
}

const SECRET_ARN: &str = "SENDGRID_API_KEY_SECRET_ARN";
const BASE_URL: &str = "SENDGRID_BASE_URL";
const FROM_EMAIL: &str = "SENDGRID_FROM_EMAIL";
const FROM_NAME: &str = "SENDGRID_FROM_NAME";
const STACK_SENDER_TENANTS: &str = "STACK_SENDER_TENANTS";
const RUNS_PER_TENANT: &str = "MAX_CONCURRENT_RUNS_PER_TENANT";

impl FunctionConfig for NotificationConfig {
    const VARIABLES: &'static [&'static str] = &[
        JOBS.env_var,
        PROJECTIONS.env_var,
        BASE_URL,
        TENANT_SECRETS_PREFIX,
        STACK_SENDER_TENANTS,
        SECRET_ARN,
        FROM_EMAIL,
        FROM_NAME,
        RUNS_PER_TENANT,
    ];

    fn read(env: &Environment) -> Result<Self, ConfigError> {
        let (jobs_table, projections_table, tenant_secrets_prefix) = (
            env.required(JOBS.env_var)?,
            env.required(PROJECTIONS.env_var)?,
            env.required(TENANT_SECRETS_PREFIX)?,
        );
        let runs_per_tenant = env.count(RUNS_PER_TENANT, super::runs::RUNS_PER_TENANT, 1..=20)?;
        let sendgrid_base_url = env.string_or(BASE_URL, "https://api.sendgrid.com");
        let tenants = TenantList::parse(&env.string_or(STACK_SENDER_TENANTS, ""));
        let (arn, email, name) = (
            env.optional(SECRET_ARN),
            env.optional(FROM_EMAIL),
            env.optional(FROM_NAME),
        );
        let needed_by_tenants = |variable: &'static str| ConfigError::Invalid {
            name: variable,
            reason: format!("must be set when {STACK_SENDER_TENANTS} lists tenants"),
        };
        let stack_sender = if tenants.is_empty() {
            None
        } else {
            Some(StackSenderConfig {
                key_secret_arn: arn.ok_or_else(|| needed_by_tenants(SECRET_ARN))?,
                from: Address {
                    email: email.ok_or_else(|| needed_by_tenants(FROM_EMAIL))?,
                    name,
                },
                tenants,
            })
        };
        Ok(Self {
            jobs_table,
            projections_table,
            sendgrid_base_url,
            tenant_secrets_prefix,
            stack_sender,
            runs_per_tenant,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<NotificationConfig, ConfigError> {
        let mut all = BTreeMap::from([
            (JOBS.env_var, "jobs"),
            (PROJECTIONS.env_var, "projections"),
            (TENANT_SECRETS_PREFIX, "stack/tenants/"),
        ]);
        all.extend(vars.iter().copied());
        let env = Environment::of(&all);
        let config = NotificationConfig::read(&env);
        let listed = NotificationConfig::VARIABLES.iter().map(|v| v.to_string()).collect();
        assert_eq!(env.names_read(), listed);
        config
    }

    #[test]
    fn the_stack_sender_exists_only_for_listed_tenants_and_then_needs_its_key() {
        assert!(
            read(&[(SECRET_ARN, "arn:aws:secretsmanager:x")])
                .expect("config")
                .stack_sender
                .is_none()
        );
        let listed = [(STACK_SENDER_TENANTS, "acme"), (FROM_EMAIL, "shop@example.com")];
        assert!(matches!(
            read(&listed),
            Err(ConfigError::Invalid { name: SECRET_ARN, .. })
        ));
        let complete = [listed[0], listed[1], (SECRET_ARN, "arn:aws:secretsmanager:x")];
        let sender = read(&complete).expect("config").stack_sender.expect("stack sender");
        assert_eq!(sender.from.email, "shop@example.com");
    }
}
