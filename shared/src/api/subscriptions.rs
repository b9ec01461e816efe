//! `/api/v1/event-subscription`: create, update, list, read, deactivate.

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use super::config::SubscriptionsConfig;
use super::records::{check_version, create_counted, flag, list_all, load, path_id, record_error, room_for_one};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, Scope, json_body, json_response, serve};
use crate::quotas::Quota;
use crate::secrets::{KmsSealer, SealedSecret, SecretSealer};
use crate::storage::schema::SUBSCRIPTION_RECORDS;
use crate::storage::{Counted, DynamoRecords, Records, Versioned};
use crate::subscriptions::{
    DestinationPolicy, DestinationRules, Ownership, SecretInput, Subscription, SubscriptionDraft, SubscriptionRequest,
};
use crate::tenant::TenantId;
use crate::{ids, routes};

const KIND: &str = "subscription";

/// What the subscription handlers need; built once per container.
pub struct SubscriptionsApi<R, K> {
    pub records: R,
    pub sealer: K,
    pub auth: Authentication,
    pub rules: DestinationRules,
    /// Which destinations a tenant may name.
    pub policy: DestinationPolicy,
    /// Whose the stack account's queues, topics and buses are (their tags).
    pub ownership: Ownership,
    pub quota: Quota,
}

pub type DynamoSubscriptionsApi = SubscriptionsApi<DynamoRecords<Subscription>, KmsSealer>;

impl DynamoSubscriptionsApi {
    pub fn new(sdk: &SdkConfig, config: SubscriptionsConfig) -> Self {
        Self {
            records: DynamoRecords::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.subscriptions_table,
                SUBSCRIPTION_RECORDS,
            ),
            sealer: KmsSealer::new(aws_sdk_kms::Client::new(sdk), config.secrets_key_id),
            auth: config.auth.connect(sdk),
            rules: DestinationRules::for_endpoint(sdk.endpoint_url()),
            policy: config.policy,
            // Read fresh each time: a subscription is created far less often
            // than delivered to.
            ownership: Ownership::aws(sdk, std::time::Duration::ZERO),
            quota: config.quota,
        }
    }
}

/// The subscription as responses show it: with its version, the secret masked.
fn respond(status: StatusCode, stored: &Versioned<Subscription>) -> Result<Response<Body>, ApiError> {
    json_response(
        status,
        &Versioned {
            version: stored.version,
            value: stored.value.masked(),
        },
    )
}

impl<R: Records<Subscription>, K: SecretSealer> SubscriptionsApi<R, K> {
    /// Turns a draft into the subscription to store: seals a new secret, or keeps
    /// the stored one for the same access key; `active` left out keeps its value.
    async fn resolve(
        &self,
        tenant: &TenantId,
        id: &str,
        draft: SubscriptionDraft,
        now: DateTime<Utc>,
        previous: Option<&Subscription>,
    ) -> Result<Subscription, ApiError> {
        // In this service's own account, only what is tagged for the tenant.
        let block = format!("destination.{}", draft.destination.block());
        self.ownership
            .check(&self.policy, tenant, &draft.destination, &block)
            .await?;
        let secret: Option<SealedSecret> = match draft.destination.credentials() {
            None => None,
            Some((_, SecretInput::Plain(plaintext))) => Some(
                self.sealer
                    .seal(tenant, id, plaintext)
                    .await
                    .map_err(ApiError::internal)?,
            ),
            Some((key, SecretInput::Keep)) => match previous.and_then(|p| p.destination.credentials()) {
                Some((stored_key, sealed)) if stored_key == key => Some(sealed.clone()),
                _ => {
                    return Err(ApiError::invalid_field(
                        format!("destination.{}.accessSecret", draft.destination.block()),
                        "is required: no secret is stored for this accessKey",
                    ));
                }
            },
        };
        Ok(Subscription {
            id: id.to_owned(),
            active: draft.active.unwrap_or(previous.is_none_or(|p| p.active)),
            entity_type: draft.entity_type,
            subscribe_create: draft.subscribe_create,
            subscribe_change: draft.subscribe_change,
            subscribe_delete: draft.subscribe_delete,
            include_psi: draft.include_psi,
            destination: draft.destination.with_secret(secret),
            filter: draft.filter,
            rate_limit: draft.rate_limit,
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now,
            // An update starts the delivery health afresh, but not an open
            // circuit's: its kept deliveries are sent again only when a delivery
            // gets through and closes it (fanout/catch_up.rs).
            delivery: previous
                .filter(|p| p.delivery.circuit_open_until.is_some())
                .map(|p| p.delivery.clone())
                .unwrap_or_default(),
        })
    }

