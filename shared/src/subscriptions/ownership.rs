//! Whose a queue, topic or bus in the stack's own account is: the tenant its
//! `event-collector:tenant` tag names. A tenant the operator lets deliver there
//! with the stack's role may name only what is tagged for it; anything untagged,
//! or tagged for another tenant, is refused (allow, not deny: the account holds
//! other tenants' destinations, the operator's alarm topic, other stacks' buses).
//!
//! Checked when a subscription is created or replaced, and again before each
//! delivery, since tags change. The fan-out remembers what a resource said for
//! a minute (`DELIVERY_TTL`): at most one tag read per destination per container
//! per minute, not one per delivery. IAM holds the fan-out to tagged resources
//! too (template.yaml, `DeliverInOwnAccount`); which tenant's, only this check.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::error::DisplayErrorContext;

use super::authority::DestinationPolicy;
use super::model::Destination;
use crate::error::FieldError;
use crate::tenant::TenantId;
use crate::util::ttl_map::TtlMap;

/// The tag that says which tenant a resource in the stack's account is for.
pub const TENANT_TAG: &str = "event-collector:tenant";

/// How long the fan-out trusts what a resource's tag said.
pub const DELIVERY_TTL: Duration = Duration::from_secs(60);

/// Where tags are read from.
enum Source {
    Aws(Box<SdkConfig>),
    /// Tests: the tenant each address is tagged for (changeable).
    Fixed(Mutex<BTreeMap<String, String>>),
}

/// Reads (and at delivery, remembers) the tenant a destination is tagged for.
pub struct Ownership {
    source: Source,
    /// Address → its tag's value (`None`: untagged), for the TTL given.
    seen: TtlMap<String, Option<String>>,
}

impl Ownership {
    /// Tags read with `sdk` (the function's own role); each answer kept `ttl`
    /// (zero: read every time, as the API does).
    pub fn aws(sdk: &SdkConfig, ttl: Duration) -> Self {
        Self {
            source: Source::Aws(Box::new(sdk.clone())),
            seen: TtlMap::new(ttl),
        }
    }

    /// Tags as given: `(address, tenant)` pairs.
    pub fn fixed<'a>(tagged: impl IntoIterator<Item = (&'a str, &'a str)>, ttl: Duration) -> Self {
        let tags = tagged
            .into_iter()
            .map(|(address, tenant)| (address.to_owned(), tenant.to_owned()))
            .collect();
        Self {
            source: Source::Fixed(Mutex::new(tags)),
            seen: TtlMap::new(ttl),
        }
    }

    /// For `fixed`: `address` now tagged for `tenant` (`None`: untagged).
    pub fn retag(&self, address: &str, tenant: Option<&str>) {
        if let Source::Fixed(tags) = &self.source {
            let mut tags = tags.lock().unwrap_or_else(PoisonError::into_inner);
            match tenant {
                Some(tenant) => tags.insert(address.to_owned(), tenant.to_owned()),
                None => tags.remove(address),
            };
        }
    }

    /// `policy.check`, and for a destination the stack's role reaches in the
    /// stack's own account, that it is tagged for `tenant`. The error names the address field under `block`;
    /// it says the same for untagged, another tenant's and missing resources, so
    /// it tells nothing about what is not the tenant's.
    pub async fn check<S>(
        &self,
        policy: &DestinationPolicy,
        tenant: &TenantId,
        destination: &Destination<S>,
        block: &str,
    ) -> Result<(), FieldError> {
        policy.check(tenant, destination, block)?;
        if self.owned_by(policy, tenant, destination).await {
            return Ok(());
        }
        Err(FieldError::new(
            format!("{block}.{}", destination.address().1),
            format!(
                "is in this service's own account and is not tagged {TENANT_TAG}={tenant} (or does not exist): \
                 tag it for your tenant"
            ),
        ))
    }

    /// Whether `destination` needs no tag (`DestinationPolicy::needs_owner_tag`)
    /// or is tagged for `tenant`.
    pub async fn owned_by<S>(
        &self,
        policy: &DestinationPolicy,
        tenant: &TenantId,
        destination: &Destination<S>,
    ) -> bool {
        if !policy.needs_owner_tag(destination) {
            return true;
        }
        let tagged = self.tenant_of(destination.address().0, destination.region()).await;
        tagged.flatten().is_some_and(|tagged| tagged == tenant.as_str())
    }

    /// The tenant `address` is tagged for (`Some(None)`: untagged); `None` when
    /// its tags could not be read (not remembered: tried again next time).
    async fn tenant_of(&self, address: &str, region: &str) -> Option<Option<String>> {
        if let Some(known) = self.seen.fresh(&address.to_owned()) {
            return Some(known);
        }
        let tagged = match &self.source {
            Source::Fixed(tags) => Ok(tags
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(address)
                .cloned()),
            Source::Aws(sdk) => read_tag(sdk, address, region).await,
        };
        match tagged {
            Ok(tagged) => {
                self.seen.insert(address.to_owned(), tagged.clone());
                Some(tagged)
            }
            Err(error) => {
                tracing::warn!(%address, %error, "tags not read; the destination is refused this time");
                None
            }
        }
    }
}

/// `TENANT_TAG` of a queue URL, topic ARN or bus ARN, read in `region`.
async fn read_tag(sdk: &SdkConfig, address: &str, region: &str) -> Result<Option<String>, String> {
    Ok(resource_tags(sdk, address, region).await?.remove(TENANT_TAG))
}

