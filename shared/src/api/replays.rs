//! `POST /api/v1/event-subscription/{id}/replay` starts a replay of the
//! subscription's events of a window (202, with its id);
//! `GET …/replays/{replayId}` shows its progress. 404 for another tenant's
//! subscription; 409 while another replay of it runs, or when it is inactive.
//! A stalled replay (stall.rs) is answered `stalled: true`; the refused second
//! replay resumes it (GETs write nothing).

use chrono::{DateTime, SubsecRound, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::deliveries::DeliveriesApi;
use super::records::path_id;
use crate::error::ApiError;
use crate::http::{Caller, json_body, json_response, serve};
use crate::ids;
use crate::replays::{Replay, ReplayError, ReplayQueue, ReplayRequest, ReplayStatus, Started, resume_if_stalled};
use crate::routes;
use crate::tenant::TenantId;

/// `POST …/replay` with `{from, to, entityName?, operation?}`: 202 the replay.
pub async fn replay_subscription(api: &DeliveriesApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::REPLAY_SUBSCRIPTION,
        req,
        |caller: Caller, req| async move {
            let Some((queue, limits, per_tenant)) = &api.replay else {
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
                to_clamped: window.to_clamped,
                advanced_at: Some(now),
                resumed_at: None,
                step: 0,
                shard: 0,
                cursor: None,
                advanced_by: None,
                slot: None,
            };
            let mut replay = replay;
            let mut started = api.replays.start(&caller.tenant, &mut replay, *per_tenant).await?;
            if started == Started::TenantAtCap && look_after_slots(api, queue, &caller.tenant).await? {
                started = api.replays.start(&caller.tenant, &mut replay, *per_tenant).await?;
            }
            match started {
                Started::Running => {}
                Started::SubscriptionBusy => return Err(running_conflict(api, queue, &caller.tenant, &id).await?),
                Started::TenantAtCap => {
                    return Err(ApiError::TooManyRequests {
                        detail: format!(
                            "this tenant runs {per_tenant} replays at once already (MaxConcurrentReplaysPerTenant); \
                             start this one when one of them ends"
                        ),
                        retry_after_seconds: 60,
                    });
                }
            }
            if let Err(err) = queue.send(&replay.task(&caller.tenant)).await {
                let why = "the replay could not be queued";
                api.replays
                    .finish(&caller.tenant, &replay, ReplayStatus::Stopped, Some(why), Utc::now())
                    .await?;
                return Err(ApiError::Unavailable(Box::new(err)));
            }
            tracing::info!(tenant = %caller.tenant, replay_id = %replay.replay_id, "replay started");
            json_response(StatusCode::ACCEPTED, &view(&replay, now))
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
        json_response(StatusCode::OK, &view(&replay, Utc::now()))
    })
    .await
}

/// For a tenant at its cap: frees the slots of replays that ended without
/// giving theirs back, and resumes stalled ones (so they end, and free theirs).
/// Whether a slot was freed.
async fn look_after_slots(api: &DeliveriesApi, queue: &ReplayQueue, tenant: &TenantId) -> Result<bool, ApiError> {
    let mut freed = false;
    for (subscription_id, replay_id) in api.replays.slot_holders(tenant).await? {
        let Some(holder) = api.replays.get(tenant, &subscription_id, &replay_id).await? else {
            continue;
        };
        if api.replays.free_ended(tenant, &holder).await {
            freed = true;
        } else {
            resume_if_stalled(&api.replays, queue, tenant, &holder, Utc::now()).await?;
        }
    }
    Ok(freed)
}

/// The 409 for a second replay of subscription `id`: it names the running
/// one, and resumes it if it stalled.
async fn running_conflict(
    api: &DeliveriesApi,
    queue: &ReplayQueue,
    tenant: &TenantId,
    id: &str,
) -> Result<ApiError, ApiError> {
    let running = match api.replays.running(tenant, id).await? {
        Some(replay_id) => api.replays.get(tenant, id, &replay_id).await?,
        None => None,
    };
    let Some(running) = running else {
        // It ended in between: the caller may ask again.
        return Ok(ApiError::Conflict(format!(
            "a replay of subscription {id} was running; ask again"
        )));
    };
    // It ended without letting go of the subscription (its release was lost).
    if api.replays.free_ended(tenant, &running).await {
        return Ok(ApiError::Conflict(format!(
            "replay {} of subscription {id} had ended; ask again",
            running.replay_id
        )));
    }
    let replay_id = &running.replay_id;
    let resumed = resume_if_stalled(&api.replays, queue, tenant, &running, Utc::now()).await?;
    Ok(ApiError::Conflict(match resumed {
        Some(_) => format!(
            "replay {replay_id} of subscription {id} had stalled and was resumed; wait for it to end (GET its progress)"
        ),
        None => format!("replay {replay_id} of subscription {id} is running; wait for it to end (GET its progress)"),
    }))
}

impl From<ReplayError> for ApiError {
    fn from(err: ReplayError) -> Self {
        match err {
            ReplayError::Storage(err) => err.into(),
            other => Self::Unavailable(Box::new(other)),
        }
    }
}

/// The replay as answered at `now`: its progress and whether it stalled,
/// without the worker's position.
fn view(replay: &Replay, now: DateTime<Utc>) -> serde_json::Value {
    let mut value = serde_json::to_value(replay).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        for internal in ["step", "shard", "cursor", "advancedBy", "slot"] {
            fields.remove(internal);
        }
        fields.insert("stalled".into(), replay.stalled(now).into());
    }
    value
}