    /// The request's subscription, if valid, one the caller's tenant may deliver
    /// to, and (with PII) one its token may send PII to.
    fn draft(&self, caller: &Caller, req: &Request) -> Result<SubscriptionDraft, ApiError> {
        let draft = json_body::<SubscriptionRequest>(req)?.into_draft(&self.rules)?;
        let block = format!("destination.{}", draft.destination.block());
        self.policy.check(&caller.tenant, &draft.destination, &block)?;
        if draft.include_psi {
            caller.may(Scope::Admin)?;
            // Its subscribers read what the token itself could only read masked.
            caller.may_for(
                Scope::PersonalData,
                "includePsi: true (the subscriber receives isPsiData fields in the clear)",
            )?;
        }
        Ok(draft)
    }

    /// Replaces the subscription `id` (from the path, or else the body).
    async fn update(&self, caller: Caller, path_id: Option<String>, req: Request) -> Result<Response<Body>, ApiError> {
        let draft = self.draft(&caller, &req)?;
        let id = match (path_id, draft.id.as_deref()) {
            (Some(path), Some(body)) if path != body => {
                return Err(ApiError::invalid_field(
                    "id",
                    "differs from the id in the path; ids never change",
                ));
            }
            (Some(path), _) => path,
            (None, Some(body)) => body.to_owned(),
            (None, None) => {
                return Err(ApiError::invalid_field("id", "is required (in the body or the path)"));
            }
        };
        let current = load(&self.records, KIND, &caller.tenant, &id).await?;
        check_version(KIND, draft.version, current.version)?;
        let subscription = self
            .resolve(&caller.tenant, &id, draft, Utc::now(), Some(&current.value))
            .await?;
        let stored = self
            .records
            .replace(&caller.tenant, &id, subscription, current.version)
            .await
            .map_err(record_error(KIND, &id))?;
        respond(StatusCode::OK, &stored)
    }
}

/// `POST /api/v1/event-subscription`: 201; 409 if the id exists.
pub async fn create_subscription<R: Counted<Subscription>, K: SecretSealer>(
    api: &SubscriptionsApi<R, K>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::CREATE_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let draft = api.draft(&caller, &req)?;
            // Every subscription counts, active or not. Checked before sealing secrets.
            let held = room_for_one(&api.records, &api.quota, &caller.tenant, |_| true).await?;
            let id = draft.id.clone().unwrap_or_else(|| ids::generate("sub"));
            let subscription = api.resolve(&caller.tenant, &id, draft, Utc::now(), None).await?;
            let stored = create_counted(&api.records, &api.quota, &caller.tenant, &id, subscription, held).await?;
            respond(StatusCode::CREATED, &stored)
        },
    )
    .await
}

/// `PUT /api/v1/event-subscription` (id in the body, as the seed) and
/// `PUT /api/v1/event-subscription/{id}`: full replacement, 200.
pub async fn update_subscription<R: Records<Subscription>, K: SecretSealer>(
    api: &SubscriptionsApi<R, K>,
    req: Request,
) -> Response<Body> {
    let by_path = req.path_parameters_ref().and_then(|p| p.first("id")).is_some();
    let route = if by_path {
        &routes::UPDATE_SUBSCRIPTION_BY_ID
    } else {
        &routes::UPDATE_SUBSCRIPTION
    };
    serve(&api.auth, route, req, |caller: Caller, req| async move {
        let id = if by_path {
            Some(path_id(&req, "id", KIND)?)
        } else {
            None
        };
        api.update(caller, id, req).await
    })
    .await
}

/// `GET /api/v1/event-subscription[?include_inactive=true]`: a JSON array.
pub async fn list_subscriptions<R: Records<Subscription>, K: SecretSealer>(
    api: &SubscriptionsApi<R, K>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_SUBSCRIPTIONS,
        req,
        |caller: Caller, req| async move {
            let include_inactive = flag(&req, "include_inactive")?;
            let found: Vec<_> = list_all(&api.records, KIND, &caller.tenant, |s| include_inactive || s.active)
                .await?
                .into_iter()
                .map(|s| Versioned {
                    version: s.version,
                    value: s.value.masked(),
                })
                .collect();
            json_response(StatusCode::OK, &found)
        },
    )
    .await
}

