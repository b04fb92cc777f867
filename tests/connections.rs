//! Connection-level behaviour against a real server over real sockets: idle and silent
//! connections are closed on time, the connection caps hold without starving other clients,
//! half-closed requests are answered, early errors on large bodies are read by the client
//! rather than lost to a reset, and accept errors (EMFILE) are backed off.
//!
//! All of it happens below the database, so these tests run on SQLite only.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use common::*;

/// Loopback addresses standing for different clients (all of 127/8 is local on Linux).
const CROWD: [u8; 4] = [127, 0, 0, 2];
const OTHER: [u8; 4] = [127, 0, 0, 1];

async fn spawn(server: &str) -> TestApp {
    spawn_with(
        Backend::Sqlite,
        Options {
            extra_config: server.to_string(),
            ..Default::default()
        },
    )
    .await
}

/// A connection to `addr` from the local address `from`.
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::from((from, 0))).unwrap();
    s.connect(addr).await.expect("connect")
}

/// Resolves when the server has closed the connection (end of stream or reset); whatever it
/// sent before is discarded.
async fn closed<S: AsyncRead + Unpin>(s: &mut S) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Whether the server has closed `s` by now, without waiting.
fn is_closed(s: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    match s.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Reads one HTTP/1.1 response framed by Content-Length: status, head, body.
async fn read_response<S: AsyncRead + Unpin>(s: &mut S) -> std::io::Result<(u16, String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    Ok((status, head, body))
}

async fn get_on<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    path: &str,
    token: &str,
) -> (u16, String) {
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let (status, _, body) = read_response(s).await.expect("a response");
    (status, body)
}

