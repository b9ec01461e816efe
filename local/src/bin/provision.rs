//! Creates the stack's tables in the emulator at `AWS_ENDPOINT_URL` under
//! `$STACK_NAME` and prints `ENV_VAR=table-name` lines (used by scripts/bench).

use aws_sdk_dynamodb::Client;
use shared::storage::schema::TABLES;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = shared::config::string_or("STACK_NAME", "event-collector-local");
    let client = Client::new(&shared::aws::sdk_config().await);
    let tables = local::provision::create_tables(&client, &prefix).await?;
    let lines: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{}={}", t.env_var, tables.of(t)))
        .collect();
    std::io::Write::write_all(&mut std::io::stdout(), (lines.join("\n") + "\n").as_bytes())?;
    Ok(())
}