/// `GET /api/v1/event-subscription/{id}`.
pub async fn get_subscription<R: Records<Subscription>, K: SecretSealer>(
    api: &SubscriptionsApi<R, K>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let stored = load(&api.records, KIND, &caller.tenant, &path_id(&req, "id", KIND)?).await?;
            respond(StatusCode::OK, &stored)
        },
    )
    .await
}

/// `PUT /api/v1/event-subscription/{id}/deactivate`: active=false, 200 with the
/// subscription. Deactivating an inactive subscription changes nothing.
pub async fn deactivate_subscription<R: Records<Subscription>, K: SecretSealer>(
    api: &SubscriptionsApi<R, K>,
    req: Request,
) -> Response<Body> {
    serve(
        &api.auth,
        &routes::DEACTIVATE_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let id = path_id(&req, "id", KIND)?;
            let current = load(&api.records, KIND, &caller.tenant, &id).await?;
            if !current.value.active {
                return respond(StatusCode::OK, &current);
            }
            let deactivated = Subscription {
                active: false,
                updated_at: Utc::now(),
                ..current.value
            };
            let stored = api
                .records
                .replace(&caller.tenant, &id, deactivated, current.version)
                .await
                .map_err(record_error(KIND, &id))?;
            respond(StatusCode::OK, &stored)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use lambda_http::http;
    use serde_json::{Value, json};

    use super::*;
    use crate::secrets::FakeSealer;
    use crate::storage::InMemoryRecords;
    use crate::tenant::TenantList;

    fn api() -> SubscriptionsApi<InMemoryRecords<Subscription>, FakeSealer> {
        SubscriptionsApi {
            records: InMemoryRecords::default(),
            sealer: FakeSealer,
            auth: Authentication::DisabledForLocalRun,
            rules: DestinationRules::default(),
            policy: DestinationPolicy {
                stack_account: "123456789012".into(),
                own_account_tenants: TenantList::all(),
                ..DestinationPolicy::default()
            },
            ownership: Ownership::fixed([], std::time::Duration::ZERO),
            quota: Quota {
                max: 100,
                parameter: "MaxSubscriptionsPerTenant",
                kind: "subscription",
            },
        }
    }

    fn request(method: &str, body: Value) -> Request {
        http::Request::builder()
            .method(method)
            .uri("/api/v1/event-subscription")
            .header("x-twc-tenant", "acme")
            .body(Body::Text(body.to_string()))
            .expect("request")
    }

    fn body(secret: Option<&str>) -> Value {
        let mut sns = json!({"topicArn": "arn:aws:sns:eu-west-1:123456789012:orders", "region": "eu-west-1",
                             "accessKey": "AKIAIOSFODNN7EXAMPLE"});
        if let Some(secret) = secret {
            sns["accessSecret"] = json!(secret);
        }
        json!({"id": "sub-1", "entityType": "ORDER", "subscribeDelete": true, "destination": {"type": "SNS", "sns": sns}})
    }

    #[tokio::test]
    async fn secrets_are_sealed_masked_and_kept_across_updates() {
        // GIVEN a subscription created with a secret
        let api = api();
        let created = create_subscription(&api, request("POST", body(Some("s3cret")))).await;
        assert_eq!(created.status(), 201);
        assert!(!String::from_utf8_lossy(created.body().as_ref()).contains("s3cret"));
        // WHEN it is updated without the secret
        let updated = update_subscription(&api, request("PUT", body(None))).await;
        assert_eq!(updated.status(), 200);
        // THEN the stored secret is still the one sealed for it
        let tenant = TenantId::parse("acme").expect("tenant");
        let stored = api.records.get(&tenant, "sub-1").await.expect("get").expect("stored");
        let (_, sealed) = stored.value.destination.credentials().expect("credentials");
        assert_eq!(
            api.sealer.open(&tenant, "sub-1", sealed).await.expect("opens"),
            "s3cret"
        );
        assert_eq!(stored.version, 2);
    }
}
