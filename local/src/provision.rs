//! Creates the stack's resources in an emulator as template.yaml declares them:
//! the DynamoDB tables of `shared::storage::schema`, the secrets KMS key, the
//! event bus, the fan-out retry and dead-letter queues and the schedule group.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use shared::config::{ConfigError, Environment, FunctionConfig};
use shared::fanout::{Fanout, FanoutConfig};
use shared::loyalty::Assessor;
use shared::notifications::NotificationRunner;
use shared::projections::Projector;
use shared::replays::ReplayWorker;
use shared::routes::ROUTES;
use shared::schedule_sync::ScheduleSync;
use shared::sendgrid::SendGrid;
use shared::storage::schema::{StreamView, TABLES, TableSpec};

use crate::faults::Faults;
use crate::functions::{ApiFunction, ApiFunctions, Settings};
use crate::iam::{AccessLog, Enforcer, Scope, TrustPolicies};
use crate::template::{self, FunctionEnvironments, FunctionPolicies, TEMPLATE};

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
    /// Rate-limited subscriptions' lanes (a FIFO queue).
    pub paced_queue_url: String,
    pub dead_letter_queue_url: String,
    /// Where the projector and schedule-sync park stream records that can never
    /// be processed.
    pub projector_failure_queue_url: String,
    pub schedule_sync_failure_queue_url: String,
    /// The assessor's queue (the bus routes actions, orders and transactions to
    /// it) and where its failures end.
    pub assessor_queue_url: String,
    pub assessor_dead_letter_queue_url: String,
    /// The replay worker's queue (one task per page of a replay).
    pub replay_queue_url: String,
    pub replay_dead_letter_queue_url: String,
    /// The Scheduler group that holds one schedule per job.
    pub schedule_group: String,
    /// The secret holding the SendGrid API key notification-job reads.
    pub sendgrid_secret_arn: String,
    /// The stack's name, the prefix of its resources' names.
    pub name: String,
    /// template.yaml parameters given other values than their defaults.
    parameters: BTreeMap<String, String>,
    /// Each function's environment: template.yaml's, resolved against this stack.
    environments: Arc<FunctionEnvironments>,
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
    // A crashed fanout-paced invocation holds its lanes for the visibility timeout:
    // compressed here like the harness's retries (template.yaml: 180 s).
    let paced_queue_url = fifo_queue_named(&sqs, &format!("{prefix}-fanout-paced.fifo"), PACED_VISIBILITY_SECONDS)
        .await
        .map_err(failed("paced queue"))?;
    let dead_letter_queue_url = queue_named(&sqs, &format!("{prefix}-fanout-dead-letter"))
        .await
        .map_err(failed("dead-letter queue"))?;
    let projector_failure_queue_url = queue_named(&sqs, &format!("{prefix}-projector-failures"))
        .await
        .map_err(failed("projector failure queue"))?;
    let schedule_sync_failure_queue_url = queue_named(&sqs, &format!("{prefix}-schedule-sync-failures"))
        .await
        .map_err(failed("schedule-sync failure queue"))?;
    let assessor_queue_url = queue_named(&sqs, &format!("{prefix}-assessor"))
        .await
        .map_err(failed("assessor queue"))?;
    let assessor_dead_letter_queue_url = queue_named(&sqs, &format!("{prefix}-assessor-dead-letter"))
        .await
        .map_err(failed("assessor dead-letter queue"))?;
    let replay_queue_url = queue_named(&sqs, &format!("{prefix}-replay"))
        .await
        .map_err(failed("replay queue"))?;
    let replay_dead_letter_queue_url = queue_named(&sqs, &format!("{prefix}-replay-dead-letter"))
        .await
        .map_err(failed("replay dead-letter queue"))?;
    assess_events_rule(
        &aws_sdk_eventbridge::Client::new(sdk),
        &event_bus,
        &format!("{prefix}-assess-events"),
        &queue_arn(&format!("{prefix}-assessor")),
    )
    .await
    .map_err(failed("assessor rule"))?;
    let schedule_group = format!("{prefix}-schedules");
    schedule_group_named(&aws_sdk_scheduler::Client::new(sdk), &schedule_group)
        .await
        .map_err(failed("schedule group"))?;
    let sendgrid_secret_arn = sendgrid_secret(&aws_sdk_secretsmanager::Client::new(sdk), prefix)
        .await
        .map_err(failed("SendGrid key secret"))?;
    let stack = LocalStack {
        tables,
        secrets_key,
        event_bus,
        retry_queue_url,
        paced_queue_url,
        dead_letter_queue_url,
        projector_failure_queue_url,
        schedule_sync_failure_queue_url,
        assessor_queue_url,
        assessor_dead_letter_queue_url,
        replay_queue_url,
        replay_dead_letter_queue_url,
        schedule_group,
        sendgrid_secret_arn,
        name: prefix.to_owned(),
        parameters: BTreeMap::from(LOCAL_PARAMETERS.map(|(name, value)| (name.to_owned(), value.to_owned()))),
        environments: Arc::default(),
        sdk: sdk.clone(),
        iam: None,
    };
    stack.resolved().map_err(failed("template.yaml"))
}

