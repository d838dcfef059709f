//! Turning HTTP answers into results: typed bodies on success, [`ClientError::Api`] on a
//! refusal, and the untyped [`RawResponse`] for tests that send what a real client would not.

use confab_proto::{ApiError, ErrorBody};
use reqwest::Response;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// A request body for [`crate::Client::raw`]: any bytes with any content type.
#[derive(Clone, Debug)]
pub struct RawBody {
    /// Sent as the `Content-Type` header, whether or not it matches the bytes.
    pub content_type: String,
    /// Sent as is.
    pub bytes: Vec<u8>,
}

impl RawBody {
    /// `bytes` labelled with `content_type`.
    pub fn new(content_type: &str, bytes: Vec<u8>) -> RawBody {
        RawBody { content_type: content_type.to_owned(), bytes }
    }

    /// Bytes sent as `application/json`, valid JSON or not.
    pub fn json_bytes(bytes: Vec<u8>) -> RawBody {
        RawBody::new("application/json", bytes)
    }
}

/// What [`crate::Client::raw`] got back, whatever the status.
#[derive(Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers (`Retry-After`, `Content-Type`, …).
    pub headers: HeaderMap,
    /// The body as JSON, or `Null` when it is empty or not JSON.
    pub json: serde_json::Value,
    /// The body exactly as received, for answers that are not JSON.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// `error.code` of an error body, as its wire spelling.
    pub fn error_code(&self) -> Option<&str> {
        self.json.pointer("/error/code").and_then(|c| c.as_str())
    }

    /// The `error` object of an error body, when the body is one.
    pub fn api_error(&self) -> Option<ApiError> {
        ErrorBody::deserialize(&self.json).ok().map(|body| body.error)
    }

    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type` header, or `""`.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// The body as text (lossily decoded).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads any answer into a [`RawResponse`].
pub(crate) async fn raw(response: Response) -> Result<RawResponse, ClientError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok(RawResponse { status, headers, json, body })
}

/// The typed body of a successful answer, or the refusal.
pub(crate) async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let status = response.status().as_u16();
    let success = response.status().is_success();
    let body = response.bytes().await?;
    if success { decode_success(status, &body) } else { Err(refusal(status, &body)) }
}

/// Success without a body (`204 No Content`), or the refusal.
pub(crate) async fn expect_success(response: Response) -> Result<(), ClientError> {
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    Err(refusal(status, &body))
}

fn decode_success<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body)
        .map_err(|_| ClientError::UnexpectedResponse { status, body: String::from_utf8_lossy(body).into_owned() })
}

/// A non-2xx answer: a Confab error body becomes [`ClientError::Api`]; anything else (a proxy's
/// HTML page, an empty body) is kept as text so that the test or log shows what came back.
fn refusal(status: u16, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => ClientError::Api { status, error: body.error },
        Err(_) => ClientError::UnexpectedResponse { status, body: String::from_utf8_lossy(body).into_owned() },
    }
}

#[cfg(test)]
mod tests {
    use confab_proto::ErrorCode;
    use confab_proto::rest::WsTicket;

    use super::*;

    #[test]
    fn error_bodies_become_api_errors() {
        let body = br#"{"error": {"code": "username_taken", "message": "taken"}}"#;
        match refusal(409, body) {
            ClientError::Api { status: 409, error } => {
                assert_eq!(error, ApiError::new(ErrorCode::UsernameTaken, "taken"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_refusals_keep_their_text() {
        for body in [&b"<html>Bad Gateway</html>"[..], b"", br#"{"error": {"code": "no_such_code", "message": ""}}"#] {
            match refusal(502, body) {
                ClientError::UnexpectedResponse { status: 502, body: text } => assert_eq!(text.as_bytes(), body),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn success_bodies_of_the_wrong_shape_are_unexpected() {
        let ticket: WsTicket = decode_success(200, br#"{"ticket": "t", "expires_in": 30}"#).unwrap();
        assert_eq!(ticket.ticket, "t");
        let wrong = decode_success::<WsTicket>(200, br#"{"ticket": 5}"#).unwrap_err();
        assert!(matches!(wrong, ClientError::UnexpectedResponse { status: 200, .. }), "{wrong:?}");
    }

    #[test]
    fn raw_responses_expose_error_bodies() {
        let json = serde_json::json!({"error": {"code": "invalid_json", "message": "line 1"}});
        let response = RawResponse { status: 400, headers: HeaderMap::new(), body: json.to_string().into(), json };
        assert_eq!(response.error_code(), Some("invalid_json"));
        assert_eq!(response.api_error().map(|e| e.code), Some(ErrorCode::InvalidJson));
        assert_eq!(response.content_type(), "");
    }
}
