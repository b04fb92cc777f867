//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes[/{id}]` and
//! `/Schemas[/{id}]`, GET only.

use hyper::{Method, Response, StatusCode};
use serde_json::Value;

use super::reply::method_not_allowed;
use super::Call;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::scim::discovery;
use crate::scim::list::list_response;
use crate::scim::resource::ResourceType;
use crate::scim::ScimError;

type Answer = Result<Response<Body>, ApiError>;

/// The resource types served: users, then groups.
fn types<'c>(call: &'c Call<'_>) -> [&'c ResourceType; 2] {
    let app = &call.app;
    [&app.users.resource_type, &app.groups]
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every route handler answers `Answer`"
)]
pub(super) fn service_provider_config(call: &Call<'_>) -> Answer {
    if call.method != Method::GET {
        return Ok(method_not_allowed("GET"));
    }
    Ok(response::json(
        StatusCode::OK,
        &discovery::service_provider_config(&call.base),
    ))
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every route handler answers `Answer`"
)]
pub(super) fn resource_types(call: &Call<'_>) -> Answer {
    if call.method != Method::GET {
        return Ok(method_not_allowed("GET"));
    }
    let rts: Vec<Value> = types(call)
        .iter()
        .map(|rt| discovery::resource_type(rt, &call.base))
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &list_response(rts.len() as u64, 1, rts),
    ))
}

pub(super) fn resource_type(call: &Call<'_>) -> Answer {
    if call.method != Method::GET {
        return Ok(method_not_allowed("GET"));
    }
    let id = &call.id;
    types(call)
        .iter()
        .find(|rt| rt.name == *id)
        .map(|rt| response::json(StatusCode::OK, &discovery::resource_type(rt, &call.base)))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")).into())
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "every route handler answers `Answer`"
)]
pub(super) fn schemas(call: &Call<'_>) -> Answer {
    if call.method != Method::GET {
        return Ok(method_not_allowed("GET"));
    }
    let docs: Vec<Value> = discovery::all_schemas(&types(call))
        .into_iter()
        .map(|s| discovery::schema_doc(s, &call.base))
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &list_response(docs.len() as u64, 1, docs),
    ))
}

pub(super) fn schema(call: &Call<'_>) -> Answer {
    if call.method != Method::GET {
        return Ok(method_not_allowed("GET"));
    }
    let id = &call.id;
    let doc = discovery::all_schemas(&types(call))
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| discovery::schema_doc(s, &call.base));
    doc.map(|d| response::json(StatusCode::OK, &d))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")).into())
}
