//! `/api/v1/settings/sendgrid`: the tenant's own SendGrid key and sender. The key
//! is write-only: every answer masks it.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::config::SenderSettingsConfig;
use crate::error::ApiError;
use crate::http::{Authentication, Caller, json_body, json_response, serve};
use crate::routes;
use crate::senders::{SecretsManagerSenders, SenderRequest, SenderStore, SenderView};

/// What the settings handlers need; built once per container.
pub struct SenderSettingsApi<S> {
    pub senders: S,
    pub auth: Authentication,
}

pub type SecretsManagerSettingsApi = SenderSettingsApi<SecretsManagerSenders>;

impl SecretsManagerSettingsApi {
    pub fn new(sdk: &SdkConfig, config: SenderSettingsConfig) -> Self {
        Self {
            senders: SecretsManagerSenders::new(aws_sdk_secretsmanager::Client::new(sdk), config.secrets_prefix),
            auth: config.auth.connect(sdk),
        }
    }
}

fn not_set() -> ApiError {
    ApiError::NotFound(format!(
        "no SendGrid key is set for this tenant; {} sets one",
        routes::PUT_SENDGRID_SETTINGS
    ))
}

/// `PUT`: sets or replaces the key and sender; 200 with the key masked.
pub async fn put_sendgrid_settings<S: SenderStore>(api: &SenderSettingsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::PUT_SENDGRID_SETTINGS,
        req,
        |caller: Caller, req| async move {
            let sender = json_body::<SenderRequest>(&req)?.into_sender()?;
            let stored = api.senders.put(&caller.tenant, &sender).await?;
            tracing::info!(tenant = %caller.tenant, "SendGrid key set");
            json_response(StatusCode::OK, &SenderView::from(stored))
        },
    )
    .await
}

/// `GET`: the sender and when it was set, the key masked; 404 when none is set.
pub async fn get_sendgrid_settings<S: SenderStore>(api: &SenderSettingsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::GET_SENDGRID_SETTINGS,
        req,
        |caller: Caller, _req| async move {
            // The sender only: this function may not read the key (template.yaml).
            let stored = api.senders.address(&caller.tenant).await?.ok_or_else(not_set)?;
            json_response(StatusCode::OK, &SenderView::from(stored))
        },
    )
    .await
}

/// `DELETE`: forgets the key at once; 204, also when none was set (idempotent).
pub async fn delete_sendgrid_settings<S: SenderStore>(api: &SenderSettingsApi<S>, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::DELETE_SENDGRID_SETTINGS,
        req,
        |caller: Caller, _req| async move {
            api.senders.delete(&caller.tenant).await?;
            tracing::info!(tenant = %caller.tenant, "SendGrid key deleted");
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::Empty)
                .map_err(ApiError::internal)
        },
    )
    .await
}
