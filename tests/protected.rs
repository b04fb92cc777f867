//! Rows the mapping protects (`[[users.protect]]`: the application's administrators) can't
//! be taken over or changed over SCIM — a token holder POSTing the admin's login with a new
//! email gets 409, and PATCH/PUT/DELETE get 403 — and they stay readable. On SQLite,
//! PostgreSQL and MariaDB, with the demo mapping and the Zammad and GLPI presets.

mod common;

use common::*;
use serde_json::json;

const DEMO_ADMIN: &str = "SELECT CAST(id AS {T}), login, email, firstname, lastname, department, phone, CASE WHEN active THEN '1' ELSE '0' END, role, password, CAST(created_at AS {T}), CAST(updated_at AS {T}) FROM users WHERE id = 1";

async fn the_demo_admin_cannot_be_taken_over(b: Backend) {
    let app = spawn_app(b).await;
    let before = app.rows(DEMO_ADMIN).await;
    assert_eq!(before.len(), 1);

    // Adoption of the admin by its login, with an attacker's email: refused, nothing written.
    let mut takeover = okta_user("admin@helpdesk.example", "Mallory", "Evil");
    takeover["emails"] = json!([{"value": "mallory@evil.example", "primary": true}]);
    let r = app.post("/Users", &takeover).await;
    r.assert_error(409, Some("uniqueness"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("protects") && detail.contains("agents"),
        "{detail}"
    );
    // The same in another spelling (adoption matches case-insensitively).
    let mut takeover = okta_user("ADMIN@Helpdesk.Example", "Mallory", "Evil");
    takeover["emails"] = json!([{"value": "mallory@evil.example", "primary": true}]);
    app.post("/Users", &takeover)
        .await
        .assert_error(409, Some("uniqueness"));

    // The admin stays readable, but no write reaches it.
    assert_eq!(app.get("/Users/1").await.status, 200);
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[primary eq true].value", "value": "mallory@evil.example"}]});
    let r = app.patch("/Users/1", &patch).await;
    r.assert_error(403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("users.protect"));
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "admin@helpdesk.example", "active": false,
        "emails": [{"value": "mallory@evil.example", "primary": true}]});
    app.put("/Users/1", &put).await.assert_error(403, None);
    app.delete("/Users/1").await.assert_error(403, None);
    assert_eq!(
        app.rows(DEMO_ADMIN).await,
        before,
        "the admin row is untouched"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users").await,
        0,
        "no link to the admin"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_audit").await,
        0,
        "refusals leave no audit entry"
    );
    // Everyone else is served as before.
    let r = app
        .post(
            "/Users",
            &okta_user("maria.garcia@acme.example", "María", "García"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.stop().await;
}

/// Zammad's Admin role lives in another table (`roles_users`); GLPI's in a profile column.
async fn preset_administrators_cannot_be_taken_over(b: Backend) {
    let zammad = spawn_helpdesk(b, "zammad", "zammad").await;
    let row =
        "SELECT login, email, CAST(active AS {T}), CAST(updated_at AS {T}) FROM users WHERE id = 2";
    let before = zammad.rows(row).await;
    let mut takeover = okta_user("admin@helpdesk.example", "M", "E");
    takeover["emails"] = json!([{"value": "m@evil.example", "primary": true}]);
    zammad
        .post("/Users", &takeover)
        .await
        .assert_error(409, Some("uniqueness"));
    let deactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    zammad
        .patch("/Users/2", &deactivate)
        .await
        .assert_error(403, None);
    assert_eq!(zammad.rows(row).await, before);
    // An agent (not an admin) is not protected by the preset.
    assert_eq!(zammad.patch("/Users/4", &deactivate).await.status, 200);
    zammad.stop().await;

    let glpi = spawn_helpdesk(b, "glpi", "glpi").await;
    let row =
        "SELECT name, CAST(is_active AS {T}), CAST(date_mod AS {T}) FROM glpi_users WHERE id = 2";
    let before = glpi.rows(row).await;
    glpi.post("/Users", &okta_user("glpi", "M", "E"))
        .await
        .assert_error(409, Some("uniqueness"));
    glpi.patch("/Users/2", &deactivate)
        .await
        .assert_error(403, None);
    assert_eq!(glpi.rows(row).await, before);
    glpi.stop().await;
}

/// `check` lists the protected rows, `import` marks them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_import_list_protected_rows() {
    let app = spawn_app(Backend::Sqlite).await;
    let config = app.dir.path().join("config.toml");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(&["check"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("protected: 1 row(s)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("admin@helpdesk.example") && l.contains("agents")),
        "{out}"
    );
    let (ok, out, err) = run(&["import", "--format", "csv"]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("1,admin@helpdesk.example,protected,")),
        "{out}"
    );
    assert!(err.contains("1 protected"), "{err}");
    app.stop().await;
}

backend_tests!(
    the_demo_admin_cannot_be_taken_over,
    preset_administrators_cannot_be_taken_over,
);
