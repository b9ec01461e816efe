//! `/api/v1/jobs`: create, list, read, update, soft-delete notification jobs.

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::config::JobsConfig;
use super::records::{check_version, create_counted, flag, list_all, load, path_id, record_error, room_for_one};
use crate::error::ApiError;
use crate::http::{Authentication, Caller, json_body, json_response, serve};
use crate::jobs::{Job, JobDraft, JobRequest, ScheduleStatus};
use crate::quotas::{Quota, ScheduleFloor};
use crate::storage::schema::JOB_RECORDS;
use crate::storage::{Counted, DynamoRecords, Records, Versioned};
use crate::{ids, routes};

const KIND: &str = "job";

/// What the job handlers need; built once per container.
pub struct JobsApi<R> {
    pub records: R,
    pub auth: Authentication,
    pub quota: Quota,
    pub floor: ScheduleFloor,
}

pub type DynamoJobsApi = JobsApi<DynamoRecords<Job>>;

impl DynamoJobsApi {
    pub fn new(sdk: &SdkConfig, config: JobsConfig) -> Self {
        Self {
            records: DynamoRecords::new(aws_sdk_dynamodb::Client::new(sdk), config.jobs_table, JOB_RECORDS),
            auth: config.auth.connect(sdk),
            quota: config.quota,
            floor: config.floor,
        }
    }
}

impl<R> JobsApi<R> {
    /// A 400 when the draft's schedule runs more often than the floor allows.
    fn check_schedule(&self, draft: &JobDraft, now: DateTime<Utc>) -> Result<(), ApiError> {
        let Some(expression) = &draft.expression else {
            return Ok(());
        };
        let timezone = draft.timezone.as_ref().map_or(TimeZone::UTC, |(zone, _)| zone.clone());
        Ok(self.floor.check("scheduleExpression", expression, &timezone, now)?)
    }
}

/// The job to store for `draft`, keeping what the server owns from `previous`.
fn build(id: String, draft: JobDraft, now: DateTime<Utc>, previous: Option<&Job>) -> Job {
    let is_active = draft.is_active.unwrap_or(previous.is_none_or(|p| p.is_active));
    let next_run_at = draft.next_run_after(now, is_active);
    let expression = draft.expression.as_ref().map(ToString::to_string);
    Job {
        id,
        notification: draft.notification,
        template_id: draft.template_id,
        number_of_items_in_email: draft.number_of_items_in_email,
        job_parameters: draft.job_parameters,
        schedule: expression.clone(),
        schedule_expression: expression,
        schedule_timezone: draft.timezone.map(|(_, name)| name),
        is_active,
        is_scheduled: draft.is_scheduled,
        deleted: false,
        schedule_status: ScheduleStatus::Pending,
        schedule_error: None,
        next_run_at,
        last_run_at: previous.and_then(|p| p.last_run_at),
        retry_shoppers: previous.map(|p| p.retry_shoppers.clone()).unwrap_or_default(),
        retry_overflow: previous.and_then(|p| p.retry_overflow.clone()),
        created_at: previous.map_or(now, |p| p.created_at),
        updated_at: now,
    }
}

fn refuse_deleted_flag(draft: &JobDraft) -> Result<(), ApiError> {
    match draft.deleted {
        Some(true) => Err(ApiError::invalid_field(
            "deleted",
            "cannot be set here; DELETE /api/v1/jobs/{jobId} deletes a job",
        )),
        _ => Ok(()),
    }
}

/// `POST /api/v1/jobs`: 201; 409 if the id exists.
pub async fn create_job<R: Counted<Job>>(api: &JobsApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::CREATE_JOB, req, |caller: Caller, req| async move {
        let now = Utc::now();
        let draft = json_body::<JobRequest>(&req)?.into_draft(now)?;
        refuse_deleted_flag(&draft)?;
        api.check_schedule(&draft, now)?;
        // Deleted jobs free their place.
        let held = room_for_one(&api.records, &api.quota, &caller.tenant, |job| !job.deleted).await?;
        let id = draft.id.clone().unwrap_or_else(|| ids::generate("job"));
        let job = build(id.clone(), draft, now, None);
        let stored = create_counted(&api.records, &api.quota, &caller.tenant, &id, job, held).await?;
        json_response(StatusCode::CREATED, &stored)
    })
    .await
}

/// `GET /api/v1/jobs[?include_deleted=true]`: a JSON array in id order.
pub async fn list_jobs<R: Records<Job>>(api: &JobsApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::LIST_JOBS, req, |caller: Caller, req| async move {
        let include_deleted = flag(&req, "include_deleted")?;
        let jobs = list_all(&api.records, KIND, &caller.tenant, |job| {
            include_deleted || !job.deleted
        })
        .await?;
        json_response(StatusCode::OK, &jobs)
    })
    .await
}

