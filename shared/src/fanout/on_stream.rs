//! The events table's stream into deliveries. A record is reported as failed only
//! when its tenant's subscriptions could not be read or one of its deliveries
//! could be neither sent nor parked: Lambda then hands it over again, so a
//! subscriber may see a duplicate, never a loss.

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::dynamodb::EventRecord;

use super::app::Fanout;
use super::event_counts::event_counts;
use super::plan::plan;
use crate::events::inserted_event;
use crate::tenant::TenantId;

impl Fanout {
    /// Fans out a stream batch; returns the sequence numbers of the records to
    /// report as batch item failures.
    pub async fn stream_batch(&self, records: &[EventRecord]) -> Vec<String> {
        let mut failed = BTreeSet::new();
        let mut events = Vec::new();
        let mut sources: HashMap<(TenantId, String), String> = HashMap::new();
        for record in records {
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            match inserted_event(record) {
                Ok(Some(streamed)) => {
                    sources.insert((streamed.tenant.clone(), streamed.event.id.clone()), sequence);
                    events.push(streamed);
                }
                Ok(None) => {}
                // A record that cannot be decoded never will be: park it for an
                // operator rather than stall the shard on it.
                Err(err) => {
                    tracing::error!(sequence_number = %sequence, error = %err, "undecodable stream record; dead-lettered");
                    let raw = serde_json::to_string(record).unwrap_or_default();
                    if !self.queues.dead_letter(raw, &err.to_string()).await {
                        failed.insert(sequence);
                    }
                }
            }
        }
        let tenants = events.iter().map(|e| e.tenant.clone()).collect();
        let (subscriptions, unreadable) = self.subscriptions.for_tenants(tenants).await;
        for (tenant, err) in &unreadable {
            tracing::error!(%tenant, error = %err, "could not read subscriptions; the tenant's records will be retried");
        }
        events.retain(|e| {
            let readable = subscriptions.contains_key(&e.tenant);
            if !readable {
                failed.extend(sources.get(&(e.tenant.clone(), e.event.id.clone())).cloned());
            }
            readable
        });
        let plan = plan(&events, &subscriptions, &self.event_bus);
        tracing::info!(
            records = records.len(),
            events = events.len(),
            deliveries = plan.values().map(Vec::len).sum::<usize>(),
            "fanning out"
        );
        // The hourly event counts need nothing of the deliveries: written beside them.
        let (lost, ()) = tokio::join!(
            self.deliver(plan, &subscriptions),
            self.event_counts.add(event_counts(&events), chrono::Utc::now())
        );
        for lost in lost {
            let origin = lost.delivery.origin;
            failed.extend(sources.get(&(origin.tenant, origin.event_id)).cloned());
        }
        failed.into_iter().collect()
    }
}
