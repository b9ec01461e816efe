//! `scripts/bench-fanout` runs this against moto: fan-out throughput with batch
//! calls against one call per message (same events, same subscribers, same
//! concurrency), and the latency from an HTTP POST to the message being visible
//! in a subscriber's queue in the local run. Prints one JSON line per measurement.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client as Sqs;
use futures_util::future::join_all;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use local::event_sources::{self, STREAM_BATCH_SIZE};
use local::gateway::{self, Gateway, LocalAuth};
use local::provision::{self, LocalStack};
use local::queue_poller::QueuePoller;
use local::stream_poller::StreamPoller;
use serde_json::{Value, json};
use shared::events::inserted_event;
use shared::fanout::{DeliveryPlan, SubscriptionsByTenant, Target, plan};
use shared::storage::schema::{EVENTS, SUBSCRIPTION_RECORDS, SUBSCRIPTIONS};
use shared::storage::{DynamoRecords, Records};
use shared::tenant::TenantId;
use tokio::net::{TcpListener, TcpStream};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const TENANT: &str = "bench";

#[tokio::main]
async fn main() -> BenchResult<()> {
    let env = shared::config::Environment::process();
    let events: usize = env.parsed_or("EVENTS", 500)?;
    let subscribers: usize = env.parsed_or("SUBSCRIBERS", 3)?;
    let samples: usize = env.parsed_or("LATENCY_SAMPLES", 50)?;
    let sdk = shared::aws::sdk_config().await;
    let stack = provision::create_stack(&sdk, &format!("bench-{}", uuid::Uuid::now_v7().simple())).await?;
    let api = Api::start(&stack).await?;
    let sqs = Sqs::new(&sdk);
    let mut queues = Vec::new();
    for i in 0..subscribers {
        let name = format!("subscriber-{i}-{}", uuid::Uuid::now_v7().simple());
        let url = provision::tenant_queue(&sqs, &name, TENANT).await?;
        api.post("/api/v1/event-subscription", &subscription(&url)).await?;
        queues.push(url);
    }

    // Throughput: the same stream records, fanned out twice.
    let mut stream = StreamPoller::from_now(&sdk, stack.tables.of(&EVENTS)).await?;
    for i in 0..events {
        api.post("/api/v1/events", &event(&format!("tp-{i}"))).await?;
    }
    let records = stream.poll().await?;
    let fanout = Arc::new(stack.fanout("fanout", &sdk, stack.fanout_config()));
    let mut batched = Duration::ZERO;
    for batch in records.chunks(STREAM_BATCH_SIZE) {
        let started = Instant::now();
        let failed = fanout.stream_batch(batch).await;
        batched += started.elapsed();
        if !failed.is_empty() {
            return Err(format!("{} records failed", failed.len()).into());
        }
        // Not timed: moto's SQS slows down as a queue grows (real SQS does not).
        purge(&sqs, &queues).await?;
    }
    let subscriptions = subscriptions_of(&sdk, &stack).await?;
    let mut single = Duration::ZERO;
    for batch in records.chunks(STREAM_BATCH_SIZE) {
        let streamed: Vec<_> = batch.iter().filter_map(|r| inserted_event(r).ok().flatten()).collect();
        let deliveries = plan(&streamed, &subscriptions, &stack.event_bus);
        let started = Instant::now();
        one_call_per_message(&sdk, deliveries).await?;
        single += started.elapsed();
        purge(&sqs, &queues).await?;
    }
    let deliveries = events * (subscribers + 1);
    let rate = |elapsed: Duration| deliveries as f64 / elapsed.as_secs_f64();
    report(json!({
        "measure": "fanout_throughput", "events": events, "subscribers": subscribers,
        "deliveries": deliveries,
        "batched_per_s": rate(batched).round(), "one_call_per_message_per_s": rate(single).round(),
        "ratio": (rate(batched) / rate(single) * 10.0).round() / 10.0,
    }))?;

    // Latency: the local run's event source mappings, POST → visible in a queue.
    let stream = StreamPoller::from_now(&sdk, stack.tables.of(&EVENTS)).await?;
    tokio::spawn(event_sources::stream_into(
        stream,
        STREAM_BATCH_SIZE,
        "fanout",
        fanout.clone(),
    ));
    let retries = QueuePoller::new(sqs.clone(), &stack.retry_queue_url);
    tokio::spawn(event_sources::queue_into(retries, "fanout-retry", fanout));
    let mut latencies = Vec::new();
    for i in 0..samples {
        let started = Instant::now();
        api.post("/api/v1/events", &event(&format!("lat-{i}"))).await?;
        wait_for_message(&sqs, &queues[0]).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        purge(&sqs, &queues).await?;
    }
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    report(json!({
        "measure": "post_to_visible_ms", "samples": samples,
        "p50": (percentile(0.5) * 10.0).round() / 10.0, "p95": (percentile(0.95) * 10.0).round() / 10.0,
    }))
}

