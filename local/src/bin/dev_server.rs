//! `scripts/dev` runs this: creates the stack's resources in the emulator at
//! `AWS_ENDPOINT_URL`, serves the API on http://127.0.0.1:$PORT (default 3000)
//! and runs the fan-out on the events stream, as Lambda would.
//!
//! `AUTH=jwt` turns on bearer-token checks with HS256 tokens signed by
//! `DEV_JWT_SECRET`; `dev-server token <tenant> [scope…]` prints such a token,
//! granting the scopes named (every scope the API asks for when none is).

use std::sync::Arc;

use chrono::Utc;
use shared::config::{ConfigError, Environment};
use tokio::net::TcpListener;

use local::crash::Crashes;
use local::gateway::{self, Gateway, LocalAuth};
use local::provision::{self, LocalStack};
use local::queue_poller::QueuePoller;
use local::schedule_runner::ScheduleRunner;
use local::sendgrid_stub::SendGridStub;
use local::stream_poller::StreamPoller;
use local::{dev_token, event_sources};
use shared::notifications::{Invocation, NotificationRunner};
use shared::storage::schema::JOBS;

const TOKEN_TTL_SECONDS: i64 = 12 * 3600;

/// `DEV_JWT_SECRET`, with a fixed default: these tokens only ever open the local run.
fn dev_secret() -> String {
    Environment::process().string_or("DEV_JWT_SECRET", "event-collector-dev-secret")
}

