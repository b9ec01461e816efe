//! Checks that a destination names a real AWS resource in the region it claims:
//! SQS queue URLs, SNS topic ARNs, EventBridge bus ARNs.

use url::Url;

use crate::error::FieldError;

/// Which queue hosts besides AWS's own are accepted. Deployed: none. In the local
/// run and tests, the emulator's (from `AWS_ENDPOINT_URL`), whose queue URLs are
/// `http://127.0.0.1:<port>/<account>/<name>`.
#[derive(Debug, Clone, Default)]
pub struct DestinationRules {
    emulator: Option<(String, Option<u16>)>,
}

impl DestinationRules {
    /// The rules for functions whose AWS calls go to `endpoint` (the SDK's
    /// endpoint override, which only the local run and tests set).
    pub fn for_endpoint(endpoint: Option<&str>) -> Self {
        let emulator = endpoint
            .and_then(|endpoint| Url::parse(endpoint).ok())
            .and_then(|url| Some((url.host_str()?.to_owned(), url.port())));
        Self { emulator }
    }

    pub fn check_queue_url(&self, field: &str, raw: &str, region: &str) -> Result<(), FieldError> {
        let invalid = |why: &str| {
            FieldError::new(
                field,
                format!("{why}; expected https://sqs.<region>.amazonaws.com/<12-digit account>/<queue name>"),
            )
        };
        let url = Url::parse(raw).map_err(|_| invalid("is not a URL"))?;
        // As written, byte for byte: the URL is checked and stored as the same text
        // (no spaces, `\`, `..` or case the parser would tidy away).
        if url.as_str() != raw {
            return Err(invalid("must be written in its canonical form"));
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(invalid("must not carry credentials or a #fragment"));
        }
        let host = url.host_str().unwrap_or_default();
        let from_emulator = self
            .emulator
            .as_ref()
            .is_some_and(|(h, port)| h == host && *port == url.port());
        if !from_emulator {
            let host_region = host
                .strip_prefix("sqs.")
                .and_then(|rest| {
                    rest.strip_suffix(".amazonaws.com")
                        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
                })
                .ok_or_else(|| invalid("is not an SQS queue URL"))?;
            if url.scheme() != "https" || url.port().is_some() {
                return Err(invalid("must be https on the default port"));
            }
            if host_region != region {
                return Err(FieldError::new(
                    field,
                    format!("is in region {host_region}, not {region}"),
                ));
            }
        }
        let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
        match segments.as_slice() {
            [account, name] if is_account(account) && is_resource_name(name, 80) => Ok(()),
            _ => Err(invalid("has no /<account>/<queue name> path")),
        }
        .and_then(|()| match url.query() {
            Some(_) => Err(invalid("must not have a query")),
            None => Ok(()),
        })
    }

    pub fn check_topic_arn(&self, field: &str, raw: &str, region: &str) -> Result<(), FieldError> {
        let resource = arn_resource(field, raw, "sns", region, "arn:aws:sns:<region>:<account>:<topic name>")?;
        if is_resource_name(resource, 256) {
            Ok(())
        } else {
            Err(FieldError::new(field, "has an invalid topic name"))
        }
    }

    pub fn check_event_bus_arn(&self, field: &str, raw: &str, region: &str) -> Result<(), FieldError> {
        let format = "arn:aws:events:<region>:<account>:event-bus/<bus name>";
        let resource = arn_resource(field, raw, "events", region, format)?;
        let valid = resource.strip_prefix("event-bus/").is_some_and(|name| {
            (1..=256).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        });
        if valid {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                format!("has an invalid bus name; expected {format}"),
            ))
        }
    }
}

/// `^[a-z]{2}(-[a-z]+)+-\d+$`, e.g. `eu-west-1`, `us-gov-east-1`.
pub fn check_region(field: &str, region: &str) -> Result<(), FieldError> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(FieldError::new(field, "is not an AWS region name like eu-west-1"))
    }
}

/// The resource part of `arn:<partition>:<service>:<region>:<account>:<resource>`
/// after checking the rest.
fn arn_resource<'a>(
    field: &str,
    raw: &'a str,
    service: &str,
    region: &str,
    format: &str,
) -> Result<&'a str, FieldError> {
    let invalid = || FieldError::new(field, format!("is not a valid ARN; expected {format}"));
    let parts: Vec<&str> = raw.splitn(6, ':').collect();
    let [arn, partition, arn_service, arn_region, account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    if *arn != "arn"
        || !["aws", "aws-cn", "aws-us-gov"].contains(partition)
        || *arn_service != service
        || !is_account(account)
    {
        return Err(invalid());
    }
    if arn_region != &region {
        return Err(FieldError::new(
            field,
            format!("is in region {arn_region}, not {region}"),
        ));
    }
    Ok(resource)
}

