//! The ledger in the loyalty table (see the module's docs for the keys).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::model::{CustomerState, LedgerEntry, Mark};
use super::port::{Applied, Change, Ledger};
use crate::storage::{ErrorKind, StorageError, transact};
use crate::tenant::TenantId;
use crate::util::rfc3339_millis;

/// DynamoDB's limit on the items of one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

pub struct DynamoLedger {
    client: Client,
    table: String,
}

/// The `ACCOUNT` item's attributes.
#[derive(Serialize, Deserialize)]
struct AccountItem {
    version: u64,
    #[serde(with = "rfc3339_millis")]
    created_at: DateTime<Utc>,
    locked: bool,
    lifetime: u64,
    spend_lifetime: f64,
    spend_year: i32,
    spend_annual: f64,
}

fn partition(tenant: &TenantId, customer: &str) -> AttributeValue {
    AttributeValue::S(format!("T#{tenant}#C#{customer}"))
}

/// An entry's sort key, and the cursor the ledger's pages carry.
pub(super) fn entry_key(entry: &LedgerEntry) -> String {
    format!("{}{}", entries_at(entry.created_at), entry.entry_id)
}

/// The start of the sort keys of the entries written `at`; an event's entry ids
/// start with its id and a `:`.
fn entries_at(at: DateTime<Utc>) -> String {
    format!("LEDGER#{}#", rfc3339_millis::format(&at))
}

fn encoded<T: Serialize>(value: &T) -> Result<HashMap<String, AttributeValue>, StorageError> {
    serde_dynamo::to_item(value).map_err(|e| StorageError::caused(ErrorKind::Other, "a ledger item does not encode", e))
}

fn decoded<T: for<'de> Deserialize<'de>>(item: HashMap<String, AttributeValue>) -> Result<T, StorageError> {
    serde_dynamo::from_item(item)
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a ledger item does not decode", e))
}

fn built(put: PutBuilder) -> Result<Put, StorageError> {
    put.build()
        .map_err(|e| StorageError::caused(ErrorKind::Other, "a ledger request does not build", e))
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn put(&self, pk: &AttributeValue, sk: String, mut item: HashMap<String, AttributeValue>) -> PutBuilder {
        item.insert("pk".into(), pk.clone());
        item.insert("sk".into(), AttributeValue::S(sk));
        Put::builder().table_name(&self.table).set_item(Some(item))
    }
}

