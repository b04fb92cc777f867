//! `/Users`, `/Users/.search` and `/Users/{id}`: the user operations of the service layer, with
//! the outcome counted for the metrics and the userName kept for the log line.

use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use super::reply::{created, method_not_allowed, resource_response, with_etag};
use super::{take_json, Call, Ctx};
use crate::http::error::ApiError;
use crate::http::metrics::Outcome;
use crate::http::response::{self, Body};
use crate::mapping::model::OnDelete;
use crate::scim::list::ListQuery;
use crate::service::users::{self as service, Answer};
use crate::service::App;

type Reply = Result<Response<Body>, ApiError>;

/// `/Users`: GET lists, POST creates (or adopts).
pub(super) async fn collection(mut call: Call<'_>, ctx: &mut Ctx) -> Reply {
    let (state, base) = (call.state, call.base.as_str());
    match call.method {
        Method::GET => {
            let q = call.list_query()?;
            Ok(response::json(
                StatusCode::OK,
                &service::list(&call.app, &q, base).await?,
            ))
        }
        Method::POST => {
            let body = take_json(&mut call.json);
            ctx.user_name = body
                .get("userName")
                .and_then(Value::as_str)
                .map(|s| s.chars().take(200).collect());
            let out = service::create(&call.app, &body, &call.base).await?;
            state.metrics.outcome(if out.adopted {
                Outcome::Adopted
            } else {
                Outcome::Created
            });
            Ok(created(&out.answer))
        }
        _ => Ok(method_not_allowed("GET, POST")),
    }
}

/// `/Users/.search`: POST only.
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

/// `/Users/{id}`: GET, PUT, PATCH, DELETE.
pub(super) async fn resource(mut call: Call<'_>, ctx: &mut Ctx) -> Reply {
    let state = call.state;
    let app: &App = &call.app;
    let (id, base) = (call.id.as_str(), call.base.as_str());
    let if_match = call.if_match.as_deref();
    match call.method {
        Method::GET => {
            let a = service::get(app, id, &call.projection()?, base).await?;
            ctx.user_name = user_name_of(&a);
            Ok(resource_response(
                StatusCode::OK,
                &a,
                call.if_none_match.as_deref(),
            ))
        }
        Method::PUT | Method::PATCH => {
            let p = call.projection()?;
            let body = take_json(&mut call.json);
            let a = if call.method == Method::PUT {
                service::replace(app, id, &body, base, if_match).await?
            } else {
                service::patch(app, id, &body, base, if_match).await?
            };
            state
                .metrics
                .outcome(if a.resource.get("active") == Some(&Value::Bool(false)) {
                    Outcome::Deactivated
                } else {
                    Outcome::Updated
                });
            ctx.user_name = user_name_of(&a);
            Ok(with_etag(
                response::json(
                    StatusCode::OK,
                    &p.apply(&app.users.resource_type, a.resource),
                ),
                &a.version,
            ))
        }
        Method::DELETE => {
            service::delete(app, id, if_match).await?;
            if app.users.on_delete == OnDelete::Deactivate {
                state.metrics.outcome(Outcome::Deactivated);
            }
            Ok(response::empty(StatusCode::NO_CONTENT))
        }
        _ => Ok(method_not_allowed("GET, PUT, PATCH, DELETE")),
    }
}

fn user_name_of(a: &Answer) -> Option<String> {
    a.resource
        .get("userName")
        .and_then(Value::as_str)
        .map(str::to_string)
}
