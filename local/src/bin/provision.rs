//! Creates the stack's resources in the emulator at `AWS_ENDPOINT_URL` under
//! `$STACK_NAME` and prints the functions' environment as `NAME=value` lines
//! (used by scripts/bench), with stand-ins for what the emulator cannot hold.

use shared::storage::schema::TABLES;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = shared::config::string_or("STACK_NAME", "event-collector-local");
    let sdk = shared::aws::sdk_config().await;
    let stack = local::provision::create_stack(&sdk, &prefix).await?;
    let mut lines: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{}={}", t.env_var, stack.tables.of(t)))
        .collect();
    lines.push(format!("SECRETS_KMS_KEY_ID={}", stack.secrets_key));
    lines.push(format!("EVENT_BUS_NAME={}", stack.event_bus));
    lines.push(format!("RETRY_QUEUE_URL={}", stack.retry_queue_url));
    lines.push(format!("DEAD_LETTER_QUEUE_URL={}", stack.dead_letter_queue_url));
    lines.push(format!("SCHEDULE_GROUP={}", stack.schedule_group));
    // One variable for every function here: the projector's queue stands in for
    // schedule-sync's too.
    lines.push(format!(
        "{}={}",
        shared::stream_failures::FAILURE_QUEUE_URL,
        stack.projector_failure_queue_url
    ));
    lines.extend(
        [
            (
                "NOTIFICATION_JOB_ARN",
                "arn:aws:lambda:us-east-1:123456789012:function:notification-job",
            ),
            ("SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler"),
            (
                "SCHEDULER_DEAD_LETTER_ARN",
                "arn:aws:sqs:us-east-1:123456789012:scheduler-dead-letters",
            ),
            ("SENDGRID_FROM_EMAIL", "notifications@shop.example"),
            // Nothing listens there: the benchmark's sample job has no one to e-mail.
            ("SENDGRID_BASE_URL", "http://127.0.0.1:9"),
        ]
        .map(|(name, value)| format!("{name}={value}")),
    );
    lines.push(format!(
        "SENDGRID_API_KEY_SECRET_ARN={}",
        sendgrid_secret(&sdk, &prefix).await?
    ));
    std::io::Write::write_all(&mut std::io::stdout(), (lines.join("\n") + "\n").as_bytes())?;
    Ok(())
}

/// A SendGrid key secret in the emulator, as notification-job reads it.
async fn sendgrid_secret(sdk: &aws_config::SdkConfig, prefix: &str) -> Result<String, Box<dyn std::error::Error>> {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let name = format!("{prefix}-sendgrid");
    if let Ok(found) = secrets.describe_secret().secret_id(&name).send().await {
        return Ok(found.arn.unwrap_or_default());
    }
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"api_key": "SG.local-benchmark"}"#)
        .send()
        .await?;
    Ok(created.arn.unwrap_or_default())
}
