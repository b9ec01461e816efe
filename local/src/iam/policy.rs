//! IAM policy evaluation, as AWS does it for one principal: an explicit Deny wins,
//! then any Allow, and everything else is refused. Actions and resources match with
//! IAM's `*` and `?` wildcards; conditions support the operators this template uses.

use std::collections::BTreeMap;

/// One thing a call needs permission for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// `service:Action`, e.g. `dynamodb:PutItem`.
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// Condition keys this call sets (`kms:EncryptionContextKeys`, …), by lower-case name.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Need {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.insert(key.to_ascii_lowercase(), values);
        self
    }

    /// The resource's tags, as `aws:ResourceTag/<key>` puts them in the context.
    pub fn add_resource_tags<'a>(&mut self, tags: impl IntoIterator<Item = (&'a String, &'a String)>) {
        for (key, value) in tags {
            let key = format!("{RESOURCE_TAG}{}", key.to_ascii_lowercase());
            self.context.insert(key, vec![value.clone()]);
        }
    }
}

/// The condition keys that ask about the resource's tags, lower-cased.
const RESOURCE_TAG: &str = "aws:resourcetag/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A condition block entry: `operator: {key: values}`.
#[derive(Debug, Clone)]
pub struct Condition {
    pub operator: Operator,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringLike,
    ForAllValuesStringEquals,
    ForAnyValueStringEquals,
    Null,
}

impl Operator {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "StringEquals" => Self::StringEquals,
            "StringLike" => Self::StringLike,
            "ForAllValues:StringEquals" => Self::ForAllValuesStringEquals,
            "ForAnyValue:StringEquals" => Self::ForAnyValueStringEquals,
            "Null" => Self::Null,
            _ => return None,
        })
    }
}

