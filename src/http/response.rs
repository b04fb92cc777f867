//! Building responses: SCIM JSON bodies with `application/scim+json`, SCIM errors, and bodies
//! streamed from a channel (a large group's members).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::scim::ScimError;

/// Every response body: a complete buffer, or chunks from a channel. An error ends a streamed
/// response early (the client sees a truncated body, never a wrong one).
pub type Body = BoxBody<Bytes, std::io::Error>;

pub const SCIM_JSON: &str = "application/scim+json";

fn full(b: Bytes) -> Body {
    Full::new(b).map_err(|never| match never {}).boxed()
}

pub fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r
}

pub fn error(e: &ScimError) -> Response<Body> {
    json(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        &e.to_json(),
    )
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// A body from owned text.
pub fn full_text(s: String) -> Body {
    full(Bytes::from(s))
}

pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A body fed by a producer task through a bounded channel, so memory stays flat however large
/// the response: the producer waits while the client is slow.
struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// A streamed SCIM JSON response and the sender its producer writes to.
pub fn streamed(
    status: StatusCode,
) -> (Response<Body>, mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let (tx, rx) = mpsc::channel(8);
    let mut r = Response::new(ChannelBody { rx }.boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    (r, tx)
}
