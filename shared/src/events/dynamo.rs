//! The events table in DynamoDB, and the claims table beside it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};

use super::customer::NewCustomer;
use super::item::{self, BY_ENTITY_INDEX, BY_TIME_INDEX, EventItem};
use super::model::Event;
use super::store::{EventPage, EventStore, EventStoreError, PutOutcome};
use crate::storage::{ErrorKind, StorageError, Written, batch_get, query_page, transact};
use crate::tenant::TenantId;
use crate::util::ttl_map::TtlMap;

/// Tries of a transaction that DynamoDB cancelled for a concurrent one on the same item.
const TRANSACTION: &str = "TransactWriteItems (an event and its claim)";

pub struct DynamoEventStore {
    client: Client,
    table: String,
    /// `None` in functions that only read events.
    writes: Option<Writes>,
    /// Customer claims this container saw exist: their events cost no claim write.
    known_customers: TtlMap<String, ()>,
}

/// What a store that writes events needs.
#[derive(Debug, Clone)]
struct Writes {
    retention: Duration,
    /// `None` in functions that store no unique keys or customers.
    claims_table: Option<String>,
}

/// How long a container remembers a known customer (claims never expire; this
/// only bounds how long an entry takes memory).
const KNOWN_CUSTOMER_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

impl DynamoEventStore {
    /// A store that reads events.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            writes: None,
            known_customers: TtlMap::new(KNOWN_CUSTOMER_TTL),
        }
    }

    /// The same store, also writing events that expire after `retention`.
    #[must_use]
    pub fn writing(self, retention: Duration) -> Self {
        Self {
            writes: Some(Writes {
                retention,
                claims_table: None,
            }),
            ..self
        }
    }

    /// The writing store, keeping its events' claims (unique keys, customers) in
    /// `claims_table`.
    #[must_use]
    pub fn claiming(self, claims_table: impl Into<String>) -> Self {
        let writes = self.writes.map(|writes| Writes {
            claims_table: Some(claims_table.into()),
            ..writes
        });
        Self { writes, ..self }
    }

    fn writes(&self) -> Result<&Writes, EventStoreError> {
        self.writes
            .as_ref()
            .ok_or_else(|| StorageError::other("this function only reads events").into())
    }

    fn claims_table(&self) -> Result<&str, EventStoreError> {
        self.writes()?
            .claims_table
            .as_deref()
            .ok_or_else(|| StorageError::other("this function stores no claims").into())
    }

    fn event_item(&self, tenant: &TenantId, event: &Event) -> Result<HashMap<String, AttributeValue>, EventStoreError> {
        serde_dynamo::to_item(EventItem::new(tenant, event.clone(), self.writes()?.retention))
            .map_err(|e| StorageError::caused(ErrorKind::Other, "an event does not encode", e).into())
    }

    /// The conditional put of a new event, as a transaction item.
    fn put_event(&self, tenant: &TenantId, event: &Event) -> Result<TransactWriteItem, EventStoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.event_item(tenant, event)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unbuildable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// `event` with a unique key: one transaction puts the key's claim and the
    /// event, or neither.
    async fn put_unique(
        &self,
        tenant: &TenantId,
        event: Event,
        unique_key: &str,
    ) -> Result<PutOutcome, EventStoreError> {
        let claims_table = self.claims_table()?;
        // Twice at most: the holder of a claim can expire between the claim's check and the read.
        for _ in 0..2 {
            let claim = HashMap::from([
                (
                    "pk".to_owned(),
                    AttributeValue::S(item::unique_claim_key(tenant, unique_key)),
                ),
                ("event_id".to_owned(), AttributeValue::S(event.id.clone())),
                (
                    "expires_at".to_owned(),
                    AttributeValue::N((event.created_at + self.writes()?.retention).timestamp().to_string()),
                ),
            ]);
            let put_claim = Put::builder()
                .table_name(claims_table)
                .set_item(Some(claim))
                // A claim whose event has expired no longer holds the key.
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", AttributeValue::N(Utc::now().timestamp().to_string()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(unbuildable)?;
            // The claim first: moto applies puts in order, and a put before the
            // failing check would leave a stream record of an event never stored.
            let items = vec![
                TransactWriteItem::builder().put(put_claim).build(),
                self.put_event(tenant, &event)?,
            ];
            let failed = match transact(&self.client, items, TRANSACTION).await? {
                Written::Committed => return Ok(PutOutcome::Created(event)),
                Written::Refused(failed) => failed,
            };
            // The id first: a re-sent event is answered as itself, whoever holds its key.
            if let Some(Some(existing)) = failed.get(1) {
                return Ok(PutOutcome::for_existing(decode(existing.clone())?, &event));
            }
            let holder = failed
                .first()
                .and_then(|claim| claim.as_ref()?.get("event_id")?.as_s().ok().cloned())
                .ok_or_else(|| StorageError::other("a refused unique-key claim without its event id"))?;
            // Committed with its claim, so a strongly consistent read finds it unless it expired.
            if let Some(existing) = self.read(tenant, &holder, true).await? {
                return Ok(PutOutcome::Replayed(existing));
            }
        }
        Err(StorageError::other("the event holding a unique key cannot be read").into())
    }

    async fn read(&self, tenant: &TenantId, id: &str, consistent: bool) -> Result<Option<Event>, EventStoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(item::event_key(tenant, id)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| StorageError::sdk("GetItem on the events table", e))?;
        // TTL deletion lags expiry by up to days: an expired event is already gone.
        let expired = output.item.as_ref().is_some_and(|item| {
            item.get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|expires_at| expires_at <= Utc::now().timestamp())
        });
        output.item.filter(|_| !expired).map(decode).transpose()
    }
}

