//! template.yaml, openapi.yaml, the handler table (functions/) and the code agree: the same routes,
//! the same functions, the same tables.

use std::collections::BTreeSet;
use std::path::PathBuf;

use local::functions::Settings;
use local::iam::policy::Need;
use local::template::{FunctionEnvironments, FunctionPolicies, Stack, TEMPLATE};
use serde_norway::Value;
use shared::config::Environment;
use shared::routes::{FALLBACK_FUNCTION, ROUTES};
use shared::storage::schema::{RATES, StreamView, TABLES};

fn repo_file(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A stack the template resolves against; parameters without a default get a
/// value, as a deployment must give them.
fn contract_stack() -> Stack {
    let parameters = [
        (
            "SendGridApiKeySecretArn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:sendgrid",
        ),
        ("SendGridFromEmail", "shop@example.com"),
    ];
    Stack {
        name: "contract".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        physical: parameters.map(|(k, v)| (k.to_owned(), v.to_owned())).into(),
    }
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().expect("logical id"), resource))
        .collect()
}

/// (method, path, handler, without the authorizer) of every HTTP API event;
/// `$default` for the catch-all.
fn template_routes(template: &Value) -> BTreeSet<(String, String, String, bool)> {
    let mut routes = BTreeSet::new();
    for (name, function) in resources_of_type(template, "AWS::Serverless::Function") {
        let handler = function["Properties"]["Handler"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no Handler"));
        for (_, event) in function["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().unwrap_or("ANY");
            let path = properties["Path"].as_str().unwrap_or("$default");
            let public = properties["Auth"]["Authorizer"].as_str() == Some("NONE");
            routes.insert((method.to_owned(), path.to_owned(), handler.to_owned(), public));
        }
    }
    routes
}

#[test]
fn template_routes_are_the_code_routes() {
    let mut expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned(), r.function.to_owned(), r.public))
        .collect();
    expected.insert(("ANY".into(), "$default".into(), FALLBACK_FUNCTION.into(), false));
    assert_eq!(template_routes(&repo_file("template.yaml")), expected);
}

#[test]
fn every_handler_is_deployed_and_every_deployed_function_names_a_handler() {
    let template = repo_file("template.yaml");
    let deployed: Vec<&str> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            f["Properties"]["Handler"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no Handler"))
        })
        .collect();
    let unique: BTreeSet<&str> = deployed.iter().copied().collect();
    assert_eq!(unique.len(), deployed.len(), "two functions share a Handler");
    let handlers: BTreeSet<&str> = functions::HANDLERS.iter().map(|h| h.name).collect();
    assert_eq!(unique, handlers);
}

/// SAM builds once for functions with the same CodeUri, BuildMethod and
/// Metadata: every function shares the one binary and differs only in `Handler`.
#[test]
fn every_function_shares_one_build() {
    let template = repo_file("template.yaml");
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["CodeUri"].as_str(), Some("."));
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert!(globals["Handler"].is_null(), "each function names its own Handler");
    let expected: Value =
        serde_norway::from_str("{BuildMethod: rust-cargolambda, BuildProperties: {Binary: event-collector}}")
            .expect("yaml");
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        assert_eq!(function["Metadata"], expected, "{name}'s Metadata");
        for own in ["CodeUri", "Runtime", "Architectures", "PackageType"] {
            assert!(function["Properties"][own].is_null(), "{name} sets its own {own}");
        }
    }
    let manifest = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/Cargo.toml"))
        .expect("functions/Cargo.toml");
    assert!(manifest.contains("name = \"event-collector\""), "the binary SAM builds");
}

/// One file per function under functions/src, each in the handler table (a
/// file the table does not declare would never be built).
#[test]
fn every_entry_point_file_is_a_handler() {
    let files: BTreeSet<String> = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/src"))
        .expect("functions/src")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lib.rs" && name != "main.rs")
        .collect();
    let handlers: BTreeSet<String> = functions::HANDLERS
        .iter()
        .map(|h| format!("{}.rs", h.name.replace('-', "_")))
        .collect();
    assert_eq!(files, handlers);
}

