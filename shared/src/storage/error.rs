//! The one error of every store (records, events, projections, runs): what
//! failed, its kind, and the error underneath.

use std::borrow::Cow;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

pub use crate::aws::ErrorKind;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct StorageError {
    kind: ErrorKind,
    /// What was being done, in words (`"PutItem on the jobs table"`).
    what: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl StorageError {
    pub fn new(kind: ErrorKind, what: impl Into<Cow<'static, str>>, source: Option<BoxError>) -> Self {
        Self {
            kind,
            what: what.into(),
            source,
        }
    }

    /// A failure that is not the service's: a bug, data the store cannot hold.
    pub fn other(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Other, what, None)
    }

    /// `what` failed with `source`, an error whose kind is `kind`.
    pub fn caused(
        kind: ErrorKind,
        what: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::new(kind, what, Some(Box::new(source)))
    }

    /// A failed SDK call, with its kind.
    pub fn sdk<E>(what: impl Into<Cow<'static, str>>, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Self::caused(ErrorKind::of(&err), what, err)
    }

    /// A modelled error the service answered (its code tells its kind).
    pub fn service<E>(what: impl Into<Cow<'static, str>>, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Self::caused(ErrorKind::of_code(err.code()), what, err)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the same request, sent again a moment later, may succeed.
    pub fn may_pass(&self) -> bool {
        self.kind.may_pass()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::answered;

    #[test]
    fn a_failed_call_keeps_its_kind_and_its_source() {
        let err = StorageError::sdk("PutItem on the jobs table", answered(400, "ThrottlingException"));
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert!(err.may_pass());
        let source = std::error::Error::source(&err).expect("a source");
        assert!(format!("{:?}", source).contains("ThrottlingException"), "{source:?}");
        assert!(!StorageError::other("undecodable record").may_pass());
    }
}
