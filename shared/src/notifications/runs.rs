//! Each invocation of a job is a run, stored beside the job (`sk =
//! RUN#<job>#<started at>#<execution id>`, so a job's runs list newest first).
//! A claim item (`sk = CLAIM#<job>#<execution id>`) is written with it in one
//! transaction, on the condition that it does not exist: a second invocation
//! with the same execution id finds the run claimed and sends nothing.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rfc3339_millis;
use crate::tenant::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    /// Every e-mail accepted by SendGrid (or none to send).
    Succeeded,
    /// Some e-mails failed; the others went out.
    Partial,
    /// Nothing could be sent.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Scheduler's execution id (or a generated one for a run started by hand).
    pub run_id: String,
    pub job_id: String,
    #[serde(with = "rfc3339_millis")]
    pub scheduled_time: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339_millis::option")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Shoppers whose wishlists were looked at.
    pub shoppers: u64,
    /// E-mails SendGrid accepted, and the items they list.
    pub emails: u64,
    pub items: u64,
    /// E-mails that could not be sent.
    pub failures: u64,
    /// The first few errors, for whoever looks at the run.
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("run store: {0}")]
pub struct RunStoreError(String);

fn backend(err: impl std::error::Error) -> RunStoreError {
    RunStoreError(DisplayErrorContext(err).to_string())
}

#[derive(Serialize, Deserialize)]
struct RunItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    run: Run,
}

pub struct RunStore {
    client: Client,
    table: String,
}

impl RunStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(tenant: &TenantId, run: &Run) -> RunItem {
        RunItem {
            pk: format!("T#{tenant}"),
            sk: format!(
                "RUN#{}#{}#{}",
                run.job_id,
                rfc3339_millis::format(&run.started_at),
                run.run_id
            ),
            run: run.clone(),
        }
    }

    /// Stores `run` unless its execution id was claimed before; false when it was.
    pub async fn claim(&self, tenant: &TenantId, run: &Run) -> Result<bool, RunStoreError> {
        let item = serde_dynamo::to_item(Self::item(tenant, run)).map_err(|e| RunStoreError(e.to_string()))?;
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(|e| RunStoreError(e.to_string()))
        };
        let claim = Put::builder()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("T#{tenant}")))
            .item("sk", AttributeValue::S(format!("CLAIM#{}#{}", run.job_id, run.run_id)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| RunStoreError(e.to_string()))?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(TransactWriteItem::builder().put(put(item)?).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled)
                    if cancelled
                        .cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")) =>
                {
                    Ok(false)
                }
                _ => Err(backend(SdkError::ServiceError(e))),
            },
            Err(other) => Err(backend(other)),
        }
    }

    /// Stores the finished run over its claim.
    pub async fn finish(&self, tenant: &TenantId, run: &Run) -> Result<(), RunStoreError> {
        let item = serde_dynamo::to_item(Self::item(tenant, run)).map_err(|e| RunStoreError(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(backend)
    }

    /// The job's latest `limit` runs, newest first.
    pub async fn latest(&self, tenant: &TenantId, job_id: &str, limit: i32) -> Result<Vec<Run>, RunStoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :runs)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("T#{tenant}")))
            .expression_attribute_values(":runs", AttributeValue::S(format!("RUN#{job_id}#")))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(backend)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RunItem>(item)
                    .map(|i| i.run)
                    .map_err(|e| RunStoreError(e.to_string()))
            })
            .collect()
    }
}