/// `GET /healthz` on a new connection of the harness' client, timed.
async fn healthz(app: &TestApp) -> (StatusCode, Duration) {
    let started = Instant::now();
    let r = app
        .raw(
            Request::get(format!("http://{}/healthz", app.addr))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
    (r.status, started.elapsed())
}

/// Makes room for `n` open files in this test process: the soft limit is raised to `n` with
/// util-linux `prlimit` when it is lower (the hard limit is usually far higher).
fn ensure_open_files(n: u64) {
    let soft = scim_bridge::http::connections::open_file_limit().unwrap_or(u64::MAX);
    if soft >= n {
        return;
    }
    let ok = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={n}:"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && scim_bridge::http::connections::open_file_limit().unwrap_or(0) >= n,
        "this test needs {n} open files; the limit is {soft} (raise it with `ulimit -n {n}`)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_idle_sockets_neither_slow_others_nor_stay_open() {
    const IDLE: usize = 3000;
    ensure_open_files(8192);
    let app = spawn(
        "max_connections = 5000\nmax_connections_per_address = 5000\nheader_timeout_secs = 3\n",
    )
    .await;
    let mut idle = Vec::with_capacity(IDLE);
    let first = Instant::now();
    for _ in 0..IDLE {
        idle.push(connect_from(CROWD, app.addr).await);
    }
    let opened = first.elapsed();

    let (status, took) = healthz(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    let started = Instant::now();
    let users = app.get("/Users?count=2").await;
    let users_took = started.elapsed();
    assert_eq!(users.status, StatusCode::OK, "{}", users.body);
    assert!(
        users_took < Duration::from_secs(1),
        "GET /Users took {users_took:?}"
    );
    eprintln!(
        "{IDLE} idle sockets opened in {opened:?}; /healthz {took:?}, GET /Users {users_took:?}"
    );

    // All still held by the server (none refused, none closed early)...
    let checked = first.elapsed();
    assert!(
        checked < Duration::from_secs(3),
        "too slow to check before the timeout"
    );
    assert_eq!(idle.iter().filter(|s| is_closed(s)).count(), 0);
    // ...until the header timeout closes every one of them.
    let mut waiting = tokio::task::JoinSet::new();
    for mut s in idle {
        waiting.spawn(async move { closed(&mut s).await });
    }
    tokio::time::timeout(Duration::from_secs(3 + 3) + opened, waiting.join_all())
        .await
        .expect("idle sockets closed after the header timeout");
    let all_closed = first.elapsed();
    assert!(all_closed >= Duration::from_secs(3), "{all_closed:?}");
    eprintln!("all {IDLE} closed {all_closed:?} after the first connect");
    // And the server still serves.
    assert_eq!(healthz(&app).await.0, StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_unfinished_openings_are_closed_after_the_header_timeout() {
    let app = spawn("header_timeout_secs = 1\n").await;
    let certs = tempfile::tempdir().unwrap();
    let tls = spawn(&format!(
        "header_timeout_secs = 1\n{}",
        self_signed(certs.path()).0
    ))
    .await;
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    let openings: [(&str, SocketAddr, Vec<u8>); 5] = [
        ("nothing", app.addr, vec![]),
        // hyper-util reads up to 24 bytes to tell HTTP/2 from HTTP/1: stuck in detection.
        ("half an HTTP/2 preface", app.addr, PREFACE[..12].to_vec()),
        (
            "an HTTP/2 preface and SETTINGS, no request",
            app.addr,
            [PREFACE, EMPTY_SETTINGS].concat(),
        ),
        (
            "unfinished HTTP/1.1 headers",
            app.addr,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec(),
        ),
        ("nothing, to the TLS port", tls.addr, vec![]),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for (what, addr, bytes) in openings {
        tasks.spawn(async move {
            let started = Instant::now();
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&bytes).await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            let r = tokio::time::timeout(Duration::from_secs(5), async {
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            })
            .await;
            let took = started.elapsed();
            assert!(r.is_ok(), "{what}: still open after 5 s");
            assert!(
                took >= Duration::from_millis(900) && took < Duration::from_millis(3500),
                "{what}: closed after {took:?}"
            );
            (what, got)
        });
    }
    for (what, got) in tasks.join_all().await {
        if what.starts_with("an HTTP/2 preface") {
            // Served as HTTP/2: the server's SETTINGS frame came first (type 4).
            assert!(got.len() >= 9 && got[3] == 4, "{what}: {got:?}");
        }
    }
    app.stop().await;
    tls.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_but_requests_in_progress_are_not() {
    let app = spawn("header_timeout_secs = 10\nidle_timeout_secs = 1\n").await;

    // HTTP/1.1 keep-alive: open after a request, closed after the idle timeout.
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(get_on(&mut s, "/healthz", "").await.0, 200);
    let answered = Instant::now();
    assert_eq!(get_on(&mut s, "/healthz", "").await.0, 200, "keep-alive");
    tokio::time::timeout(Duration::from_secs(5), closed(&mut s))
        .await
        .expect("idle HTTP/1.1 connection closed");
    let took = answered.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3000),
        "HTTP/1.1 idle close after {took:?}"
    );

    // HTTP/2: a request, then no stream: GOAWAY and close after the idle timeout.
    let io = hyper_util::rt::TokioIo::new(TcpStream::connect(app.addr).await.unwrap());
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let r = send
        .send_request(
            Request::get(format!("http://{}/healthz", app.addr))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.version(), hyper::Version::HTTP_2);
    r.into_body().collect().await.unwrap();
    let answered = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .expect("idle HTTP/2 connection closed")
        .unwrap()
        .expect("closed gracefully (GOAWAY), not broken");
    let took = answered.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3000),
        "HTTP/2 idle close after {took:?}"
    );

    // A request whose body takes longer than the idle timeout is in progress, not idle.
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let body = serde_json::to_vec(&okta_user("slow.body@example.com", "Slow", "Body")).unwrap();
    s.write_all(
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
            app.token,
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    for part in body.chunks(body.len() / 3 + 1) {
        // The client is slow: 0.6 s between parts, 1.8 s in all.
        tokio::time::sleep(Duration::from_millis(600)).await;
        s.write_all(part).await.unwrap();
    }
    let (status, _, answer) = read_response(&mut s).await.expect("answered");
    assert_eq!(status, 201, "{answer}");
    app.stop().await;
}

/// The sockets the server has not closed within `wait` (the others it closed meanwhile).
async fn still_open(socks: Vec<TcpStream>, wait: Duration) -> Vec<TcpStream> {
    let mut tasks = tokio::task::JoinSet::new();
    for mut s in socks {
        tasks.spawn(async move {
            match tokio::time::timeout(wait, closed(&mut s)).await {
                Ok(()) => None,
                Err(_) => Some(s),
            }
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_over_its_cap_is_refused_promptly_and_others_are_served() {
    let app = spawn(
        "max_connections = 1000\nmax_connections_per_address = 20\nheader_timeout_secs = 10\n",
    )
    .await;
    let mut socks = Vec::new();
    for _ in 0..60 {
        socks.push(connect_from(CROWD, app.addr).await);
    }
    let started = Instant::now();
    let open = still_open(socks, Duration::from_secs(1)).await;
    assert_eq!(open.len(), 20, "the first 20 are held, 40 closed");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Another client is served meanwhile.
    let mut other = connect_from(OTHER, app.addr).await;
    assert_eq!(get_on(&mut other, "/healthz", "").await.0, 200);
    let (status, body) = get_on(&mut other, "/scim/v2/Users?count=1", &app.token).await;
    assert_eq!(status, 200, "{body}");

    // The crowd's next connection is closed without an answer...
    let mut extra = connect_from(CROWD, app.addr).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        read_response(&mut extra).await.is_err(),
        "over the cap: closed"
    );
    // ...until one of its connections closes and frees a place. The server learns of the
    // close asynchronously, so a few attempts may be needed.
    let mut open = open;
    drop(open.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut s = connect_from(CROWD, app.addr).await;
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        if matches!(read_response(&mut s).await, Ok((200, _, _))) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "a freed place is given to the next connection");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_total_cap_new_connections_are_closed_promptly() {
    let app =
        spawn("max_connections = 30\nmax_connections_per_address = 30\nheader_timeout_secs = 10\n")
            .await;
    let mut socks = Vec::new();
    for _ in 0..30 {
        socks.push(connect_from(CROWD, app.addr).await);
    }
    let open = still_open(socks, Duration::from_millis(500)).await;
    assert_eq!(open.len(), 30, "all 30 held");
    let started = Instant::now();
    let mut late = connect_from(OTHER, app.addr).await;
    let _ = late
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(read_response(&mut late).await.is_err(), "refused");
    assert!(started.elapsed() < Duration::from_secs(1), "promptly");
    drop(open);
    app.stop().await;
}

fn request_with_body(method: &str, path: &str, token: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `request`, shuts down the sending side, and reads everything until the server closes.
async fn half_closed<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, request: &str) -> String {
    s.write_all(request.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut got = Vec::new();
    // A TLS peer may end without close_notify; what was read before counts.
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).to_string()
}

fn self_signed(dir: &std::path::Path) -> (String, rustls_pki_types::CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (
        format!(
            "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
            c.display(),
            k.display()
        ),
        cert.der().clone(),
    )
}

async fn tls_connect(
    addr: SocketAddr,
    trust: &rustls_pki_types::CertificateDer<'static>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    let mut roots = RootCertStore::empty();
    roots.add(trust.clone()).unwrap();
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            "localhost".try_into().unwrap(),
            TcpStream::connect(addr).await.unwrap(),
        )
        .await
        .expect("TLS handshake")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_requests_are_answered_in_plain_http_and_tls() {
    let certs = tempfile::tempdir().unwrap();
    let (tls_config, trust) = self_signed(certs.path());
    let plain = spawn("").await;
    let tls = spawn(&tls_config).await;
    let user = |n: &str| okta_user(&format!("half.{n}@example.com"), "Half", "Closed").to_string();

    // Plain HTTP: a read that goes to the database, and a create.
    let mut s = TcpStream::connect(plain.addr).await.unwrap();
    let got = half_closed(
        &mut s,
        &format!(
            "GET /scim/v2/Users?count=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            plain.token
        ),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 200") && got.contains("\"Resources\""),
        "{got}"
    );
    let mut s = TcpStream::connect(plain.addr).await.unwrap();
    let got = half_closed(
        &mut s,
        &request_with_body("POST", "/scim/v2/Users", &plain.token, &user("plain")),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 201") && got.contains("half.plain@example.com"),
        "{got}"
    );

    // TLS: shutdown sends close_notify, then the TCP FIN.
    let mut s = tls_connect(tls.addr, &trust).await;
    let got = half_closed(
        &mut s,
        &format!(
            "GET /scim/v2/Users?count=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            tls.token
        ),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 200") && got.contains("\"Resources\""),
        "TLS: {got}"
    );
    let mut s = tls_connect(tls.addr, &trust).await;
    let got = half_closed(
        &mut s,
        &request_with_body("POST", "/scim/v2/Users", &tls.token, &user("tls")),
    )
    .await;
    assert!(
        got.starts_with("HTTP/1.1 201") && got.contains("half.tls@example.com"),
        "TLS: {got}"
    );
    plain.stop().await;
    tls.stop().await;
}

/// Sends the head of a `POST /Users` announcing `announced` body bytes, then `sent` of them,
/// then reads the answer. The socket's send buffer is small, so the writes complete only as
/// fast as the server reads, as with a real network between them.
async fn early_answer(
    addr: SocketAddr,
    token: &str,
    announced: usize,
    sent: usize,
) -> std::io::Result<(u16, String, TcpStream)> {
    let sock = TcpSocket::new_v4()?;
    sock.set_send_buffer_size(64 << 10)?;
    let mut s = sock.connect(addr).await?;
    s.write_all(
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {announced}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    s.write_all(&vec![b' '; sent]).await?;
    let (status, _, body) = read_response(&mut s).await?;
    Ok((status, body, s))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_errors_on_large_bodies_reach_the_client() {
    use scim_bridge::http::drain::DRAIN_MAX_TIME;
    let app = spawn("").await;
    let error = "urn:ietf:params:scim:api:messages:2.0:Error";
    // 401 for a bad token; 413 for a Content-Length over body_limit_bytes (1 MiB).
    let cases = [("scimb_not_a_token", 401), (app.token.as_str(), 413)];

    // A client that writes the whole 4 MiB body before it reads: the server reads it away
    // after answering, so the writes complete and the answer is there to read.
    for (token, status) in cases {
        let (got, body, mut s) = early_answer(app.addr, token, 4 << 20, 4 << 20)
            .await
            .unwrap_or_else(|e| panic!("{status} lost to {e}"));
        assert_eq!(got, status, "{body}");
        assert!(body.contains(error), "{body}");
        // Drained to its end: the connection is still good for another request.
        assert_eq!(get_on(&mut s, "/healthz", "").await.0, 200, "kept alive");
    }

    // A client that sends 256 KiB of the announced 4 MiB and stops to read the answer: once
    // the drain gives up, the connection ends with a clean close, not a reset (which would
    // have destroyed an answer still unread).
    let mut stopped = tokio::task::JoinSet::new();
    for (token, status) in cases {
        let (addr, token) = (app.addr, token.to_string());
        stopped.spawn(async move {
            let (got, body, mut s) = early_answer(addr, &token, 4 << 20, 256 << 10)
                .await
                .unwrap_or_else(|e| panic!("{status} lost to {e}"));
            assert_eq!(got, status, "{body}");
            let mut rest = Vec::new();
            let end = tokio::time::timeout(
                DRAIN_MAX_TIME + Duration::from_secs(3),
                s.read_to_end(&mut rest),
            )
            .await
            .expect("closed once the drain gives up");
            assert!(
                end.is_ok(),
                "{status}: the connection ended with {end:?}, not a clean close"
            );
            assert!(rest.is_empty());
        });
    }
    stopped.join_all().await;
    app.stop().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

/// The bridge as a process, with the open-file limit far below its connection cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_errors_back_off_and_are_logged_at_most_once_a_second() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    const FILES: u64 = 128;
    const CROWD_SIZE: usize = 250;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nmax_connections = 1000\nmax_connections_per_address = 1000\nheader_timeout_secs = 1\n[database]\nurl = \"sqlite://h.db\"\ncreate_demo = true\n[mapping]\nfile = \"{REPO}/mappings/demo.toml\"\n[log]\nformat = \"json\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["token", "create", "--name", "t"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {FILES} && exec \"$0\" --config \"$1\" serve"
        ))
        .arg(BIN)
        .arg(&config)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Every log line, with the moment it arrived.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<(Instant, String)>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    let mut warned = false;
    let addr: SocketAddr = loop {
        let (_, line) = tokio::time::timeout(Duration::from_secs(30), lines.recv())
            .await
            .expect("the bridge starts")
            .expect("the bridge is running");
        warned |= line.contains(&format!("the limit is {FILES}"));
        if line.contains("scim-bridge ready") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["listen"].as_str().unwrap().parse().unwrap();
        }
    };
    assert!(
        warned,
        "a warning that max_connections exceeds the open-file limit"
    );

    // A client connected before the crowd.
    let mut kept = connect_from(OTHER, addr).await;
    assert_eq!(
        get_on(&mut kept, "/scim/v2/Users?count=1", &token).await.0,
        200
    );
    // The crowd: more idle connections than the process can open files.
    let mut crowd = Vec::new();
    for _ in 0..CROWD_SIZE {
        crowd.push(connect_from(CROWD, addr).await);
    }
    let first_failure = loop {
        let (at, line) = tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .expect("accept runs out of file descriptors")
            .unwrap();
        if line.contains("accept failed") {
            break (at, line);
        }
    };
    // The client already connected is served at once: the loop is not spinning on EMFILE.
    for path in ["/healthz", "/scim/v2/Users?count=1"] {
        let started = Instant::now();
        assert_eq!(get_on(&mut kept, path, &token).await.0, 200, "{path}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "{path} took {took:?}");
        eprintln!("at EMFILE, {path} on an open connection: {took:?}");
    }
    // As the header timeout closes the crowd's connections, the queued ones are accepted in
    // turn and closed too...
    let mut waiting = tokio::task::JoinSet::new();
    for mut s in crowd {
        waiting.spawn(async move { closed(&mut s).await });
    }
    tokio::time::timeout(Duration::from_secs(20), waiting.join_all())
        .await
        .expect("every queued connection is eventually accepted and closed");
    // ...and new clients are served again.
    let mut fresh = connect_from(OTHER, addr).await;
    let started = Instant::now();
    assert_eq!(get_on(&mut fresh, "/healthz", "").await.0, 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    // At most one "accept failed" line a second.
    let mut failures = vec![first_failure];
    while let Ok((at, line)) = lines.try_recv() {
        if line.contains("accept failed") {
            failures.push((at, line));
        }
    }
    let span = failures.last().unwrap().0.duration_since(failures[0].0);
    let counted: u64 = failures
        .iter()
        .map(|(_, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            1 + v["fields"]["failures_since_last_line"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    eprintln!(
        "{} 'accept failed' lines over {span:?}, reporting {counted} failed accepts",
        failures.len()
    );
    for pair in failures.windows(2) {
        let apart = pair[1].0.duration_since(pair[0].0);
        assert!(
            apart >= Duration::from_millis(900),
            "two 'accept failed' lines {apart:?} apart"
        );
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
