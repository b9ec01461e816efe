//! The error codes of seed 001's API, sent as the problem's `code` member so
//! clients migrating from that API keep their error handling.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// A required field is missing, null or of the wrong type.
    InvalidFieldValue = 1802,
    /// An event definition with this name exists.
    NameExists = 1806,
    /// `actions` is missing or names an unknown consumer.
    InvalidActions = 1810,
    /// `eventName` is missing or not a valid name.
    InvalidName = 1811,
    /// A field's `type` is missing or unknown.
    InvalidFieldType = 1823,
}

impl ErrorCode {
    pub fn value(self) -> u16 {
        self as u16
    }
}
