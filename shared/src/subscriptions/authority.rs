//! Whose authority a delivery uses, and which destinations a tenant may name.
//!
//! A delivery goes out with the subscriber's authority: the subscription's own
//! access key, or a role in the subscriber's account that fan-out assumes with the
//! tenant id as ExternalId (what stops one tenant from naming another's role: its
//! trust policy asks for the other tenant's id). The stack's own role reaches
//! nothing but its own queues and bus, and, when the operator lists a tenant in
//! `OwnAccountTenants`, the stack's own account: there only what is tagged for
//! that tenant (checked in `ownership`, which needs a call). The stack's own
//! queues, topics and buses are never a destination.

use std::collections::BTreeSet;

use super::destination::account_of;
use super::model::Destination;
use crate::config::{ConfigError, Environment};
use crate::error::FieldError;
use crate::tenant::{TenantId, TenantList};

/// The variables the policy is read from.
pub const STACK_ACCOUNT: &str = "STACK_ACCOUNT";
pub const STACK_DESTINATIONS: &str = "STACK_DESTINATIONS";
pub const OWN_ACCOUNT_TENANTS: &str = "OWN_ACCOUNT_TENANTS";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// The account the stack runs in.
    pub stack_account: String,
    /// The stack's own queues, topics and buses, as `(service, account, name)`.
    pub own: BTreeSet<(String, String, String)>,
    /// Tenants that may deliver into the stack's account with its role.
    pub own_account_tenants: TenantList,
}

/// Who a destination is reached as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority<'a> {
    /// The subscription's own access key.
    OwnKey,
    /// A role in the subscriber's account.
    Role(&'a str),
    /// The stack's own role.
    Stack,
}

impl DestinationPolicy {
    /// `STACK_ACCOUNT`, `STACK_DESTINATIONS` (ARNs, comma-separated) and
    /// `OWN_ACCOUNT_TENANTS` (tenant ids or `*`, comma-separated; may be empty).
    pub fn read(env: &Environment) -> Result<Self, ConfigError> {
        let stack_account = env.required(STACK_ACCOUNT)?;
        let own = env
            .required(STACK_DESTINATIONS)?
            .split(',')
            .map(str::trim)
            .filter(|arn| !arn.is_empty())
            .map(|arn| {
                resource_of(arn).ok_or_else(|| ConfigError::Invalid {
                    name: STACK_DESTINATIONS,
                    reason: format!("{arn} is not a queue, topic or bus ARN"),
                })
            })
            .collect::<Result<_, _>>()?;
        let own_account_tenants = TenantList::parse(&env.string_or(OWN_ACCOUNT_TENANTS, ""));
        Ok(Self {
            stack_account,
            own,
            own_account_tenants,
        })
    }

    /// Whether `destination` is reached with the stack's own role in the stack's
    /// own account: then it must also be tagged for its tenant
    /// (`Ownership::check`). A subscriber's own access key needs no tag: what it
    /// may reach, its holder could send to without this service.
    pub fn needs_owner_tag<S>(&self, destination: &Destination<S>) -> bool {
        account_of(destination.address().0) == Some(self.stack_account.as_str())
            && authority(destination) == Authority::Stack
    }

    /// Whether `tenant` may name `destination`, as far as its address tells (for
    /// the stack's account, see `needs_owner_tag`); the error names the field at
    /// fault (under `block`, e.g. `destination.sqs`).
    pub fn check<S>(&self, tenant: &TenantId, destination: &Destination<S>, block: &str) -> Result<(), FieldError> {
        let (address, field) = destination.address();
        let field = format!("{block}.{field}");
        let resource = resource_of(address).ok_or_else(|| FieldError::new(&field, "names no account"))?;
        if self.own.contains(&resource) {
            return Err(FieldError::new(
                field,
                "is one of this service's own queues, topics or buses; subscribe one of yours",
            ));
        }
        let account = resource.1.as_str();
        let in_stack_account = account == self.stack_account;
        let listed = in_stack_account && self.own_account_tenants.contains(tenant);
        if in_stack_account && !listed {
            return Err(FieldError::new(
                field,
                "is in this service's own account, which your tenant may not deliver to",
            ));
        }
        match authority(destination) {
            // Roles of the stack's own account may trust the account as a whole,
            // ExternalId or not: never assumed for a tenant.
            Authority::Role(_) if in_stack_account => Err(FieldError::new(
                format!("{block}.roleArn"),
                "must not be a role in this service's own account",
            )),
            Authority::Role(role) if account_of(role) != Some(account) => Err(FieldError::new(
                format!("{block}.roleArn"),
                format!("must be a role in the destination's account {account}"),
            )),
            Authority::Stack if !listed => Err(FieldError::new(
                field,
                "is reached with your authority: give roleArn (a role in its account that this service \
                 assumes with your tenant id as ExternalId) or accessKey/accessSecret",
            )),
            _ => Ok(()),
        }
    }
}

