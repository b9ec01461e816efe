//! `provision <function>`: creates the stack's resources in the emulator at
//! `AWS_ENDPOINT_URL` under `$STACK_NAME` and prints `<function>`'s environment
//! as template.yaml sets it for this stack, as `NAME=value` lines (used by
//! scripts/bench to run the function binary as Lambda would).

use shared::config::Environment;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [function] = args.as_slice() else {
        return Err("usage: provision <function>".into());
    };
    let prefix = Environment::process().string_or("STACK_NAME", "event-collector-local");
    let sdk = shared::aws::sdk_config().await;
    let stack = local::provision::create_stack(&sdk, &prefix)
        .await?
        // Nothing listens there: the benchmark's sample job has no one to e-mail.
        .with_parameter("SendGridBaseUrl", "http://127.0.0.1:9")?;
    let lines: String = stack
        .environment(function)
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    std::io::Write::write_all(&mut std::io::stdout(), lines.as_bytes())?;
    Ok(())
}
