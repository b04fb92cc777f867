//! Answers the route families share: a resource with its ETag (or 304 when the client has
//! that version), a created resource with its `Location`, and 405 with `Allow`.

use hyper::header::{HeaderValue, ALLOW, ETAG, LOCATION};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::http::response::{self, Body};
use crate::scim::ScimError;
use crate::service::users::Answer;

pub(super) fn with_etag(mut r: Response<Body>, version: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(version) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

/// A 405 naming the methods the route does answer (`Allow`, RFC 9110 §15.5.6).
pub(super) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = response::error(&ScimError::new(
        405,
        None,
        format!("method not allowed here; allowed: {allow}"),
    ));
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// `If-None-Match` on a GET: 304 when the client already has this version.
pub(super) fn not_modified(if_none_match: Option<&str>, version: &str) -> bool {
    if_none_match.is_some_and(|h| {
        h.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == version)
    })
}

pub(super) fn resource_response(
    status: StatusCode,
    a: &Answer,
    if_none_match: Option<&str>,
) -> Response<Body> {
    if status == StatusCode::OK && not_modified(if_none_match, &a.version) {
        let mut r = response::empty(StatusCode::NOT_MODIFIED);
        if let Ok(v) = HeaderValue::from_str(&a.version) {
            r.headers_mut().insert(ETAG, v);
        }
        return r;
    }
    with_etag(response::json(status, &a.resource), &a.version)
}

/// 201 with the new resource, its ETag and its `Location` (`meta.location`).
pub(super) fn created(a: &Answer) -> Response<Body> {
    let mut r = with_etag(response::json(StatusCode::CREATED, &a.resource), &a.version);
    if let Some(loc) = a
        .resource
        .pointer("/meta/location")
        .and_then(Value::as_str)
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        r.headers_mut().insert(LOCATION, loc);
    }
    r
}