/// What the local run sets differently from a deployment's defaults: event
/// definitions are read afresh for each event, so a change applies at once;
/// every tenant may subscribe queues in the emulator's (the stack's) account, as
/// the README's example does; a tenant without a SendGrid key of its own mails
/// with the stack's, as a stand-in shop.
const LOCAL_PARAMETERS: [(&str, &str); 5] = [
    ("DefinitionCacheSeconds", "0"),
    ("OwnAccountTenants", "*"),
    ("StackSenderTenants", "*"),
    ("SendGridFromEmail", "notifications@shop.example"),
    ("SendGridFromName", "Local shop"),
];

/// A SendGrid key secret, as notification-job reads it.
async fn sendgrid_secret(secrets: &aws_sdk_secretsmanager::Client, prefix: &str) -> Result<String, String> {
    let name = format!("{prefix}-sendgrid");
    if let Ok(found) = secrets.describe_secret().secret_id(&name).send().await {
        return Ok(found.arn.unwrap_or_default());
    }
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"api_key": "SG.local"}"#)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    created.arn.ok_or_else(|| "Secrets Manager returned no ARN".to_owned())
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

/// The paced queue's visibility timeout in the local run.
const PACED_VISIBILITY_SECONDS: u32 = 6;

/// `queue_named` for a FIFO queue (`name` ends in `.fifo`) hiding a received
/// message for `visibility_seconds`.
pub async fn fifo_queue_named(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_seconds: u32,
) -> Result<String, String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let created = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string())
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    created.queue_url.ok_or_else(|| "SQS returned no queue URL".to_owned())
}

/// `queue_named`, tagged as `tenant`'s (`event-collector:tenant`): a queue of the
/// stack's account only that tenant may subscribe (an existing queue is retagged).
pub async fn tenant_queue(sqs: &aws_sdk_sqs::Client, name: &str, tenant: &str) -> Result<String, String> {
    let created = sqs
        .create_queue()
        .queue_name(name)
        .tags(shared::subscriptions::TENANT_TAG, tenant)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    created.queue_url.ok_or_else(|| "SQS returned no queue URL".to_owned())
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
}

