//! `GET /api/v1/event-stats?entity_name=ORDER`: the tenant's events of a type
//! per hour, the last 24 hours that had any (the console's sparkline; see
//! fanout/event_counts.rs for how they are counted).

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use super::config::EventStatsConfig;
use crate::error::ApiError;
use crate::events::entity_name;
use crate::fanout::{EventCounts, SubscriptionItems};
use crate::http::{Authentication, Caller, json_response, serve};
use crate::routes;

pub struct EventStatsApi {
    pub auth: Authentication,
    pub counts: EventCounts,
}

impl EventStatsApi {
    pub fn new(sdk: &SdkConfig, config: EventStatsConfig) -> Self {
        let items = SubscriptionItems::new(aws_sdk_dynamodb::Client::new(sdk), config.deliveries_table);
        Self {
            auth: config.auth.connect(sdk),
            counts: EventCounts::new(items),
        }
    }
}

/// 200 `{entityName, hourly: [{hour, events}]}`, newest first.
pub async fn get_event_stats(api: &EventStatsApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_EVENT_STATS,
        req,
        |caller: Caller, req| async move {
            let raw = req
                .query_string_parameters_ref()
                .and_then(|q| q.first("entity_name"))
                .ok_or_else(|| ApiError::invalid_field("entity_name", "is required"))?
                .to_owned();
            let name = entity_name("entity_name", &raw)?;
            let hourly = api.counts.hours(&caller.tenant, &name, 24).await?;
            json_response(StatusCode::OK, &json!({"entityName": name, "hourly": hourly}))
        },
    )
    .await
}
