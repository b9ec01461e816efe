//! What an AWS API request needs permission for: its IAM actions and the ARNs they
//! act on, read off the request as the SDK sends it (JSON protocols by
//! `X-Amz-Target`, SNS's query protocol by `Action=`, Scheduler's REST paths).
//! Batch and transaction operations are broken down as IAM authorises them.

use serde_json::Value;

use super::policy::Need;

/// One HTTP request to an AWS service, as far as authorisation cares.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub target: Option<&'a str>,
    pub body: &'a [u8],
}

/// An API call and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The API operation (`PutItem`, `Publish`, `CreateSchedule`, …).
    pub operation: String,
    pub needs: Vec<Need>,
    /// For `sts:AssumeRole`: the role and the ExternalId given, which its trust
    /// policy must accept.
    pub assumes: Option<(String, Option<String>)>,
}

/// The account and region ARNs are built in.
#[derive(Debug, Clone)]
pub struct Scope {
    pub region: String,
    pub account: String,
}

impl Scope {
    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account)
    }

    fn table(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            self.arn("dynamodb", &format!("table/{name}"))
        }
    }

    /// `https://sqs.<region>.amazonaws.com/<account>/<name>` →
    /// `arn:aws:sqs:<region>:<account>:<name>`; an emulator's URL has no region in
    /// its host, so the stack's is taken.
    fn queue(&self, url: &str) -> String {
        let mut parts = url.trim_end_matches('/').rsplit('/');
        let name = parts.next().unwrap_or_default();
        let account = parts.next().unwrap_or(&self.account);
        let region = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|host| host.strip_prefix("sqs.")?.split('.').next())
            .unwrap_or(&self.region);
        format!("arn:aws:sqs:{region}:{account}:{name}")
    }
}

/// The call `request` makes, or why it cannot be understood (itself a failure:
/// an unrecognised call must not pass unchecked).
pub fn call(request: &Request<'_>, scope: &Scope) -> Result<Call, String> {
    if let Some(target) = request.target {
        let (prefix, operation) = target.split_once('.').ok_or_else(|| format!("target {target}"))?;
        let body: Value = serde_json::from_slice(request.body).map_err(|e| format!("{target} body: {e}"))?;
        let needs = match prefix {
            "DynamoDB_20120810" => dynamodb(operation, &body, scope)?,
            "DynamoDBStreams_20120810" => streams(operation, &body)?,
            "AmazonSQS" => sqs(operation, &body, scope)?,
            "AWSEvents" => events(operation, &body, scope)?,
            "TrentService" => kms(operation, &body, scope)?,
            "secretsmanager" => secrets(operation, &body, scope)?,
            _ => return Err(format!("service {prefix} is not modelled")),
        };
        return Ok(Call {
            operation: operation.to_owned(),
            needs,
            assumes: None,
        });
    }
    if request.path.starts_with("/schedules/") {
        return scheduler(request, scope);
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(request.body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match field("Action") {
        Some("AssumeRole") => {
            let role = field("RoleArn").ok_or("AssumeRole without a RoleArn")?;
            Ok(Call {
                operation: "AssumeRole".into(),
                needs: vec![Need::new("sts:AssumeRole", role)],
                assumes: Some((role.to_owned(), field("ExternalId").map(str::to_owned))),
            })
        }
        // ListTagsForResource names its topic ResourceArn.
        Some(action) => sns(action, field("TopicArn").or(field("ResourceArn")).unwrap_or_default()),
        None => Err(format!(
            "{} {} is not a modelled AWS call",
            request.method, request.path
        )),
    }
}

fn text<'v>(body: &'v Value, field: &str) -> Result<&'v str, String> {
    body[field].as_str().ok_or_else(|| format!("no {field}"))
}

