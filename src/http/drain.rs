//! Unread request bodies are drained before the connection closes. When the bridge answers
//! early — 401 for a bad token, 413 for a too-large Content-Length, 415, 429 — the body is
//! still on its way. If the server closed the socket with that data unread, the kernel would
//! answer it with a TCP reset, and a reset makes the client's kernel throw away the response
//! it had not read yet: the client would see "connection reset" instead of the 401.
//!
//! So a request body dropped before its end is handed to a task that reads and discards the
//! rest, bounded by [`DRAIN_MAX_BYTES`] and [`DRAIN_MAX_TIME`], while hyper sends the answer.
//! A body drained to its end even leaves the connection usable for the next request; past the
//! bounds the task gives up and the connection closes as before.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// The most an abandoned body is read for.
pub const DRAIN_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// The longest an abandoned body is read for: time for the client to read the answer.
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(3);

/// A request body that drains itself when dropped unfinished.
pub struct Draining {
    inner: Option<Incoming>,
    drain_on_drop: bool,
}

impl Draining {
    /// `drain_on_drop` is for HTTP/1 bodies the client is sending anyway; an HTTP/2 stream is
    /// simply reset, and a client waiting for `100 Continue` sends no body after a final
    /// answer, so draining would only make hyper invite it.
    pub fn new(body: Incoming, drain_on_drop: bool) -> Self {
        Draining {
            inner: Some(body),
            drain_on_drop,
        }
    }
}

impl Body for Draining {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.inner.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if !self.drain_on_drop || body.is_end_stream() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(discard(body));
        }
    }
}

/// Reads and discards `body` within the bounds; the bytes read.
pub async fn discard(mut body: Incoming) -> u64 {
    let mut read = 0u64;
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
        while read <= DRAIN_MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                }
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
    read
}
