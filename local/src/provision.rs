//! Creates the stack's resources in an emulator as template.yaml declares them:
//! the DynamoDB tables of `shared::storage::schema`, the secrets KMS key, the
//! event bus, the fan-out retry and dead-letter queues and the schedule group.

use std::collections::{BTreeMap, HashMap};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use chrono::Duration;
use shared::api::basket::BasketApi;
use shared::api::definitions::DefinitionsApi;
use shared::api::events::EventsApi;
use shared::api::jobs::JobsApi;
use shared::api::runs::JobRunsApi;
use shared::api::subscriptions::SubscriptionsApi;
use shared::definitions::DefinitionCache;
use shared::events::DynamoEventStore;
use shared::fanout::{Fanout, FanoutConfig};
use shared::http::Authentication;
use shared::notifications::{NotificationRunner, RunStore};
use shared::projections::Projector;
use shared::routes::ROUTES;
use shared::schedule_sync::{ScheduleSync, ScheduleTarget};
use shared::secrets::KmsSealer;
use shared::sendgrid::{Address, SendGrid};
use shared::storage::DynamoRecords;
use shared::storage::schema::{
    CLAIMS, DEFINITION_RECORDS, DEFINITION_VERSION_RECORDS, DEFINITIONS, EVENTS, JOB_RECORDS, JOBS, PROJECTIONS,
    SUBSCRIPTION_RECORDS, SUBSCRIPTIONS, StreamView, TABLES, TableSpec,
};
use shared::subscriptions::DestinationRules;

use crate::functions::{ApiFunction, ApiFunctions};
use crate::iam::{self, AccessLog, Enforcer, FunctionPolicies, Scope};

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
    /// Where the projector and schedule-sync park stream records that can never
    /// be processed.
    pub projector_failure_queue_url: String,
    pub schedule_sync_failure_queue_url: String,
    /// The Scheduler group that holds one schedule per job.
    pub schedule_group: String,
    /// The stack's name, the prefix of its resources' names.
    pub name: String,
    sdk: SdkConfig,
    iam: Option<Enforcer>,
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
    let projector_failure_queue_url = queue_named(&sqs, &format!("{prefix}-projector-failures"))
        .await
        .map_err(failed("projector failure queue"))?;
    let schedule_sync_failure_queue_url = queue_named(&sqs, &format!("{prefix}-schedule-sync-failures"))
        .await
        .map_err(failed("schedule-sync failure queue"))?;
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
        projector_failure_queue_url,
        schedule_sync_failure_queue_url,
        schedule_group,
        name: prefix.to_owned(),
        sdk: sdk.clone(),
        iam: None,
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

/// Names the local stack gives what it does not create: moto never invokes
/// Lambda or assumes roles, so schedules target these by name only.
const NOTIFICATION_JOB_FUNCTION: &str = "notification-job";
const SCHEDULER_ROLE: &str = "scheduler-invokes-notification-job";
const SCHEDULER_DEAD_LETTER_QUEUE: &str = "scheduler-dead-letters";
/// moto's account.
const ACCOUNT: &str = "123456789012";

impl LocalStack {
    /// From now on, every function built from this stack has its AWS calls held to
    /// its policy in template.yaml (see `crate::iam`).
    pub async fn enforcing_iam(mut self) -> Result<Self, String> {
        let description = self.iam_stack();
        let policies = FunctionPolicies::from_yaml(iam::TEMPLATE, &description).map_err(|e| e.to_string())?;
        let scope = Scope {
            region: description.region,
            account: description.account,
        };
        self.iam = Some(Enforcer::new(policies, scope, &self.sdk).await?);
        Ok(self)
    }

    /// Every call the stack's functions made, and those IAM would refuse; `None`
    /// unless IAM is enforced.
    pub fn access_log(&self) -> Option<&AccessLog> {
        self.iam.as_ref().map(|iam| &iam.log)
    }

    /// The SDK configuration `function` runs with: the stack's, held to the
    /// function's policy when IAM is enforced.
    pub fn sdk_for(&self, function: &str) -> SdkConfig {
        self.guarded(function, &self.sdk)
    }

    /// `sdk` (e.g. one pointed at a proxy), held to `function`'s policy when IAM is
    /// enforced.
    pub fn guarded(&self, function: &str, sdk: &SdkConfig) -> SdkConfig {
        match &self.iam {
            Some(iam) => iam.guard(function, sdk),
            None => sdk.clone(),
        }
    }

    fn region(&self) -> String {
        self.sdk.region().map_or("us-east-1".into(), |r| r.to_string())
    }

    /// Where template.yaml's logical ids are in this stack.
    fn iam_stack(&self) -> iam::Stack {
        let mut physical: BTreeMap<String, String> = TABLES
            .iter()
            .map(|spec| (spec.logical_id.to_owned(), self.tables.of(spec).to_owned()))
            .collect();
        let queue_url = |name: &str| format!("http://local/{ACCOUNT}/{name}");
        for (logical, value) in [
            ("SecretsKey", self.secrets_key.clone()),
            ("EventBus", self.event_bus.clone()),
            ("FanoutRetryQueue", self.retry_queue_url.clone()),
            ("FanoutDeadLetterQueue", self.dead_letter_queue_url.clone()),
            ("ProjectorStreamFailureQueue", self.projector_failure_queue_url.clone()),
            (
                "ScheduleSyncStreamFailureQueue",
                self.schedule_sync_failure_queue_url.clone(),
            ),
            ("JobsScheduleGroup", self.schedule_group.clone()),
            ("SchedulerRole", SCHEDULER_ROLE.to_owned()),
            ("NotificationJobFunction", NOTIFICATION_JOB_FUNCTION.to_owned()),
            ("SchedulerDeadLetterQueue", queue_url(SCHEDULER_DEAD_LETTER_QUEUE)),
        ] {
            physical.insert(logical.to_owned(), value);
        }
        iam::Stack {
            name: self.name.clone(),
            region: self.region(),
            account: ACCOUNT.to_owned(),
            physical,
        }
    }

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