fn dynamodb(operation: &str, body: &Value, scope: &Scope) -> Result<Vec<Need>, String> {
    let action = |name: &str| format!("dynamodb:{name}");
    Ok(match operation {
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .ok_or("no RequestItems")?
            .keys()
            .map(|table| Need::new(action(operation), scope.table(table)))
            .collect(),
        // A transaction is authorised item by item, by the item's own action.
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .ok_or("no TransactItems")?
            .iter()
            .map(|item| {
                let (kind, spec) = item
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or("an empty transaction item")?;
                let item_action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => return Err(format!("transaction item {other}")),
                };
                Ok(Need::new(action(item_action), scope.table(text(spec, "TableName")?)))
            })
            .collect::<Result<_, String>>()?,
        _ => {
            let table = scope.table(text(body, "TableName")?);
            let resource = match body["IndexName"].as_str() {
                Some(index) => format!("{table}/index/{index}"),
                None => table,
            };
            vec![Need::new(action(operation), resource)]
        }
    })
}

/// DynamoDB Streams (an event source mapping's reads): IAM's actions are
/// `dynamodb:`, on the stream's ARN. A shard iterator names its stream: it is
/// `<stream ARN>|…`, from AWS as from moto.
fn streams(operation: &str, body: &Value) -> Result<Vec<Need>, String> {
    let stream = match operation {
        "DescribeStream" | "GetShardIterator" => text(body, "StreamArn")?,
        "GetRecords" => text(body, "ShardIterator")?
            .split('|')
            .next()
            .filter(|arn| arn.starts_with("arn:"))
            .ok_or("a shard iterator that names no stream")?,
        // Lists stream ARNs only; IAM takes it on any resource.
        "ListStreams" => "*",
        other => return Err(format!("DynamoDB Streams {other} is not modelled")),
    };
    Ok(vec![Need::new(format!("dynamodb:{operation}"), stream)])
}

fn sqs(operation: &str, body: &Value, scope: &Scope) -> Result<Vec<Need>, String> {
    // The batch operations are authorised as their single forms.
    let action = match operation {
        "SendMessageBatch" => "SendMessage",
        "DeleteMessageBatch" => "DeleteMessage",
        "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
        other => other,
    };
    let queue = match body["QueueUrl"].as_str() {
        Some(url) => scope.queue(url),
        None => scope.arn("sqs", text(body, "QueueName")?),
    };
    Ok(vec![Need::new(format!("sqs:{action}"), queue)])
}

fn sns(action: &str, topic: &str) -> Result<Call, String> {
    let iam_action = match action {
        "PublishBatch" => "Publish",
        other => other,
    };
    if topic.is_empty() {
        return Err(format!("SNS {action} without a TopicArn is not modelled"));
    }
    Ok(Call {
        operation: action.to_owned(),
        needs: vec![Need::new(format!("sns:{iam_action}"), topic)],
        assumes: None,
    })
}

