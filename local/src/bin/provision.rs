//! Creates the stack's resources in the emulator at `AWS_ENDPOINT_URL` under
//! `$STACK_NAME` and prints the functions' environment as `NAME=value` lines
//! (used by scripts/bench).

use shared::storage::schema::TABLES;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = shared::config::string_or("STACK_NAME", "event-collector-local");
    let stack = local::provision::create_stack(&shared::aws::sdk_config().await, &prefix).await?;
    let mut lines: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{}={}", t.env_var, stack.tables.of(t)))
        .collect();
    lines.push(format!("SECRETS_KMS_KEY_ID={}", stack.secrets_key));
    lines.push(format!("EVENT_BUS_NAME={}", stack.event_bus));
    lines.push(format!("RETRY_QUEUE_URL={}", stack.retry_queue_url));
    lines.push(format!("DEAD_LETTER_QUEUE_URL={}", stack.dead_letter_queue_url));
    std::io::Write::write_all(&mut std::io::stdout(), (lines.join("\n") + "\n").as_bytes())?;
    Ok(())
}
