//! The jobs API through its handlers and the real DynamoDB SDK, against moto.

mod common;

use common::{ApiRequest, TestStack, ids_of, parts};
use serde_json::{Value, json};

fn job(id: &str) -> Value {
    json!({
        "id": id,
        "notification": "BACK_IN_STOCK",
        "template_id": "d-8f2a6c1e4b7d4c0f9e3a2b1c0d9e8f7a",
        "number_of_items_in_email": 3,
        "job_parameters": {"campaign_id": "winter-restock", "utm_medium": "email", "low_stock_threshold": 5},
        "schedule": "0 9 * * 1-5",
        "scheduleTimezone": "Europe/Berlin",
        "is_active": true,
        "is_scheduled": true,
        "deleted": false
    })
}

fn post(tenant: &str, body: &Value) -> lambda_http::Request {
    ApiRequest::new("POST", "/api/v1/jobs")
        .for_tenant(tenant)
        .json(body)
        .build()
}

fn with_id(method: &str, tenant: &str, id: &str, body: Option<&Value>) -> lambda_http::Request {
    let request = ApiRequest::new(method, &format!("/api/v1/jobs/{id}"))
        .for_tenant(tenant)
        .path_param("jobId", id);
    match body {
        Some(body) => request.json(body),
        None => request,
    }
    .build()
}

fn list(tenant: &str, include_deleted: bool) -> lambda_http::Request {
    let request = ApiRequest::new("GET", "/api/v1/jobs").for_tenant(tenant);
    if include_deleted {
        request.query("include_deleted", "true")
    } else {
        request
    }
    .build()
}

#[tokio::test]
async fn a_created_job_shows_its_normalised_schedule_and_next_run() {
    let stack = TestStack::new().await;
    let mut body = job("unused");
    body.as_object_mut().expect("object").remove("id");

    let (status, created) = parts(stack.call("create-job", post("acme", &body)).await);
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].as_str().is_some_and(|id| id.starts_with("job_")));
    assert_eq!(created["scheduleExpression"], "cron(0 9 ? * MON-FRI *)");
    assert_eq!(created["schedule"], "cron(0 9 ? * MON-FRI *)");
    assert_eq!(created["scheduleTimezone"], "Europe/Berlin");
    assert_eq!(created["schedule_status"], "PENDING");
    assert_eq!(
        (created["version"].as_u64(), created["last_run_at"].clone()),
        (Some(1), Value::Null)
    );
    // 09:00 in Berlin is 08:00 or 07:00 UTC, depending on the season.
    let next = created["next_run_at"].as_str().expect("next run");
    assert!(
        next.contains("T08:00:00.000Z") || next.contains("T07:00:00.000Z"),
        "{next}"
    );

    let id = created["id"].as_str().expect("id");
    let (status, read) = parts(stack.call("get-job", with_id("GET", "acme", id, None)).await);
    assert_eq!((status, read), (200, created));
}

#[tokio::test]
async fn updates_replace_the_job_but_never_its_id() {
    let stack = TestStack::new().await;
    let (_, created) = parts(stack.call("create-job", post("acme", &job("job-1"))).await);

    let mut change = job("job-1");
    change["scheduleExpression"] = json!("rate(1  hour)");
    change.as_object_mut().expect("object").remove("schedule");
    change["notification"] = json!("PRICE_DROP");
    let (status, updated) = parts(
        stack
            .call("update-job", with_id("PUT", "acme", "job-1", Some(&change)))
            .await,
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["scheduleExpression"].as_str(), updated["notification"].as_str()),
        (Some("rate(1 hour)"), Some("PRICE_DROP"))
    );
    assert_eq!(
        (updated["version"].as_u64(), &updated["created_at"]),
        (Some(2), &created["created_at"])
    );

    // The seed's update body carries no id; a different one is refused.
    let (status, problem) = parts(
        stack
            .call("update-job", with_id("PUT", "acme", "job-1", Some(&job("job-2"))))
            .await,
    );
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("id")));

    // A writer that read version 1 loses.
    let mut stale = job("job-1");
    stale["version"] = json!(1);
    assert_eq!(
        parts(
            stack
                .call("update-job", with_id("PUT", "acme", "job-1", Some(&stale)))
                .await
        )
        .0,
        409
    );
}

