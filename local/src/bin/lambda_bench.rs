//! Runs one function binary the way Lambda does — the binary as a child process
//! talking to a Runtime API on 127.0.0.1 — and prints one JSON line: init (spawn →
//! its first `GET /next`), the first invocation, warm p50/p95 over `--warm`
//! invocations of the same event, peak RSS (VmHWM) and the invocations it
//! reported as errors. Used by scripts/bench.
//!
//!     lambda-bench --label create-event --event events/create-event.json --warm 50 \
//!         --env AWS_ENDPOINT_URL=http://127.0.0.1:5000 … -- target/release/create-event

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// What the function told the Runtime API about one invocation.
enum Outcome {
    Response,
    Error,
}

/// The Runtime API's side: the invocations waiting for `GET /next`, and where
/// outcomes and the first `GET /next` are reported.
struct RuntimeApi {
    pending: Mutex<mpsc::Receiver<(String, Bytes)>>,
    first_next: mpsc::UnboundedSender<Instant>,
    outcomes: mpsc::UnboundedSender<(String, Outcome)>,
}

struct Args {
    label: String,
    event: String,
    warm: usize,
    env: Vec<(String, String)>,
    command: Vec<String>,
}

fn args() -> BenchResult<Args> {
    let mut raw = std::env::args().skip(1);
    let mut parsed = Args {
        label: String::new(),
        event: String::new(),
        warm: 50,
        env: Vec::new(),
        command: Vec::new(),
    };
    while let Some(arg) = raw.next() {
        let mut value = || raw.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--label" => parsed.label = value()?,
            "--event" => parsed.event = value()?,
            "--warm" => parsed.warm = value()?.parse()?,
            "--env" => {
                let pair = value()?;
                let (key, val) = pair.split_once('=').ok_or("--env takes NAME=value")?;
                parsed.env.push((key.to_owned(), val.to_owned()));
            }
            "--" => {
                parsed.command = raw.by_ref().collect();
                break;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if parsed.command.is_empty() || parsed.event.is_empty() {
        return Err("usage: lambda-bench --event FILE [--label L] [--warm N] [--env K=V]... -- BINARY [ARGS]".into());
    }
    Ok(parsed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let args = args()?;
    let event = Bytes::from(std::fs::read(&args.event)?);
    let (invocations, pending) = mpsc::channel(1);
    let (first_next, mut first_next_seen) = mpsc::unbounded_channel();
    let (outcomes, mut outcome_seen) = mpsc::unbounded_channel();
    let api = Arc::new(RuntimeApi {
        pending: Mutex::new(pending),
        first_next,
        outcomes,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve(listener, api));

    let started = Instant::now();
    let mut child = tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .envs(args.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &args.label)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", args.label))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the function exited at once")?;
    let ready = tokio::time::timeout(Duration::from_secs(30), first_next_seen.recv())
        .await?
        .ok_or("the function never asked for an invocation")?;
    let init = ready - started;

    let mut times = Vec::with_capacity(args.warm + 1);
    let mut errors = 0;
    for n in 0..=args.warm {
        let id = format!("bench-{n}");
        let sent = Instant::now();
        invocations.send((id.clone(), event.clone())).await?;
        loop {
            let (done, outcome) = tokio::time::timeout(Duration::from_secs(30), outcome_seen.recv())
                .await?
                .ok_or("the Runtime API stopped")?;
            if done == id {
                errors += usize::from(matches!(outcome, Outcome::Error));
                break;
            }
        }
        times.push(sent.elapsed());
    }
    let peak_kb = peak_rss_kb(pid).unwrap_or_default();
    child.kill().await.ok();

    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let mut warm: Vec<Duration> = times[1..].to_vec();
    warm.sort_unstable();
    let percentile = |p: f64| {
        warm.get(((warm.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map(|d| ms(*d))
    };
    let line = json!({
        "label": args.label,
        "init_ms": ms(init),
        "first_invoke_ms": ms(times[0]),
        "warm_p50_ms": percentile(0.5),
        "warm_p95_ms": percentile(0.95),
        "peak_rss_mb": (peak_kb as f64 / 1024.0 * 10.0).round() / 10.0,
        "errors": errors,
    });
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn serve(listener: TcpListener, api: Arc<RuntimeApi>) {
    while let Ok((stream, _)) = listener.accept().await {
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(api.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl RuntimeApi {
    async fn handle(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        // Drain the body: the function's answer is not judged here, only its timing.
        let _ = req.into_body().collect().await;
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => {
                let _ = self.first_next.send(Instant::now());
                let next = self.pending.lock().await.recv().await;
                match next {
                    Some((id, event)) => {
                        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                        hyper::Response::builder()
                            .header("Lambda-Runtime-Aws-Request-Id", id)
                            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                            .header(
                                "Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:bench",
                            )
                            .header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                            .body(Full::new(event))
                            .unwrap_or_default()
                    }
                    None => status(410),
                }
            }
            ("POST", ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
                let outcome = if *kind == "response" {
                    Outcome::Response
                } else {
                    Outcome::Error
                };
                let _ = self.outcomes.send(((*id).to_owned(), outcome));
                status(202)
            }
            ("POST", ["2018-06-01", "runtime", "init", "error"]) => status(202),
            _ => status(404),
        }
    }
}

fn status(code: u16) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}
