//! Builders for unit tests: tenants, events, jobs and the stream records Lambda
//! delivers for them.

use aws_lambda_events::event::dynamodb::EventRecord;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::events::{Event, EventItem, EventRequest};
use crate::jobs::{Job, Notification, ScheduleStatus};
use crate::storage::Versioned;
use crate::tenant::TenantId;

pub fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).expect("tenant")
}

/// An accepted event `id` of `entity` with `payload` (base64, as clients send it).
pub fn event(id: &str, entity: &str, operation: &str, payload: Value) -> Event {
    let request: EventRequest = serde_json::from_value(json!({
        "id": id, "entity_id": "X-1", "entity_name": entity, "event_source": "SYSTEM",
        "event_type": "ENTITY_EVENT", "event_payload": {
            "operation": operation, "base64_encoded_payload_json": STANDARD.encode(payload.to_string())
        }
    }))
    .expect("request");
    request.into_event(Utc::now()).expect("valid")
}

/// The events stream's INSERT record of `event`, with sequence number `sequence`.
pub fn inserted(tenant: &TenantId, event: Event, sequence: &str) -> EventRecord {
    let item: serde_dynamo::Item =
        serde_dynamo::to_item(EventItem::new(tenant, event, Duration::days(1))).expect("item");
    record(
        "INSERT",
        sequence,
        serde_json::to_value(item).expect("image"),
        json!({}),
    )
}

/// A stream record of `name` (INSERT, MODIFY, REMOVE) with these images.
pub fn record(name: &str, sequence: &str, new_image: Value, old_image: Value) -> EventRecord {
    serde_json::from_value(json!({
        "eventID": sequence, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 0, "Keys": {}, "NewImage": new_image, "OldImage": old_image,
                     "SequenceNumber": sequence, "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
    }))
    .expect("record")
}

/// A job as the API stores it: active, scheduled daily at 09:00, created an hour ago.
pub fn job(id: &str, notification: Notification) -> Job {
    Job {
        id: id.into(),
        notification,
        template_id: "d-template".into(),
        number_of_items_in_email: 3,
        job_parameters: Default::default(),
        schedule: Some("cron(0 9 * * ? *)".into()),
        schedule_expression: Some("cron(0 9 * * ? *)".into()),
        schedule_timezone: None,
        is_active: true,
        is_scheduled: true,
        deleted: false,
        schedule_status: ScheduleStatus::Pending,
        schedule_error: None,
        next_run_at: None,
        last_run_at: None,
        retry_shoppers: Vec::new(),
        retry_overflow: None,
        created_at: hours_ago(1),
        updated_at: hours_ago(1),
    }
}

/// The jobs stream's record of a change from `old` to `new` (`None`: absent) of `tenant`'s job.
pub fn job_record(
    tenant: &TenantId,
    sequence: &str,
    old: Option<&Versioned<Job>>,
    new: Option<&Versioned<Job>>,
) -> EventRecord {
    let image = |job: Option<&Versioned<Job>>| {
        let Some(job) = job else { return json!({}) };
        let mut item =
            serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(job).expect("item")).expect("json");
        item["tenant"] = json!({"S": tenant.as_str()});
        item["pk"] = json!({"S": format!("T#{tenant}")});
        item["sk"] = json!({"S": format!("JOB#{}", job.value.id)});
        item
    };
    let name = match (old, new) {
        (None, _) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
    };
    record(name, sequence, image(new), image(old))
}

pub fn hours_ago(hours: i64) -> DateTime<Utc> {
    Utc::now() - Duration::hours(hours)
}

/// What a log subscriber writes, kept for a test to read (`MakeWriter` by clone).
#[derive(Clone, Default)]
pub struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Lines {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lines").clone()).expect("utf-8")
    }
}

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lines").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