#[tokio::test]
async fn deleting_is_soft_and_idempotent() {
    let stack = TestStack::new().await;
    for id in ["job-1", "job-2"] {
        parts(stack.call("create-job", post("acme", &job(id))).await);
    }
    let response = stack.call("delete-job", with_id("DELETE", "acme", "job-1", None)).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    assert_eq!(
        stack
            .call("delete-job", with_id("DELETE", "acme", "job-1", None))
            .await
            .status(),
        204
    );

    let (_, deleted) = parts(stack.call("get-job", with_id("GET", "acme", "job-1", None)).await);
    assert_eq!(
        (deleted["deleted"].as_bool(), deleted["next_run_at"].clone()),
        (Some(true), Value::Null)
    );
    assert_eq!(
        ids_of(&parts(stack.call("list-jobs", list("acme", false)).await).1),
        ["job-2"]
    );
    assert_eq!(
        ids_of(&parts(stack.call("list-jobs", list("acme", true)).await).1),
        ["job-1", "job-2"]
    );
    assert_eq!(
        parts(
            stack
                .call("update-job", with_id("PUT", "acme", "job-1", Some(&job("job-1"))))
                .await
        )
        .0,
        409
    );
}

#[tokio::test]
async fn another_tenants_job_is_unknown() {
    let stack = TestStack::new().await;
    parts(stack.call("create-job", post("acme", &job("job-1"))).await);
    assert_eq!(
        parts(stack.call("get-job", with_id("GET", "globex", "job-1", None)).await).0,
        404
    );
    assert_eq!(
        parts(
            stack
                .call("update-job", with_id("PUT", "globex", "job-1", Some(&job("job-1"))))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        stack
            .call("delete-job", with_id("DELETE", "globex", "job-1", None))
            .await
            .status(),
        404
    );
    assert_eq!(parts(stack.call("list-jobs", list("globex", true)).await).1, json!([]));
    assert_eq!(
        parts(stack.call("get-job", with_id("GET", "acme", "job-1", None)).await).1["deleted"],
        false
    );
}

#[tokio::test]
async fn bad_jobs_get_a_400_naming_the_field() {
    let stack = TestStack::new().await;
    let with = |field: &str, value: Value| {
        let mut body = job("job-x");
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = job("job-x");
        body.as_object_mut().expect("object").remove(field);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown notification",
            with("notification", json!("NEWSLETTER")),
            "notification",
        ),
        (
            "invalid cron",
            with("schedule", json!("cron(0 9 * * MON *)")),
            "schedule",
        ),
        ("cron out of range", with("schedule", json!("61 9 * * *")), "schedule"),
        ("invalid rate", with("schedule", json!("rate(0 minutes)")), "schedule"),
        (
            "invalid at",
            with("schedule", json!("at(2030-02-30T00:00:00)")),
            "schedule",
        ),
        (
            "at in the past",
            with("schedule", json!("at(2020-01-01T00:00:00)")),
            "schedule",
        ),
        (
            "unknown timezone",
            with("scheduleTimezone", json!("Mars/Olympus")),
            "scheduleTimezone",
        ),
        (
            "zero items",
            with("number_of_items_in_email", json!(0)),
            "number_of_items_in_email",
        ),
        (
            "negative items",
            with("number_of_items_in_email", json!(-2)),
            "number_of_items_in_email",
        ),
        ("missing template", without("template_id"), "template_id"),
        ("created deleted", with("deleted", json!(true)), "deleted"),
        (
            "scheduled without a schedule",
            without("schedule"),
            "scheduleExpression",
        ),
        (
            "disagreeing schedules",
            with("scheduleExpression", json!("rate(5 minutes)")),
            "scheduleExpression",
        ),
        (
            "bad threshold",
            with("job_parameters", json!({"low_stock_threshold": "five"})),
            "job_parameters.low_stock_threshold",
        ),
        (
            "nested parameter",
            with("job_parameters", json!({"extra": {"a": 1}})),
            "job_parameters.extra",
        ),
        (
            "misspelt field",
            with("scheduleTimeZone", json!("UTC")),
            "scheduleTimeZone",
        ),
    ];
    for (case, body, field) in cases {
        let (status, problem) = parts(stack.call("create-job", post("acme", &body)).await);
        assert_eq!(status, 400, "{case}: {problem}");
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            named.iter().any(|n| n.starts_with(field)),
            "{case}: {problem} should name {field}"
        );
    }
    assert!(stack.calls.take().is_empty(), "invalid jobs are never written");
}

