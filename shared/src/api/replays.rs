//! `POST /api/v1/event-subscription/{id}/replay` starts a replay of the
//! subscription's events of a window (202, with its id);
//! `GET …/replays/{replayId}` shows its progress. 404 for another tenant's
//! subscription; 409 while another replay of it runs, or when it is inactive.

use chrono::{SubsecRound, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::deliveries::DeliveriesApi;
use super::records::path_id;
use crate::error::ApiError;
use crate::http::{Caller, json_body, json_response, serve};
use crate::ids;
use crate::replays::{Replay, ReplayRequest, ReplayStatus, ReplayTask, ReplayWorker};
use crate::routes;

/// `POST …/replay` with `{from, to, entityName?, operation?}`: 202 the replay.
pub async fn replay_subscription(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::REPLAY_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let Some((queue, limits)) = &api.replay else {
                return Err(ApiError::internal("this function was not built to start replays"));
            };
            let request: ReplayRequest = json_body(&req)?;
            let subscription = api.subscription(&caller.tenant, &req).await?.value;
            let id = subscription.id.clone();
            let now = Utc::now().trunc_subsecs(3);
            let window = request.check(now, *limits, &subscription.entity_type)?;
            if !subscription.active {
                return Err(ApiError::Conflict(format!(
                    "subscription {id} is inactive; reactivate it (PUT with \"active\": true) to replay to it"
                )));
            }
            let replay = Replay {
                replay_id: ids::generate("rpl"),
                subscription_id: id.clone(),
                status: ReplayStatus::Running,
                from: window.from,
                to: window.to,
                entity_name: window.entity_name,
                operation: window.operation,
                matched: 0,
                sent: 0,
                failed: 0,
                started_at: now,
                finished_at: None,
                reason: None,
                step: 0,
            };
            if !api.replays.start(&caller.tenant, &replay).await? {
                return Err(ApiError::Conflict(format!(
                    "a replay of subscription {id} is running; wait for it to end (GET its progress)"
                )));
            }
            let first = ReplayTask {
                tenant: caller.tenant.clone(),
                subscription_id: id,
                replay_id: replay.replay_id.clone(),
                step: 0,
                shard: 0,
                cursor: None,
            };
            if let Err(err) = ReplayWorker::queue(&queue.sender, &queue.url, &first).await {
                let why = "the replay could not be queued";
                api.replays
                    .finish(&caller.tenant, &replay, ReplayStatus::Stopped, Some(why), Utc::now())
                    .await?;
                return Err(ApiError::Unavailable(Box::new(err)));
            }
            tracing::info!(tenant = %caller.tenant, replay_id = %replay.replay_id, "replay started");
            json_response(StatusCode::ACCEPTED, &view(&replay))
        },
    )
    .await
}

/// `GET …/replays/{replayId}`: 200 the replay and its progress.
pub async fn get_replay(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::GET_REPLAY, req, |caller: Caller, req| async move {
        let replay_id = path_id(&req, "replayId", "replay")?;
        let id = api.subscription(&caller.tenant, &req).await?.value.id;
        let replay = api
            .replays
            .get(&caller.tenant, &id, &replay_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no replay with id {replay_id:?}")))?;
        json_response(StatusCode::OK, &view(&replay))
    })
    .await
}

/// The replay as answered: its progress, without the worker's step.
fn view(replay: &Replay) -> serde_json::Value {
    let mut value = serde_json::to_value(replay).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("step");
    }
    value
}
