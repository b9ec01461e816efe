//! `scripts/soak` runs this: the reconciling load-and-fault harness (see
//! `local::soak`). Against the local stack in the emulator at
//! `AWS_ENDPOINT_URL` by default; against a deployed stack with `--api-url` and
//! `--token` (and the AWS credentials of the account its destinations may be
//! made in), where only the scenarios that need no injected fault run.
//!
//! soak [--profile short|long] [--scenario NAME]... [--noisy-failing N] [--quiet-rate EVENTS_PER_S] [--api-url URL --token JWT] [--json FILE]
//!
//! Prints each scenario's table and a summary; exits 1 if any event was lost,
//! arrived corrupted or out of order, or the quiet tenants' p99 with a noisy
//! tenant was over twice that of the steady run.

use std::io::Write;

use local::soak::api::Api;
use local::soak::destinations::Accounts;
use local::soak::receivers::Arrivals;
use local::soak::report::Outcome;
use local::soak::scenarios::Scenario;
use local::soak::system::LocalSystem;
use local::soak::{Context, Profile};

/// The quiet tenants' p99 with a noisy tenant may be at most this many times the steady run's.
const NOISY_P99_BOUND: u64 = 2;

struct Args {
    profile: Profile,
    scenarios: Vec<Scenario>,
    api_url: Option<String>,
    token: Option<String>,
    json: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        profile: Profile::short(),
        scenarios: Vec::new(),
        api_url: None,
        token: None,
        json: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--profile" => {
                args.profile = match value()?.as_str() {
                    "short" => Profile::short(),
                    "long" => Profile::long(),
                    other => return Err(format!("no profile {other:?} (short, long)")),
                }
            }
            "--scenario" => {
                let name = value()?;
                args.scenarios
                    .push(Scenario::parse(&name).ok_or(format!("no scenario {name:?}"))?);
            }
            "--noisy-failing" => {
                args.profile.noisy_failing = value()?.parse().map_err(|e| format!("--noisy-failing: {e}"))?;
            }
            "--quiet-rate" => {
                args.profile.quiet_rate = value()?.parse().map_err(|e| format!("--quiet-rate: {e}"))?;
            }
            "--api-url" => args.api_url = Some(value()?),
            "--token" => args.token = Some(value()?),
            "--json" => args.json = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios = Scenario::ALL
            .into_iter()
            .filter(|s| args.api_url.is_none() || !s.needs_local_faults())
            .collect();
    }
    Ok(args)
}

fn say(text: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    shared::lambda::init_logging();
    let sdk = shared::aws::sdk_config().await;
    let run_id = uuid::Uuid::now_v7().simple().to_string()[24..].to_owned();
    let context = match &args.api_url {
        Some(url) => Context {
            api: Api::new(url, args.token.clone())?,
            accounts: Accounts::deployed(&sdk),
            arrivals: Arrivals::default(),
            local: None,
            run_id,
        },
        None => {
            let local = LocalSystem::start(&sdk, &format!("soak-{run_id}")).await?;
            Context {
                api: Api::new(&local.url, None)?,
                accounts: Accounts::local(&sdk).await?,
                arrivals: Arrivals::default(),
                local: Some(local),
                run_id,
            }
        }
    };
    let profile = &args.profile;
    say(&format!(
        "soak: profile {} ({} s load per scenario, {} quiet tenants at {} events/s, {} subscriptions each), scenarios {:?}\n",
        profile.name,
        profile.load.as_secs(),
        profile.quiet_tenants,
        profile.quiet_rate,
        context.accounts.kinds().len(),
        args.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>()
    ));
    let mut outcomes = Vec::new();
    for scenario in &args.scenarios {
        let outcome = context.run(*scenario, profile).await?;
        say(&outcome.render());
        outcomes.push(outcome);
    }
    let problems = verdict(&outcomes, profile);
    say(&summary(&outcomes, &problems));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&outcomes)?)?;
    }
    if !problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Every scenario's problems, and the noisy tenant's effect on the quiet ones