#[tokio::test]
async fn an_update_that_leaves_out_is_active_keeps_it() {
    let stack = TestStack::new().await;
    let mut paused = job("job-1");
    paused["is_active"] = json!(false);
    parts(stack.call("create-job", post("acme", &paused)).await);
    let mut body = job("job-1");
    body.as_object_mut().expect("object").remove("is_active");
    let (status, updated) = parts(
        stack
            .call("update-job", with_id("PUT", "acme", "job-1", Some(&body)))
            .await,
    );
    assert_eq!(
        (status, updated["is_active"].as_bool(), updated["next_run_at"].clone()),
        (200, Some(false), Value::Null)
    );
}

#[tokio::test]
async fn seed_000s_post_on_the_job_deletes_it() {
    use shared::routes::{Resolution, resolve};
    // GIVEN a job
    let stack = TestStack::new().await;
    parts(stack.call("create-job", post("acme", &job("job-1"))).await);
    // WHEN the seed's client deletes it with POST /api/v1/jobs/{JobId}
    let Resolution::Found { route, .. } = resolve("POST", "/api/v1/jobs/job-1") else {
        panic!("POST on a job's path is routed");
    };
    assert_eq!(route.function, "delete-job");
    let response = stack
        .call(route.function, with_id("POST", "acme", "job-1", Some(&json!({}))))
        .await;
    // THEN it answers as DELETE does, and the job is deleted
    assert_eq!(response.status(), 204);
    let (_, deleted) = parts(stack.call("get-job", with_id("GET", "acme", "job-1", None)).await);
    assert_eq!(deleted["deleted"], true);
    let (status, _) = parts(stack.call("delete-job", with_id("POST", "globex", "job-1", None)).await);
    assert_eq!(status, 404, "another tenant's job is unknown");
}

#[tokio::test]
async fn a_tenant_keeps_at_most_its_quota_of_jobs_and_a_deleted_one_frees_its_place() {
    // GIVEN a stack whose tenants may keep two jobs, and acme with two
    let mut stack = TestStack::new().await;
    stack.stack = stack
        .stack
        .clone()
        .with_parameter("MaxJobsPerTenant", "2")
        .expect("parameter");
    for id in ["job-1", "job-2"] {
        assert_eq!(parts(stack.call("create-job", post("acme", &job(id))).await).0, 201);
    }
    // WHEN acme creates a third THEN 409 naming the limit, and nothing is stored
    let (status, problem) = parts(stack.call("create-job", post("acme", &job("job-3"))).await);
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("MaxJobsPerTenant"),
        "{problem}"
    );
    // AND another tenant is not held to acme's count
    assert_eq!(
        parts(stack.call("create-job", post("globex", &job("job-3"))).await).0,
        201
    );
    // WHEN acme deletes one THEN it may create another
    let delete = ApiRequest::new("DELETE", "/api/v1/jobs/job-1")
        .for_tenant("acme")
        .path_param("jobId", "job-1")
        .build();
    assert_eq!(parts(stack.call("delete-job", delete).await).0, 204);
    assert_eq!(
        parts(stack.call("create-job", post("acme", &job("job-3"))).await).0,
        201
    );
}
