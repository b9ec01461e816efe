//! template.yaml as one stack would deploy it: each function's IAM policy (its
//! inline statements and the managed policies it references) and each
//! function's environment, with every `!Ref`, `!GetAtt` and `!Sub` resolved to
//! the names and ARNs of the stack at hand and parameters to their values. A
//! resource that the template does not declare, or a form this reader does not
//! model, is an error: a check must never pass by not understanding.

use std::collections::BTreeMap;

use serde_norway::Value;

use crate::iam::policy::{Condition, Effect, Operator, Policy, Statement};

/// The template the functions deploy with, as built into this binary.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

#[derive(Debug, thiserror::Error)]
#[error("template.yaml: {0}")]
pub struct TemplateError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// Where the template's logical ids live in one stack: the value CloudFormation's
/// `Ref` would give for each provisioned resource (table name, queue URL, key id,
/// bus, group, role or function name), and parameters given values other than
/// their defaults. Resources not provisioned get names of the
/// form `<stack>-<LogicalId>`: nothing real answers to them, so a call to one is
/// refused, as it would be by a mismatched deployment.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
    pub physical: BTreeMap<String, String>,
}

/// The stack's functions' policies, by handler name (`Handler`, an entry of `functions::HANDLERS`).
#[derive(Debug, Clone, Default)]
pub struct FunctionPolicies(pub BTreeMap<String, Policy>);

impl FunctionPolicies {
    pub fn from_yaml(text: &str, stack: &Stack) -> Result<Self, TemplateError> {
        let template: Value = serde_norway::from_str(text).map_err(|e| TemplateError(e.to_string()))?;
        if !template["Globals"]["Function"]["Policies"].is_null() {
            return fail("Globals.Function.Policies is not modelled");
        }
        let resolver = Resolver {
            template: &template,
            stack,
        };
        let mut policies = BTreeMap::new();
        for (logical, handler, resource) in functions(&template)? {
            let mut policy = Policy::default();
            for item in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
                let document = resolver.policy_document(logical, item)?;
                // A list of statements, or one statement on its own.
                for statement in resolver.list(document) {
                    if let Some(statement) = resolver.chosen(statement)? {
                        policy.statements.push(resolver.statement(logical, statement)?);
                    }
                }
            }
            policies.insert(handler.to_owned(), policy);
        }
        Ok(Self(policies))
    }

    pub fn of(&self, function: &str) -> Option<&Policy> {
        self.0.get(function)
    }
}

/// Each function's environment variables, by handler name.
#[derive(Debug, Clone, Default)]
pub struct FunctionEnvironments(pub BTreeMap<String, BTreeMap<String, String>>);

impl FunctionEnvironments {
    /// `Globals.Function.Environment` merged with each function's own.
    pub fn from_yaml(text: &str, stack: &Stack) -> Result<Self, TemplateError> {
        let template: Value = serde_norway::from_str(text).map_err(|e| TemplateError(e.to_string()))?;
        let resolver = Resolver {
            template: &template,
            stack,
        };
        let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
        let mut environments = BTreeMap::new();
        for (logical, handler, resource) in functions(&template)? {
            let own = &resource["Properties"]["Environment"]["Variables"];
            let mut variables = BTreeMap::new();
            for (name, value) in [globals, own].into_iter().filter_map(Value::as_mapping).flatten() {
                let name = name.as_str().unwrap_or_default().to_owned();
                let value = resolver
                    .resolve(value)
                    .map_err(|e| TemplateError(format!("{logical}.{name}: {}", e.0)))?;
                variables.insert(name, value);
            }
            environments.insert(handler.to_owned(), variables);
        }
        Ok(Self(environments))
    }

    pub fn of(&self, function: &str) -> Option<&BTreeMap<String, String>> {
        self.0.get(function)
    }
}

/// The template's functions: logical id, handler name (`Handler`), resource.
fn functions(template: &Value) -> Result<Vec<(&str, &str, &Value)>, TemplateError> {
    let mut functions = Vec::new();
    for (logical, resource) in resources(template) {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(handler) = resource["Properties"]["Handler"].as_str() else {
            return fail(format!("{logical} has no Handler"));
        };
        functions.push((logical, handler, resource));
    }
    Ok(functions)
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(name, resource)| Some((name.as_str()?, resource)))
}

struct Resolver<'a> {
    template: &'a Value,
    stack: &'a Stack,
}

