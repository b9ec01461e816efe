//! An error with every error under it, for logs: `a: b: c`.

use std::fmt;

pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ErrorKind, StorageError};

    #[test]
    fn every_source_is_shown() {
        let inner = std::io::Error::other("connection reset");
        let err = StorageError::caused(ErrorKind::Unavailable, "GetItem on jobs", inner);
        assert_eq!(ErrorChain(&err).to_string(), "GetItem on jobs: connection reset");
    }
}
