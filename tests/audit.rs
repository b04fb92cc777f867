//! The audit trail: a row for every change, written in the change's transaction, none for a
//! refused request, never a secret value.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

async fn every_change_is_audited_and_nothing_else(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post("/Users", &okta_user("audit.me@example.com", "Aud", "It"))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let adopted = app
        .post(
            "/Users",
            &okta_user("maria.garcia@acme.example", "María", "García"),
        )
        .await;
    assert_eq!(adopted.status, 201);
    let maria = adopted.body["id"].as_str().unwrap().to_string();
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"name.familyName": "Patched"}}]});
    assert_eq!(app.patch(&format!("/Users/{id}"), &p).await.status, 200);
    // The same PATCH again changes nothing, and leaves no entry.
    assert_eq!(app.patch(&format!("/Users/{id}"), &p).await.status, 200);
    let mut echo = app.get(&format!("/Users/{id}")).await.body;
    echo["name"]["givenName"] = json!("Changed");
    echo["password"] = json!("s3cret-never-logged");
    assert_eq!(app.put(&format!("/Users/{id}"), &echo).await.status, 200);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let gid = app
        .post(
            "/Groups",
            &json!({"displayName": "Audited", "members": [{"value": maria}]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.patch(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]})
        )
        .await
        .status,
        204
    );
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, 204);
    // Refused requests leave no trace.
    app.post("/Users", &okta_user("maria.garcia@acme.example", "X", "Y"))
        .await
        .assert_error(409, Some("uniqueness"));
    // A user deleted over SCIM is no group member.
    app.post(
        "/Groups",
        &json!({"displayName": "Ghosts", "members": [{"value": id}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.patch(&format!("/Users/{maria}"), &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "maybe"}]})).await.assert_error(400, Some("invalidValue"));
    // ...and answers 404 to everything.
    app.patch(&format!("/Users/{id}"), &p)
        .await
        .assert_error(404, None);
    app.post(
        "/Groups",
        &json!({"displayName": "Bad", "members": [{"value": "999999"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));

    let rows = app.rows("SELECT token_name, resource_type, operation, user_name, attributes FROM scim_audit ORDER BY id").await;
    let ops: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[1].clone().unwrap(), r[2].clone().unwrap()))
        .collect();
    let want: Vec<(String, String)> = [
        ("User", "create"),
        ("User", "adopt"),
        ("User", "patch"),
        ("User", "replace"),
        ("User", "deactivate"),
        ("Group", "create"),
        ("Group", "update"),
        ("Group", "delete"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(ops, want);
    assert!(
        rows.iter()
            .all(|r| r[0].as_deref() == Some(app.token_name.as_str())),
        "the token's name, never the token"
    );
    assert_eq!(rows[2][4].as_deref(), Some("name"));
    assert_eq!(rows[3][4].as_deref(), Some("name"));
    assert_eq!(rows[4][4].as_deref(), Some("active"));
    assert_eq!(rows[0][3].as_deref(), Some("audit.me@example.com"));
    assert!(rows[6][4]
        .as_deref()
        .unwrap()
        .contains("members(replaced with 0)"));
    let everything = app.rows("SELECT attributes FROM scim_audit").await;
    assert!(everything
        .iter()
        .flatten()
        .flatten()
        .all(|a| !a.contains("s3cret") && !a.contains("password")));

    // The CLI reads it, filtered.
    let config = app.dir.path().join("config.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args([
            "audit",
            "--user",
            "AUDIT.ME@example.com",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        entries.len(),
        4,
        "create, patch, replace, deactivate: {entries:?}"
    );
    assert_eq!(entries[0]["operation"], "deactivate", "newest first");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["audit", "--operation", "adopt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("maria.garcia@acme.example") && !text.contains("audit.me"),
        "{text}"
    );
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["audit", "--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    app.stop().await;
}

backend_tests!(every_change_is_audited_and_nothing_else);
