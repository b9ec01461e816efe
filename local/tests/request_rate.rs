//! A tenant's API request rate (`TenantApiRequestsPerSecond`) holds across
//! containers, through the rates table in moto, each function held to its IAM
//! policy; another tenant is not held back by it, and the next second serves
//! the tenant again.

mod common;

use std::time::Duration;

use chrono::{Timelike, Utc};
use common::{ApiRequest, TestStack, parts};
use local::functions::ApiFunctions;

/// A read of an event no one stored: a 404 when served, a 429 when refused.
async fn read(functions: &ApiFunctions, tenant: &str) -> (u16, Option<String>) {
    let request = ApiRequest::new("GET", "/api/v1/events/evt-none")
        .for_tenant(tenant)
        .path_param("eventId", "evt-none")
        .build();
    let response = functions.invoke("get-event", request).await.expect("get-event");
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    (parts(response).0, retry_after)
}

/// Waits for the start of the next second, so a burst stays within one.
async fn next_second() -> i64 {
    let now = Utc::now();
    let rest = 1_000_000_000 - u64::from(now.nanosecond() % 1_000_000_000);
    tokio::time::sleep(Duration::from_nanos(rest) + Duration::from_millis(5)).await;
    Utc::now().timestamp()
}

#[tokio::test]
async fn a_tenant_over_its_rate_gets_a_429_and_other_tenants_do_not() {
    // GIVEN 5 requests a second per tenant, and two containers of get-event
    let mut stack = TestStack::new().await;
    stack.stack = stack
        .stack
        .clone()
        .with_parameter("TenantApiRequestsPerSecond", "5")
        .expect("parameter");
    let (one, two) = (stack.functions(), stack.functions());
    for _attempt in 0..3 {
        // WHEN acme sends 20 requests within one second, over both containers
        let second = next_second().await;
        let mut served = 0;
        let mut refused = Vec::new();
        for n in 0..20 {
            let container = if n % 2 == 0 { &one } else { &two };
            match read(container, "acme").await {
                (404, _) => served += 1,
                (429, retry_after) => refused.push(retry_after),
                other => panic!("unexpected {other:?}"),
            }
        }
        // AND globex sends one in the same second
        let globex = read(&one, "globex").await;
        if Utc::now().timestamp() != second {
            continue; // moto was slow: the burst crossed a second, try again
        }
        // THEN no more than 5 of acme's were served, the rest refused for a second,
        assert!((2..=5).contains(&served), "{served} served in one second");
        assert_eq!(refused.len(), 20 - served);
        assert!(refused.iter().all(|r| r.as_deref() == Some("1")), "{refused:?}");
        // AND globex was served
        assert_eq!(globex.0, 404, "another tenant is not held back");
        // AND in the next second acme is served again
        next_second().await;
        assert_eq!(read(&two, "acme").await.0, 404);
        return;
    }
    panic!("three bursts of 21 requests each crossed a second");
}