/// `GET /api/v1/jobs/{jobId}`: deleted jobs are still readable (`deleted: true`).
pub async fn get_job<R: Records<Job>>(api: &JobsApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::GET_JOB, req, |caller: Caller, req| async move {
        let id = path_id(&req, "jobId", KIND)?;
        json_response(StatusCode::OK, &load(&api.records, KIND, &caller.tenant, &id).await?)
    })
    .await
}

/// `PUT /api/v1/jobs/{jobId}`: full replacement; the id never changes.
pub async fn update_job<R: Records<Job>>(api: &JobsApi<R>, req: Request) -> Response<Body> {
    serve(&api.auth, &routes::UPDATE_JOB, req, |caller: Caller, req| async move {
        let id = path_id(&req, "jobId", KIND)?;
        let now = Utc::now();
        let draft = json_body::<JobRequest>(&req)?.into_draft(now)?;
        api.check_schedule(&draft, now)?;
        if draft.id.as_ref().is_some_and(|body_id| *body_id != id) {
            return Err(ApiError::invalid_field(
                "id",
                "differs from the job id in the path; a job's id never changes",
            ));
        }
        refuse_deleted_flag(&draft)?;
        let current = load(&api.records, KIND, &caller.tenant, &id).await?;
        if current.value.deleted {
            return Err(ApiError::Conflict(format!("job {id:?} is deleted")));
        }
        check_version(KIND, draft.version, current.version)?;
        let job = build(id.clone(), draft, now, Some(&current.value));
        let stored = api
            .records
            .replace(&caller.tenant, &id, job, current.version)
            .await
            .map_err(record_error(KIND, &id))?;
        json_response(StatusCode::OK, &stored)
    })
    .await
}

/// `DELETE /api/v1/jobs/{jobId}`: soft delete (`deleted: true`, its schedule goes), 204.
pub async fn delete_job<R: Counted<Job>>(api: &JobsApi<R>, req: Request) -> Response<Body> {
    let route = if req.method() == lambda_http::http::Method::POST {
        &routes::DELETE_JOB_BY_POST
    } else {
        &routes::DELETE_JOB
    };
    serve(&api.auth, route, req, |caller: Caller, req| async move {
        let id = path_id(&req, "jobId", KIND)?;
        let current: Versioned<Job> = load(&api.records, KIND, &caller.tenant, &id).await?;
        if !current.value.deleted {
            let deleted = Job {
                deleted: true,
                schedule_status: ScheduleStatus::Pending,
                next_run_at: None,
                updated_at: Utc::now(),
                ..current.value
            };
            api.records
                .replace_uncounted(&caller.tenant, &id, deleted, current.version)
                .await
                .map_err(record_error(KIND, &id))?;
        }
        Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::Empty)
            .map_err(ApiError::internal)
    })
    .await
}

#[cfg(test)]
mod tests {
    use lambda_http::RequestExt;
    use lambda_http::http;
    use serde_json::{Value, json};

    use super::*;
    use crate::storage::InMemoryRecords;

    fn request(method: &str, id: Option<&str>, body: Option<Value>) -> Request {
        let request = http::Request::builder()
            .method(method)
            .uri("/api/v1/jobs")
            .header("x-twc-tenant", "acme")
            .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
            .expect("request");
        match id {
            Some(id) => {
                request.with_path_parameters(std::collections::HashMap::from([("jobId".to_owned(), id.to_owned())]))
            }
            None => request,
        }
    }

    fn job() -> Value {
        json!({"id": "job-1", "notification": "WISHLIST_REMINDER", "template_id": "d-1", "schedule": "rate(1 day)"})
    }

    fn json_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    #[tokio::test]
    async fn update_keeps_server_fields_and_delete_is_soft() {
        // GIVEN a job
        let api = JobsApi {
            records: InMemoryRecords::default(),
            auth: Authentication::DisabledForLocalRun,
            quota: Quota {
                max: 100,
                parameter: "MaxJobsPerTenant",
                kind: "job",
            },
            floor: ScheduleFloor { minutes: 15 },
        };
        let created = json_of(&create_job(&api, request("POST", None, Some(job()))).await);
        // WHEN it is updated, then deleted twice
        let mut change = job();
        change["number_of_items_in_email"] = json!(10);
        let updated = json_of(&update_job(&api, request("PUT", Some("job-1"), Some(change))).await);
        let first = delete_job(&api, request("DELETE", Some("job-1"), None)).await;
        let second = delete_job(&api, request("DELETE", Some("job-1"), None)).await;
        // THEN the update kept its creation time and the job stays readable as deleted
        assert_eq!(
            (
                updated["created_at"].clone(),
                updated["number_of_items_in_email"].as_i64()
            ),
            (created["created_at"].clone(), Some(10))
        );
        assert_eq!(
            (first.status(), second.status()),
            (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT)
        );
        let read = json_of(&get_job(&api, request("GET", Some("job-1"), None)).await);
        assert_eq!(
            (read["deleted"].as_bool(), read["version"].as_u64()),
            (Some(true), Some(3))
        );
    }
}
