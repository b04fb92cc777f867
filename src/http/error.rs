//! The HTTP edge's one error type, and its single mapping to a response: client errors carry
//! their SCIM detail, unexpected ones an opaque body (the cause goes to the log only).

use hyper::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::Response;
use tracing::{error, warn};

use super::response::{self, Body};
use crate::scim::ScimError;
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("authentication required")]
    Unauthorized(&'static str),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("request timed out")]
    Timeout,
    /// Refused by a limit: `detail` says which (the retry delay is appended).
    #[error("rate limited: {detail}")]
    RateLimited {
        retry_after: std::time::Duration,
        detail: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Scim(s) => ApiError::Scim(s),
            ServiceError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::NotFound => ApiError::Scim(ScimError::not_found("resource not found")),
            StoreError::Invalid(m) => ApiError::Scim(ScimError::invalid_value(m)),
            StoreError::Ambiguous(m) => ApiError::Scim(ScimError::uniqueness(m)),
            StoreError::Protected(who) => ApiError::Scim(ScimError::new(
                403,
                None,
                format!("the application protects this user ({who}, users.protect): SCIM may not change it"),
            )),
            StoreError::Refused(r) => {
                tracing::info!(cause = %r.cause, "the database refused a value");
                ApiError::Scim(match r.kind {
                    crate::store::refusal::RefusalKind::Unique => ScimError::uniqueness(r.detail()),
                    _ => ScimError::invalid_value(r.detail()),
                })
            }
            StoreError::Conflict(_) => ApiError::Scim(ScimError::uniqueness(
                "a unique value of this resource is already taken",
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Seconds a client should wait before retrying when the database is away.
const RETRY_AFTER_SECS: &str = "5";

impl ApiError {
    pub fn into_response(self) -> Response<Body> {
        match self {
            ApiError::Scim(e) => response::error(&e),
            ApiError::Unauthorized(why) => {
                let mut r = response::error(&ScimError::new(401, None, why));
                r.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scim-bridge\""),
                );
                r
            }
            ApiError::Unavailable(cause) => {
                warn!(cause = %cause, "database unavailable");
                let mut r = response::error(&ScimError::new(
                    503,
                    None,
                    "the application's database is unavailable; retry later",
                ));
                r.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
                r
            }
            ApiError::RateLimited {
                retry_after,
                detail,
            } => {
                let secs =
                    (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
                let mut r = response::error(&ScimError::new(
                    429,
                    None,
                    format!("too many requests: {detail}; retry after {secs} s"),
                ));
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(RETRY_AFTER, v);
                }
                r
            }
            ApiError::Timeout => {
                let mut r = response::error(&ScimError::new(
                    503,
                    None,
                    "the request took too long and was abandoned; retry it",
                ));
                r.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
                r
            }
            ApiError::Internal(cause) => {
                error!(cause = %cause, "internal error");
                response::error(&ScimError::new(
                    500,
                    None,
                    "internal error; the bridge's log has the details",
                ))
            }
        }
    }
}
