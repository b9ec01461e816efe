//! What a tenant sees of a subscription's deliveries, one API over the
//! deliveries table: `GET …/{id}/deliveries` (recent attempts, here),
//! `…/dead-letters` and `…/redrive` (dead_letters.rs), `…/replay` and
//! `…/replays/{replayId}` (replays.rs). Every route answers 404 for another
//! tenant's subscription.

use std::future::Future;

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::config::{DeliveriesConfig, RedriveConfig, StartReplayConfig};
use super::records::{load, path_id};
use crate::error::ApiError;
use crate::fanout::{ATTEMPT_KEYS, DeadLetters, History, HourCount, SqsSender, SubscriptionItems};
use crate::http::{Authentication, Caller, json_response, serve};
use crate::pagination::{self, PageRequest};
use crate::replays::{ReplayQueue, Replays, WindowLimits};
use crate::routes;
use crate::storage::schema::SUBSCRIPTION_RECORDS;
use crate::storage::{DynamoRecords, StorageError, Versioned};
use crate::subscriptions::Subscription;
use crate::tenant::TenantId;

const KIND: &str = "subscription";

pub struct DeliveriesApi {
    pub auth: Authentication,
    pub subscriptions: DynamoRecords<Subscription>,
    pub dead_letters: DeadLetters,
    pub history: History,
    pub replays: Replays,
    /// redrive-subscription only: the retry queue.
    pub(super) redrive: Option<Queue>,
    /// replay-subscription only: the replay queue (to start a replay, or resume
    /// a stalled one), what a window may span, and how many replays a tenant
    /// runs at once.
    pub(super) replay: Option<(ReplayQueue, WindowLimits, u32)>,
}

/// A queue and how it is sent to.
pub(super) struct Queue {
    pub sender: SqsSender,
    pub url: String,
}

impl Queue {
    fn new(sdk: &SdkConfig, url: String) -> Self {
        Self {
            sender: SqsSender::new(aws_sdk_sqs::Client::new(sdk), 3),
            url,
        }
    }
}

impl DeliveriesApi {
    pub fn new(sdk: &SdkConfig, config: DeliveriesConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            auth: config.auth.connect(sdk),
            subscriptions: DynamoRecords::new(dynamodb.clone(), config.subscriptions_table, SUBSCRIPTION_RECORDS),
            dead_letters: DeadLetters::new(SubscriptionItems::new(dynamodb.clone(), &config.deliveries_table)),
            history: History::new(SubscriptionItems::new(dynamodb.clone(), &config.deliveries_table)),
            replays: Replays::new(dynamodb, config.deliveries_table),
            redrive: None,
            replay: None,
        }
    }

    pub fn redriving(sdk: &SdkConfig, config: RedriveConfig) -> Self {
        Self {
            redrive: Some(Queue::new(sdk, config.retry_queue_url)),
            ..Self::new(sdk, config.deliveries)
        }
    }

    pub fn starting_replays(sdk: &SdkConfig, config: StartReplayConfig) -> Self {
        let limits = WindowLimits {
            retention: config.retention,
            max_window: config.max_window,
        };
        Self {
            replay: Some((
                ReplayQueue::new(sdk, config.replay_queue_url),
                limits,
                config.replays_per_tenant,
            )),
            ..Self::new(sdk, config.deliveries)
        }
    }

    /// The path's subscription, the caller's; 404 otherwise.
    pub(super) async fn subscription(
        &self,
        tenant: &TenantId,
        req: &Request,
    ) -> Result<Versioned<Subscription>, ApiError> {
        let id = path_id(req, "id", KIND)?;
        load(&self.subscriptions, KIND, tenant, &id).await
    }
}

#[derive(Serialize)]
pub(super) struct Page<T> {
    items: Vec<T>,
    next_token: Option<String>,
    /// `…/deliveries` only: the last 24 hours' counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    hourly: Option<Vec<HourCount>>,
    /// The subscription listed (read once, for whatever the route adds).
    #[serde(skip)]
    subscription_id: String,
}

/// A page of the subscription's items under `keys` (a sort-key prefix), read by
/// `read(tenant, subscription, limit, cursor)`: `{items, next_token}`.
pub(super) async fn subscription_page<T, F, Fut>(
    api: &DeliveriesApi,
    caller: &Caller,
    req: &Request,
    keys: &str,
    read: F,
) -> Result<Page<T>, ApiError>
where
    T: Serialize,
    F: FnOnce(TenantId, String, usize, Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), StorageError>>,
{
    let subscription = api.subscription(&caller.tenant, req).await?;
    // A token is good for the listing it was issued for, and names only its keys.
    let scope = format!("{keys}{}", subscription.value.id);
    let page = PageRequest::from_query(&req.query_string_parameters(), &scope)?;
    if page.cursor.as_deref().is_some_and(|c| !c.starts_with(keys)) {
        return Err(pagination::invalid_token().into());
    }
    let id = subscription.value.id;
    let (items, cursor) = read(caller.tenant.clone(), id.clone(), page.limit, page.cursor).await?;
    Ok(Page {
        items,
        next_token: cursor.map(|cursor| pagination::encode_token(&scope, &cursor)),
        hourly: None,
        subscription_id: id,
    })
}

/// `GET …/deliveries[?limit=&next_token=]`: `{items: [{eventId, attempt,
/// outcome, error, at, latencyMs}], next_token, hourly: [{hour, delivered,
/// failed}]}`, newest first (every failure, and sampled successes; exact
/// counts per hour for the last 24; see fanout/history.rs).
pub async fn list_deliveries(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_DELIVERIES,
        req,
        |caller: Caller, req| async move {
            let mut page =
                subscription_page(
                    api,
                    &caller,
                    &req,
                    ATTEMPT_KEYS,
                    |tenant, id, limit, cursor| async move {
                        api.history.page(&tenant, &id, limit, cursor.as_deref()).await
                    },
                )
                .await?;
            page.hourly = Some(api.history.hours(&caller.tenant, &page.subscription_id, 24).await?);
            json_response(StatusCode::OK, &page)
        },
    )
    .await
}
