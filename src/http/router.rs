//! Request handling: authentication, limits, routing to the service layer, and one log line per
//! request.
//!
//! Order: the token is checked first; a failure counts against the client address's
//! failed-authentication limit (401, or 429 once the address is over it). An authenticated
//! request is then admitted by its token's concurrency limit (it may wait in the token's
//! queue) once its body, if it takes one, has arrived, and holds its slot until its answer is
//! built — a streamed group's, until the last member is sent. See `limits.rs`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HOST, LOCATION,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tracing::{info, info_span, Instrument};

use super::drain::Draining;
use super::error::ApiError;
use super::limits::{Refusal, Refused};
use super::metrics::Outcome;
use super::response::{self, Body};
use super::state::State;
use crate::scim::list::ListQuery;
use crate::scim::query::Projection;
use crate::scim::{discovery, ScimError};
use crate::service::users::Answer;
use crate::service::{groups, users};
use crate::store::tokens;

/// A request whose body, if dropped unread, drains the rest (see [`super::drain`]).
type Req = Request<Draining>;

/// The route a request matched, for logs and metrics (ids replaced by `{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    Ready,
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType,
    Schemas,
    Schema,
    Users,
    UsersSearch,
    User,
    Groups,
    GroupsSearch,
    Group,
    RootSearch,
    NotFound,
}

impl Route {
    fn as_str(self) -> &'static str {
        match self {
            Route::Health => "/healthz",
            Route::Ready => "/readyz",
            Route::ServiceProviderConfig => "/ServiceProviderConfig",
            Route::ResourceTypes => "/ResourceTypes",
            Route::ResourceType => "/ResourceTypes/{id}",
            Route::Schemas => "/Schemas",
            Route::Schema => "/Schemas/{id}",
            Route::Users => "/Users",
            Route::UsersSearch => "/Users/.search",
            Route::User => "/Users/{id}",
            Route::Groups => "/Groups",
            Route::GroupsSearch => "/Groups/.search",
            Route::Group => "/Groups/{id}",
            Route::RootSearch => "/.search",
            Route::NotFound => "(none)",
        }
    }
}

fn route(base: &str, path: &str) -> (Route, Option<String>) {
    if path == "/healthz" {
        return (Route::Health, None);
    }
    if path == "/readyz" {
        return (Route::Ready, None);
    }
    let Some(rest) = path
        .strip_prefix(base)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return (Route::NotFound, None);
    };
    let rest = rest.trim_end_matches('/');
    let segs: Vec<&str> = rest.split('/').skip(1).collect();
    match segs.as_slice() {
        ["ServiceProviderConfig"] => (Route::ServiceProviderConfig, None),
        ["ResourceTypes"] => (Route::ResourceTypes, None),
        ["ResourceTypes", id] => (Route::ResourceType, Some(decode(id))),
        ["Schemas"] => (Route::Schemas, None),
        ["Schemas", id] => (Route::Schema, Some(decode(id))),
        ["Users"] => (Route::Users, None),
        ["Users", ".search"] => (Route::UsersSearch, None),
        ["Users", id] => (Route::User, Some(decode(id))),
        ["Groups"] => (Route::Groups, None),
        ["Groups", ".search"] => (Route::GroupsSearch, None),
        ["Groups", id] => (Route::Group, Some(decode(id))),
        [".search"] => (Route::RootSearch, None),
        _ => (Route::NotFound, None),
    }
}

fn decode(s: &str) -> String {
    let pairs = crate::scim::list::form_pairs(&format!("x={}", s.replace('+', "%2B")));
    pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default()
}

