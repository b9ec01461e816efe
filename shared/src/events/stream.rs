//! Reading the events table's stream: each INSERT's new image is an event the
//! API accepted (a replay writes nothing, so it never shows up here).

use aws_lambda_events::event::dynamodb::EventRecord;

use super::item::EventItem;
use super::model::Event;
use crate::tenant::TenantId;

/// An accepted event and the tenant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedEvent {
    pub tenant: TenantId,
    pub event: Event,
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("the new image is not an event item: {0}")]
    Undecodable(String),
    #[error("the new image names an invalid tenant")]
    Tenant,
}

/// The event a stream record inserted; `None` for MODIFY and REMOVE (TTL expiry),
/// which are not new events.
pub fn inserted_event(record: &EventRecord) -> Result<Option<StreamedEvent>, StreamError> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let item: EventItem = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|e| StreamError::Undecodable(e.to_string()))?;
    let tenant = TenantId::parse(&item.tenant).map_err(|_| StreamError::Tenant)?;
    Ok(Some(StreamedEvent {
        tenant,
        event: item.event,
    }))
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::dynamodb::Event as StreamBatch;
    use chrono::Duration;
    use serde_json::{Value, json};

    use super::*;
    use crate::events::EventRequest;

    fn accepted() -> (TenantId, Event) {
        let request: EventRequest = serde_json::from_value(json!({
            "id": "evt-1", "entity_id": "ORD-1", "entity_name": "ORDER", "event_source": "APPLICATION",
            "event_type": "ENTITY_EVENT", "event_payload": {"operation": "CREATE", "key_attributes": {"k": "v"}}
        }))
        .expect("request");
        let tenant = TenantId::parse("acme").expect("tenant");
        (tenant, request.into_event(chrono::Utc::now()).expect("valid"))
    }

    /// A stream batch as Lambda delivers it, with the item as the table stores it.
    fn batch(event_name: &str, new_image: Value) -> StreamBatch {
        serde_json::from_value(json!({"Records": [{
            "eventID": "1", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_795_674_605,
                "Keys": {"pk": {"S": "T#acme#E#evt-1"}},
                "NewImage": new_image,
                "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_IMAGE"
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/2026-01-01T00:00:00.000"
        }]}))
        .expect("stream batch")
    }

    #[test]
    fn an_insert_yields_the_stored_event() {
        let (tenant, event) = accepted();
        let item: serde_dynamo::Item =
            serde_dynamo::to_item(EventItem::new(&tenant, event.clone(), Duration::days(1))).expect("item");
        let records = batch("INSERT", serde_json::to_value(item).expect("image")).records;
        let streamed = inserted_event(&records[0]).expect("decodes");
        assert_eq!(streamed, Some(StreamedEvent { tenant, event }));
    }

    #[test]
    fn removals_are_not_events_and_garbage_is_an_error() {
        assert!(
            inserted_event(&batch("REMOVE", json!({})).records[0])
                .expect("ignored")
                .is_none()
        );
        assert!(inserted_event(&batch("INSERT", json!({"pk": {"S": "x"}})).records[0]).is_err());
    }
}
