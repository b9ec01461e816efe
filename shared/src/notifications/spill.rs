//! Carried shoppers beyond what the job item holds: each SendGrid request's
//! overflow is one item beside the job (`sk = CARRY#<job>#<run>#<seq>`, at most
//! one request's 1,000 shoppers, well under DynamoDB's 400 KB). The job names the
//! run and how many items; the next run reads them, and removes them once the
//! job points at its own. They never expire: a job may wait long for its next
//! run. A run that does not point the job at its items removes them itself.

use aws_sdk_dynamodb::types::AttributeValue;

use super::runs::{Run, RunStore};
use crate::jobs::{RetryOverflow, RetryShoppers};
use crate::storage::{ErrorKind, StorageError, partition};
use crate::tenant::TenantId;

fn sort_key(job_id: &str, run_id: &str, seq: u32) -> AttributeValue {
    AttributeValue::S(format!("CARRY#{job_id}#{run_id}#{seq:06}"))
}

impl RunStore {
    pub(super) async fn put_spill(
        &self,
        tenant: &TenantId,
        run: &Run,
        seq: u32,
        shoppers: &[RetryShoppers],
    ) -> Result<(), StorageError> {
        let groups = serde_dynamo::to_attribute_value(shoppers)
            .map_err(|e| StorageError::caused(ErrorKind::Other, "carried shoppers do not encode", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(partition(tenant)))
            .item("sk", sort_key(&run.job_id, &run.run_id, seq))
            .item("groups", groups)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StorageError::sdk("PutItem on the jobs table (carried shoppers)", e))
    }

    pub(super) async fn get_spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<Vec<RetryShoppers>, StorageError> {
        let mut carried = Vec::new();
        for seq in 0..overflow.chunks {
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(partition(tenant)))
                .key("sk", sort_key(job_id, &overflow.run_id, seq))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| StorageError::sdk("GetItem on the jobs table (carried shoppers)", e))?
                .item;
            // Gone (removed by hand): the caller counts what is missing.
            let Some(groups) = item.and_then(|mut item| item.remove("groups")) else {
                continue;
            };
            let groups: Vec<RetryShoppers> = serde_dynamo::from_attribute_value(groups)
                .map_err(|e| StorageError::caused(ErrorKind::Other, "carried shoppers do not decode", e))?;
            carried.extend(groups);
        }
        Ok(carried)
    }

    pub(super) async fn delete_spilled(
        &self,
        tenant: &TenantId,
        job_id: &str,
        overflow: &RetryOverflow,
    ) -> Result<(), StorageError> {
        for seq in 0..overflow.chunks {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(partition(tenant)))
                .key("sk", sort_key(job_id, &overflow.run_id, seq))
                .send()
                .await
                .map_err(|e| StorageError::sdk("DeleteItem on the jobs table (carried shoppers)", e))?;
        }
        Ok(())
    }
}
