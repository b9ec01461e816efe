//! How record-store outcomes read to an API caller, for any kind of record.

use crate::error::ApiError;
use crate::pagination;
use crate::storage::RecordError;

/// Maps a store error for record `id` of `kind` ("subscription", "job").
pub fn record_error(kind: &'static str, id: &str) -> impl FnOnce(RecordError) -> ApiError {
    let id = id.to_owned();
    move |err| match err {
        RecordError::AlreadyExists => {
            ApiError::Conflict(format!("a {kind} with id {id:?} already exists"))
        }
        RecordError::NotFound => ApiError::NotFound(format!("no {kind} with id {id:?}")),
        RecordError::VersionConflict { current } => ApiError::Conflict(format!(
            "the {kind} was changed meanwhile (version {current} is current); read it again and retry"
        )),
        RecordError::InvalidCursor => pagination::invalid_token().into(),
        RecordError::Backend(detail) => ApiError::Internal(detail),
    }
}