fn request_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Entry point for every request.
pub async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
    peer: std::net::IpAddr,
) -> Response<Body> {
    let started = Instant::now();
    let rid = request_id();
    let (route_kind, id) = route(&state.http.base_path, req.uri().path());
    let method = req.method().clone();
    // HTTP/1 bodies the client is already sending are drained after an early answer, so the
    // client reads the answer instead of a reset; not when it waits for `100 Continue`.
    let drain = req.version() <= hyper::Version::HTTP_11
        && !req
            .headers()
            .get(hyper::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let req = req.map(|body| Draining::new(body, drain));
    let span =
        info_span!("request", request_id = %rid, method = %method, route = route_kind.as_str());
    let timeout = state.http.request_timeout;
    async move {
        let mut ctx = Ctx {
            token: None,
            user_name: None,
            body_pending: false,
        };
        let result = tokio::time::timeout(
            timeout,
            crate::store::audit::ACTOR.scope(
                std::cell::RefCell::new("-".to_string()),
                dispatch(&state, req, route_kind, id, &mut ctx, peer),
            ),
        )
        .await;
        let mut resp = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => e.into_response(),
            Err(_) if ctx.body_pending => ApiError::Scim(ScimError::new(
                408,
                None,
                format!(
                    "the request body did not arrive within {} seconds",
                    timeout.as_secs()
                ),
            ))
            .into_response(),
            Err(_) => ApiError::Timeout.into_response(),
        };
        if let Ok(v) = HeaderValue::from_str(&rid) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let status = resp.status().as_u16();
        let method_name: &'static str = match method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            _ => "OTHER",
        };
        state
            .metrics
            .request(route_kind.as_str(), method_name, status, started.elapsed());
        if status == 409 {
            state.metrics.outcome(Outcome::Conflict);
        }
        // A number in JSON lines (tenths of a millisecond), not a string.
        let latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        if matches!(route_kind, Route::Health | Route::Ready) {
            tracing::debug!(status, latency_ms, "request");
        } else {
            info!(
                status,
                latency_ms,
                token = ctx.token.as_deref().unwrap_or("-"),
                user_name = ctx.user_name.as_deref().unwrap_or("-"),
                "request"
            );
        }
        resp
    }
    .instrument(span)
    .await
}

/// What the log line reports about a request besides its route and status.
struct Ctx {
    token: Option<String>,
    user_name: Option<String>,
    /// The request body is still arriving: a timeout now is the client's (408), not ours.
    body_pending: bool,
}

/// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For` entry
/// (the one that proxy appended).
fn client_address<B>(state: &State, req: &Request<B>, peer: std::net::IpAddr) -> std::net::IpAddr {
    if !state.http.trust_forwarded_for {
        return peer;
    }
    header(req, "x-forwarded-for")
        .and_then(|h| h.rsplit(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

fn base_url<B>(state: &State, req: &Request<B>) -> String {
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

async fn authenticate(state: &State, req: &Req) -> Result<String, ApiError> {
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
    tokens::authenticate(&state.app.db, token)
        .await?
        .ok_or(ApiError::Unauthorized(
            "the bearer token is not valid (revoked, mistyped or never issued)",
        ))
}

async fn read_json(
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
    let collected = Limited::new(body, limit as usize).collect().await;
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

fn with_etag(mut r: Response<Body>, version: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(version) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

fn method_not_allowed(allow: &'static str) -> Result<Response<Body>, ApiError> {
    let mut r = response::error(&ScimError::new(
        405,
        None,
        format!("method not allowed here; allowed: {allow}"),
    ));
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    Ok(r)
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `If-None-Match` on a GET: 304 when the client already has this version.
fn not_modified(if_none_match: Option<&str>, version: &str) -> bool {
    if_none_match.is_some_and(|h| {
        h.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == version)
    })
}

fn resource_response(
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

fn user_name_of(a: &Answer) -> Option<String> {
    a.resource
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

async fn dispatch(
    state: &Arc<State>,
    req: Req,
    route_kind: Route,
    id: Option<String>,
    ctx: &mut Ctx,
    peer: std::net::IpAddr,
) -> Result<Response<Body>, ApiError> {
    if route_kind == Route::Health {
        return Ok(response::text(StatusCode::OK, "ok\n"));
    }
    if route_kind == Route::Ready {
        // Unauthenticated, like /healthz: it reveals only whether the bridge can serve.
        return Ok(match crate::store::migrate::current(&state.app.db).await {
            Ok(true) => response::text(StatusCode::OK, "ready\n"),
            Ok(false) => response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: migrations pending\n",
            ),
            Err(_) => response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unreachable\n",
            ),
        });
    }
    if route_kind == Route::NotFound && !req.uri().path().starts_with(&state.http.base_path) {
        return Err(ScimError::not_found(format!(
            "nothing here; the SCIM API is under {}",
            state.http.base_path
        ))
        .into());
    }
    let client = client_address(state, &req, peer);
    let token = match authenticate(state, &req).await {
        Ok(token) => token,
        Err(ApiError::Unauthorized(why)) => {
            return Err(match state.limits.failed_auth(client) {
                Ok(()) => ApiError::Unauthorized(why),
                Err(refused) => rate_limited(
                    state,
                    refused,
                    format!("too many failed authentications from {client} ({why})"),
                ),
            });
        }
        Err(e) => return Err(e),
    };
    ctx.token = Some(token.clone());
    // The body of a request that takes one is read before admission: a slot stands for work
    // on the database, and a client sending its body slowly must not hold one.
    let takes_body = matches!(
        (route_kind, req.method()),
        (
            Route::Users | Route::UsersSearch | Route::Groups | Route::GroupsSearch,
            &Method::POST
        ) | (Route::User | Route::Group, &Method::PUT | &Method::PATCH)
    );
    let (parts, body) = req.into_parts();
    let mut json = if takes_body {
        Some(read_json(state, &parts.headers, body, ctx).await?)
    } else {
        drop(body);
        None
    };
    let req = Request::from_parts(parts, ());
    let mut admitted = Some(state.limits.admit(&token).await.map_err(|refused| {
        let a = state.limits.config().admission;
        let detail = match refused.reason {
            Refusal::TokenRate => "this token is over its request rate".to_string(),
            Refusal::QueueTimeout => format!(
                "this request waited {} ms for one of this token's {} request slots",
                a.queue_timeout.as_millis(),
                a.in_flight
            ),
            _ => format!(
                "all {} of this token's request slots are busy and {} requests already wait for one",
                a.in_flight, a.queue
            ),
        };
        rate_limited(state, refused, detail)
    })?);
    let _ = crate::store::audit::ACTOR.try_with(|a| a.borrow_mut().clone_from(&token));
    let base = base_url(state, &req);
    let app = &state.app;
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_string);
    let if_match = header(&req, "if-match").map(str::to_string);
    let if_none_match = header(&req, "if-none-match").map(str::to_string);
    let (if_match, if_none_match) = (if_match.as_deref(), if_none_match.as_deref());
    let id = id.unwrap_or_default();
    let types = [&app.users.resource_type, &app.groups];
    let projection = || -> Result<Projection, ApiError> {
        Ok(ListQuery::from_query(query.as_deref())?.projection)
    };
    match (route_kind, method) {
        (Route::ServiceProviderConfig, Method::GET) => Ok(response::json(StatusCode::OK, &discovery::service_provider_config(&base))),
        (Route::ResourceTypes, Method::GET) => {
            let rts: Vec<Value> = types.iter().map(|rt| discovery::resource_type(rt, &base)).collect();
            Ok(response::json(StatusCode::OK, &crate::scim::list::list_response(rts.len() as u64, 1, rts)))
        }
        (Route::ResourceType, Method::GET) => types
            .iter()
            .find(|rt| rt.name == id)
            .map(|rt| response::json(StatusCode::OK, &discovery::resource_type(rt, &base)))
            .ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")).into()),
        (Route::Schemas, Method::GET) => {
            let docs: Vec<Value> = discovery::all_schemas(&types).into_iter().map(|s| discovery::schema_doc(s, &base)).collect();
            Ok(response::json(StatusCode::OK, &crate::scim::list::list_response(docs.len() as u64, 1, docs)))
        }
        (Route::Schema, Method::GET) => {
            let doc = discovery::all_schemas(&types).into_iter().find(|s| s.id.eq_ignore_ascii_case(&id)).map(|s| discovery::schema_doc(s, &base));
            doc.map(|d| response::json(StatusCode::OK, &d)).ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")).into())
        }
        (Route::ServiceProviderConfig | Route::ResourceTypes | Route::ResourceType | Route::Schemas | Route::Schema, _) => method_not_allowed("GET"),

        (Route::Users, Method::GET) => {
            let q = ListQuery::from_query(query.as_deref())?;
            Ok(response::json(StatusCode::OK, &users::list(app, &q, &base).await?))
        }
        (Route::UsersSearch, Method::POST) => {
            let q = ListQuery::from_search_body(&take_json(&mut json))?;
            Ok(response::json(StatusCode::OK, &users::list(app, &q, &base).await?))
        }
        (Route::Users, Method::POST) => {
            let body = take_json(&mut json);
            ctx.user_name = body.get("userName").and_then(Value::as_str).map(|s| s.chars().take(200).collect());
            let out = users::create(app, &body, &base).await?;
            state.metrics.outcome(if out.adopted { Outcome::Adopted } else { Outcome::Created });
            let mut r = with_etag(response::json(StatusCode::CREATED, &out.answer.resource), &out.answer.version);
            if let Some(loc) = out.answer.resource.pointer("/meta/location").and_then(Value::as_str).and_then(|l| HeaderValue::from_str(l).ok()) {
                r.headers_mut().insert(LOCATION, loc);
            }
            Ok(r)
        }
        (Route::Users, _) => method_not_allowed("GET, POST"),
        (Route::User, Method::GET) => {
            let a = users::get(app, &id, &projection()?, &base).await?;
            ctx.user_name = user_name_of(&a);
            Ok(resource_response(StatusCode::OK, &a, if_none_match))
        }
        (Route::User, Method::PUT) => {
            let p = projection()?;
            let body = take_json(&mut json);
            let a = users::replace(app, &id, &body, &base, if_match).await?;
            state.metrics.outcome(if a.resource.get("active") == Some(&Value::Bool(false)) { Outcome::Deactivated } else { Outcome::Updated });
            ctx.user_name = user_name_of(&a);
            Ok(with_etag(response::json(StatusCode::OK, &p.apply(&app.users.resource_type, a.resource)), &a.version))
        }
        (Route::User, Method::PATCH) => {
            let p = projection()?;
            let body = take_json(&mut json);
            let a = users::patch(app, &id, &body, &base, if_match).await?;
            state.metrics.outcome(if a.resource.get("active") == Some(&Value::Bool(false)) { Outcome::Deactivated } else { Outcome::Updated });
            ctx.user_name = user_name_of(&a);
            Ok(with_etag(response::json(StatusCode::OK, &p.apply(&app.users.resource_type, a.resource)), &a.version))
        }
        (Route::User, Method::DELETE) => {
            users::delete(app, &id, if_match).await?;
            if app.users.on_delete == crate::mapping::model::OnDelete::Deactivate {
                state.metrics.outcome(Outcome::Deactivated);
            }
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        (Route::User, _) => method_not_allowed("GET, PUT, PATCH, DELETE"),

        (Route::Groups, Method::GET) => {
            let q = ListQuery::from_query(query.as_deref())?;
            Ok(response::json(StatusCode::OK, &groups::list(app, &q, &base).await?))
        }
        (Route::GroupsSearch, Method::POST) => {
            let q = ListQuery::from_search_body(&take_json(&mut json))?;
            Ok(response::json(StatusCode::OK, &groups::list(app, &q, &base).await?))
        }
        (Route::Groups, Method::POST) => {
            let body = take_json(&mut json);
            let a = groups::create(app, &body, &base).await?;
            let mut r = with_etag(response::json(StatusCode::CREATED, &a.resource), &a.version);
            if let Some(loc) = a.resource.pointer("/meta/location").and_then(Value::as_str).and_then(|l| HeaderValue::from_str(l).ok()) {
                r.headers_mut().insert(LOCATION, loc);
            }
            Ok(r)
        }
        (Route::Groups, _) => method_not_allowed("GET, POST"),
        (Route::UsersSearch | Route::GroupsSearch, _) => method_not_allowed("POST"),
        (Route::Group, Method::GET) => {
            let p = projection()?;
            if !p.is_empty() {
                let a = groups::get(app, &id, &p, &base).await?;
                return Ok(resource_response(StatusCode::OK, &Answer { resource: p.apply(&app.groups, a.resource), version: a.version }, if_none_match));
            }
            // All members: streamed, never built in memory.
            let head = groups::get(app, &id, &Projection::parse(None, Some("members"))?, &base).await?;
            if not_modified(if_none_match, &head.version) {
                return Ok(resource_response(StatusCode::OK, &head, if_none_match));
            }
            let (resp, tx) = response::streamed(StatusCode::OK);
            let state = state.clone();
            // The members are read while they are sent: the token's slot goes with them.
            let slot = admitted.take();
            tokio::spawn(async move {
                groups::stream_members(&state.app, &id, &head.resource, &base, tx).await;
                drop(slot);
            });
            Ok(with_etag(resp, &head.version))
        }
        (Route::Group, Method::PUT) => {
            let p = projection()?;
            let body = take_json(&mut json);
            let a = groups::replace(app, &id, &body, &base, if_match).await?;
            Ok(with_etag(response::json(StatusCode::OK, &p.apply(&app.groups, a.resource)), &a.version))
        }
        (Route::Group, Method::PATCH) => {
            // 204 unless the client asks for attributes back: a large group's member list is
            // never sent unasked (Entra recommends 204; Okta accepts it).
            let p = projection()?;
            let body = take_json(&mut json);
            let answer_wanted = !p.is_empty();
            let a = groups::patch(app, &id, &body, &base, answer_wanted && p.wants("members"), if_match).await?;
            if answer_wanted {
                Ok(with_etag(response::json(StatusCode::OK, &p.apply(&app.groups, a.resource)), &a.version))
            } else {
                Ok(with_etag(response::empty(StatusCode::NO_CONTENT), &a.version))
            }
        }
        (Route::Group, Method::DELETE) => {
            groups::delete(app, &id, if_match).await?;
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        (Route::Group, _) => method_not_allowed("GET, PUT, PATCH, DELETE"),
        (Route::RootSearch, _) => Err(ScimError::new(501, None, "searching across resource types is not supported; use /Users/.search or /Groups/.search").into()),
        (Route::Health | Route::Ready | Route::NotFound, _) => Err(ScimError::not_found(format!("no such endpoint: {}", req_path_hint(&base))).into()),
    }
}

/// The body read before admission (see `takes_body` in [`dispatch`]).
fn take_json(json: &mut Option<Value>) -> Value {
    debug_assert!(
        json.is_some(),
        "takes_body must list every route that reads a body"
    );
    json.take().unwrap_or(Value::Null)
}

/// Counts and words a refusal by a limit.
fn rate_limited(state: &State, refused: Refused, detail: String) -> ApiError {
    state.metrics.refused(refused.reason);
    ApiError::RateLimited {
        retry_after: refused.retry_after,
        detail,
    }
}

fn req_path_hint(base: &str) -> String {
    format!("the SCIM endpoints are {base}/Users, {base}/Groups, {base}/ServiceProviderConfig, {base}/ResourceTypes and {base}/Schemas")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/scim/v2", "/scim/v2/Users"), (Route::Users, None));
        assert_eq!(route("/scim/v2", "/scim/v2/Users/"), (Route::Users, None));
        assert_eq!(
            route("/scim/v2", "/scim/v2/Users/42"),
            (Route::User, Some("42".into()))
        );
        assert_eq!(
            route("/scim/v2", "/scim/v2/Users/a%20b"),
            (Route::User, Some("a b".into()))
        );
        assert_eq!(
            route("/scim/v2", "/scim/v2/Schemas/urn:x:y"),
            (Route::Schema, Some("urn:x:y".into()))
        );
        assert_eq!(route("/scim/v2", "/scim/v2x/Users").0, Route::NotFound);
        assert_eq!(route("/scim/v2", "/healthz").0, Route::Health);
        assert_eq!(route("/scim/v2", "/scim/v2/Users/1/x").0, Route::NotFound);
    }
}
