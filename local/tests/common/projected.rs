//! A test stack whose events reach the projector as Lambda would hand them over:
//! POST through the API handler, then read the events stream and project.

use aws_lambda_events::event::dynamodb::EventRecord;
use local::stream_poller::StreamPoller;
use serde_json::Value;
use shared::projections::{ProjectionStore, Projector};
use shared::storage::schema::{EVENTS, PROJECTIONS};

use super::{TestStack, post_entity_event};

pub struct ProjectedStack {
    pub stack: TestStack,
    pub stream: StreamPoller,
    pub projector: Projector,
    posted: usize,
}

impl ProjectedStack {
    pub async fn new() -> Self {
        let stack = TestStack::new().await;
        let sdk = shared::aws::sdk_config().await;
        let stream = StreamPoller::from_now(&sdk, stack.stack.tables.of(&EVENTS))
            .await
            .expect("events stream");
        let projector = stack.stack.projector();
        Self {
            stack,
            stream,
            projector,
            posted: 0,
        }
    }

    /// POSTs an `entity` event for `tenant` with `payload` (ids evt-1, evt-2, …).
    pub async fn post(&mut self, tenant: &str, entity: &str, operation: &str, payload: Value) {
        self.posted += 1;
        let id = format!("evt-{}", self.posted);
        post_entity_event(&self.stack, tenant, &id, entity, operation, &payload).await;
    }

    /// The projections, read by the test itself (not through the projector's
    /// clients, which are held to the projector's policy).
    pub fn store(&self) -> ProjectionStore {
        ProjectionStore::new(self.stack.client.clone(), self.stack.stack.tables.of(&PROJECTIONS))
    }

    /// Projects what the stream has now; returns the records (to replay them).
    pub async fn project(&mut self) -> Vec<EventRecord> {
        let records = self.stream.poll().await.expect("stream records");
        assert!(self.projector.stream_batch(&records).await.is_empty());
        records
    }
}