    /// `fanout` or `fanout-retry` (one type, two functions with their own
    /// policies), with `config`, sending through `sdk`.
    pub fn fanout(&self, function: &str, sdk: &SdkConfig, config: FanoutConfig) -> Fanout {
        Fanout::new(&self.guarded(function, sdk), config)
    }

    /// schedule-sync for this stack. Its schedules target a notification-job ARN
    /// that exists only by name: moto stores schedules but never fires them (the
    /// local run fires them itself).
    pub fn schedule_sync(&self) -> ScheduleSync {
        let region = self.region();
        let target = ScheduleTarget {
            function_arn: format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{NOTIFICATION_JOB_FUNCTION}"),
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{SCHEDULER_ROLE}"),
            dead_letter_arn: format!("arn:aws:sqs:{region}:{ACCOUNT}:{SCHEDULER_DEAD_LETTER_QUEUE}"),
        };
        ScheduleSync::new(
            &self.sdk_for("schedule-sync"),
            self.tables.of(&JOBS).to_owned(),
            self.schedule_group.clone(),
            target,
            self.schedule_sync_failure_queue_url.clone(),
        )
    }

    pub fn projector(&self) -> Projector {
        Projector::new(
            &self.sdk_for("projector"),
            self.tables.of(&PROJECTIONS),
            &self.projector_failure_queue_url,
        )
    }

    /// notification-job for this stack, sending through `sendgrid`.
    pub fn notification_runner(&self, sendgrid: SendGrid) -> NotificationRunner {
        let from = Address {
            email: "notifications@shop.example".into(),
            name: Some("Local shop".into()),
        };
        NotificationRunner::new(
            &self.dynamodb(NOTIFICATION_JOB_FUNCTION),
            self.tables.of(&JOBS),
            self.tables.of(&PROJECTIONS),
            sendgrid,
            from,
        )
    }

    fn dynamodb(&self, function: &str) -> Client {
        Client::new(&self.sdk_for(function))
    }

    /// An events function's state, as its `main` builds it: `create-event` checks
    /// definitions (read afresh for each event here, so a change applies at once)
    /// and claims unique keys; the typed endpoints claim customers; the readers
    /// only read.
    pub fn events_api(
        &self,
        function: &str,
        auth: Authentication,
        event_retention: Duration,
    ) -> EventsApi<DynamoEventStore> {
        let dynamodb = self.dynamodb(function);
        let store = DynamoEventStore::new(dynamodb.clone(), self.tables.of(&EVENTS), event_retention);
        let (store, definitions) = match function {
            "create-event" => (
                store.with_claims(self.tables.of(&CLAIMS)),
                Some(DefinitionCache::new(
                    DynamoRecords::new(dynamodb, self.tables.of(&DEFINITIONS), DEFINITION_RECORDS),
                    std::time::Duration::ZERO,
                )),
            ),
            "get-event" | "list-events" => (store, None),
            _ => (store.with_claims(self.tables.of(&CLAIMS)), None),
        };
        EventsApi {
            store,
            definitions,
            auth,
        }
    }

    /// Every API function, each with its own clients, wired to this stack as the
    /// Lambdas' `main`s wire them from the environment.
    pub fn functions(&self, auth: Authentication, event_retention: Duration) -> ApiFunctions {
        let mut functions = ApiFunctions::default();
        for route in ROUTES {
            let name = route.function;
            let dynamodb = self.dynamodb(name);
            let auth = auth.clone();
            let function = match name {
                _ if name.ends_with("-event") || name.ends_with("-events") => {
                    ApiFunction::Events(self.events_api(name, auth, event_retention))
                }
                _ if name.contains("event-definition") => ApiFunction::Definitions(DefinitionsApi {
                    records: DynamoRecords::new(dynamodb.clone(), self.tables.of(&DEFINITIONS), DEFINITION_RECORDS),
                    versions: DynamoRecords::new(dynamodb, self.tables.of(&DEFINITIONS), DEFINITION_VERSION_RECORDS),
                    auth,
                }),
                _ if name.ends_with("-subscription") || name.ends_with("-subscriptions") => {
                    ApiFunction::Subscriptions(SubscriptionsApi {
                        records: DynamoRecords::new(dynamodb, self.tables.of(&SUBSCRIPTIONS), SUBSCRIPTION_RECORDS),
                        sealer: KmsSealer::new(aws_sdk_kms::Client::new(&self.sdk_for(name)), &self.secrets_key),
                        auth,
                        rules: DestinationRules::from_env(),
                    })
                }
                "list-job-runs" => ApiFunction::JobRuns(JobRunsApi {
                    jobs: DynamoRecords::new(dynamodb.clone(), self.tables.of(&JOBS), JOB_RECORDS),
                    runs: RunStore::new(dynamodb, self.tables.of(&JOBS)),
                    auth,
                }),
                _ if name.ends_with("-job") || name.ends_with("-jobs") => ApiFunction::Jobs(JobsApi {
                    records: DynamoRecords::new(dynamodb, self.tables.of(&JOBS), JOB_RECORDS),
                    auth,
                }),
                "assess-basket" => ApiFunction::Basket(BasketApi { auth }),
                other => unreachable!("route function {other} has no local wiring"),
            };
            functions.add(name, function);
        }
        functions
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