impl Ledger for DynamoLedger {
    async fn state(&self, tenant: &TenantId, customer: &str) -> Result<CustomerState, StorageError> {
        let mut state = CustomerState::default();
        let mut start = None;
        loop {
            // ACCOUNT, BAL#… and COUNT#… sort before LEDGER#… and MARK#….
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk < :entries")
                .expression_attribute_values(":pk", partition(tenant, customer))
                .expression_attribute_values(":entries", AttributeValue::S("LEDGER#".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StorageError::sdk("Query on the loyalty table (customer)", e))?;
            for item in page.items.unwrap_or_default() {
                let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if sk == "ACCOUNT" {
                    let account: AccountItem = decoded(item)?;
                    state.version = Some(account.version);
                    state.created_at = Some(account.created_at);
                    state.locked = account.locked;
                    state.lifetime = account.lifetime;
                    state.spend_lifetime = account.spend_lifetime;
                    state.spend_year = account.spend_year;
                    state.spend_annual = account.spend_annual;
                } else if let Some(day) = sk.strip_prefix("BAL#") {
                    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|e| StorageError::caused(ErrorKind::Other, "a balance day does not parse", e))?;
                    state.balances.insert(day, number(&item, "points"));
                } else if let Some(rule) = sk.strip_prefix("COUNT#") {
                    state.counts.insert(
                        rule.to_owned(),
                        u32::try_from(number(&item, "count")).unwrap_or(u32::MAX),
                    );
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(state),
            }
        }
    }

    async fn apply(&self, tenant: &TenantId, customer: &str, change: &Change<'_>) -> Result<Applied, StorageError> {
        let Change {
            event_id,
            before,
            effect,
        } = *change;
        let (next, entries) = (&effect.next, &effect.entries);
        let pk = partition(tenant, customer);
        let mark = built(
            self.put(&pk, format!("MARK#{event_id}"), encoded(&effect.mark)?)
                .condition_expression("attribute_not_exists(pk)"),
        )?;
        let account = AccountItem {
            version: next.version.unwrap_or(1),
            created_at: next.created_at.unwrap_or_else(Utc::now),
            locked: next.locked,
            lifetime: next.lifetime,
            spend_lifetime: next.spend_lifetime,
            spend_year: next.spend_year,
            spend_annual: next.spend_annual,
        };
        // Every writer of the customer moves its version: this condition orders them.
        let account = self.put(&pk, "ACCOUNT".into(), encoded(&account)?);
        let account = built(match before.version {
            None => account.condition_expression("attribute_not_exists(pk)"),
            Some(version) => account
                .condition_expression("version = :version")
                .expression_attribute_values(":version", AttributeValue::N(version.to_string())),
        })?;
        let mut puts = vec![mark, account];
        let bucket = |day: &NaiveDate| format!("BAL#{}", day.format("%Y-%m-%d"));
        for (day, points) in &next.balances {
            if before.balances.get(day) != Some(points) {
                let item = HashMap::from([("points".to_owned(), AttributeValue::N(points.to_string()))]);
                puts.push(built(self.put(&pk, bucket(day), item))?);
            }
        }
        // Buckets emptied or expired go (the account's condition orders this too).
        let mut deletes = Vec::new();
        for day in before.balances.keys().filter(|day| !next.balances.contains_key(day)) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", pk.clone())
                .key("sk", AttributeValue::S(bucket(day)))
                .build()
                .map_err(|e| StorageError::caused(ErrorKind::Other, "a ledger request does not build", e))?;
            deletes.push(TransactWriteItem::builder().delete(delete).build());
        }
        for (rule, count) in &next.counts {
            if before.counts.get(rule) != Some(count) {
                let item = HashMap::from([("count".to_owned(), AttributeValue::N(count.to_string()))]);
                puts.push(built(self.put(&pk, format!("COUNT#{rule}"), item))?);
            }
        }
        for entry in entries {
            puts.push(built(self.put(&pk, entry_key(entry), encoded(entry)?))?);
        }
        if puts.len() + deletes.len() > MAX_TRANSACTION_ITEMS {
            return Err(StorageError::other(
                "one change touches more items than one transaction can hold (too many rules fulfilled, or points of too many days redeemed)",
            ));
        }
        let items = puts
            .into_iter()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .chain(deletes)
            .collect();
        Ok(
            match transact(&self.client, items, "TransactWriteItems on the loyalty table (ledger)")
                .await?
                .first_refused()
            {
                None => Applied::Written,
                Some((0, _)) => Applied::AlreadyApplied,
                Some(_) => Applied::Stale,
            },
        )
    }

    async fn mark(&self, tenant: &TenantId, customer: &str, event_id: &str) -> Result<Option<Mark>, StorageError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", partition(tenant, customer))
            .key("sk", AttributeValue::S(format!("MARK#{event_id}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("GetItem on the loyalty table (mark)", e))?
            .item;
        item.map(decoded::<Mark>).transpose()
    }

    async fn entries_of(
        &self,
        tenant: &TenantId,
        customer: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<LedgerEntry>, StorageError> {
        // At most one transaction's worth: one page.
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :event)")
            .expression_attribute_values(":pk", partition(tenant, customer))
            .expression_attribute_values(":event", AttributeValue::S(format!("{}{event_id}:", entries_at(at))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the loyalty table (an event's entries)", e))?;
        page.items.unwrap_or_default().into_iter().map(decoded).collect()
    }

    async fn set_locked(
        &self,
        tenant: &TenantId,
        customer: &str,
        before: &CustomerState,
        locked: bool,
    ) -> Result<Applied, StorageError> {
        let Some(version) = before.version else {
            return Ok(Applied::Stale);
        };
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", partition(tenant, customer))
            .key("sk", AttributeValue::S("ACCOUNT".into()))
            .update_expression("SET locked = :locked, version = version + :one")
            .condition_expression("version = :version")
            .expression_attribute_values(":locked", AttributeValue::Bool(locked))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(Applied::Written),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(Applied::Stale),
            Err(e) => Err(StorageError::sdk("UpdateItem on the loyalty table (account)", e)),
        }
    }

    async fn entries(
        &self,
        tenant: &TenantId,
        customer: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<LedgerEntry>, Option<String>), StorageError> {
        let start = cursor.map(|sk| {
            HashMap::from([
                ("pk".to_owned(), partition(tenant, customer)),
                ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :entries)")
            .expression_attribute_values(":pk", partition(tenant, customer))
            .expression_attribute_values(":entries", AttributeValue::S("LEDGER#".into()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StorageError::sdk("Query on the loyalty table (ledger)", e))?;
        let next = page
            .last_evaluated_key
            .and_then(|key| key.get("sk").and_then(|v| v.as_s().ok()).cloned());
        let entries = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(decoded)
            .collect::<Result<_, _>>()?;
        Ok((entries, next))
    }
}
