//! `2026-11-26T06:30:05.123Z`: always three fraction digits, so the text sorts in
//! time order (the by-entity index relies on that).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

pub fn format(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `at` as stored: to the millisecond.
pub fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// The first millisecond at or after `at`: a start time that, stored, still
/// comes after everything written before it.
pub fn ceil(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = stored(at);
    if floor == at {
        at
    } else {
        floor + chrono::Duration::milliseconds(1)
    }
}

pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}

/// The same format for an optional time (`null` when absent).
pub mod option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_stored_to_the_millisecond_and_a_start_rounds_up() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T04:02:36.038755Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(format(&stored(at)), "2026-11-30T04:02:36.038Z");
        assert_eq!(format(&ceil(at)), "2026-11-30T04:02:36.039Z");
        assert_eq!(ceil(stored(at)), stored(at));
    }
}
