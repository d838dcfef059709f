//! The one place where domain errors become HTTP answers: a status and
//! `{"error": {"code", "message"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confab_proto::{ErrorBody, ErrorCode};

use crate::error::Error;

pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::Invalid(
            ErrorCode::PayloadTooLarge | ErrorCode::FileTooLarge | ErrorCode::QuotaExceeded | ErrorCode::ImageTooLarge,
            _,
        ) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Invalid(ErrorCode::UnsupportedTusVersion, _) => StatusCode::PRECONDITION_FAILED,
        Error::Invalid(ErrorCode::UnsupportedMediaType, _) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::Invalid(ErrorCode::MethodNotAllowed, _) => StatusCode::METHOD_NOT_ALLOWED,
        Error::Invalid(..) => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(..) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) | Error::Blocked(_) | Error::RegistrationClosed | Error::OriginNotAllowed => {
            StatusCode::FORBIDDEN
        }
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::UsernameTaken | Error::Conflict(..) => StatusCode::CONFLICT,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::AuthProviderUnavailable(_) | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if self.is_server_fault() {
            tracing::error!(error = %self, "request failed");
        }
        let status = status_of(&self);
        let mut response = (status, axum::Json(ErrorBody { error: self.to_api() })).into_response();
        let headers = response.headers_mut();
        if let Error::RateLimited { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