fn report(line: Value) -> BenchResult<()> {
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}

fn subscription(queue_url: &str) -> Value {
    json!({
        "entityType": "ORDER", "subscribeCreate": true, "subscribeChange": false, "subscribeDelete": false,
        "destination": {"type": "SQS", "sqs": {"queueUrl": queue_url, "region": "us-east-1"}}
    })
}

fn event(id: &str) -> Value {
    json!({
        "id": id, "entity_id": "ORD-1", "entity_name": "ORDER", "event_source": "APPLICATION",
        "event_type": "ENTITY_EVENT",
        "event_payload": {"operation": "CREATE", "base64_encoded_payload_json": "eyJ0b3RhbCI6IDQyLjUsICJjdXJyZW5jeSI6ICJFVVIifQ=="}
    })
}

/// The local API over HTTP, as `scripts/dev` serves it.
struct Api {
    address: std::net::SocketAddr,
}

impl Api {
    async fn start(stack: &LocalStack) -> BenchResult<Self> {
        let functions = stack.functions().without_authentication();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let gateway = Arc::new(Gateway {
            functions,
            auth: LocalAuth::Off,
            jobs: None,
        });
        tokio::spawn(gateway::serve(listener, gateway));
        Ok(Self { address })
    }

    async fn post(&self, path: &str, body: &Value) -> BenchResult<()> {
        let stream = TcpStream::connect(self.address).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::post(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("x-twc-tenant", TENANT)
            .body(Full::new(Bytes::from(body.to_string())))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.into_body().collect().await?.to_bytes();
            return Err(format!("POST {path}: {status} {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(())
    }
}

async fn subscriptions_of(sdk: &aws_config::SdkConfig, stack: &LocalStack) -> BenchResult<SubscriptionsByTenant> {
    let records = DynamoRecords::new(
        aws_sdk_dynamodb::Client::new(sdk),
        stack.tables.of(&SUBSCRIPTIONS),
        SUBSCRIPTION_RECORDS,
    );
    let tenant = TenantId::parse(TENANT).map_err(|_| "tenant")?;
    let page = records.list(&tenant, 1000, None).await?;
    let all: Vec<_> = page.items.into_iter().map(|r| r.value).collect();
    Ok(SubscriptionsByTenant::from([(tenant, all.into())]))
}

/// The baseline: every delivery in its own SendMessage / PutEvents call; targets
/// concurrently, as the fan-out sends them.
async fn one_call_per_message(sdk: &aws_config::SdkConfig, deliveries: DeliveryPlan) -> BenchResult<()> {
    let (sqs, events) = (Sqs::new(sdk), aws_sdk_eventbridge::Client::new(sdk));
    let sends = deliveries.into_iter().map(|(target, deliveries)| {
        let (sqs, events) = (sqs.clone(), events.clone());
        async move {
            for delivery in deliveries {
                let message = delivery.message;
                match &target {
                    Target::Queue { url, .. } => {
                        sqs.send_message()
                            .queue_url(url)
                            .message_body(message.body)
                            .send()
                            .await?;
                    }
                    Target::Bus { bus, .. } => {
                        // The entry fan-out puts, one call each.
                        let source = shared::fanout::EVENT_SOURCE;
                        let detail = shared::fanout::bus_detail(&message.body).unwrap_or(message.body);
                        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                            .source(source)
                            .set_detail_type(message.detail_type.map(|kind| format!("{source}/{kind}")))
                            .detail(detail)
                            .event_bus_name(bus)
                            .build();
                        events.put_events().entries(entry).send().await?;
                    }
                    Target::Topic { .. } => return Err("the benchmark has no topics".into()),
                }
            }
            Ok::<(), Box<dyn std::error::Error>>(())
        }
    });
    join_all(sends).await.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(())
}

async fn purge(sqs: &Sqs, queues: &[String]) -> BenchResult<()> {
    for queue in queues {
        sqs.purge_queue().queue_url(queue).send().await?;
    }
    Ok(())
}

/// Polls `queue_url` every 5 ms until a message is there.
async fn wait_for_message(sqs: &Sqs, queue_url: &str) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let received = sqs.receive_message().queue_url(queue_url).send().await?;
        if received.messages.is_some_and(|m| !m.is_empty()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err("no message within 10 s".into())
}
