//! The SendGrid client over real HTTP against a local stub: request shape,
//! retries on 429 (honouring the rate-limit headers) and 5xx, 4xx rejections.

mod common;

use std::time::Duration;

use common::SendGridStub;
use serde_json::{Map, json};
use shared::sendgrid::{Address, ApiKey, Mail, Personalization, RetryPolicy, SendError, SendGrid, mails};

const KEY: &str = "SG.test-key";

fn client(stub: &SendGridStub) -> SendGrid {
    let retry = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
    };
    SendGrid::new(&stub.url, retry).expect("client")
}

fn mail(shoppers: usize) -> Mail {
    let personalizations = (0..shoppers)
        .map(|i| Personalization {
            to: vec![Address {
                email: format!("shopper{i}@example.com"),
                name: Some(format!("Shopper {i}")),
            }],
            dynamic_template_data: json!({"items": [{"name": "Boots", "url": "https://shop.example/p/1?utm_medium=email"}]}),
        })
        .collect();
    let args = Map::from_iter([
        ("job_id".to_owned(), json!("job-1")),
        ("run_id".to_owned(), json!("run-1")),
    ]);
    let from = Address {
        email: "news@shop.example".into(),
        name: None,
    };
    mails(&from, "d-template", &args, personalizations).remove(0)
}

#[tokio::test]
async fn sends_the_template_the_shoppers_and_the_run_ids_with_the_key() {
    let stub = SendGridStub::start().await.expect("SendGrid stub");
    client(&stub).send(&ApiKey::new(KEY), &mail(2)).await.expect("accepted");
    let received = stub.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v3/mail/send");
    assert_eq!(received[0].authorization, format!("Bearer {KEY}"));
    let body = &received[0].body;
    assert_eq!(body["template_id"], "d-template");
    assert_eq!(body["personalizations"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["personalizations"][1]["to"][0]["email"], "shopper1@example.com");
    assert_eq!(body["custom_args"], json!({"job_id": "job-1", "run_id": "run-1"}));
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_the_request_sent_again() {
    let stub = SendGridStub::start().await.expect("SendGrid stub");
    // GIVEN SendGrid answers 429 with a reset (whole epoch seconds) at least one
    // second ahead, then 202
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 2;
    stub.answer_with(429, vec![("x-ratelimit-reset", reset.to_string())]);
    let started = std::time::Instant::now();
    // WHEN the mail is sent
    client(&stub)
        .send(&ApiKey::new(KEY), &mail(1))
        .await
        .expect("accepted on the second try");
    // THEN it was sent twice, the second time after the reset
    assert_eq!(stub.received().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stub.received()[0].body, stub.received()[1].body);
}

#[tokio::test]
async fn server_errors_are_retried_and_rejections_are_not() {
    let stub = SendGridStub::start().await.expect("SendGrid stub");
    stub.answer_with(500, Vec::new());
    client(&stub)
        .send(&ApiKey::new(KEY), &mail(1))
        .await
        .expect("accepted after a 500");
    assert_eq!(stub.received().len(), 2);

    let stub = SendGridStub::start().await.expect("SendGrid stub");
    stub.answer_with(400, Vec::new());
    let refused = client(&stub).send(&ApiKey::new(KEY), &mail(1)).await;
    assert!(
        matches!(refused, Err(SendError::Rejected { status: 400, .. })),
        "{refused:?}"
    );
    assert_eq!(stub.received().len(), 1, "a 400 is not sent again");

    let stub = SendGridStub::start().await.expect("SendGrid stub");
    for _ in 0..3 {
        stub.answer_with(503, Vec::new());
    }
    let down = client(&stub).send(&ApiKey::new(KEY), &mail(1)).await;
    assert!(
        matches!(down, Err(SendError::Unavailable { attempts: 3, .. })),
        "{down:?}"
    );
    assert_eq!(stub.received().len(), 3);
}