/// (reported always, a failure where the profile says so).
fn verdict(outcomes: &[Outcome], profile: &Profile) -> Vec<String> {
    let mut problems: Vec<String> = outcomes.iter().flat_map(Outcome::problems).collect();
    let p99 = |name| {
        outcomes
            .iter()
            .find(|o| o.scenario == name)
            .map(|o| o.quiet_latency().p99)
    };
    if let (Some(steady), Some(noisy)) = (p99("steady"), p99("noisy-tenant"))
        && noisy > NOISY_P99_BOUND * steady.max(1)
    {
        let breach = format!(
            "noisy-tenant: the quiet tenants' p99 was {noisy} ms, over {NOISY_P99_BOUND}× the steady run's {steady} ms"
        );
        if profile.enforce_noisy_bound {
            problems.push(breach);
        } else {
            say(&format!("\nNOT ENFORCED in the {} profile: {breach}\n", profile.name));
        }
    }
    problems
}

fn summary(outcomes: &[Outcome], problems: &[String]) -> String {
    let mut out = String::from("\n== summary\n");
    out.push_str(&format!(
        "   {:<20} {:>7} {:>8} {:>10} {:>9} {:>5} {:>5} {:>5} {:>8} {:>8} {:>8} {:>9} {:>7}\n",
        "scenario",
        "events",
        "events/s",
        "deliveries",
        "dead",
        "lost",
        "dup",
        "order",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "settled s",
        "emu ms"
    ));
    for o in outcomes {
        let (t, q) = (o.totals(), o.quiet_latency());
        out.push_str(&format!(
            "   {:<20} {:>7} {:>8.1} {:>10} {:>9} {:>5} {:>5} {:>5} {:>8} {:>8} {:>8} {:>9.0} {:>7}\n",
            o.scenario,
            o.accepted,
            o.accepted as f64 / o.loaded.as_secs_f64().max(0.001),
            t.deliveries,
            t.dead_lettered,
            t.lost,
            t.duplicates,
            t.order_violations,
            q.p50,
            q.p95,
            q.p99,
            o.settled.as_secs_f64(),
            o.emulator
                .as_ref()
                .map_or_else(|| "-".to_owned(), |e| format!("{:.1}", e.mean_ms))
        ));
    }
    // What an event costs without faults, and what the noisy tenant's failing
    // subscriptions add (the emulator's load in that scenario).
    for steady in outcomes
        .iter()
        .filter(|o| o.scenario == "steady" || o.scenario == "noisy-tenant")
    {
        let quiet_rows = steady
            .rows
            .iter()
            .filter(|r| steady.quiet_tenants.contains(&r.tenant))
            .count();
        let (scenario, kinds) = (&steady.scenario, quiet_rows / steady.quiet_tenants.len().max(1));
        out.push_str(&format!(
            "   AWS calls per accepted event in the {scenario} run ({kinds} subscriptions a quiet tenant), by function:\n"
        ));
        for (function, calls) in steady.calls_per_event() {
            out.push_str(&format!("     {function:<20} {calls:.2}\n"));
        }
        out.push_str("   and by operation (calls, and the entries in them):\n");
        for ((function, operation), (calls, entries)) in steady.operations_per_event() {
            out.push_str(&format!(
                "     {function:<20} {operation:<24} {calls:>6.2} {entries:>7.2}\n"
            ));
        }
    }
    let remailed: usize = outcomes
        .iter()
        .filter_map(|o| o.mails.as_ref())
        .map(|m| m.duplicates_after_failed_runs)
        .sum();
    if remailed > 0 {
        out.push_str(&format!(
            "   NOTE {remailed} (shopper, restocked product) pairs were mailed more than once after a run failed part way \
             and the harness started a new execution (Lambda would resume the same one after its lease)\n"
        ));
    }
    if problems.is_empty() {
        out.push_str("   PASS: nothing lost, corrupted or out of order\n");
    } else {
        for problem in problems {
            out.push_str(&format!("   FAIL {problem}\n"));
        }
    }
    out
}
