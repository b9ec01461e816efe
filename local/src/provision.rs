//! Creates the stack's resources in an emulator as template.yaml declares them:
//! the DynamoDB tables of `shared::storage::schema`, the secrets KMS key, the
//! event bus, the fan-out retry and dead-letter queues and the schedule group.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use chrono::Duration;
use shared::api::basket::BasketApi;
use shared::api::event_definitions::DefinitionsApi;
use shared::api::events::EventsApi;
use shared::api::job_runs::JobRunsApi;
use shared::api::jobs::JobsApi;
use shared::api::subscriptions::SubscriptionsApi;
use shared::definitions::{DefinitionCache, EventDefinition};
use shared::events::DynamoEventStore;
use shared::fanout::FanoutConfig;
use shared::http::Authentication;
use shared::notifications::{NotificationRunner, RunStore};
use shared::projections::Projector;
use shared::schedule_sync::{ScheduleSync, ScheduleTarget};
use shared::secrets::KmsSealer;
use shared::sendgrid::{Address, SendGrid};
use shared::storage::DynamoRecords;
use shared::storage::schema::{
    CLAIMS, DEFINITION_RECORDS, DEFINITION_VERSION_RECORDS, DEFINITIONS, EVENTS, JOB_RECORDS, JOBS, PROJECTIONS,
    SUBSCRIPTION_RECORDS, SUBSCRIPTIONS, StreamView, TABLES, TableSpec,
};
use shared::subscriptions::DestinationRules;

use crate::functions::ApiFunctions;

#[derive(Debug, thiserror::Error)]
#[error("creating {table}: {detail}")]
pub struct ProvisionError {
    table: String,
    detail: String,
}

/// Table names by logical id (`EventsTable` → `<prefix>-EventsTable`).
#[derive(Debug, Clone)]
pub struct TableNames(HashMap<&'static str, String>);

impl TableNames {
    pub fn of(&self, table: &TableSpec) -> &str {
        self.0.get(table.logical_id).map(String::as_str).unwrap_or_default()
    }
}

/// The stack's resources in the emulator.
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub tables: TableNames,
    /// The KMS key that seals subscriber secrets.
    pub secrets_key: String,
    /// The stack's own EventBridge bus, which gets every event.
    pub event_bus: String,
    pub retry_queue_url: String,
    pub dead_letter_queue_url: String,
    /// The Scheduler group that holds one schedule per job.
    pub schedule_group: String,
}

/// Creates (or finds, when they exist) every resource under `prefix`.
pub async fn create_stack(sdk: &SdkConfig, prefix: &str) -> Result<LocalStack, ProvisionError> {
    let tables = create_tables(&aws_sdk_dynamodb::Client::new(sdk), prefix).await?;
    let failed = |resource: &str| {
        let resource = resource.to_owned();
        move |detail| ProvisionError {
            table: resource,
            detail,
        }
    };
    let secrets_key = secrets_key(&aws_sdk_kms::Client::new(sdk), prefix)
        .await
        .map_err(failed("KMS key"))?;
    let event_bus = format!("{prefix}-bus");
    event_bus_named(&aws_sdk_eventbridge::Client::new(sdk), &event_bus)
        .await
        .map_err(failed("event bus"))?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let retry_queue_url = queue_named(&sqs, &format!("{prefix}-fanout-retry"))
        .await
        .map_err(failed("retry queue"))?;
    let dead_letter_queue_url = queue_named(&sqs, &format!("{prefix}-fanout-dead-letter"))
        .await
        .map_err(failed("dead-letter queue"))?;
    let schedule_group = format!("{prefix}-schedules");
    schedule_group_named(&aws_sdk_scheduler::Client::new(sdk), &schedule_group)
        .await
        .map_err(failed("schedule group"))?;
    Ok(LocalStack {
        tables,
        secrets_key,
        event_bus,
        retry_queue_url,
        dead_letter_queue_url,
        schedule_group,
    })
}