/// How `destination` is reached.
pub fn authority<S>(destination: &Destination<S>) -> Authority<'_> {
    match (destination.credentials(), destination.role_arn()) {
        (Some(_), _) => Authority::OwnKey,
        (None, Some(role)) => Authority::Role(role),
        (None, None) => Authority::Stack,
    }
}

/// `(service, account, name)` of a queue URL or a queue, topic or bus ARN.
fn resource_of(address: &str) -> Option<(String, String, String)> {
    let account = account_of(address)?.to_owned();
    let (service, name) = match address.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            let service = *parts.get(1)?;
            let name = parts.get(4)?;
            (service, name.strip_prefix("event-bus/").unwrap_or(name))
        }
        None => ("sqs", address.trim_end_matches('/').rsplit('/').next()?),
    };
    Some((service.to_owned(), account, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::subscriptions::{BusTarget, QueueTarget};

    const STACK: &str = "111111111111";
    const SUBSCRIBER: &str = "222222222222";

    fn policy(own_account_tenants: &str) -> DestinationPolicy {
        let vars = BTreeMap::from([
            (STACK_ACCOUNT, STACK.to_owned()),
            (
                STACK_DESTINATIONS,
                format!(
                    "arn:aws:sqs:eu-west-1:{STACK}:stack-FanoutRetryQueue-X,arn:aws:events:eu-west-1:{STACK}:event-bus/stack-bus"
                ),
            ),
            (OWN_ACCOUNT_TENANTS, own_account_tenants.to_owned()),
        ]);
        DestinationPolicy::read(&Environment::of(&vars)).expect("policy")
    }

    fn queue(account: &str, name: &str, role: Option<&str>, key: bool) -> Destination<()> {
        Destination::Sqs {
            sqs: QueueTarget {
                queue_url: format!("https://sqs.eu-west-1.amazonaws.com/{account}/{name}"),
                region: "eu-west-1".into(),
                role_arn: role.map(str::to_owned),
                access_key: key.then(|| "AKIAEXAMPLEEXAMPLE".into()),
                access_secret: key.then_some(()),
            },
        }
    }

    fn field(result: Result<(), FieldError>) -> String {
        result.expect_err("refused").field
    }

    #[test]
    fn the_stacks_own_destinations_are_never_a_subscriptions() {
        let (acme, all) = (TenantId::parse("acme").expect("tenant"), policy("*"));
        let retry = queue(STACK, "stack-FanoutRetryQueue-X", None, false);
        assert_eq!(
            field(all.check(&acme, &retry, "destination.sqs")),
            "destination.sqs.queueUrl"
        );
        let bus = Destination::<()>::EventBridge {
            event_bridge: BusTarget {
                event_bus_arn: format!("arn:aws:events:eu-west-1:{STACK}:event-bus/stack-bus"),
                region: "eu-west-1".into(),
                role_arn: None,
            },
        };
        assert!(all.check(&acme, &bus, "destination.eventBridge").is_err());
    }

    #[test]
    fn the_stacks_account_is_only_for_listed_tenants() {
        let acme = TenantId::parse("acme").expect("tenant");
        let mine = queue(STACK, "orders", None, false);
        assert!(policy("").check(&acme, &mine, "d").is_err());
        assert!(policy("beta").check(&acme, &mine, "d").is_err());
        assert!(policy("beta,acme").check(&acme, &mine, "d").is_ok());
        assert!(policy("*").check(&acme, &mine, "d").is_ok());
    }

    #[test]
    fn another_account_is_reached_with_the_subscribers_authority_only() {
        let (acme, policy) = (TenantId::parse("acme").expect("tenant"), policy("*"));
        let role = format!("arn:aws:iam::{SUBSCRIBER}:role/deliveries");
        assert!(
            policy
                .check(&acme, &queue(SUBSCRIBER, "orders", None, true), "d")
                .is_ok()
        );
        assert!(
            policy
                .check(&acme, &queue(SUBSCRIBER, "orders", Some(&role), false), "d")
                .is_ok()
        );
        let stack_authority = queue(SUBSCRIBER, "orders", None, false);
        assert_eq!(field(policy.check(&acme, &stack_authority, "d")), "d.queueUrl");
        let own_role = queue(
            STACK,
            "orders",
            Some(&format!("arn:aws:iam::{STACK}:role/admin")),
            false,
        );
        assert_eq!(field(policy.check(&acme, &own_role, "d")), "d.roleArn");
        let elsewhere = format!("arn:aws:iam::{STACK}:role/deliveries");
        let wrong_role = queue(SUBSCRIBER, "orders", Some(&elsewhere), false);
        assert_eq!(field(policy.check(&acme, &wrong_role, "d")), "d.roleArn");
    }
}
