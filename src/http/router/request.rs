//! Reading a request: the client's address, the base URL of its answers, its bearer token and
//! its JSON body (media type and size checked).

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::Request;
use serde_json::Value;

use super::{Ctx, Req};
use crate::http::drain::Draining;
use crate::http::error::ApiError;
use crate::http::state::State;
use crate::scim::ScimError;
use crate::store::tokens;

/// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For` entry
/// (the one that proxy appended).
pub(super) fn client_address<B>(
    state: &State,
    req: &Request<B>,
    peer: std::net::IpAddr,
) -> std::net::IpAddr {
    if !state.http.trust_forwarded_for {
        return peer;
    }
    header(req, "x-forwarded-for")
        .and_then(|h| h.rsplit(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

pub(super) fn base_url<B>(state: &State, req: &Request<B>) -> String {
    if let Some(u) = &state.http.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let proto = match req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{proto}://{host}{}", state.http.base_path)
}

pub(super) async fn authenticate(state: &State, req: &Req) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "missing Authorization header; send \"Authorization: Bearer <token>\"",
        ))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must use the Bearer scheme",
        ))?
        .trim();
    tokens::authenticate(&state.app.load().db, token)
        .await?
        .ok_or(ApiError::Unauthorized(
            "the bearer token is not valid (revoked, mistyped or never issued)",
        ))
}

pub(super) async fn read_json(
    state: &State,
    headers: &hyper::HeaderMap,
    body: Draining,
    ctx: &mut Ctx,
) -> Result<Value, ApiError> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/scim+json" && mime != "application/json" {
        return Err(ScimError::new(
            415,
            None,
            format!(
                "Content-Type must be application/scim+json or application/json, not {:?}",
                if ct.is_empty() { "(none)" } else { ct }
            ),
        )
        .into());
    }
    let limit = state.http.body_limit;
    let too_large = || {
        ScimError::new(
            413,
            None,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    if let Some(len) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit {
            return Err(too_large().into());
        }
    }
    ctx.body_pending = true;
    let collected = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
        .await;
    ctx.body_pending = false;
    let bytes: Bytes = collected
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ApiError::Scim(too_large())
            } else {
                ApiError::Scim(ScimError::invalid_syntax(
                    "the request body could not be read",
                ))
            }
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::Scim(ScimError::invalid_syntax(format!(
            "the body is not valid JSON: {e}"
        )))
    })
}

pub(super) fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