/// The tags of a queue URL, topic ARN or bus ARN, read in `region` with `sdk`:
/// sqs:ListQueueTags, sns:ListTagsForResource or events:ListTagsForResource.
pub async fn resource_tags(sdk: &SdkConfig, address: &str, region: &str) -> Result<HashMap<String, String>, String> {
    let region = Region::new(region.to_owned());
    if !address.starts_with("arn:") {
        let config = aws_sdk_sqs::config::Builder::from(sdk).region(region).build();
        let answer = aws_sdk_sqs::Client::from_conf(config)
            .list_queue_tags()
            .queue_url(address)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        return Ok(answer.tags().cloned().unwrap_or_default());
    }
    if address.split(':').nth(2) == Some("sns") {
        let config = aws_sdk_sns::config::Builder::from(sdk).region(region).build();
        let answer = aws_sdk_sns::Client::from_conf(config)
            .list_tags_for_resource()
            .resource_arn(address)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        return Ok(answer
            .tags()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect());
    }
    let config = aws_sdk_eventbridge::config::Builder::from(sdk).region(region).build();
    let answer = aws_sdk_eventbridge::Client::from_conf(config)
        .list_tags_for_resource()
        .resource_arn(address)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    Ok(answer
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Environment;
    use crate::subscriptions::QueueTarget;
    use crate::subscriptions::authority::{OWN_ACCOUNT_TENANTS, STACK_ACCOUNT, STACK_DESTINATIONS};

    const STACK: &str = "111111111111";
    const ACME_ORDERS: &str = "https://sqs.eu-west-1.amazonaws.com/111111111111/acme-orders";

    fn policy() -> DestinationPolicy {
        let vars = BTreeMap::from([
            (STACK_ACCOUNT, STACK.to_owned()),
            (
                STACK_DESTINATIONS,
                format!("arn:aws:sqs:eu-west-1:{STACK}:stack-FanoutRetryQueue-X"),
            ),
            (OWN_ACCOUNT_TENANTS, "*".to_owned()),
        ]);
        DestinationPolicy::read(&Environment::of(&vars)).expect("policy")
    }

    fn queue(url: &str) -> Destination<()> {
        Destination::Sqs {
            sqs: QueueTarget {
                queue_url: url.to_owned(),
                region: "eu-west-1".into(),
                role_arn: None,
                access_key: None,
                access_secret: None,
            },
        }
    }

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).expect("tenant")
    }

    #[tokio::test]
    async fn only_the_tenant_a_resource_is_tagged_for_may_name_it() {
        let tags = Ownership::fixed([(ACME_ORDERS, "acme")], Duration::ZERO);
        let (policy, acmes) = (policy(), queue(ACME_ORDERS));
        assert!(
            tags.check(&policy, &tenant("acme"), &acmes, "destination.sqs")
                .await
                .is_ok()
        );
        let refused = tags
            .check(&policy, &tenant("mallory"), &acmes, "destination.sqs")
            .await
            .expect_err("another tenant's queue");
        assert_eq!(refused.field, "destination.sqs.queueUrl");
        assert!(!refused.message.contains("acme"), "{}", refused.message);
        let untagged = queue("https://sqs.eu-west-1.amazonaws.com/111111111111/alarms");
        assert!(tags.check(&policy, &tenant("acme"), &untagged, "d").await.is_err());
    }

    #[tokio::test]
    async fn other_accounts_and_own_keys_need_no_tag_and_the_deny_list_still_holds() {
        let tags = Ownership::fixed([], Duration::ZERO);
        let policy = policy();
        let mut elsewhere = queue("https://sqs.eu-west-1.amazonaws.com/222222222222/orders");
        if let Destination::Sqs { sqs } = &mut elsewhere {
            sqs.role_arn = Some("arn:aws:iam::222222222222:role/deliveries".into());
        }
        assert!(tags.check(&policy, &tenant("acme"), &elsewhere, "d").await.is_ok());
        // A subscriber's own key, in this account: its own authority, no tag asked.
        let mut with_key = queue("https://sqs.eu-west-1.amazonaws.com/111111111111/keyed");
        if let Destination::Sqs { sqs } = &mut with_key {
            (sqs.access_key, sqs.access_secret) = (Some("AKIAEXAMPLEEXAMPLE".into()), Some(()));
        }
        assert!(tags.check(&policy, &tenant("acme"), &with_key, "d").await.is_ok());
        let retry = queue("https://sqs.eu-west-1.amazonaws.com/111111111111/stack-FanoutRetryQueue-X");
        tags.retag(
            "https://sqs.eu-west-1.amazonaws.com/111111111111/stack-FanoutRetryQueue-X",
            Some("acme"),
        );
        assert!(tags.check(&policy, &tenant("acme"), &retry, "d").await.is_err());
    }

    #[tokio::test]
    async fn a_changed_tag_counts_once_what_was_read_expires() {
        let tags = Ownership::fixed([(ACME_ORDERS, "acme")], Duration::from_millis(50));
        let (policy, acme, acmes) = (policy(), tenant("acme"), queue(ACME_ORDERS));
        assert!(tags.check(&policy, &acme, &acmes, "d").await.is_ok());
        tags.retag(ACME_ORDERS, Some("mallory"));
        assert!(tags.check(&policy, &acme, &acmes, "d").await.is_ok(), "remembered");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(tags.check(&policy, &acme, &acmes, "d").await.is_err(), "read again");
    }
}