/// `arn:aws:iam::<account>:role/<path/><name>`.
pub fn check_role_arn(field: &str, raw: &str) -> Result<(), FieldError> {
    let invalid = || FieldError::new(field, "is not a role ARN; expected arn:aws:iam::<account>:role/<name>");
    let parts: Vec<&str> = raw.splitn(6, ':').collect();
    let ["arn", partition, "iam", "", account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    let name = resource.strip_prefix("role/").ok_or_else(invalid)?;
    let valid_name = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    if ["aws", "aws-cn", "aws-us-gov"].contains(partition) && is_account(account) && valid_name {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// The account of a queue URL or an ARN (`None` if it names none).
pub fn account_of(address: &str) -> Option<&str> {
    let account = match address.strip_prefix("arn:") {
        Some(arn) => arn.split(':').nth(3)?,
        None => address.trim_end_matches('/').rsplit('/').nth(1)?,
    };
    is_account(account).then_some(account)
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_digit())
}

/// Queue and topic names: letters, digits, `-`, `_`, optionally ending `.fifo`.
fn is_resource_name(name: &str, max: usize) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= max
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: DestinationRules = DestinationRules { emulator: None };

    #[test]
    fn queue_urls() {
        let ok = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo";
        assert!(AWS.check_queue_url("q", ok, "eu-west-1").is_ok());
        for bad in [
            "https://sqs.us-east-1.amazonaws.com/123456789012/orders", // region mismatch
            "http://sqs.eu-west-1.amazonaws.com/123456789012/orders",
            "https://evil.example.com/123456789012/orders",
            "https://sqs.eu-west-1.amazonaws.com/12345/orders",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/a/b",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/bad name",
            "https://user:pw@sqs.eu-west-1.amazonaws.com/123456789012/orders",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders#x",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/x\\..\\orders",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/x/../orders",
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders ",
            "https://SQS.eu-west-1.amazonaws.com/123456789012/orders",
            "not a url",
        ] {
            assert!(AWS.check_queue_url("q", bad, "eu-west-1").is_err(), "{bad}");
        }
        let local = DestinationRules {
            emulator: Some(("127.0.0.1".into(), Some(5000))),
        };
        assert!(
            local
                .check_queue_url("q", "http://127.0.0.1:5000/123456789012/q1", "us-east-1")
                .is_ok()
        );
        assert!(
            local
                .check_queue_url("q", "http://127.0.0.1:5001/123456789012/q1", "us-east-1")
                .is_err()
        );
    }

    #[test]
    fn topic_and_bus_arns() {
        assert!(
            AWS.check_topic_arn("t", "arn:aws:sns:eu-west-1:123456789012:orders", "eu-west-1")
                .is_ok()
        );
        assert!(
            AWS.check_topic_arn("t", "arn:aws:sns:eu-west-1:123456789012:orders", "us-east-1")
                .is_err()
        );
        assert!(
            AWS.check_topic_arn("t", "arn:aws:sqs:eu-west-1:123456789012:orders", "eu-west-1")
                .is_err()
        );
        assert!(
            AWS.check_topic_arn("t", "arn:aws:sns:eu-west-1:123456789012:", "eu-west-1")
                .is_err()
        );
        let bus = "arn:aws:events:eu-west-1:123456789012:event-bus/retail";
        assert!(AWS.check_event_bus_arn("b", bus, "eu-west-1").is_ok());
        assert!(
            AWS.check_event_bus_arn("b", "arn:aws:events:eu-west-1:123456789012:rule/x", "eu-west-1")
                .is_err()
        );
    }

    #[test]
    fn regions() {
        for ok in ["eu-west-1", "us-gov-east-1", "ap-southeast-3"] {
            assert!(check_region("r", ok).is_ok(), "{ok}");
        }
        for bad in ["", "eu", "EU-WEST-1", "eu-west", "eu-west-100", "e-west-1"] {
            assert!(check_region("r", bad).is_err(), "{bad}");
        }
    }
}
