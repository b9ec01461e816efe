//! The replay queue: where each step's task waits for the worker.

use aws_config::SdkConfig;

use super::model::ReplayTask;
use super::worker::ReplayError;
use crate::fanout::{OutgoingMessage, SqsSender};

pub struct ReplayQueue {
    sender: SqsSender,
    url: String,
}

impl ReplayQueue {
    pub fn new(sdk: &SdkConfig, url: impl Into<String>) -> Self {
        Self {
            sender: SqsSender::new(aws_sdk_sqs::Client::new(sdk), 3),
            url: url.into(),
        }
    }

    /// Queues `task`.
    pub async fn send(&self, task: &ReplayTask) -> Result<(), ReplayError> {
        let message = OutgoingMessage {
            body: serde_json::to_string(task).map_err(|e| ReplayError::Queue(e.to_string()))?,
            ..OutgoingMessage::default()
        };
        match self.sender.send(&self.url, vec![message]).await.pop() {
            None => Ok(()),
            Some(undelivered) => Err(ReplayError::Queue(undelivered.reason)),
        }
    }
}
