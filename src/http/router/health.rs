//! `/healthz` and `/readyz`: unauthenticated, outside the SCIM base path.

use hyper::{Response, StatusCode};

use crate::http::response::{self, Body};
use crate::http::state::State;

/// `/healthz`: the process answers.
pub(super) fn healthz() -> Response<Body> {
    response::text(StatusCode::OK, "ok\n")
}

/// `/readyz`: the database answers and the bridge's migrations are applied. It reveals only
/// whether the bridge can serve.
pub(super) async fn readyz(state: &State) -> Response<Body> {
    match crate::store::migrate::current(&state.app.load().db).await {
        Ok(true) => response::text(StatusCode::OK, "ready\n"),
        Ok(false) => response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: migrations pending\n",
        ),
        Err(_) => response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database unreachable\n",
        ),
    }
}