fn events(operation: &str, body: &Value, scope: &Scope) -> Result<Vec<Need>, String> {
    if operation != "PutEvents" {
        // ListTagsForResource names its bus by ARN.
        let bus = body["ResourceARN"]
            .as_str()
            .or(body["Name"].as_str())
            .or(body["EventBusName"].as_str())
            .unwrap_or("default");
        return Ok(vec![Need::new(format!("events:{operation}"), bus_arn(bus, scope))]);
    }
    let mut needs: Vec<Need> = Vec::new();
    for entry in body["Entries"].as_array().ok_or("no Entries")? {
        let need = Need::new(
            "events:PutEvents",
            bus_arn(entry["EventBusName"].as_str().unwrap_or("default"), scope),
        );
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    Ok(needs)
}

fn bus_arn(bus: &str, scope: &Scope) -> String {
    if bus.starts_with("arn:") {
        bus.to_owned()
    } else {
        scope.arn("events", &format!("event-bus/{bus}"))
    }
}

fn kms(operation: &str, body: &Value, scope: &Scope) -> Result<Vec<Need>, String> {
    let key = text(body, "KeyId").map_err(|_| format!("KMS {operation} without a KeyId is not modelled"))?;
    let resource = if key.starts_with("arn:") {
        key.to_owned()
    } else if key.starts_with("alias/") {
        return Err(format!("KMS {operation} by alias is not modelled"));
    } else {
        scope.arn("kms", &format!("key/{key}"))
    };
    let mut need = Need::new(format!("kms:{operation}"), resource);
    if let Some(context) = body["EncryptionContext"].as_object() {
        need = need.with("kms:EncryptionContextKeys", context.keys().cloned().collect());
        for (key, value) in context {
            let value = value.as_str().unwrap_or_default().to_owned();
            need = need.with(&format!("kms:EncryptionContext:{key}"), vec![value]);
        }
    }
    Ok(vec![need])
}

/// A secret named by its name is authorised against its ARN, which ends in a
/// random six-character suffix: a policy must allow `<name>-*` or a wider pattern.
fn secrets(operation: &str, body: &Value, scope: &Scope) -> Result<Vec<Need>, String> {
    let id = if operation == "CreateSecret" {
        text(body, "Name")?
    } else {
        text(body, "SecretId")?
    };
    let resource = if id.starts_with("arn:") {
        id.to_owned()
    } else {
        scope.arn("secretsmanager", &format!("secret:{id}-Ab12Cd"))
    };
    Ok(vec![Need::new(format!("secretsmanager:{operation}"), resource)])
}

/// Scheduler's REST API: `/schedules/{Name}`; the group is in the body (create,
/// update) or the query (get, delete). Creating or updating passes the target's
/// role, which needs `iam:PassRole` to Scheduler.
fn scheduler(request: &Request<'_>, scope: &Scope) -> Result<Call, String> {
    let name = request.path.trim_start_matches("/schedules/");
    let name = percent_decode(name);
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(request.body).map_err(|e| format!("schedule body: {e}"))?
    };
    let from_query = form_urlencoded::parse(request.query.as_bytes())
        .find(|(k, _)| k == "groupName")
        .map(|(_, v)| v.into_owned());
    let group = body["GroupName"]
        .as_str()
        .map(str::to_owned)
        .or(from_query)
        .unwrap_or_else(|| "default".into());
    let operation = match request.method {
        "POST" => "CreateSchedule",
        "PUT" => "UpdateSchedule",
        "DELETE" => "DeleteSchedule",
        "GET" => "GetSchedule",
        other => return Err(format!("scheduler {other} is not modelled")),
    };
    let mut needs = vec![Need::new(
        format!("scheduler:{operation}"),
        scope.arn("scheduler", &format!("schedule/{group}/{name}")),
    )];
    if let Some(role) = body["Target"]["RoleArn"].as_str() {
        needs.push(Need::new("iam:PassRole", role).with("iam:PassedToService", vec!["scheduler.amazonaws.com".into()]));
    }
    Ok(Call {
        operation: operation.to_owned(),
        needs,
        assumes: None,
    })
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account: "123".into(),
        }
    }

    fn json(target: &str, body: &str) -> Call {
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            target: Some(target),
            body: body.as_bytes(),
        };
        call(&request, &scope()).expect("call")
    }

    fn actions(call: &Call) -> Vec<(&str, &str)> {
        call.needs
            .iter()
            .map(|n| (n.action.as_str(), n.resource.as_str()))
            .collect()
    }

    #[test]
    fn transactions_are_authorised_per_item_and_batches_by_their_own_action() {
        let call = json(
            "DynamoDB_20120810.TransactWriteItems",
            r#"{"TransactItems":[{"Put":{"TableName":"a"}},{"ConditionCheck":{"TableName":"b"}}]}"#,
        );
        assert_eq!(
            actions(&call),
            [
                ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123:table/a"),
                ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123:table/b")
            ]
        );
        let call = json("DynamoDB_20120810.BatchWriteItem", r#"{"RequestItems":{"a":[]}}"#);
        assert_eq!(
            actions(&call),
            [("dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123:table/a")]
        );
        let call = json("DynamoDB_20120810.Query", r#"{"TableName":"a","IndexName":"i"}"#);
        assert_eq!(
            actions(&call),
            [("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123:table/a/index/i")]
        );
    }

    #[test]
    fn stream_reads_are_authorised_on_the_stream() {
        let stream = "arn:aws:dynamodb:us-east-1:123:table/a/stream/2024-01-01T00:00:00.000";
        for (operation, body) in [
            ("DescribeStream", format!(r#"{{"StreamArn":"{stream}"}}"#)),
            (
                "GetShardIterator",
                format!(r#"{{"StreamArn":"{stream}","ShardId":"s","ShardIteratorType":"LATEST"}}"#),
            ),
            ("GetRecords", format!(r#"{{"ShardIterator":"{stream}|1|AAAA"}}"#)),
        ] {
            let call = json(&format!("DynamoDBStreams_20120810.{operation}"), &body);
            assert_eq!(actions(&call), [(format!("dynamodb:{operation}").as_str(), stream)]);
        }
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            target: Some("DynamoDBStreams_20120810.GetRecords"),
            body: br#"{"ShardIterator":"opaque"}"#,
        };
        assert!(
            call(&request, &scope()).is_err(),
            "an iterator naming no stream is not passed"
        );
    }

    #[test]
    fn queues_buses_and_keys_become_arns() {
        let call = json(
            "AmazonSQS.SendMessageBatch",
            r#"{"QueueUrl":"http://127.0.0.1:5000/999/q","Entries":[]}"#,
        );
        assert_eq!(actions(&call), [("sqs:SendMessage", "arn:aws:sqs:us-east-1:999:q")]);
        let call = json(
            "AmazonSQS.SendMessage",
            r#"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/999/q"}"#,
        );
        assert_eq!(actions(&call), [("sqs:SendMessage", "arn:aws:sqs:eu-west-1:999:q")]);
        let call = json(
            "AWSEvents.PutEvents",
            r#"{"Entries":[{"EventBusName":"b"},{"EventBusName":"b"},{}]}"#,
        );
        assert_eq!(
            actions(&call),
            [
                ("events:PutEvents", "arn:aws:events:us-east-1:123:event-bus/b"),
                ("events:PutEvents", "arn:aws:events:us-east-1:123:event-bus/default")
            ]
        );
        let call = json(
            "TrentService.Decrypt",
            r#"{"KeyId":"k","EncryptionContext":{"tenant":"acme"}}"#,
        );
        assert_eq!(call.needs[0].resource, "arn:aws:kms:us-east-1:123:key/k");
        assert_eq!(call.needs[0].context["kms:encryptioncontext:tenant"], ["acme"]);
    }

    #[test]
    fn schedules_pass_their_role_and_sns_reads_the_form() {
        let request = Request {
            method: "POST",
            path: "/schedules/job%231",
            query: "",
            target: None,
            body: br#"{"GroupName":"g","Target":{"RoleArn":"arn:aws:iam::123:role/r"}}"#,
        };
        let call = call(&request, &scope()).expect("call");
        assert_eq!(
            actions(&call),
            [
                (
                    "scheduler:CreateSchedule",
                    "arn:aws:scheduler:us-east-1:123:schedule/g/job#1"
                ),
                ("iam:PassRole", "arn:aws:iam::123:role/r")
            ]
        );
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            target: None,
            body: b"Action=PublishBatch&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At",
        };
        let call = super::call(&request, &scope()).expect("call");
        assert_eq!(actions(&call), [("sns:Publish", "arn:aws:sns:us-east-1:1:t")]);
    }

    #[test]
    fn unknown_calls_are_errors_not_passes() {
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            target: Some("AWSLambda.Invoke"),
            body: b"{}",
        };
        assert!(call(&request, &scope()).is_err());
    }
}
