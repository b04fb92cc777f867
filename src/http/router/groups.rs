//! `/Groups`, `/Groups/.search` and `/Groups/{id}`: the group operations of the service layer.
//! A GET of a whole group streams its members; a PATCH answers 204 unless attributes are asked
//! for, so a large group's member list is never sent unasked.

use std::sync::Arc;

use hyper::{Method, Response, StatusCode};

use super::reply::{created, method_not_allowed, not_modified, resource_response, with_etag};
use super::{take_json, Call};
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::scim::list::ListQuery;
use crate::scim::query::Projection;
use crate::service::groups as service;
use crate::service::users::Answer;
use crate::service::App;

type Reply = Result<Response<Body>, ApiError>;

/// `/Groups`: GET lists, POST creates.
pub(super) async fn collection(mut call: Call<'_>) -> Reply {
    let app: &App = &call.app;
    match call.method {
        Method::GET => {
            let q = call.list_query()?;
            Ok(response::json(
                StatusCode::OK,
                &service::list(app, &q, &call.base).await?,
            ))
        }
        Method::POST => {
            let body = take_json(&mut call.json);
            let a = service::create(app, &body, &call.base).await?;
            Ok(created(&a))
        }
        _ => Ok(method_not_allowed("GET, POST")),
    }
}

/// `/Groups/.search`: POST only.
pub(super) async fn search(mut call: Call<'_>) -> Reply {
    if call.method != Method::POST {
        return Ok(method_not_allowed("POST"));
    }
    let q = ListQuery::from_search_body(&take_json(&mut call.json))?;
    Ok(response::json(
        StatusCode::OK,
        &service::list(&call.app, &q, &call.base).await?,
    ))
}

/// `/Groups/{id}`: GET, PUT, PATCH, DELETE.
pub(super) async fn resource(mut call: Call<'_>) -> Reply {
    let app: &App = &call.app;
    let if_match = call.if_match.as_deref();
    match call.method {
        Method::GET => get(call).await,
        Method::PUT => {
            let p = call.projection()?;
            let body = take_json(&mut call.json);
            let a = service::replace(app, &call.id, &body, &call.base, if_match).await?;
            Ok(with_etag(
                response::json(StatusCode::OK, &p.apply(&app.groups, a.resource)),
                &a.version,
            ))
        }
        Method::PATCH => {
            // 204 unless the client asks for attributes back: a large group's member list is
            // never sent unasked (Entra recommends 204; Okta accepts it).
            let p = call.projection()?;
            let body = take_json(&mut call.json);
            let answer_wanted = !p.is_empty();
            let a = service::patch(
                app,
                &call.id,
                &body,
                &call.base,
                answer_wanted && p.wants("members"),
                if_match,
            )
            .await?;
            if answer_wanted {
                Ok(with_etag(
                    response::json(StatusCode::OK, &p.apply(&app.groups, a.resource)),
                    &a.version,
                ))
            } else {
                Ok(with_etag(
                    response::empty(StatusCode::NO_CONTENT),
                    &a.version,
                ))
            }
        }
        Method::DELETE => {
            service::delete(app, &call.id, if_match).await?;
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        _ => Ok(method_not_allowed("GET, PUT, PATCH, DELETE")),
    }
}

/// A group: with a projection, built and sent whole; without, its members are streamed,
/// never built in memory.
async fn get(mut call: Call<'_>) -> Reply {
    let app = Arc::clone(&call.app);
    let if_none_match = call.if_none_match.as_deref();
    let p = call.projection()?;
    if !p.is_empty() {
        let a = service::get(&app, &call.id, &p, &call.base).await?;
        return Ok(resource_response(
            StatusCode::OK,
            &Answer {
                resource: p.apply(&app.groups, a.resource),
                version: a.version,
            },
            if_none_match,
        ));
    }
    // All members: streamed, never built in memory.
    let head = service::get(
        &app,
        &call.id,
        &Projection::parse(None, Some("members"))?,
        &call.base,
    )
    .await?;
    if not_modified(if_none_match, &head.version) {
        return Ok(resource_response(StatusCode::OK, &head, if_none_match));
    }
    let (resp, tx) = response::streamed(StatusCode::OK);
    // The members are read while they are sent: the token's slot goes with them.
    let slot = call.admitted.take();
    let (id, base) = (std::mem::take(&mut call.id), std::mem::take(&mut call.base));
    tokio::spawn(async move {
        service::stream_members(&app, &id, &head.resource, &base, tx).await;
        drop(slot);
    });
    Ok(with_etag(resp, &head.version))
}
