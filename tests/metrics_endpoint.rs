//! The metrics listener (`metrics.listen`) treats its connections like the SCIM port does: a
//! connection that sends nothing, or stays idle after its answer, is closed after the
//! configured header and idle timeouts, and only a few may be open at once.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; how long that took.
async fn closed_after(s: &mut TcpStream) -> Duration {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return t.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the metrics connection was still open after 10 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_connections_get_the_servers_timeouts_and_cap() {
    let app = spawn_with(
        Backend::Sqlite,
        Options {
            extra_config: "header_timeout_secs = 1\nidle_timeout_secs = 2\n".into(),
            ..Options::default()
        },
    )
    .await;
    // Silent from the start: closed after the header timeout.
    let mut silent = TcpStream::connect(app.metrics_addr).await.unwrap();
    let took = closed_after(&mut silent).await;
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // One scrape on a keep-alive connection, then idle: closed after the idle timeout.
    let mut kept = TcpStream::connect(app.metrics_addr).await.unwrap();
    kept.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
        .await
        .unwrap();
    let mut head = vec![0u8; 64];
    kept.read_exact(&mut head).await.unwrap();
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    let took = closed_after(&mut kept).await;
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // At most MAX_CONNECTIONS open at once: one more is closed at once.
    let mut open = Vec::new();
    for _ in 0..scim_bridge::http::metrics::MAX_CONNECTIONS {
        open.push(TcpStream::connect(app.metrics_addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(app.metrics_addr).await.unwrap();
    let took = closed_after(&mut extra).await;
    assert!(took < Duration::from_millis(500), "{took:?}");
    drop(open);
    // Once they are closed (the server notices within moments), it answers again.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut s = TcpStream::connect(app.metrics_addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        if answer.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer after the others closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
