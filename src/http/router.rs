//! Request handling: authentication, limits, routing to the service layer, and one log line per
//! request.
//!
//! Order: the token is checked first; a failure counts against the client address's
//! failed-authentication limit (401, or 429 once the address is over it). An authenticated
//! request is then admitted by its token's concurrency limit (it may wait in the token's
//! queue) once its body, if it takes one, has arrived, and holds its slot until its answer is
//! built — a streamed group's, until the last member is sent. See `limits.rs`.
//!
//! This file is the shell every request passes through ([`handle`], then `dispatch`): the
//! route, the time limit, authentication, the body, admission, and the log line. The answers
//! are in one file per route family: `health` (`/healthz`, `/readyz`), `discovery`
//! (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`), `users` and `groups`; `request`
//! reads the request (address, base URL, token, JSON body) and `reply` builds what the
//! families share (ETags, 304, 201 with `Location`, 405).

mod discovery;
mod groups;
mod health;
mod reply;
mod request;
mod users;

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};
use serde_json::Value;
use tracing::{info, info_span, Instrument};

use super::drain::Draining;
use super::error::ApiError;
use super::limits::{Admitted, Refusal, Refused};
use super::metrics::Outcome;
use super::response::Body;
use super::state::State;
use crate::scim::list::ListQuery;
use crate::scim::query::Projection;
use crate::scim::ScimError;
use crate::service::App;
use request::{authenticate, base_url, client_address, header, read_json};

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
        record(
            &state,
            route_kind,
            &method,
            resp.status().as_u16(),
            started,
            &ctx,
        );
        resp
    }
    .instrument(span)
    .await
}

/// The request's metrics and its log line.
fn record(
    state: &State,
    route_kind: Route,
    method: &Method,
    status: u16,
    started: Instant,
    ctx: &Ctx,
) {
    let method_name: &'static str = match *method {
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
}

/// What the log line reports about a request besides its route and status.
struct Ctx {
    token: Option<String>,
    user_name: Option<String>,
    /// The request body is still arriving: a timeout now is the client's (408), not ours.
    body_pending: bool,
}

/// An authenticated and admitted request, as the route families see it.
struct Call<'a> {
    state: &'a Arc<State>,
    /// The application as it was when the request was admitted (see [`crate::http::state::Current`]).
    app: Arc<App>,
    method: Method,
    /// The resource id of `/Users/{id}`, `/Groups/{id}`, `/Schemas/{id}`…; empty otherwise.
    id: String,
    /// The base URL for `meta.location` and discovery documents.
    base: String,
    query: Option<String>,
    if_match: Option<String>,
    if_none_match: Option<String>,
    /// The body, read before admission when the route takes one (see [`takes_body`]).
    json: Option<Value>,
    /// The token's slot, held until the answer is built; a streamed answer takes it along.
    admitted: Option<Admitted>,
}

impl Call<'_> {
    /// `attributes` / `excludedAttributes` of the query string.
    fn projection(&self) -> Result<Projection, ApiError> {
        Ok(ListQuery::from_query(self.query.as_deref())?.projection)
    }

    /// The query string as a list query (filter, sort, page, projection).
    fn list_query(&self) -> Result<ListQuery, ApiError> {
        Ok(ListQuery::from_query(self.query.as_deref())?)
    }
}

async fn dispatch(
    state: &Arc<State>,
    req: Req,
    route_kind: Route,
    id: Option<String>,
    ctx: &mut Ctx,
    peer: std::net::IpAddr,
) -> Result<Response<Body>, ApiError> {
    match route_kind {
        Route::Health => return Ok(health::healthz()),
        // Unauthenticated, like /healthz: it reveals only whether the bridge can serve.
        Route::Ready => return Ok(health::readyz(state).await),
        Route::NotFound if !req.uri().path().starts_with(&state.http.base_path) => {
            return Err(ScimError::not_found(format!(
                "nothing here; the SCIM API is under {}",
                state.http.base_path
            ))
            .into());
        }
        _ => {}
    }
    let call = admit(state, req, route_kind, id, ctx, peer).await?;
    match route_kind {
        Route::ServiceProviderConfig => discovery::service_provider_config(&call),
        Route::ResourceTypes => discovery::resource_types(&call),
        Route::ResourceType => discovery::resource_type(&call),
        Route::Schemas => discovery::schemas(&call),
        Route::Schema => discovery::schema(&call),
        Route::Users => users::collection(call, ctx).await,
        Route::UsersSearch => users::search(call).await,
        Route::User => users::resource(call, ctx).await,
        Route::Groups => groups::collection(call).await,
        Route::GroupsSearch => groups::search(call).await,
        Route::Group => groups::resource(call).await,
        Route::RootSearch => Err(ScimError::new(501, None, "searching across resource types is not supported; use /Users/.search or /Groups/.search").into()),
        Route::Health | Route::Ready | Route::NotFound => Err(ScimError::not_found(format!(
            "no such endpoint: {}",
            req_path_hint(&call.base)
        ))
        .into()),
    }
}

/// Whether the route reads a body: it is read before admission, since a slot stands for work
/// on the database, and a client sending its body slowly must not hold one.
fn takes_body(route_kind: Route, method: &Method) -> bool {
    matches!(
        (route_kind, method),
        (
            Route::Users | Route::UsersSearch | Route::Groups | Route::GroupsSearch,
            &Method::POST
        ) | (Route::User | Route::Group, &Method::PUT | &Method::PATCH)
    )
}

/// Authenticates the request (counting a failure against its address), reads its body if it
/// takes one, and admits it by its token's limit.
async fn admit<'a>(
    state: &'a Arc<State>,
    req: Req,
    route_kind: Route,
    id: Option<String>,
    ctx: &mut Ctx,
    peer: std::net::IpAddr,
) -> Result<Call<'a>, ApiError> {
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
    let takes_body = takes_body(route_kind, req.method());
    let (parts, body) = req.into_parts();
    let json = if takes_body {
        Some(read_json(state, &parts.headers, body, ctx).await?)
    } else {
        drop(body);
        None
    };
    let req = Request::from_parts(parts, ());
    let admitted = state
        .limits
        .admit(&token)
        .await
        .map_err(|refused| admission_refused(state, refused))?;
    let _ = crate::store::audit::ACTOR.try_with(|a| a.borrow_mut().clone_from(&token));
    Ok(Call {
        state,
        app: state.app.load(),
        method: req.method().clone(),
        id: id.unwrap_or_default(),
        base: base_url(state, &req),
        query: req.uri().query().map(str::to_string),
        if_match: header(&req, "if-match").map(str::to_string),
        if_none_match: header(&req, "if-none-match").map(str::to_string),
        json,
        admitted: Some(admitted),
    })
}

/// Words a refusal by the token's admission limit.
fn admission_refused(state: &State, refused: Refused) -> ApiError {
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
}

/// Counts and words a refusal by a limit.
fn rate_limited(state: &State, refused: Refused, detail: String) -> ApiError {
    state.metrics.refused(refused.reason);
    ApiError::RateLimited {
        retry_after: refused.retry_after,
        detail,
    }
}

/// The body read before admission (see [`takes_body`]).
fn take_json(json: &mut Option<Value>) -> Value {
    debug_assert!(
        json.is_some(),
        "takes_body must list every route that reads a body"
    );
    json.take().unwrap_or(Value::Null)
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
