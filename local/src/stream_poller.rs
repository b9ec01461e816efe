//! Lambda's DynamoDB stream event source, locally: reads a table's stream from the
//! emulator and hands over its records in the shape the event source mapping
//! gives a function.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{Value, json};

pub struct StreamPoller {
    client: Client,
    stream_arn: String,
    region: String,
    /// Next iterator per open shard; closed shards stay with `None`.
    shards: HashMap<String, Option<String>>,
}

impl StreamPoller {
    /// Starts at the end of `table`'s stream: it yields what is written from now on.
    pub async fn from_now(sdk: &aws_config::SdkConfig, table: &str) -> Result<Self, String> {
        let described = aws_sdk_dynamodb::Client::new(sdk)
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("table {table} has no stream"))?
            .to_owned();
        let mut poller = Self {
            client: Client::new(sdk),
            stream_arn,
            region: sdk.region().map(ToString::to_string).unwrap_or_default(),
            shards: HashMap::new(),
        };
        poller.discover_shards(ShardIteratorType::Latest).await?;
        Ok(poller)
    }

    /// Opens an iterator on each shard not seen before.
    async fn discover_shards(&mut self, start: ShardIteratorType) -> Result<(), String> {
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        let shard_ids: Vec<String> = stream
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for shard_id in shard_ids {
            if self.shards.contains_key(&shard_id) {
                continue;
            }
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&shard_id)
                .shard_iterator_type(start.clone())
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?
                .shard_iterator;
            self.shards.insert(shard_id, iterator);
        }
        Ok(())
    }

    /// Every record written since the last poll.
    pub async fn poll(&mut self) -> Result<Vec<EventRecord>, String> {
        // Shards that appear later are read from their start.
        self.discover_shards(ShardIteratorType::TrimHorizon).await?;
        let mut records = Vec::new();
        for iterator in self.shards.values_mut() {
            while let Some(current) = iterator.take() {
                let output = self
                    .client
                    .get_records()
                    .shard_iterator(&current)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
                let page = output.records();
                for record in page {
                    records.push(lambda_record(record, &self.stream_arn, &self.region)?);
                }
                let more = !page.is_empty();
                *iterator = output.next_shard_iterator;
                if !more {
                    break;
                }
            }
        }
        Ok(records)
    }
}

/// The record as Lambda's event source mapping would deliver it.
fn lambda_record(record: &Record, stream_arn: &str, region: &str) -> Result<EventRecord, String> {
    let change = record.dynamodb().ok_or("stream record without change")?;
    let image = |image: Option<&HashMap<String, AttributeValue>>| -> Result<Value, String> {
        let item = serde_dynamo::Item::from(image.cloned().unwrap_or_default());
        serde_json::to_value(item).map_err(|e| e.to_string())
    };
    let event = json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or(region),
        "dynamodb": {
            "ApproximateCreationDateTime": change.approximate_creation_date_time().map_or(0, |t| t.secs()),
            "Keys": image(change.keys())?,
            "NewImage": image(change.new_image())?,
            "OldImage": image(change.old_image())?,
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes().unwrap_or_default(),
            "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
        },
        "eventSourceARN": stream_arn,
    });
    serde_json::from_value(event).map_err(|e| format!("stream record: {e}"))
}