async fn schedule_group_named(scheduler: &aws_sdk_scheduler::Client, name: &str) -> Result<(), String> {
    if scheduler.get_schedule_group().name(name).send().await.is_ok() {
        return Ok(());
    }
    scheduler
        .create_schedule_group()
        .name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

/// CreateQueue returns the existing queue's URL when the attributes match.
/// The URL of SQS queue `name`, created if missing.
pub async fn queue_named(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String, String> {
    let created = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    created.queue_url.ok_or_else(|| "SQS returned no queue URL".to_owned())
}

async fn event_bus_named(events: &aws_sdk_eventbridge::Client, name: &str) -> Result<(), String> {
    if events.describe_event_bus().name(name).send().await.is_ok() {
        return Ok(());
    }
    events
        .create_event_bus()
        .name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

impl LocalStack {
    /// The fan-out functions' settings for this stack, as template.yaml sets them.
    pub fn fanout_config(&self) -> FanoutConfig {
        FanoutConfig::new(
            self.tables.of(&SUBSCRIPTIONS).to_owned(),
            self.secrets_key.clone(),
            self.event_bus.clone(),
            self.retry_queue_url.clone(),
            self.dead_letter_queue_url.clone(),
        )
    }

    /// schedule-sync for this stack. Its schedules target a notification-job ARN
    /// that exists only by name: moto stores schedules but never fires them (the
    /// local run fires them itself).
    pub fn schedule_sync(&self, sdk: &SdkConfig) -> ScheduleSync {
        let target = ScheduleTarget {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:notification-job".into(),
            role_arn: "arn:aws:iam::123456789012:role/scheduler-invokes-notification-job".into(),
            dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:scheduler-dead-letters".into(),
        };
        ScheduleSync::new(
            sdk,
            self.tables.of(&JOBS).to_owned(),
            self.schedule_group.clone(),
            target,
        )
    }

    pub fn projector(&self, dynamodb: &Client) -> Projector {
        Projector::new(dynamodb.clone(), self.tables.of(&PROJECTIONS))
    }

    /// notification-job for this stack, sending through `sendgrid`.
    pub fn notification_runner(&self, dynamodb: &Client, sendgrid: SendGrid) -> NotificationRunner {
        let from = Address {
            email: "notifications@shop.example".into(),
            name: Some("Local shop".into()),
        };
        NotificationRunner::new(
            dynamodb,
            self.tables.of(&JOBS),
            self.tables.of(&PROJECTIONS),
            sendgrid,
            from,
        )
    }

    fn definitions(&self, dynamodb: &Client) -> DynamoRecords<EventDefinition> {
        DynamoRecords::new(dynamodb.clone(), self.tables.of(&DEFINITIONS), DEFINITION_RECORDS)
    }

    /// Every API function, wired to this stack as the Lambdas' `main`s wire them
    /// from the environment.
    pub fn functions(
        &self,
        dynamodb: &Client,
        kms: &aws_sdk_kms::Client,
        auth: Authentication,
        event_retention: Duration,
    ) -> ApiFunctions {
        ApiFunctions {
            // One events state serves every events function here, so it has what the
            // most demanding (create-event) needs. Definitions are read afresh for
            // each event: a change applies at once.
            events: EventsApi {
                store: DynamoEventStore::new(dynamodb.clone(), self.tables.of(&EVENTS), event_retention)
                    .with_claims(self.tables.of(&CLAIMS)),
                definitions: Some(DefinitionCache::new(
                    self.definitions(dynamodb),
                    std::time::Duration::ZERO,
                )),
                auth: auth.clone(),
            },
            definitions: DefinitionsApi {
                records: self.definitions(dynamodb),
                versions: DynamoRecords::new(
                    dynamodb.clone(),
                    self.tables.of(&DEFINITIONS),
                    DEFINITION_VERSION_RECORDS,
                ),
                auth: auth.clone(),
            },
            subscriptions: SubscriptionsApi {
                records: DynamoRecords::new(dynamodb.clone(), self.tables.of(&SUBSCRIPTIONS), SUBSCRIPTION_RECORDS),
                sealer: KmsSealer::new(kms.clone(), &self.secrets_key),
                auth: auth.clone(),
                rules: DestinationRules::from_env(),
            },
            jobs: JobsApi {
                records: DynamoRecords::new(dynamodb.clone(), self.tables.of(&JOBS), JOB_RECORDS),
                auth: auth.clone(),
            },
            job_runs: JobRunsApi {
                jobs: DynamoRecords::new(dynamodb.clone(), self.tables.of(&JOBS), JOB_RECORDS),
                runs: RunStore::new(dynamodb.clone(), self.tables.of(&JOBS)),
                auth: auth.clone(),
            },
            basket: BasketApi { auth },
        }
    }
}

/// The key behind alias `alias/<prefix>-secrets`, created on first use.
async fn secrets_key(kms: &aws_sdk_kms::Client, prefix: &str) -> Result<String, String> {
    let alias = format!("alias/{prefix}-secrets");
    let aliases = kms
        .list_aliases()
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    if let Some(key) = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some(alias.as_str()))
        .and_then(|a| a.target_key_id())
    {
        return Ok(key.to_owned());
    }
    let created = kms
        .create_key()
        .description("subscriber secrets (local run)")
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    let key = created
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .ok_or("KMS returned no key")?;
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&key)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    Ok(key)
}

/// Creates every table under `prefix`, leaving tables that already exist alone.
pub async fn create_tables(client: &Client, prefix: &str) -> Result<TableNames, ProvisionError> {
    let existing = client
        .list_tables()
        .send()
        .await
        .map_err(|e| ProvisionError {
            table: "*".into(),
            detail: DisplayErrorContext(e).to_string(),
        })?
        .table_names
        .unwrap_or_default();
    let mut names = HashMap::new();
    for spec in TABLES {
        let name = format!("{prefix}-{}", spec.logical_id);
        if !existing.contains(&name) {
            create_table(client, spec, &name)
                .await
                .map_err(|detail| ProvisionError {
                    table: name.clone(),
                    detail,
                })?;
        }
        names.insert(spec.logical_id, name);
    }
    Ok(TableNames(names))
}

async fn create_table(client: &Client, spec: &TableSpec, name: &str) -> Result<(), String> {
    let key = |attribute: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(key_type)
            .build()
            .map_err(|e| e.to_string())
    };
    let key_schema = |partition: &str, sort: Option<&str>| -> Result<Vec<_>, String> {
        let mut schema = vec![key(partition, KeyType::Hash)?];
        if let Some(sort) = sort {
            schema.push(key(sort, KeyType::Range)?);
        }
        Ok(schema)
    };
    let mut attributes: Vec<&str> = [Some(spec.partition_key), spec.sort_key]
        .into_iter()
        .flatten()
        .collect();
    let mut indexes = Vec::new();
    for index in spec.indexes {
        attributes.extend([Some(index.partition_key), index.sort_key].into_iter().flatten());
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let definitions = attributes
        .into_iter()
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stream = spec.stream.map(|view| {
        StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(match view {
                StreamView::NewImage => StreamViewType::NewImage,
                StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
            })
            .build()
    });
    let stream = stream.transpose().map_err(|e| e.to_string())?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(spec.partition_key, spec.sort_key)?))
        .set_attribute_definitions(Some(definitions))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .set_stream_specification(stream)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    if let Some(attribute) = spec.ttl_attribute {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}