/// GET functions change nothing but their tenant's request count: judged on
/// the policies as IAM reads them (managed policies included), for every table
/// and every DynamoDB write.
#[test]
fn read_only_functions_cannot_write() {
    let stack = contract_stack();
    let policies = FunctionPolicies::from_yaml(TEMPLATE, &stack).unwrap_or_else(|e| panic!("{e}"));
    let environments = FunctionEnvironments::from_yaml(TEMPLATE, &stack).unwrap_or_else(|e| panic!("{e}"));
    let get_functions: BTreeSet<&str> = ROUTES
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.function)
        .collect();
    assert!(!get_functions.is_empty());
    let writes = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    ];
    for handler in get_functions {
        let policy = policies
            .of(handler)
            .unwrap_or_else(|| panic!("{handler} has no policy"));
        // The console, without a token, has no rate to count.
        let rated = environments
            .of(handler)
            .is_some_and(|env| env.contains_key(RATES.env_var));
        for table in TABLES {
            let arn = format!(
                "arn:aws:dynamodb:{}:{}:table/{}-{}",
                stack.region, stack.account, stack.name, table.logical_id
            );
            for write in writes {
                let counting = rated && table.logical_id == RATES.logical_id && write == "dynamodb:UpdateItem";
                assert_eq!(
                    policy.allows(&Need::new(write, &arn)),
                    counting,
                    "{handler} (a GET) {} {write} on {}",
                    if counting { "cannot count with" } else { "may" },
                    table.logical_id
                );
            }
        }
    }
}