impl Resolver<'_> {
    /// `value`, or for `!If [condition, then, else]` the branch the condition
    /// picks; `None` for `!Ref AWS::NoValue`.
    fn chosen<'v>(&self, value: &'v Value) -> Result<Option<&'v Value>, TemplateError> {
        let value = match value {
            Value::Tagged(tagged) if tagged.tag == "If" => {
                let [condition, then, otherwise] = self.list(&tagged.value)[..] else {
                    return fail("!If takes [condition, then, else]");
                };
                let name = condition
                    .as_str()
                    .ok_or_else(|| TemplateError("!If names no condition".into()))?;
                if self.condition(name)? { then } else { otherwise }
            }
            other => other,
        };
        match value {
            Value::Tagged(tagged) if tagged.tag == "Ref" && tagged.value.as_str() == Some("AWS::NoValue") => Ok(None),
            other => Ok(Some(other)),
        }
    }

    fn condition(&self, name: &str) -> Result<bool, TemplateError> {
        let body = &self.template["Conditions"][name];
        if body.is_null() {
            return fail(format!("condition {name} is not declared"));
        }
        self.evaluate(body)
    }

    /// `!Equals`, `!Not`, `!And`, `!Or` and `!Condition`, over resolvable values.
    fn evaluate(&self, body: &Value) -> Result<bool, TemplateError> {
        let Value::Tagged(tagged) = body else {
            return fail(format!("condition {body:?} is not modelled"));
        };
        let args = self.list(&tagged.value);
        match (tagged.tag.to_string().trim_start_matches('!'), args.as_slice()) {
            ("Equals", [a, b]) => Ok(self.resolve(a)? == self.resolve(b)?),
            ("Not", [inner]) => Ok(!self.evaluate(inner)?),
            ("And", all) => all.iter().try_fold(true, |acc, c| Ok(acc && self.evaluate(c)?)),
            ("Or", any) => any.iter().try_fold(false, |acc, c| Ok(acc || self.evaluate(c)?)),
            ("Condition", _) => self.condition(tagged.value.as_str().unwrap_or_default()),
            (tag, _) => fail(format!("condition !{tag} is not modelled")),
        }
    }

    /// The statement list of one entry of a function's `Policies`.
    fn policy_document<'v>(&'v self, function: &str, item: &'v Value) -> Result<&'v Value, TemplateError> {
        if let Value::Tagged(tagged) = item
            && tagged.tag == "Ref"
            && let Some(name) = tagged.value.as_str()
        {
            let managed = &self.template["Resources"][name];
            if managed["Type"].as_str() != Some("AWS::IAM::ManagedPolicy") {
                return fail(format!("{function} references {name}, which is not a managed policy"));
            }
            return Ok(&managed["Properties"]["PolicyDocument"]["Statement"]);
        }
        match item.as_mapping() {
            Some(map) if map.len() == 1 && !item["Statement"].is_null() => Ok(&item["Statement"]),
            _ => fail(format!(
                "{function}: only inline statements and !Ref managed policies are modelled, not {}",
                serde_norway::to_string(item).unwrap_or_default().trim()
            )),
        }
    }

    fn statement(&self, function: &str, statement: &Value) -> Result<Statement, TemplateError> {
        for unsupported in ["NotAction", "NotResource", "Principal"] {
            if !statement[unsupported].is_null() {
                return fail(format!("{function}: {unsupported} is not modelled"));
            }
        }
        let effect = match statement["Effect"].as_str() {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return fail(format!("{function}: Effect {other:?}")),
        };
        let actions = self
            .list(&statement["Action"])
            .into_iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| TemplateError(format!("{function}: an Action is not a string")))?;
        let resources = self
            .list(&statement["Resource"])
            .into_iter()
            .map(|r| self.resolve(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TemplateError(format!("{function}: {}", e.0)))?;
        if actions.is_empty() || resources.is_empty() {
            return fail(format!("{function}: a statement without Action or Resource"));
        }
        Ok(Statement {
            sid: statement["Sid"].as_str().map(str::to_owned),
            effect,
            actions,
            resources,
            conditions: self.conditions(function, &statement["Condition"])?,
        })
    }

    fn conditions(&self, function: &str, block: &Value) -> Result<Vec<Condition>, TemplateError> {
        let mut conditions = Vec::new();
        for (operator, entries) in block.as_mapping().into_iter().flatten() {
            let name = operator.as_str().unwrap_or_default();
            let Some(operator) = Operator::parse(name) else {
                return fail(format!("{function}: condition operator {name} is not modelled"));
            };
            for (key, values) in entries.as_mapping().into_iter().flatten() {
                let values = match self.split(values)? {
                    Some(values) => values,
                    None => self
                        .list(values)
                        .into_iter()
                        .map(|v| self.resolve(v))
                        .collect::<Result<Vec<_>, _>>()?,
                };
                conditions.push(Condition {
                    operator,
                    key: key.as_str().unwrap_or_default().to_owned(),
                    values,
                });
            }
        }
        Ok(conditions)
    }

    /// `!Split [delimiter, value]` (a condition's values from one parameter), or
    /// `None` for any other form.
    fn split(&self, value: &Value) -> Result<Option<Vec<String>>, TemplateError> {
        let Value::Tagged(tagged) = value else {
            return Ok(None);
        };
        if tagged.tag.to_string().trim_start_matches('!') != "Split" {
            return Ok(None);
        }
        match tagged.value.as_sequence().map(Vec::as_slice) {
            Some([Value::String(delimiter), text]) => Ok(Some(
                self.resolve(text)?
                    .split(delimiter.as_str())
                    .map(str::to_owned)
                    .collect(),
            )),
            _ => fail(format!("!Split {:?} is not modelled", tagged.value)),
        }
    }

    fn list<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match value {
            Value::Sequence(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        }
    }

    /// A scalar, `!Ref`, `!GetAtt` or `!Sub` as the stack would resolve it.
    fn resolve(&self, value: &Value) -> Result<String, TemplateError> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(number) => Ok(number.to_string()),
            Value::Tagged(tagged) => {
                let text = tagged.value.as_str();
                match (tagged.tag.to_string().trim_start_matches('!'), text) {
                    ("Ref", Some(name)) => self.reference(name),
                    ("GetAtt", Some(path)) => self.attribute(path),
                    ("Sub", Some(template)) => self.substitute(template),
                    (tag, _) => fail(format!("!{tag} {:?} is not modelled", tagged.value)),
                }
            }
            other => fail(format!("{other:?} is not a resolvable value")),
        }
    }

    fn substitute(&self, text: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                return fail(format!("unclosed ${{ in {text}"));
            };
            let name = &rest[start + 2..start + end];
            out.push_str(&if name.contains('.') {
                self.attribute(name)?
            } else {
                self.reference(name)?
            });
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        let stack = self.stack;
        match name {
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::Region" => return Ok(stack.region.clone()),
            "AWS::AccountId" => return Ok(stack.account.clone()),
            "AWS::StackName" => return Ok(stack.name.clone()),
            _ => {}
        }
        if let Some(parameter) = self.template["Parameters"].get(name) {
            return Ok(match stack.physical.get(name) {
                Some(value) => value.clone(),
                None => match &parameter["Default"] {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return fail(format!("parameter {name} has no value and no default")),
                },
            });
        }
        self.kind(name)?;
        Ok(self.physical(name))
    }

    fn physical(&self, name: &str) -> String {
        let stack = self.stack;
        stack
            .physical
            .get(name)
            .cloned()
            .unwrap_or_else(|| match self.kind(name) {
                Ok("AWS::SQS::Queue") => format!(
                    "https://sqs.{}.amazonaws.com/{}/{}-{name}",
                    stack.region, stack.account, stack.name
                ),
                _ => format!("{}-{name}", stack.name),
            })
    }

    fn kind(&self, name: &str) -> Result<&str, TemplateError> {
        self.template["Resources"][name]["Type"]
            .as_str()
            .ok_or_else(|| TemplateError(format!("{name} is not declared in the template")))
    }

    fn attribute(&self, path: &str) -> Result<String, TemplateError> {
        let (name, attribute) = path
            .split_once('.')
            .ok_or_else(|| TemplateError(format!("!GetAtt {path}")))?;
        let (r, a, id) = (&self.stack.region, &self.stack.account, self.physical(name));
        let arn = match self.kind(name)? {
            "AWS::DynamoDB::Table" => format!("arn:aws:dynamodb:{r}:{a}:table/{id}"),
            "AWS::SQS::Queue" => format!("arn:aws:sqs:{r}:{a}:{}", id.rsplit('/').next().unwrap_or_default()),
            "AWS::SNS::Topic" => id,
            "AWS::KMS::Key" => format!("arn:aws:kms:{r}:{a}:key/{id}"),
            "AWS::Events::EventBus" => format!("arn:aws:events:{r}:{a}:event-bus/{id}"),
            "AWS::Scheduler::ScheduleGroup" => format!("arn:aws:scheduler:{r}:{a}:schedule-group/{id}"),
            "AWS::IAM::Role" => format!("arn:aws:iam::{a}:role/{id}"),
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => format!("arn:aws:lambda:{r}:{a}:function:{id}"),
            kind => return fail(format!("!GetAtt of a {kind} ({name}) is not modelled")),
        };
        match attribute {
            "Arn" => Ok(arn),
            "StreamArn" => Ok(format!("{arn}/stream/*")),
            other => fail(format!("!GetAtt {name}.{other} is not modelled")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::policy::Need;

    fn stack() -> Stack {
        Stack {
            name: "s".into(),
            region: "us-east-1".into(),
            account: "123".into(),
            physical: BTreeMap::from([("Table".into(), "s-table".into())]),
        }
    }

    const TEMPLATE: &str = r#"
Parameters:
  SecretArn: {Type: String, Default: "arn:aws:secretsmanager:us-east-1:123:secret:x"}
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Queue: {Type: AWS::SQS::Queue}
  Shared:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Queue.Arn}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: fn
      Policies:
        - !Ref Shared
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem]
              Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/index/by_x"]
            - {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref SecretArn}
"#;

    #[test]
    fn policies_resolve_to_the_stack_arns() {
        let policies = FunctionPolicies::from_yaml(TEMPLATE, &stack()).expect("policies");
        let policy = policies.of("fn").expect("fn");
        assert!(policy.allows(&Need::new(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:us-east-1:123:table/s-table"
        )));
        assert!(policy.allows(&Need::new(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:us-east-1:123:table/s-table/index/by_x"
        )));
        assert!(!policy.allows(&Need::new(
            "dynamodb:PutItem",
            "arn:aws:dynamodb:us-east-1:123:table/s-table"
        )));
        assert!(policy.allows(&Need::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:123:s-Queue")));
        assert!(policy.allows(&Need::new(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123:secret:x"
        )));
    }

    /// Lanes (the paced queue) are joined by the functions that route deliveries,
    /// and served, hidden a while and counted, by fanout-paced alone.
    #[test]
    fn lanes_are_joined_by_the_routing_functions_and_served_by_fanout_paced_alone() {
        let policies = FunctionPolicies::from_yaml(super::TEMPLATE, &stack()).expect("template.yaml");
        let lanes = "arn:aws:sqs:us-east-1:123:s-FanoutPacedQueue";
        for (function, policy) in &policies.0 {
            let joins = ["fanout", "fanout-retry", "replay-worker"].contains(&function.as_str());
            assert_eq!(
                policy.allows(&Need::new("sqs:SendMessage", lanes)),
                joins,
                "{function} SendMessage"
            );
            assert_eq!(
                policy.allows(&Need::new("sqs:ChangeMessageVisibility", lanes)),
                function == "fanout-paced",
                "{function} ChangeMessageVisibility"
            );
        }
    }

    /// Lambda's pollers read streams and queues with the consuming function's role:
    /// template.yaml must say so for each function, on its own source only.
    #[test]
    fn each_event_source_is_readable_by_its_function_only() {
        let stack = stack();
        let policies = FunctionPolicies::from_yaml(super::TEMPLATE, &stack).expect("template.yaml");
        let stream =
            |table: &str| format!("arn:aws:dynamodb:us-east-1:123:table/s-{table}/stream/2024-01-01T00:00:00.000");
        let queue = |name: &str| format!("arn:aws:sqs:us-east-1:123:s-{name}");
        let sources = [
            ("fanout", stream("EventsTable"), true),
            ("projector", stream("EventsTable"), true),
            ("schedule-sync", stream("JobsTable"), true),
            ("fanout-retry", queue("FanoutRetryQueue"), false),
            ("fanout-paced", queue("FanoutPacedQueue"), false),
            ("assessor", queue("AssessorQueue"), false),
            ("replay-worker", queue("ReplayQueue"), false),
        ];
        let reads = |is_stream: bool| -> &[&str] {
            if is_stream {
                &[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetShardIterator",
                    "dynamodb:GetRecords",
                ]
            } else {
                &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
            }
        };
        for (function, source, is_stream) in &sources {
            let policy = policies.of(function).expect(function);
            for action in reads(*is_stream) {
                assert!(
                    policy.allows(&Need::new(*action, source)),
                    "{function}: {action} on {source}"
                );
            }
            // Nobody else's source: another table's stream, another queue.
            for (other, other_source, other_is_stream) in &sources {
                if other_source == source {
                    continue;
                }
                for action in reads(*other_is_stream) {
                    assert!(
                        !policy.allows(&Need::new(*action, other_source)),
                        "{function} may {action} on {other}'s {other_source}"
                    );
                }
            }
        }
        // And no other function reads any of them.
        for (function, policy) in &policies.0 {
            if sources.iter().any(|(f, _, _)| f == function) {
                continue;
            }
            for (_, source, is_stream) in &sources {
                for action in reads(*is_stream) {
                    assert!(
                        !policy.allows(&Need::new(*action, source)),
                        "{function} may {action} on {source}"
                    );
                }
            }
        }
    }

    /// Only the functions that send with a tenant's key read it: the settings
    /// answer reads the secret's description (the sender), never its value.
    #[test]
    fn only_notification_job_reads_tenants_sendgrid_keys() {
        let stack = stack();
        let policies = FunctionPolicies::from_yaml(super::TEMPLATE, &stack).expect("template.yaml");
        let secret = "arn:aws:secretsmanager:us-east-1:123:secret:s/tenants/acme/sendgrid-Ab12Cd";
        let readers: Vec<&str> = policies
            .0
            .iter()
            .filter(|(_, policy)| policy.allows(&Need::new("secretsmanager:GetSecretValue", secret)))
            .map(|(function, _)| function.as_str())
            .collect();
        assert_eq!(readers, ["notification-job"]);
        let get = policies.of("get-sendgrid-settings").expect("get-sendgrid-settings");
        assert!(get.allows(&Need::new("secretsmanager:DescribeSecret", secret)));
    }

    #[test]
    fn a_split_parameter_gives_a_condition_its_values() {
        let template = TEMPLATE
            .replacen(
                "Parameters:\n",
                "Parameters:\n  Tenants: {Type: String, Default: \"acme,beta\"}\n",
                1,
            )
            .replace(
                "- {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref SecretArn}",
                "- {Effect: Allow, Action: sqs:SendMessage, Resource: \"*\",
               Condition: {StringLike: {\"aws:ResourceTag/t\": !Split [\",\", !Ref Tenants]}}}",
            );
        let policies = FunctionPolicies::from_yaml(&template, &stack()).expect("policies");
        let policy = policies.of("fn").expect("fn");
        let need = |tenant: &str| {
            Need::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:9:q").with("aws:ResourceTag/t", vec![tenant.into()])
        };
        assert!(policy.allows(&need("beta")));
        assert!(!policy.allows(&need("gamma")));
    }

    #[test]
    fn undeclared_resources_and_unmodelled_forms_are_errors() {
        let undeclared = TEMPLATE.replace("!GetAtt Queue.Arn", "!GetAtt Missing.Arn");
        let error = FunctionPolicies::from_yaml(&undeclared, &stack()).expect_err("undeclared");
        assert!(error.to_string().contains("Missing is not declared"), "{error}");
        let template = TEMPLATE.replace("- !Ref Shared", "- SQSSendMessagePolicy: {QueueName: q}");
        assert!(FunctionPolicies::from_yaml(&template, &stack()).is_err());
        let template = TEMPLATE.replace("Action: [dynamodb:GetItem]", "NotAction: [dynamodb:GetItem]");
        assert!(FunctionPolicies::from_yaml(&template, &stack()).is_err());
    }

    #[test]
    fn a_single_statement_counts_like_a_list_of_one() {
        let single = TEMPLATE.replace(
            "- {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Queue.Arn}",
            "{Effect: Deny, Action: sqs:SendMessage, Resource: \"*\"}",
        );
        let policies = FunctionPolicies::from_yaml(&single, &stack()).expect("policies");
        let policy = policies.of("fn").expect("fn");
        assert!(!policy.allows(&Need::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:123:s-Queue")));
        assert!(policy.allows(&Need::new(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:us-east-1:123:table/s-table"
        )));
    }
}
