//! What every per-tenant record API (subscriptions, jobs) does alike: read the id
//! from the path, map store errors, check the client's version, list all.

use lambda_http::{Request, RequestExt};

use crate::error::ApiError;
use crate::ids;
use crate::pagination::{self, PageRequest};
use crate::quotas::Quota;
use crate::storage::{self, Counted, RecordError, RecordPage, Records, Versioned};
use crate::tenant::TenantId;

/// A store error where no record is named: its storage failure, or a bug.
impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::Storage(err) => err.into(),
            RecordError::InvalidCursor => pagination::invalid_token().into(),
            other => ApiError::internal(other),
        }
    }
}

/// Maps a store error for record `id` of `kind` ("subscription", "job").
pub fn record_error(kind: &'static str, id: &str) -> impl FnOnce(RecordError) -> ApiError {
    let id = id.to_owned();
    move |err| match err {
        RecordError::AlreadyExists => ApiError::Conflict(format!("a {kind} with id {id:?} already exists")),
        RecordError::NotFound => not_found(kind, &id),
        RecordError::VersionConflict { current } => ApiError::Conflict(format!(
            "the {kind} was changed meanwhile (version {current} is current); read it again and retry"
        )),
        RecordError::InvalidCursor => pagination::invalid_token().into(),
        RecordError::OverQuota { held } => {
            ApiError::Conflict(format!("the tenant holds as many {kind}s as it may ({held})"))
        }
        RecordError::Storage(err) => err.into(),
    }
}

/// How many records of `quota`'s kind the tenant holds; a 409 naming the limit
/// when it may add none. A tenant whose count is not kept yet is counted once:
/// its records that `counts`.
pub async fn room_for_one<T>(
    records: &impl Counted<T>,
    quota: &Quota,
    tenant: &TenantId,
    counts: impl Fn(&T) -> bool,
) -> Result<u64, ApiError> {
    let held = match records.held(tenant).await.map_err(record_error(quota.kind, "*"))? {
        Some(held) => held,
        None => list_all(records, quota.kind, tenant, counts).await?.len() as u64,
    };
    quota.check(held)?;
    Ok(held)
}

/// Creates record `id`, counted: the quota holds even against creates racing
/// this one (`held` is what `room_for_one` found).
pub async fn create_counted<T>(
    records: &impl Counted<T>,
    quota: &Quota,
    tenant: &TenantId,
    id: &str,
    value: T,
    held: u64,
) -> Result<Versioned<T>, ApiError> {
    records
        .create_counted(tenant, id, value, quota.max, held)
        .await
        .map_err(|err| match err {
            RecordError::OverQuota { held } => quota.refusal(held),
            other => record_error(quota.kind, id)(other),
        })
}

pub fn not_found(kind: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("no {kind} with id {id:?}"))
}

/// The id in path parameter `name`; an id that could never exist is unknown.
pub fn path_id(req: &Request, name: &str, kind: &str) -> Result<String, ApiError> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .unwrap_or_default();
    ids::validate_client_id(name, id)
        .map(|()| id.to_owned())
        .map_err(|_| not_found(kind, id))
}

/// An update may name the version it read; any other stored version is a 409.
pub fn check_version(kind: &str, requested: Option<u64>, current: u64) -> Result<(), ApiError> {
    match requested {
        Some(version) if version != current => Err(ApiError::Conflict(format!(
            "version {version} of the {kind} is not current (version {current} is); read it again and retry"
        ))),
        _ => Ok(()),
    }
}

/// Reads a record or answers 404.
pub async fn load<T>(
    records: &impl Records<T>,
    kind: &'static str,
    tenant: &TenantId,
    id: &str,
) -> Result<Versioned<T>, ApiError> {
    records
        .get(tenant, id)
        .await
        .map_err(record_error(kind, id))?
        .ok_or_else(|| not_found(kind, id))
}

/// Every record of the tenant that `keep` accepts, in id order.
pub async fn list_all<T>(
    records: &impl Records<T>,
    kind: &'static str,
    tenant: &TenantId,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<Versioned<T>>, ApiError> {
    storage::list_all(records, tenant, keep)
        .await
        .map_err(record_error(kind, "*"))
}

/// `?name=true|false`, default false.
pub fn flag(req: &Request, name: &str) -> Result<bool, ApiError> {
    match req.query_string_parameters_ref().and_then(|q| q.first(name)) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid_field(name, "must be true or false")),
    }
}

/// The page of the tenant's records of `kind` that `req`'s `limit` and
/// `next_token` ask for, with the `limit` it was read with; the page's cursor
/// is a `next_token` of this listing (`pagination::encode_token(kind, …)`).
pub async fn list_page<T>(
    records: &impl Records<T>,
    kind: &'static str,
    tenant: &TenantId,
    req: &Request,
) -> Result<(RecordPage<T>, usize), ApiError> {
    let page = PageRequest::from_query(&req.query_string_parameters(), kind)?;
    let listed = records
        .list(tenant, page.limit, page.cursor.as_deref())
        .await
        .map_err(record_error(kind, "*"))?;
    Ok((listed, page.limit))
}
