//! `GET /api/v1/jobs/{jobId}/runs`: a job's latest runs, newest first.

use aws_config::SdkConfig;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::config::JobsConfig;
use super::records::{load, path_id};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, json_response, serve};
use crate::jobs::Job;
use crate::notifications::{RunStore, Runs};
use crate::routes;
use crate::storage::schema::JOB_RECORDS;
use crate::storage::{DynamoRecords, Versioned};

/// Runs answered when `limit` is not given, and the most a request may ask for.
const DEFAULT_LIMIT: i32 = 20;
const MAX_LIMIT: i32 = 100;

pub struct JobRunsApi {
    pub jobs: DynamoRecords<Job>,
    pub runs: RunStore,
    pub auth: Authentication,
}

impl JobRunsApi {
    pub fn new(sdk: &SdkConfig, config: JobsConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            jobs: DynamoRecords::new(dynamodb.clone(), &config.jobs_table, JOB_RECORDS),
            runs: RunStore::new(dynamodb, config.jobs_table),
            auth: config.auth.connect(sdk),
        }
    }
}

pub async fn list_job_runs(api: &JobRunsApi, req: Request) -> Response<Body> {
    serve(
        &api.auth,
        &routes::LIST_JOB_RUNS,
        req,
        |caller: Caller, req| async move {
            let id = path_id(&req, "jobId", "job")?;
            let limit = limit(&req)?;
            // The job must be the caller's: runs of an unknown (or another tenant's) job are a 404.
            let _job: Versioned<Job> = load(&api.jobs, "job", &caller.tenant, &id).await?;
            let runs = api.runs.latest(&caller.tenant, &id, limit).await?;
            json_response(StatusCode::OK, &runs)
        },
    )
    .await
}

fn limit(req: &Request) -> Result<i32, ApiError> {
    use lambda_http::RequestExt as _;
    match req.query_string_parameters_ref().and_then(|q| q.first("limit")) {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => {
            raw.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                ApiError::invalid_field("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))
            })
        }
    }
}