/// template.yaml's AssessEventsRule: actions, orders, transactions and redemptions created,
/// from the bus to the assessor's queue (moto delivers to SQS targets).
async fn assess_events_rule(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    queue_arn: &str,
) -> Result<(), String> {
    let source = shared::fanout::EVENT_SOURCE;
    let detail_types =
        ["action", "order", "transaction", "redemption"].map(|entity| format!("{source}/{entity}/create"));
    let pattern = serde_json::json!({"source": [source], "detail-type": detail_types});
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("assessor")
        .arn(queue_arn)
        .build()
        .map_err(|e| e.to_string())?;
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(e).to_string())
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
        let description = self.template_stack();
        let policies = FunctionPolicies::from_yaml(TEMPLATE, &description).map_err(|e| e.to_string())?;
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

    /// The faults injected into the functions' AWS calls (`None` unless IAM is
    /// enforced: they are broken in the same layer).
    pub fn faults(&self) -> Option<&Faults> {
        self.iam.as_ref().map(|iam| &iam.faults)
    }

    /// The trust policies of subscribers' roles (`None` unless IAM is enforced).
    pub fn trust_policies(&self) -> Option<&TrustPolicies> {
        self.iam.as_ref().map(|iam| &iam.trusts)
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

    /// The SDK configuration of the event source mapping feeding `function`: its
    /// reads of the stream or queue are held to the function's policy when IAM is
    /// enforced (Lambda polls with the function's role), but not counted as its calls.
    pub fn mapping_sdk(&self, function: &str) -> SdkConfig {
        match &self.iam {
            Some(iam) => iam.guard_mapping(function, &self.sdk),
            None => self.sdk.clone(),
        }
    }

    fn region(&self) -> String {
        self.sdk.region().map_or("us-east-1".into(), |r| r.to_string())
    }

    /// The stack with template.yaml parameter `name` set to `value`, as
    /// `sam deploy --parameter-overrides` would set it.
    pub fn with_parameter(mut self, name: &str, value: impl Into<String>) -> Result<Self, String> {
        self.parameters.insert(name.to_owned(), value.into());
        self.resolved()
    }

    /// The stack with its functions' environments resolved from template.yaml.
    fn resolved(mut self) -> Result<Self, String> {
        let environments =
            FunctionEnvironments::from_yaml(TEMPLATE, &self.template_stack()).map_err(|e| e.to_string())?;
        self.environments = Arc::new(environments);
        Ok(self)
    }

    /// `function`'s environment variables, as the deployed stack sets them.
    pub fn environment(&self, function: &str) -> &BTreeMap<String, String> {
        self.environments
            .of(function)
            .unwrap_or_else(|| panic!("template.yaml has no function {function}"))
    }

    /// `function`'s settings, read from its environment as its Lambda reads them.
    pub fn config<C: FunctionConfig>(&self, function: &str) -> C {
        // contract.rs checks that every function's environment reads.
        C::read(&Environment::of(self.environment(function)))
            .unwrap_or_else(|e| panic!("{function}'s environment in template.yaml: {e}"))
    }

    /// Where template.yaml's logical ids and parameters are in this stack.
    fn template_stack(&self) -> template::Stack {
        let mut physical: BTreeMap<String, String> = TABLES
            .iter()
            .map(|spec| (spec.logical_id.to_owned(), self.tables.of(spec).to_owned()))
            .collect();
        let queue_url = |name: &str| format!("http://local/{ACCOUNT}/{name}");
        for (logical, value) in [
            ("SecretsKey", self.secrets_key.clone()),
            ("EventBus", self.event_bus.clone()),
            ("FanoutRetryQueue", self.retry_queue_url.clone()),
            ("FanoutPacedQueue", self.paced_queue_url.clone()),
            ("FanoutDeadLetterQueue", self.dead_letter_queue_url.clone()),
            ("ProjectorStreamFailureQueue", self.projector_failure_queue_url.clone()),
            (
                "ScheduleSyncStreamFailureQueue",
                self.schedule_sync_failure_queue_url.clone(),
            ),
            ("AssessorQueue", self.assessor_queue_url.clone()),
            ("AssessorDeadLetterQueue", self.assessor_dead_letter_queue_url.clone()),
            ("ReplayQueue", self.replay_queue_url.clone()),
            ("ReplayDeadLetterQueue", self.replay_dead_letter_queue_url.clone()),
            ("JobsScheduleGroup", self.schedule_group.clone()),
            ("SchedulerRole", SCHEDULER_ROLE.to_owned()),
            ("NotificationJobFunction", NOTIFICATION_JOB_FUNCTION.to_owned()),
            ("SchedulerDeadLetterQueue", queue_url(SCHEDULER_DEAD_LETTER_QUEUE)),
            ("SendGridApiKeySecretArn", self.sendgrid_secret_arn.clone()),
        ] {
            physical.insert(logical.to_owned(), value);
        }
        physical.extend(self.parameters.clone());
        template::Stack {
            name: self.name.clone(),
            region: self.region(),
            account: ACCOUNT.to_owned(),
            physical,
        }
    }

    /// The fan-out functions' settings for this stack, as template.yaml sets them.
    pub fn fanout_config(&self) -> FanoutConfig {
        self.config("fanout")
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
        ScheduleSync::new(&self.sdk_for("schedule-sync"), self.config("schedule-sync"))
    }

    pub fn projector(&self) -> Projector {
        Projector::new(&self.sdk_for("projector"), self.config("projector"))
    }

    pub fn assessor(&self) -> Assessor {
        Assessor::new(&self.sdk_for("assessor"), self.config("assessor"))
    }

    pub fn replay_worker(&self) -> ReplayWorker {
        ReplayWorker::new(&self.sdk_for("replay-worker"), self.config("replay-worker"))
    }

    /// notification-job for this stack, sending through `sendgrid` (a stub's
    /// client, with the retry pace a test wants).
    pub async fn notification_runner(&self, sendgrid: SendGrid) -> Result<NotificationRunner, ConfigError> {
        NotificationRunner::sending_through(
            &self.sdk_for(NOTIFICATION_JOB_FUNCTION),
            self.config(NOTIFICATION_JOB_FUNCTION),
            sendgrid,
        )
        .await
    }

    /// notification-job as deployed: its SendGrid key read from the secret, mail
    /// sent to the `SendGridBaseUrl` parameter.
    pub async fn notification_job(&self) -> Result<NotificationRunner, ConfigError> {
        NotificationRunner::build(
            &self.sdk_for(NOTIFICATION_JOB_FUNCTION),
            self.config(NOTIFICATION_JOB_FUNCTION),
        )
        .await
    }

    /// Every API function, each with its own clients, built from its environment
    /// as its entry point builds it.
    pub fn functions(&self) -> ApiFunctions {
        let mut functions = ApiFunctions::default();
        for route in ROUTES {
            let name = route.function;
            let settings = Settings::read(name, &Environment::of(self.environment(name)))
                .unwrap_or_else(|| panic!("route function {name} has no settings"))
                .unwrap_or_else(|e| panic!("{name}'s environment in template.yaml: {e}"));
            if let Some(function) = ApiFunction::new(settings, &self.sdk_for(name)) {
                functions.add(name, function);
            }
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
    // Every page: an emulator shared by many test stacks holds more than one page of tables.
    let existing: Vec<String> = client
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| ProvisionError {
            table: "*".into(),
            detail: DisplayErrorContext(e).to_string(),
        })?;
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
                .projection(
                    Projection::builder()
                        .projection_type(if index.keys_only {
                            ProjectionType::KeysOnly
                        } else {
                            ProjectionType::All
                        })
                        .build(),
                )
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

/// The SDK configuration of another account in the emulator: moto runs a request
/// in the account of the role whose credentials sign it (here a `setup` role).
pub async fn account_of_role(sdk: &SdkConfig, account: &str) -> Result<SdkConfig, String> {
    let assumed = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/setup"))
        .role_session_name("local-setup")
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    let credentials = assumed.credentials.ok_or("STS returned no credentials")?;
    let credentials = aws_sdk_sqs::config::Credentials::new(
        credentials.access_key_id,
        credentials.secret_access_key,
        Some(credentials.session_token),
        None,
        "another account",
    );
    Ok(sdk
        .to_builder()
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(credentials))
        .build())
}
