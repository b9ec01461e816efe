//! A subscription's dead letters (the deliveries the fan-out gave up on):
//! `GET /api/v1/event-subscription/{id}/dead-letters` lists them, and
//! `POST …/redrive` sends them again through the retry queue, with a fresh
//! count of failures. Both answer 404 for another tenant's subscription.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;

use super::config::{DeadLettersConfig, RedriveConfig};
use super::records::{load, path_id};
use crate::error::ApiError;
use crate::fanout::{DEAD_LETTER_KEYS, DeadLetter, DeadLetters, SqsSender, redriven};
use crate::http::{Authentication, Caller, json_response, serve};
use crate::pagination::{self, PageRequest};
use crate::routes;
use crate::storage::DynamoRecords;
use crate::storage::schema::SUBSCRIPTION_RECORDS;
use crate::subscriptions::Subscription;
use crate::util::rfc3339_millis;

const KIND: &str = "subscription";

/// Dead letters sent again per request: well within API Gateway's 30 s, and
/// `more` says when there are others.
const REDRIVE_PER_REQUEST: usize = 100;

pub struct DeadLettersApi {
    pub auth: Authentication,
    pub subscriptions: DynamoRecords<Subscription>,
    pub dead_letters: DeadLetters,
    /// redrive-subscription only: the retry queue, and how it is sent to.
    retry: Option<(SqsSender, String)>,
}

impl DeadLettersApi {
    pub fn new(sdk: &SdkConfig, config: DeadLettersConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            auth: config.auth,
            subscriptions: DynamoRecords::new(dynamodb.clone(), config.subscriptions_table, SUBSCRIPTION_RECORDS),
            dead_letters: DeadLetters::new(dynamodb, config.deliveries_table, config.retention),
            retry: None,
        }
    }

    pub fn redriving(sdk: &SdkConfig, config: RedriveConfig) -> Self {
        Self {
            retry: Some((SqsSender::new(aws_sdk_sqs::Client::new(sdk), 3), config.retry_queue_url)),
            ..Self::new(sdk, config.dead_letters)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    event_id: &'a str,
    failures: u32,
    last_error: &'a str,
    #[serde(with = "rfc3339_millis")]
    at: chrono::DateTime<chrono::Utc>,
}

impl<'a> From<&'a DeadLetter> for Item<'a> {
    fn from(letter: &'a DeadLetter) -> Self {
        Self {
            event_id: &letter.event_id,
            failures: letter.failures,
            last_error: &letter.last_error,
            at: letter.at,
        }
    }
}

#[derive(Serialize)]
struct Page<'a> {
    items: Vec<Item<'a>>,
    next_token: Option<String>,
}

/// `GET …/dead-letters[?limit=&next_token=]`: `{items: [{eventId, failures,
/// lastError, at}], next_token}`, oldest first.
pub async fn list_dead_letters(api: &DeadLettersApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_DEAD_LETTERS,
        req,
        |caller: Caller, req| async move {
            let id = path_id(&req, "id", KIND)?;
            // A token is good for the subscription it was issued for, and names only dead letters.
            let scope = format!("dead-letters/{id}");
            let page = PageRequest::from_query(&req.query_string_parameters(), &scope)?;
            if page.cursor.as_deref().is_some_and(|c| !c.starts_with(DEAD_LETTER_KEYS)) {
                return Err(pagination::invalid_token().into());
            }
            load(&api.subscriptions, KIND, &caller.tenant, &id).await?;
            let (letters, cursor) = api
                .dead_letters
                .page(&caller.tenant, &id, page.limit, page.cursor.as_deref())
                .await?;
            let body = Page {
                items: letters.iter().map(Item::from).collect(),
                next_token: cursor.map(|cursor| pagination::encode_token(&scope, &cursor)),
            };
            json_response(StatusCode::OK, &body)
        },
    )
    .await
}

/// `POST …/redrive`: 202 `{redriven, more}`. Sends up to a hundred dead letters
/// to the retry queue, which delivers each to where the subscription points now,
/// and removes them; `more` is true while others are left (call it again). An
/// inactive subscription is a 409: the retry consumer drops its deliveries.
pub async fn redrive_subscription(api: &DeadLettersApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::REDRIVE_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let Some((sender, retry_queue_url)) = &api.retry else {
                return Err(ApiError::internal("this function was not built to redrive"));
            };
            let id = path_id(&req, "id", KIND)?;
            let subscription = load(&api.subscriptions, KIND, &caller.tenant, &id).await?;
            if !subscription.value.active {
                return Err(ApiError::Conflict(format!(
                    "subscription {id} is inactive; reactivate it (PUT with \"active\": true) first, its dead letters are kept"
                )));
            }
            let (letters, next) = api
                .dead_letters
                .page(&caller.tenant, &id, REDRIVE_PER_REQUEST, None)
                .await?;
            let (mut sendable, mut messages) = (Vec::new(), Vec::new());
            for letter in letters {
                match redriven(&letter) {
                    Ok(message) => {
                        messages.push(message);
                        sendable.push(Some(letter));
                    }
                    Err(err) => tracing::error!(tenant = %caller.tenant, subscription_id = %id,
                        event_id = %letter.event_id, error = %err, "a dead letter cannot be sent again; kept"),
                }
            }
            let unsent = sender.send(retry_queue_url, messages).await;
            for undelivered in &unsent {
                tracing::warn!(reason = %undelivered.reason, "a dead letter was not sent again; kept");
                sendable[undelivered.index] = None;
            }
            let sent: Vec<DeadLetter> = sendable.into_iter().flatten().collect();
            // Removed once sent: a failure in between sends them again next time,
            // which consumers deduplicate by eventId.
            api.dead_letters.remove(&caller.tenant, &id, &sent).await?;
            tracing::info!(tenant = %caller.tenant, subscription_id = %id, redriven = sent.len(), "dead letters redriven");
            json_response(
                StatusCode::ACCEPTED,
                &json!({"redriven": sent.len(), "more": next.is_some() || !unsent.is_empty()}),
            )
        },
    )
    .await
}
