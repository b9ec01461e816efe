//! The events table in DynamoDB.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{Duration, Utc};

use super::item::{self, BY_ENTITY_INDEX, EventItem};
use super::model::Event;
use super::store::{EventPage, EventStore, PutOutcome, StoreError};
use crate::storage::query_page;
use crate::tenant::TenantId;

pub struct DynamoEventStore {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoEventStore {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }
}

fn backend(err: impl std::error::Error) -> StoreError {
    StoreError::Backend(DisplayErrorContext(err).to_string())
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<Event, StoreError> {
    serde_dynamo::from_item::<_, EventItem>(item)
        .map(|stored| stored.event)
        .map_err(|e| StoreError::Backend(format!("undecodable event item: {e}")))
}

impl EventStore for DynamoEventStore {
    async fn put_new(&self, tenant: &TenantId, event: Event) -> Result<PutOutcome, StoreError> {
        let item = serde_dynamo::to_item(EventItem::new(tenant, event.clone(), self.retention))
            .map_err(|e| StoreError::Backend(format!("unencodable event: {e}")))?;
        // One write decides it all: the condition refuses an existing id and hands
        // back the stored item, so replay and conflict need no extra read.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing =
            match result {
                Ok(_) => return Ok(PutOutcome::Created(event)),
                Err(err) => match err.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(failed) => decode(failed.item.ok_or_else(|| {
                        StoreError::Backend("conditional check failure without the stored item".into())
                    })?)?,
                    other => return Err(backend(other)),
                },
            };
        Ok(if existing.same_content(&event) {
            PutOutcome::Replayed(existing)
        } else {
            PutOutcome::Conflict
        })
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(item::event_key(tenant, id)))
            .send()
            .await
            .map_err(backend)?;
        // TTL deletion lags expiry by up to days: an expired event is already gone.
        let expired = output.item.as_ref().is_some_and(|item| {
            item.get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|expires_at| expires_at <= Utc::now().timestamp())
        });
        output.item.filter(|_| !expired).map(decode).transpose()
    }

    async fn list_by_entity(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        entity_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<EventPage, StoreError> {
        let partition = item::entity_key(tenant, entity_name, entity_id);
        // The cursor carries only the sort key; the rest of the start key is rebuilt
        // from this tenant's query, so a cursor cannot reach another partition.
        let start = cursor
            .map(|sort_key| {
                let id = item::id_from_sort_key(sort_key).ok_or(StoreError::InvalidCursor)?;
                Ok::<_, StoreError>(HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(item::event_key(tenant, id))),
                    ("gsi1pk".to_owned(), AttributeValue::S(partition.clone())),
                    ("gsi1sk".to_owned(), AttributeValue::S(sort_key.to_owned())),
                ]))
            })
            .transpose()?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_ENTITY_INDEX)
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            // Expired but not yet deleted by TTL; pages may then hold fewer items.
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":now", AttributeValue::N(Utc::now().timestamp().to_string()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(backend)?;
        let (items, cursor) = query_page(output, "gsi1sk", decode)?;
        Ok(EventPage { items, cursor })
    }
}