fn local_auth() -> Result<LocalAuth, ConfigError> {
    match Environment::process().string_or("AUTH", "off").as_str() {
        "off" => Ok(LocalAuth::Off),
        "jwt" => Ok(LocalAuth::DevTokens { secret: dev_secret() }),
        other => Err(ConfigError::Invalid {
            name: "AUTH",
            reason: format!("{other:?} is neither \"off\" nor \"jwt\""),
        }),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = local_auth()?;
    let env = Environment::process();
    let tenant_claim = env.string_or("TENANT_CLAIM", "tenant");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, tenant, scopes @ ..] = args.as_slice()
        && command == "token"
    {
        // The scopes to grant; none named: every scope the API asks for.
        let scopes: Vec<&str> = match scopes {
            [] => dev_token::every_scope(),
            named => named.iter().map(String::as_str).collect(),
        };
        let secret = dev_secret();
        let token = dev_token::mint_with_scopes(
            &secret,
            &tenant_claim,
            tenant,
            &scopes,
            Utc::now().timestamp(),
            TOKEN_TTL_SECONDS,
        );
        std::io::Write::write_all(&mut std::io::stdout(), format!("{token}\n").as_bytes())?;
        return Ok(());
    }
    if let [command, queue, tenant @ ..] = args.as_slice()
        && ["queue", "receive", "subscriber-queue", "subscriber-receive"].contains(&command.as_str())
        && tenant.len() <= 1
    {
        let tenant = tenant.first().map_or(EXAMPLE_TENANT, String::as_str);
        return demo_queue(command, queue, tenant).await;
    }
    if let [command, tenant, job_id] = args.as_slice()
        && command == "run-job"
    {
        return run_job_now(tenant, job_id).await;
    }

    shared::lambda::init_logging();
    let port: u16 = env.parsed_or("PORT", 3000)?;
    let sdk = shared::aws::sdk_config().await;
    let mut stack = local_stack(&sdk).await?.with_parameter("TenantClaim", &tenant_claim)?;
    if let Some(trusts) = stack.trust_policies() {
        trusts.trust_by_name_in(SUBSCRIBER_ACCOUNT);
    }
    if let Some(days) = env.optional("EVENT_RETENTION_DAYS") {
        stack = stack.with_parameter("EventRetentionDays", days)?;
    }
    if let Some(rate) = env.optional("TENANT_API_RATE") {
        stack = stack.with_parameter("TenantApiRequestsPerSecond", rate)?;
    }
    let functions = match &auth {
        LocalAuth::Off => {
            tracing::warn!(
                "authentication is OFF: the local run trusts the X-TWC-Tenant header (never so when deployed)"
            );
            stack.functions().without_authentication()
        }
        LocalAuth::DevTokens { .. } => {
            tracing::info!(
                tenant_claim,
                "bearer tokens required: mint one with `scripts/dev token <tenant>`"
            );
            stack.functions()
        }
    };
    event_sources::start_event_consumers(&sdk, &stack, &Crashes::default()).await?;
    start_schedule_sync(&sdk, &stack).await?;
    let jobs = start_schedules(&sdk, &stack).await?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    tracing::info!(url = %format!("http://127.0.0.1:{port}"), tables = ?stack.tables, "event collector API listening");
    tracing::info!(url = %format!("http://127.0.0.1:{port}/console/"), "tenant console");
    let gateway = Arc::new(Gateway {
        functions,
        auth,
        jobs: Some(jobs),
    });
    tokio::select! {
        served = gateway::serve(listener, gateway) => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}

/// The README's example tenant: whose a demo queue is when no tenant is named.
const EXAMPLE_TENANT: &str = "acme";

/// `queue <name> [tenant]` creates an SQS queue in the running emulator, tagged
/// `event-collector:tenant=<tenant>` (only that tenant may subscribe a queue of
/// the stack's account), and prints its URL; `receive <name>` prints (and
/// deletes) what it holds, waiting up to 10 s for a first message.
async fn demo_queue(command: &str, name: &str, tenant: &str) -> Result<(), Box<dyn std::error::Error>> {
    let sdk = shared::aws::sdk_config().await;
    // subscriber-…: a queue of the demo subscriber's own account, which the stack
    // reaches only through its role (`<tenant>-deliveries` there trusts <tenant>).
    let sdk = match command.strip_prefix("subscriber-") {
        Some(_) => provision::account_of_role(&sdk, SUBSCRIBER_ACCOUNT).await?,
        None => sdk,
    };
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = if command.ends_with("receive") {
        // Made if missing, its tags left as they are.
        provision::queue_named(&sqs, name).await?
    } else {
        provision::tenant_queue(&sqs, name, tenant).await?
    };
    let mut out = url.clone() + "\n";
    if command.ends_with("receive") {
        out.clear();
        // Waits for the first message: a fan-out a moment behind still shows.
        let poller = QueuePoller::new(sqs, url).waiting(10);
        poller
            .poll_into(|messages| {
                for message in messages {
                    out.push_str(message.body.as_deref().unwrap_or_default());
                    out.push('\n');
                }
                async { Vec::new() }
            })
            .await?;
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

/// Runs schedule-sync on the emulator's jobs stream, so jobs show their schedule
/// status. moto stores the schedules but never fires them.
async fn start_schedule_sync(sdk: &aws_config::SdkConfig, stack: &LocalStack) -> Result<(), String> {
    let stream =
        StreamPoller::from_now_reading_with(sdk, stack.tables.of(&JOBS), &stack.mapping_sdk("schedule-sync")).await?;
    let sync = Arc::new(stack.schedule_sync());
    // The jobs stream mapping's batch size in template.yaml.
    tokio::spawn(event_sources::stream_into(stream, 25, "schedule-sync", sync));
    tracing::info!(schedule_group = %stack.schedule_group, "schedule-sync polling the jobs stream");
    Ok(())
}

/// Fires the schedules moto holds into notification-job, which sends to a local
/// SendGrid stub that logs each e-mail instead.
/// Returns another notification-job for the console's "run now".
async fn start_schedules(
    sdk: &aws_config::SdkConfig,
    stack: &LocalStack,
) -> Result<Arc<NotificationRunner>, Box<dyn std::error::Error>> {
    let runner = notification_runner(stack).await?;
    let schedules = ScheduleRunner::new(aws_sdk_scheduler::Client::new(sdk), &stack.schedule_group, runner);
    tokio::spawn(schedules.run());
    tracing::info!("due schedules fire into notification-job; e-mails go to the SendGrid stub (logged)");
    Ok(Arc::new(notification_runner(stack).await?))
}

/// The demo subscriber's account in the emulator, apart from the stack's.
const SUBSCRIBER_ACCOUNT: &str = "111111111111";

/// The stack's resources under `$STACK_NAME`, with IAM enforced.
async fn local_stack(sdk: &aws_config::SdkConfig) -> Result<LocalStack, Box<dyn std::error::Error>> {
    let name = Environment::process().string_or("STACK_NAME", "event-collector-local");
    Ok(provision::create_stack(sdk, &name).await?.enforcing_iam().await?)
}

/// notification-job as deployed (its SendGrid key read from the secret), sending
/// to a local SendGrid stub.
async fn notification_runner(stack: &LocalStack) -> Result<NotificationRunner, Box<dyn std::error::Error>> {
    // Leaked: the stub serves for the life of the process.
    let stub: &'static SendGridStub = Box::leak(Box::new(SendGridStub::start().await?));
    let stack = stack.clone().with_parameter("SendGridBaseUrl", &stub.url)?;
    Ok(stack.notification_job().await?)
}

/// `run-job <tenant> <jobId>`: one run of the job now, against the running emulator;
/// prints the outcome.
async fn run_job_now(tenant: &str, job_id: &str) -> Result<(), Box<dyn std::error::Error>> {
    shared::lambda::init_logging();
    let sdk = shared::aws::sdk_config().await;
    let runner = notification_runner(&local_stack(&sdk).await?).await?;
    let invocation = Invocation {
        tenant: tenant.to_owned(),
        job_id: job_id.to_owned(),
        scheduled_time: None,
        execution_id: format!("manual-{}", uuid::Uuid::now_v7()),
    };
    let outcome = runner.run(invocation).await?;
    std::io::Write::write_all(&mut std::io::stdout(), format!("{}\n", outcome.answer()).as_bytes())?;
    Ok(())
}
