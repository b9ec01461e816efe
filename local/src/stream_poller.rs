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
    /// The last sequence number read from each shard (`None`: nothing yet).
    shards: HashMap<String, Option<String>>,
}

impl StreamPoller {
    /// Starts at the end of `table`'s stream: it yields what is written from now on.
    pub async fn from_now(sdk: &aws_config::SdkConfig, table: &str) -> Result<Self, String> {
        Self::from_now_reading_with(sdk, table, sdk).await
    }

    /// As `from_now`, the stream read through `reader` (an event source mapping's
    /// SDK, held to its function's policy); `sdk` only finds the stream's ARN, as
    /// the mapping is given it.
    pub async fn from_now_reading_with(
        sdk: &aws_config::SdkConfig,
        table: &str,
        reader: &aws_config::SdkConfig,
    ) -> Result<Self, String> {
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
            client: Client::new(reader),
            stream_arn,
            region: sdk.region().map(ToString::to_string).unwrap_or_default(),
            shards: HashMap::new(),
        };
        // Reading what is there (and dropping it) leaves each shard's position at its end.
        poller.poll().await?;
        Ok(poller)
    }

    /// Adds the shards not seen before, to be read from their start.
    async fn discover_shards(&mut self) -> Result<(), String> {
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        for shard in stream.stream_description().map(|d| d.shards()).unwrap_or_default() {
            if let Some(id) = shard.shard_id() {
                self.shards.entry(id.to_owned()).or_default();
            }
        }
        Ok(())
    }

    /// Every record written since the last poll. Each poll asks for a new iterator
    /// after the last record read, rather than following `NextShardIterator`:
    /// moto replaces a table's stream shard when it cancels a transaction on the
    /// table, and an old iterator never sees later records.
    pub async fn poll(&mut self) -> Result<Vec<EventRecord>, String> {
        self.discover_shards().await?;
        let mut records = Vec::new();
        // Positions move only once every shard was read: a failed poll reads again.
        let mut read_to = Vec::new();
        for (shard_id, last) in &self.shards {
            let request = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(shard_id.as_str());
            let request = match last.as_deref() {
                Some(sequence) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(sequence),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut iterator = request
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?
                .shard_iterator;
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
                    // One record the event source could not hand over must not stall the stream.
                    match lambda_record(record, &self.stream_arn, &self.region) {
                        Ok(converted) => records.push(converted),
                        Err(err) => tracing::error!(error = %err, "stream record not convertible; skipped"),
                    }
                    let sequence = record.dynamodb().and_then(|c| c.sequence_number());
                    read_to.push((shard_id.clone(), sequence.map(str::to_owned)));
                }
                if page.is_empty() {
                    break;
                }
                iterator = output.next_shard_iterator;
            }
        }
        self.shards.extend(read_to);
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