#[test]
fn template_tables_match_the_code_schema() {
    let template = repo_file("template.yaml");
    for spec in TABLES {
        let table = &template["Resources"][spec.logical_id]["Properties"];
        let key_schema = |schema: &Value| -> Vec<(String, String)> {
            schema
                .as_sequence()
                .expect("KeySchema")
                .iter()
                .map(|k| {
                    (
                        k["AttributeName"].as_str().unwrap_or_default().to_owned(),
                        k["KeyType"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        let expected = |pk: &str, sk: Option<&str>| -> Vec<(String, String)> {
            [Some((pk, "HASH")), sk.map(|s| (s, "RANGE"))]
                .into_iter()
                .flatten()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect()
        };
        assert_eq!(
            key_schema(&table["KeySchema"]),
            expected(spec.partition_key, spec.sort_key),
            "{}",
            spec.logical_id
        );
        let indexes = table["GlobalSecondaryIndexes"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        assert_eq!(indexes.len(), spec.indexes.len(), "{}", spec.logical_id);
        for index in spec.indexes {
            let declared = indexes
                .iter()
                .find(|i| i["IndexName"].as_str() == Some(index.name))
                .unwrap_or_else(|| panic!("{} lacks index {}", spec.logical_id, index.name));
            assert_eq!(
                key_schema(&declared["KeySchema"]),
                expected(index.partition_key, index.sort_key)
            );
            let projection = if index.keys_only { "KEYS_ONLY" } else { "ALL" };
            assert_eq!(
                declared["Projection"]["ProjectionType"].as_str(),
                Some(projection),
                "{}",
                index.name
            );
        }
        let stream = table["StreamSpecification"]["StreamViewType"].as_str();
        let expected_stream = spec.stream.map(|view| match view {
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        });
        assert_eq!(stream, expected_stream, "{}", spec.logical_id);
        assert_eq!(
            table["TimeToLiveSpecification"]["AttributeName"].as_str(),
            spec.ttl_attribute
        );
    }
}

#[test]
fn openapi_documents_exactly_the_code_routes() {
    let openapi = repo_file("openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().unwrap_or_default();
            if ["get", "put", "post", "delete", "patch"].contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap_or_default().to_owned()));
            }
        }
    }
    // The console's files are a web page, not part of the API.
    let routes: BTreeSet<_> = ROUTES
        .iter()
        .filter(|r| !r.public)
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routes);
}

/// Every mapping key of `value` with no value and a space in it, by path: what
/// YAML makes of an unquoted comma inside a flow mapping
/// (`{ description: Deleted, or none was set }` reads as a key `or none was set`).
fn keys_split_off_by_a_comma(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, inner) in map {
                let key = key.as_str().unwrap_or_default();
                if inner.is_null() && key.contains(' ') {
                    found.push(format!("{path}.{key}"));
                }
                keys_split_off_by_a_comma(inner, &format!("{path}.{key}"), found);
            }
        }
        Value::Sequence(items) => {
            for (i, inner) in items.iter().enumerate() {
                keys_split_off_by_a_comma(inner, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn openapi_parses_as_written_with_no_description_split_by_a_comma() {
    let mut found = Vec::new();
    keys_split_off_by_a_comma(&repo_file("openapi.yaml"), "", &mut found);
    assert_eq!(found, Vec::<String>::new(), "quote text with a comma inside {{ … }}");
}

#[test]
fn every_function_has_a_log_group_with_retention() {
    let template = repo_file("template.yaml");
    let groups: BTreeSet<String> = resources_of_type(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .filter(|(_, group)| !group["Properties"]["RetentionInDays"].is_null())
        .map(|(_, group)| serde_norway::to_string(&group["Properties"]["LogGroupName"]).expect("name"))
        .collect();
    for (name, _) in resources_of_type(&template, "AWS::Serverless::Function") {
        assert!(
            groups.iter().any(|g| g.contains(&format!("/aws/lambda/${{{name}}}"))),
            "{name} has no log group with a retention"
        );
    }
}

/// The function (logical id) each event source mapping feeds, and whether its
/// source is a stream.
fn mappings(template: &Value) -> Vec<(String, bool, &Value)> {
    resources_of_type(template, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .map(|(name, mapping)| {
            let properties = &mapping["Properties"];
            let function = serde_norway::to_string(&properties["FunctionName"]).expect("yaml");
            let function = function
                .trim()
                .strip_prefix("!Ref ")
                .unwrap_or_else(|| panic!("{name}: FunctionName is not a !Ref"))
                .to_owned();
            let source = serde_norway::to_string(&properties["EventSourceArn"]).expect("yaml");
            (function, source.contains(".StreamArn"), properties)
        })
        .collect()
}

#[test]
fn the_stream_mappings_never_stall_a_shard_on_a_poison_record() {
    let template = repo_file("template.yaml");
    let mappings = mappings(&template);
    let streams: Vec<_> = mappings.iter().filter(|(_, stream, _)| *stream).collect();
    let consumers: BTreeSet<&str> = streams.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(
        consumers,
        BTreeSet::from(["FanoutFunction", "ProjectorFunction", "ScheduleSyncFunction"])
    );
    for (function, _, stream) in streams {
        assert_eq!(
            stream["FunctionResponseTypes"][0].as_str(),
            Some("ReportBatchItemFailures"),
            "{function}"
        );
        assert_eq!(stream["BisectBatchOnFunctionError"].as_bool(), Some(true), "{function}");
        assert!(
            stream["MaximumRetryAttempts"]
                .as_u64()
                .is_some_and(|n| (1..=100).contains(&n)),
            "{function}: bounded retries"
        );
        assert!(
            !stream["DestinationConfig"]["OnFailure"]["Destination"].is_null(),
            "{function}"
        );
    }
    for (function, _, queue) in mappings.iter().filter(|(_, stream, _)| !*stream) {
        assert_eq!(
            queue["FunctionResponseTypes"][0].as_str(),
            Some("ReportBatchItemFailures"),
            "{function}"
        );
    }
}

/// SAM attaches a managed policy reading every stream or queue of the account to
/// a function with a pull event (AWSLambdaDynamoDBExecutionRole,
/// AWSLambdaSQSQueueExecutionRole, …): mappings are resources of their own, and
/// each function's policy names its source (docs/operations.md).
#[test]
fn no_function_has_a_pull_event_sam_would_give_a_managed_policy() {
    let template = repo_file("template.yaml");
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        for (event, body) in function["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let kind = body["Type"].as_str().unwrap_or_default();
            assert!(
                ![
                    "DynamoDB",
                    "SQS",
                    "Kinesis",
                    "MQ",
                    "MSK",
                    "SelfManagedKafka",
                    "DocumentDB"
                ]
                .contains(&kind),
                "{name}.{event:?} is a SAM {kind} event: declare an AWS::Lambda::EventSourceMapping"
            );
        }
    }
}

#[test]
fn every_function_reads_exactly_the_variables_the_template_sets() {
    let environments = FunctionEnvironments::from_yaml(TEMPLATE, &contract_stack()).unwrap_or_else(|e| panic!("{e}"));
    let template = repo_file("template.yaml");
    assert_eq!(
        environments.0.len(),
        resources_of_type(&template, "AWS::Serverless::Function").len()
    );
    for (function, variables) in &environments.0 {
        let env = Environment::of(variables);
        Settings::read(function, &env)
            .unwrap_or_else(|| panic!("{function}: no settings in local::functions::Settings"))
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        let set: BTreeSet<String> = variables.keys().cloned().collect();
        assert_eq!(
            env.names_read(),
            set,
            "{function}: read by the code, set by template.yaml"
        );
    }
}

#[test]
fn a_run_claim_outlives_any_notification_job_invocation() {
    // A retry may take over a RUNNING claim only once its attempt cannot still be alive.
    let template = repo_file("template.yaml");
    let function = &template["Resources"]["NotificationJobFunction"]["Properties"];
    let timeout = function["Timeout"]
        .as_u64()
        .expect("notification-job has its own Timeout");
    assert!(
        shared::notifications::RUN_LEASE.as_secs() > timeout,
        "RUN_LEASE must exceed the function timeout ({timeout} s)"
    );
    assert_eq!(function["EventInvokeConfig"]["MaximumRetryAttempts"].as_u64(), Some(2));
}

#[test]
fn every_function_policy_is_understood_and_names_only_declared_resources() {
    // The local stack holds each function to these policies (local/src/iam); a
    // form the reader does not model, or a resource the template does not
    // declare, fails here rather than passing unchecked.
    let policies = FunctionPolicies::from_yaml(TEMPLATE, &contract_stack()).unwrap_or_else(|e| panic!("{e}"));
    let template = repo_file("template.yaml");
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let handler = function["Properties"]["Handler"].as_str().unwrap_or_default();
        assert!(policies.of(handler).is_some(), "{name} ({handler}) has no policy entry");
    }
}

/// SQS drops a message past its queue's retention without a trace: the retry
/// queue keeps messages as long as the code assumes, at least twice as long as
/// any delivery is retried, and its oldest message is alarmed on well before.
#[test]
fn no_retry_outlives_the_retry_queue_unseen() {
    let template = repo_file("template.yaml");
    let retention = template["Resources"]["FanoutRetryQueue"]["Properties"]["MessageRetentionPeriod"]
        .as_i64()
        .expect("FanoutRetryQueue's MessageRetentionPeriod");
    assert_eq!(retention, shared::fanout::RETRY_QUEUE_RETENTION.num_seconds());
    let parameter = |name: &str, field: &str| {
        template["Parameters"][name][field]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}.{field}"))
    };
    assert!(parameter("RetryMaxAgeHours", "MaxValue") * 3600 * 2 <= retention);
    assert!(parameter("RetryQueueAgeAlarmSeconds", "MaxValue") * 2 <= retention);
    let alarm = serde_norway::to_string(&template["Resources"]["FanoutRetryBacklogAlarm"]).expect("yaml");
    for needed in [
        "ApproximateAgeOfOldestMessage",
        "!GetAtt FanoutRetryQueue.QueueName",
        "!Ref RetryQueueAgeAlarmSeconds",
    ] {
        assert!(
            alarm.contains(needed),
            "FanoutRetryBacklogAlarm lacks {needed}: {alarm}"
        );
    }
}

/// Every queue holding what the stack gave up on, every stream consumer and
/// every function not behind the API has an operator alarm, and every alarm
/// notifies the operator's topic (docs/operations.md#alarms says what to do).
#[test]
fn operators_are_alarmed_of_what_the_stack_gives_up_on() {
    let template = repo_file("template.yaml");
    let text = |value: &Value| serde_norway::to_string(value).expect("yaml");
    let alarms: Vec<(&str, String)> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, alarm)| (name, text(alarm)))
        .collect();
    let alarmed = |reference: &str, metric: &str| {
        alarms
            .iter()
            .any(|(_, alarm)| alarm.contains(&format!("{reference}\n")) && alarm.contains(metric))
    };
    for (queue, _) in resources_of_type(&template, "AWS::SQS::Queue") {
        if queue.ends_with("DeadLetterQueue") || queue.ends_with("StreamFailureQueue") {
            assert!(
                alarmed(
                    &format!("!GetAtt {queue}.QueueName"),
                    "ApproximateNumberOfMessagesVisible"
                ),
                "{queue} has no not-empty alarm"
            );
        }
    }
    let stream_consumers: BTreeSet<String> = mappings(&template)
        .into_iter()
        .filter(|(_, stream, _)| *stream)
        .map(|(function, _, _)| function)
        .collect();
    for (function, resource) in resources_of_type(&template, "AWS::Serverless::Function") {
        let events = text(&resource["Properties"]["Events"]);
        if stream_consumers.contains(function) {
            assert!(
                alarmed(&format!("!Ref {function}"), "IteratorAge"),
                "{function}: no iterator-age alarm"
            );
        }
        if !events.contains("Type: HttpApi") {
            assert!(
                alarmed(&format!("!Ref {function}"), "Errors") && alarmed(&format!("!Ref {function}"), "Throttles"),
                "{function}: no errors-and-throttles alarm"
            );
        }
    }
    assert!(alarmed("!Ref HttpApi", "5xx"), "no alarm on the API's 5xx");
    for (name, alarm) in resources_of_type(&template, "AWS::CloudWatch::Alarm") {
        for actions in ["AlarmActions", "OKActions"] {
            let actions_text = text(&alarm["Properties"][actions]);
            assert!(
                actions_text.contains("NotifiesOperator") && actions_text.contains("!Ref AlarmTopicArn"),
                "{name}: {actions} do not notify AlarmTopicArn: {actions_text}"
            );
        }
        let description = alarm["Properties"]["AlarmDescription"].as_str().unwrap_or_default();
        assert!(
            description.contains("docs/operations.md#alarms"),
            "{name} names no runbook"
        );
    }
    // The run alarm counts the line notification-job logs for a run that did not succeed.
    let filter = &template["Resources"]["NotificationRunsNotSucceededMetric"]["Properties"];
    let pattern = filter["FilterPattern"].as_str().expect("pattern");
    let message = format!("$.fields.message = \"{}\"", shared::notifications::RUN_FINISHED);
    assert!(pattern.contains(&message), "{pattern}");
    for status in [
        shared::notifications::RunStatus::Failed,
        shared::notifications::RunStatus::Partial,
    ] {
        assert!(
            pattern.contains(&format!("$.fields.status = \"{status:?}\"")),
            "{pattern}"
        );
    }
    let metric = &filter["MetricTransformations"][0];
    let alarm = &template["Resources"]["NotificationRunsAlarm"]["Properties"];
    assert_eq!(metric["MetricName"], alarm["MetricName"]);
    assert_eq!(text(&metric["MetricNamespace"]), text(&alarm["Namespace"]));
}
