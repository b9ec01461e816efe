//! Runs one function the way Lambda does — the binary as a child process
//! talking to a Runtime API on 127.0.0.1 — and prints one JSON line: init (spawn →
//! its first `GET /next`), the first invocation, warm p50/p95 over `--warm`
//! invocations of the same event, peak RSS (VmHWM) and the invocations it
//! reported as errors. Used by scripts/bench.
//!
//!     lambda-bench --label create-event --event events/create-event.json --warm 50 \
//!         --env _HANDLER=create-event --env AWS_ENDPOINT_URL=http://127.0.0.1:5000 … \
//!         -- target/release/event-collector

use std::time::{Duration, Instant};

use hyper::body::Bytes;
use local::runtime_api::{Outcome, RuntimeApi};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

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
    let mut api = RuntimeApi::start().await?;

    let started = Instant::now();
    let mut child = tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .envs(args.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(api.environment(&args.label))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the function exited at once")?;
    let ready = tokio::time::timeout(Duration::from_secs(30), api.first_next())
        .await?
        .ok_or("the function never asked for an invocation")?;
    let init = ready - started;

    let mut times = Vec::with_capacity(args.warm + 1);
    let mut errors = 0;
    for n in 0..=args.warm {
        let sent = Instant::now();
        let outcome = tokio::time::timeout(
            Duration::from_secs(30),
            api.invoke(&format!("bench-{n}"), event.clone()),
        )
        .await?
        .ok_or("the Runtime API stopped")?;
        errors += usize::from(matches!(outcome, Outcome::Error));
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
