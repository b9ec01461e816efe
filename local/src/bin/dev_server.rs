//! `scripts/dev` runs this: creates the stack's tables in the emulator at
//! `AWS_ENDPOINT_URL` and serves the API on http://127.0.0.1:$PORT (default 3000).

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use chrono::Duration;
use shared::api::events::EventsApi;
use shared::events::DynamoEventStore;
use shared::http::Authentication;
use shared::storage::schema::EVENTS;
use tokio::net::TcpListener;

use local::functions::ApiFunctions;
use local::{gateway, provision};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    shared::lambda::init_logging();
    let port: u16 = shared::config::parsed_or("PORT", 3000)?;
    let prefix = shared::config::string_or("STACK_NAME", "event-collector-local");
    let sdk = shared::aws::sdk_config().await;
    let client = Client::new(&sdk);
    let tables = provision::create_tables(&client, &prefix).await?;
    let events = EventsApi {
        store: DynamoEventStore::new(client, tables.of(&EVENTS), Duration::days(365)),
        auth: Authentication::DisabledForLocalRun,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::warn!(
        "authentication is OFF: the local run trusts the X-TWC-Tenant header (never so when deployed)"
    );
    tracing::info!(url = %format!("http://127.0.0.1:{port}"), table = tables.of(&EVENTS), "event collector API listening");
    let functions = Arc::new(ApiFunctions { events });
    tokio::select! {
        served = gateway::serve(listener, functions) => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}
