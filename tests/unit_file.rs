//! The systemd unit: hardening keys present, systemd's own exposure score within 2.0, and an
//! open-file limit above the connection cap.

use std::collections::HashMap;
use std::process::Command;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/scim-bridge.service");

fn keys() -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(UNIT).unwrap();
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
    {
        let (k, v) = line.split_once('=').unwrap();
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    map
}

#[test]
fn unit_is_hardened() {
    let k = keys();
    let one = |name: &str| k.get(name).and_then(|v| v.last()).map(String::as_str);
    assert_eq!(one("Type"), Some("notify"));
    assert!(one("WatchdogSec").is_some());
    assert_eq!(one("DynamicUser"), Some("yes"));
    // A named unprivileged user: the package's static one, else a dynamic one of that name.
    assert_eq!(one("User"), Some("scim-bridge"));
    assert_eq!(one("Group"), Some("scim-bridge"));
    for (key, want) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictNamespaces", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("UMask", "0077"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(one(key), Some(want), "{key}");
    }
    assert!(k["SystemCallFilter"].iter().any(|v| v == "@system-service"));
    assert_eq!(one("StateDirectory"), Some("scim-bridge"));
    assert_eq!(one("ConfigurationDirectory"), Some("scim-bridge"));
    assert!(one("EnvironmentFile").is_some_and(|f| f.contains("/etc/scim-bridge/")));
    assert!(k["ExecStart"][0].ends_with("serve"));
}

#[test]
fn reload_sends_sighup_to_the_main_process() {
    // config.toml promises that `systemctl reload` re-reads the TLS files: serve re-reads them
    // on SIGHUP (tests/cli.rs checks that a SIGHUP without TLS does not end it).
    let k = keys();
    assert_eq!(
        k.get("ExecReload").map(Vec::as_slice),
        Some(&["/bin/kill -HUP $MAINPID".to_string()][..])
    );
    let config =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")).unwrap();
    assert!(config.contains("`systemctl reload scim-bridge` (SIGHUP) re-reads them"));
}

#[test]
fn systemd_verifies_the_unit() {
    // `systemd-analyze verify` checks every directive; it also wants the ExecStart binary,
    // so the unit is verified with the path pointed at the binary cargo built.
    let Ok(v) = Command::new("systemd-analyze").arg("--version").output() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: systemd-analyze not installed; unit not verified"
        );
        return;
    };
    assert!(v.status.success());
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("scim-bridge.service");
    let text = std::fs::read_to_string(UNIT).unwrap().replace(
        "/usr/local/bin/scim-bridge",
        env!("CARGO_BIN_EXE_scim-bridge"),
    );
    std::fs::write(&unit, text).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // Dependencies on units this machine does not have (postgresql.service …) are not the
    // unit's fault; anything else is.
    let problems: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.contains("not found") && !l.contains("Failed to load"))
        .collect();
    assert!(out.status.success() || problems.is_empty(), "{text}");
    assert!(problems.is_empty(), "{text}");
}

#[test]
fn open_file_limit_is_above_the_connection_cap() {
    let k = keys();
    let limit: u64 = k
        .get("LimitNOFILE")
        .and_then(|v| v.last())
        .expect("LimitNOFILE= is set")
        .parse()
        .expect("a number (soft and hard alike)");
    let shipped = scim_bridge::config::Settings::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config.toml"
    )))
    .unwrap();
    let cap = shipped.server.max_connections;
    // The same check `serve` warns with at start-up: connections, database pool (as shipped,
    // derived from the backend: at most PoolSize::MAX_DERIVED), reserve.
    assert_eq!(shipped.database.pool_size, 0, "derived");
    assert_eq!(
        scim_bridge::http::connections::fd_limit_warning(
            cap,
            scim_bridge::store::PoolSize::MAX_DERIVED as u64 * 2,
            Some(limit)
        ),
        None,
        "LimitNOFILE={limit} leaves no room for max_connections = {cap}"
    );
    // Room for a raised cap too, not just the default.
    assert!(limit >= 2 * cap as u64, "LimitNOFILE={limit}, cap {cap}");
}

#[test]
fn systemd_exposure_is_at_most_2() {
    let Ok(out) = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", UNIT])
        .output()
    else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: systemd-analyze not installed; exposure score not checked"
        );
        return;
    };
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{text}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(score <= 2.0, "{line}");
}