impl Condition {
    fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        let present = context.get(&self.key.to_ascii_lowercase());
        match self.operator {
            Operator::StringEquals => present.is_some_and(|v| v.len() == 1 && self.values.contains(&v[0])),
            Operator::StringLike => {
                present.is_some_and(|v| v.len() == 1 && self.values.iter().any(|p| wildcard(p, &v[0], false)))
            }
            Operator::ForAllValuesStringEquals => present.is_none_or(|v| v.iter().all(|x| self.values.contains(x))),
            Operator::ForAnyValueStringEquals => present.is_some_and(|v| v.iter().any(|x| self.values.contains(x))),
            Operator::Null => {
                let absent = present.is_none_or(Vec::is_empty);
                self.values.iter().all(|v| (v == "true") == absent)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Vec<String>,
    /// Resource ARN patterns, already resolved for the stack.
    pub resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    fn applies(&self, need: &Need) -> bool {
        self.names(need) && self.conditions.iter().all(|c| c.holds(&need.context))
    }

    /// Its actions and resources cover `need`, whatever its conditions say.
    fn names(&self, need: &Need) -> bool {
        self.actions.iter().any(|a| wildcard(a, &need.action, true))
            && self.resources.iter().any(|r| wildcard(r, &need.resource, false))
    }
}

/// A principal's statements: its identity policies together.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Whether the answer to `need` may turn on the resource's tags
    /// (`aws:ResourceTag/…`), so they must be looked up before `allows`: a Deny
    /// naming it asks about them, or an Allow does and nothing allows it without.
    /// (The fan-out's sends to the stack's own retry queue need no lookup.)
    pub fn asks_resource_tags(&self, need: &Need) -> bool {
        let asking = |effect: Effect| {
            self.statements.iter().any(|s| {
                s.effect == effect
                    && s.names(need)
                    && s.conditions
                        .iter()
                        .any(|c| c.key.to_ascii_lowercase().starts_with(RESOURCE_TAG))
            })
        };
        asking(Effect::Deny) || (asking(Effect::Allow) && !self.allows(need))
    }

    pub fn allows(&self, need: &Need) -> bool {
        let applying = || self.statements.iter().filter(|s| s.applies(need));
        !applying().any(|s| s.effect == Effect::Deny) && applying().any(|s| s.effect == Effect::Allow)
    }
}

/// IAM's pattern match: `*` any run of characters, `?` any one character.
/// Action names compare case-insensitively; resources exactly.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    // Classic greedy match with one backtrack point for the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            sid: None,
            effect: Effect::Allow,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            conditions: vec![],
        }
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard("arn:aws:sqs:*:*:*", "arn:aws:sqs:us-east-1:1:q", false));
        assert!(wildcard("dynamodb:Get*", "DynamoDB:GetItem", true));
        assert!(!wildcard("dynamodb:Get*", "dynamodb:PutItem", true));
        assert!(wildcard("a?c", "abc", false));
        assert!(!wildcard("arn:t/x", "arn:t/x/index/i", false));
        assert!(!wildcard("Arn", "arn", false));
        assert!(
            wildcard("a*c", "a*bc", false),
            "a * in the text is matched by the pattern's *"
        );
    }

    #[test]
    fn deny_wins_and_nothing_is_allowed_by_default() {
        let need = Need::new("dynamodb:PutItem", "arn:t");
        assert!(!Policy::default().allows(&need));
        let mut policy = Policy {
            statements: vec![allow(&["dynamodb:*"], &["*"])],
        };
        assert!(policy.allows(&need));
        policy.statements.push(Statement {
            effect: Effect::Deny,
            ..allow(&["dynamodb:PutItem"], &["arn:t"])
        });
        assert!(!policy.allows(&need));
    }

    #[test]
    fn resource_tags_are_asked_for_and_matched() {
        let mut statement = allow(&["sqs:SendMessage"], &["arn:aws:sqs:*:1:*"]);
        statement.conditions = vec![Condition {
            operator: Operator::StringLike,
            key: "aws:ResourceTag/event-collector:tenant".into(),
            values: vec!["acme".into(), "beta".into()],
        }];
        let mut policy = Policy {
            statements: vec![statement],
        };
        let need = Need::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q");
        assert!(policy.asks_resource_tags(&need));
        assert!(!policy.asks_resource_tags(&Need::new("sqs:SendMessage", "arn:aws:sqs:us-east-1:2:q")));
        assert!(!policy.allows(&need), "untagged");
        let tagged = |tenant: &str| {
            let mut tagged = need.clone();
            tagged.add_resource_tags(&std::collections::HashMap::from([(
                "event-collector:tenant".to_owned(),
                tenant.to_owned(),
            )]));
            tagged
        };
        assert!(policy.allows(&tagged("acme")));
        assert!(!policy.allows(&tagged("gamma")));
        // Allowed without them by another statement: no lookup
        policy
            .statements
            .push(allow(&["sqs:SendMessage"], &["arn:aws:sqs:us-east-1:1:q"]));
        assert!(!policy.asks_resource_tags(&need));
    }

    #[test]
    fn conditions_on_the_encryption_context() {
        let mut statement = allow(&["kms:Encrypt"], &["*"]);
        statement.conditions = vec![
            Condition {
                operator: Operator::ForAllValuesStringEquals,
                key: "kms:EncryptionContextKeys".into(),
                values: vec!["tenant".into(), "subscriptionId".into()],
            },
            Condition {
                operator: Operator::Null,
                key: "kms:EncryptionContext:tenant".into(),
                values: vec!["false".into()],
            },
        ];
        let policy = Policy {
            statements: vec![statement],
        };
        let sealed = Need::new("kms:Encrypt", "k")
            .with("kms:EncryptionContextKeys", vec!["tenant".into()])
            .with("kms:EncryptionContext:tenant", vec!["acme".into()]);
        assert!(policy.allows(&sealed));
        assert!(!policy.allows(&Need::new("kms:Encrypt", "k")), "no context");
        let extra = sealed
            .clone()
            .with("kms:EncryptionContextKeys", vec!["tenant".into(), "x".into()]);
        assert!(!policy.allows(&extra), "an unlisted context key");
    }
}
