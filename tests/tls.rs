//! TLS termination with a self-signed certificate made here, and a SIGHUP reload that swaps
//! the certificate without dropping an open connection.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn self_signed() -> (String, String, rustls_pki_types::CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone())
}

fn connector(trust: &rustls_pki_types::CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(trust.clone()).unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn open(
    addr: &str,
    trust: &rustls_pki_types::CertificateDer<'static>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    connector(trust)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
}

async fn get(
    s: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    path: &str,
    close: bool,
) -> String {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[tokio::test]
async fn tls_terminates_and_reloads_on_sighup_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a, der_a) = self_signed();
    let (cert_b, key_b, der_b) = self_signed();
    std::fs::write(dir.path().join("cert.pem"), &cert_a).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key_a).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert_file = \"cert.pem\"\ntls_key_file = \"key.pem\"\n[database]\nurl = \"sqlite://h.db\"\ncreate_demo = true\n[mapping]\nfile = \"{REPO}/mappings/demo.toml\"\n[log]\nformat = \"json\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("serve")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("scim-bridge ready") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["tls"], true);
            addr = v["listen"].as_str().unwrap().to_string();
            break;
        }
    }
    // TLS with certificate A.
    let mut kept = open(&addr, &der_a)
        .await
        .expect("handshake with certificate A");
    assert!(get(&mut kept, "/healthz", false)
        .await
        .starts_with("HTTP/1.1 200"));
    // Plain HTTP to a TLS port gets nothing useful.
    let mut plain = tokio::net::TcpStream::connect(&addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64];
    let n = plain.read(&mut buf).await.unwrap_or(0);
    assert!(!String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // Swap the files to certificate B and send SIGHUP.
    std::fs::write(dir.path().join("cert.pem"), &cert_b).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key_b).unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    for line in lines.by_ref() {
        if line.unwrap().contains("TLS certificate reloaded") {
            break;
        }
    }
    // New connections get B; A is no longer presented.
    let mut fresh = open(&addr, &der_b)
        .await
        .expect("handshake with certificate B after reload");
    assert!(get(&mut fresh, "/healthz", true)
        .await
        .starts_with("HTTP/1.1 200"));
    assert!(open(&addr, &der_a).await.is_err(), "certificate A is gone");
    // The connection opened before the reload still works.
    assert!(get(&mut kept, "/readyz", true)
        .await
        .starts_with("HTTP/1.1 200"));

    // A broken file on reload keeps B in use.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    for line in lines.by_ref() {
        if line.unwrap().contains("not reloaded") {
            break;
        }
    }
    assert!(open(&addr, &der_b).await.is_ok());
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn tls_needs_both_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[server]\ntls_cert_file = \"cert.pem\"\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("server.tls_cert_file"));
}
