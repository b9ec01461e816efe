//! W3C trace context (<https://www.w3.org/TR/trace-context/>): the
//! `traceparent` a request to store an event came with, or a new one when it
//! came with none or one that does not parse (the recommendation's rule: start
//! a new trace, never refuse the request). It is stored with the event, answered
//! in the POST's headers, and carried to every delivery: in the envelope, as an
//! SQS/SNS message attribute, and as EventBridge's `TraceHeader` (X-Ray's form).
//! The service records no spans of its own, so it passes the parent on as is.

use std::fmt;

/// The header (and the message attribute, and the envelope member).
pub const HEADER: &str = "traceparent";

/// A version-00 `traceparent`: `00-<trace id>-<parent id>-<flags>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent(String);

impl TraceParent {
    /// The request's trace when `header` is a valid `traceparent`, else a new one.
    pub fn of_request(header: Option<&str>) -> Self {
        header.and_then(Self::parse).unwrap_or_else(Self::start)
    }

    /// `text` as version 00 when it is a valid `traceparent` of this or a later
    /// version (a later one keeps its first four parts, as the recommendation
    /// tells version-00 readers to).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim_matches([' ', '\t']);
        let mut parts = text.splitn(5, '-');
        let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let rest = parts.next();
        let hex =
            |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let zeros = |s: &str| s.bytes().all(|b| b == b'0');
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace_id, 32)
            && !zeros(trace_id)
            && hex(parent_id, 16)
            && !zeros(parent_id)
            && hex(flags, 2)
            // Version 00 has exactly four parts; later versions may add more.
            && (rest.is_none() || version != "00");
        valid.then(|| Self(format!("00-{trace_id}-{parent_id}-{flags}")))
    }

    /// A new trace: random ids, not sampled (the service records none).
    pub fn start() -> Self {
        let trace_id = fastrand::u128(1..);
        let parent_id = fastrand::u64(1..);
        Self(format!("00-{trace_id:032x}-{parent_id:016x}-00"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// X-Ray's `Root=1-<8>-<24>;Parent=<16>;Sampled=<0|1>`, for EventBridge's
    /// `TraceHeader`; `None` for text that is not a version-00 `traceparent`.
    pub fn xray(traceparent: &str) -> Option<String> {
        let parsed = Self::parse(traceparent)?;
        let trace_id = parsed.0.get(3..35)?;
        let parent_id = parsed.0.get(36..52)?;
        let sampled = u8::from_str_radix(parsed.0.get(53..55)?, 16).ok()? & 1;
        Some(format!(
            "Root=1-{}-{};Parent={parent_id};Sampled={sampled}",
            &trace_id[..8],
            &trace_id[8..]
        ))
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIVEN: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_kept_as_sent() {
        assert_eq!(TraceParent::of_request(Some(GIVEN)).as_str(), GIVEN);
        assert_eq!(
            TraceParent::parse(&format!(" {GIVEN}\t")).map(|t| t.0),
            Some(GIVEN.to_owned())
        );
        // A later version keeps its first four parts, as version 00.
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
        assert_eq!(TraceParent::parse(later).map(|t| t.0), Some(GIVEN.to_owned()));
    }

    #[test]
    fn an_invalid_one_starts_a_new_trace_instead_of_failing_the_request() {
        for bad in [
            "",
            "garbage",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad:?}");
            let started = TraceParent::of_request(Some(bad));
            assert!(TraceParent::parse(started.as_str()).is_some(), "{started}");
            assert_ne!(started.as_str(), GIVEN);
        }
        assert_ne!(TraceParent::start(), TraceParent::start());
    }

    #[test]
    fn eventbridge_gets_it_in_x_rays_form() {
        assert_eq!(
            TraceParent::xray(GIVEN).as_deref(),
            Some("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1")
        );
        assert_eq!(TraceParent::xray("nonsense"), None);
    }
}