impl DynamoEventStore {
    /// One page (`limit` at most) of the tenant's events in `by_time`
    /// partition `index` of a replay of `entity_name` (`item::replay_partition`)
    /// accepted in `[from, to)`, oldest first, after `cursor` (a sort key this
    /// returned); and the cursor of the next page. Expired events are left out.
    pub async fn page_in_window(
        &self,
        (tenant, entity_name): (&TenantId, &str),
        index: u8,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Event>, Option<String>), EventStoreError> {
        let partition = item::replay_partition(tenant, entity_name, index);
        let start = cursor
            .map(|sort_key| {
                let id = item::id_from_sort_key(sort_key).ok_or(EventStoreError::InvalidCursor)?;
                Ok::<_, EventStoreError>(HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(item::event_key(tenant, id))),
                    ("gsi2pk".to_owned(), AttributeValue::S(partition.clone())),
                    ("gsi2sk".to_owned(), AttributeValue::S(sort_key.to_owned())),
                ]))
            })
            .transpose()?;
        // `<from>` sorts before every key of that millisecond, `<to>` before `<to>#…`.
        let bound = |at: &DateTime<Utc>| AttributeValue::S(crate::util::rfc3339_millis::format(at));
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_TIME_INDEX)
            .key_condition_expression("gsi2pk = :pk AND gsi2sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .expression_attribute_values(":from", bound(&from))
            .expression_attribute_values(":to", bound(&to))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the events table (by_time)", e))?;
        let next = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| key.get("gsi2sk")?.as_s().ok().cloned());
        // The index holds keys only: the events are read from the table.
        let keys: Vec<_> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|key| Some(HashMap::from([("pk".to_owned(), key.get("pk")?.clone())])))
            .collect();
        let items = batch_get(&self.client, &self.table, keys, "BatchGetItem on the events table").await?;
        let now = Utc::now().timestamp();
        let mut events = Vec::with_capacity(items.len());
        for item in items {
            let stored: EventItem = serde_dynamo::from_item(item)
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a stored event does not decode", e))?;
            if stored.expires_at > now {
                events.push(stored.event);
            }
        }
        events.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok((events, next))
    }
}

/// A request that could not be built: a bug, never worth sending again.
fn unbuildable(err: aws_sdk_dynamodb::error::BuildError) -> EventStoreError {
    StorageError::caused(ErrorKind::Other, "a request does not build", err).into()
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<Event, EventStoreError> {
    serde_dynamo::from_item::<_, EventItem>(item)
        .map(|stored| stored.event)
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a stored event does not decode", e).into())
}

impl EventStore for DynamoEventStore {
    async fn put_new(
        &self,
        tenant: &TenantId,
        event: Event,
        unique_key: Option<&str>,
    ) -> Result<PutOutcome, EventStoreError> {
        if let Some(unique_key) = unique_key {
            return self.put_unique(tenant, event, unique_key).await;
        }
        // One write decides it all: the condition refuses an existing id and hands
        // back the stored item, so replay and conflict need no extra read.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.event_item(tenant, &event)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created(event)),
            Err(err) => {
                let kind = ErrorKind::of(&err);
                match err.into_service_error() {
                    PutItemError::ConditionalCheckFailedException(refusal) => {
                        let existing = refusal
                            .item
                            .ok_or_else(|| StorageError::other("conditional check failure without the stored item"))?;
                        Ok(PutOutcome::for_existing(decode(existing)?, &event))
                    }
                    other => Err(StorageError::caused(kind, "PutItem on the events table", other).into()),
                }
            }
        }
    }

    async fn add_customer(
        &self,
        tenant: &TenantId,
        customer: &NewCustomer,
        created: Event,
    ) -> Result<bool, EventStoreError> {
        let key = item::customer_claim_key(tenant, customer);
        if self.known_customers.fresh(&key).is_some() {
            return Ok(false);
        }
        let claim = HashMap::from([
            ("pk".to_owned(), AttributeValue::S(key.clone())),
            ("event_id".to_owned(), AttributeValue::S(created.id.clone())),
        ]);
        let put_claim = Put::builder()
            .table_name(self.claims_table()?)
            .set_item(Some(claim))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unbuildable)?;
        let items = vec![
            TransactWriteItem::builder().put(put_claim).build(),
            self.put_event(tenant, &created)?,
        ];
        let added = matches!(transact(&self.client, items, TRANSACTION).await?, Written::Committed);
        // Known now either way, and a customer claim never goes away.
        self.known_customers.insert(key, ());
        Ok(added)
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<Event>, EventStoreError> {
        self.read(tenant, id, false).await
    }

    async fn list_by_entity(
        &self,
        tenant: &TenantId,
        entity_name: &str,
        entity_id: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<EventPage, EventStoreError> {
        let partition = item::entity_key(tenant, entity_name, entity_id);
        // The cursor carries only the sort key; the rest of the start key is rebuilt
        // from this tenant's query, so a cursor cannot reach another partition.
        let start = cursor
            .map(|sort_key| {
                let id = item::id_from_sort_key(sort_key).ok_or(EventStoreError::InvalidCursor)?;
                Ok::<_, EventStoreError>(HashMap::from([
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
            .map_err(|e| StorageError::sdk("Query on the events table", e))?;
        let (items, cursor) = query_page(output, "gsi1sk", decode)?;
        Ok(EventPage { items, cursor })
    }
}
