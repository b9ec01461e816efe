//! Reading a JSON request body: media type, size limit, then typed parsing whose
//! errors name the JSON path that failed.

use lambda_http::Request;
use lambda_http::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest accepted body. Chosen so the fan-out envelope of any accepted event
/// (decoded payload + fault + metadata) stays under SNS/EventBridge's 256 KiB.
pub const MAX_BODY_BYTES: usize = 192 * 1024;

/// Parses the request's JSON object body into `T`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let media_type = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media_type != "application/json" && !media_type.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body must be JSON (Content-Type: application/json), not {media_type:?}"
            )));
        }
    }
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            actual: bytes.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    // Every body of this API is an object; serde would also take a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // Syntax errors are about the text, not a field; the path is then partial.
        let field = match inner.classify() {
            serde_json::error::Category::Data if path != "." => path,
            _ => "body".to_owned(),
        };
        ApiError::invalid_field(field, clip(&inner.to_string()))
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::invalid_field("body", format!("unexpected data after the JSON value ({e})")))?;
    Ok(value)
}

/// Serde quotes the offending value; keep a client's data out of answers and logs.
fn clip(message: &str) -> String {
    const MAX: usize = 200;
    match message.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder();
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        builder.body(Body::Text(body.to_owned())).expect("request")
    }

    fn error_of(content_type: Option<&str>, body: &str) -> ApiError {
        json_body::<Shape>(&request(content_type, body)).expect_err("must fail")
    }

    #[test]
    fn names_the_path_of_a_wrong_type() {
        match error_of(Some("application/json"), r#"{"name":"a","inner":{"count":"x"}}"#) {
            ApiError::Invalid { errors, .. } => assert_eq!(errors[0].field, "inner.count"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn maps_each_bad_body_to_its_status() {
        assert_eq!(error_of(Some("text/plain"), "{}").status(), 415);
        assert_eq!(error_of(None, "{not json").status(), 400);
        assert_eq!(error_of(None, "").status(), 400);
        assert_eq!(error_of(None, r#"{"name":"a"} trailing"#).status(), 400);
        let huge = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(error_of(None, &huge).status(), 413);
    }

    #[test]
    fn error_messages_do_not_echo_large_values() {
        let body = format!(r#"{{"name": {{"huge": "{}"}}}}"#, "x".repeat(5000));
        match error_of(None, &body) {
            ApiError::Invalid { errors, .. } => assert!(errors[0].message.chars().count() <= 201),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_json_with_charset_and_without_content_type() {
        assert!(json_body::<Shape>(&request(Some("application/json; charset=utf-8"), r#"{"name":"a"}"#)).is_ok());
        assert!(json_body::<Shape>(&request(None, r#"{"name":"a"}"#)).is_ok());
    }
}
