//! Deprovisioning actions (issue 16), over HTTP against `tests/fixtures/helpdesks/deprov` — an
//! application with no disabled column — with ONE mapping file on SQLite, PostgreSQL and
//! MariaDB: a deactivation (PATCH, PUT, DELETE) scrambles the password, stamps `locked_at` and
//! deletes the user's sessions in the same transaction; a reactivation clears the stamp; a
//! request re-sending the state the user is in does nothing. Without `active` and without
//! actions a deactivation is refused with 400 instead of pretending.
//!
//! Every write is checked on the whole host rows it touched and on those it must not touch.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn mapping_path() -> String {
    format!("{REPO}/tests/fixtures/helpdesks/deprov/mapping.toml")
}

async fn spawn_with_mapping(b: Backend, mapping: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "deprov").await;
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, mapping).unwrap();
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: path.display().to_string(),
            extra_config: String::new(),
        },
    )
    .await
}

type Rows = Vec<Vec<(String, Option<String>)>>;

async fn accounts(app: &TestApp) -> Rows {
    app.whole_rows("accounts", "1=1", "id").await
}

async fn sessions(app: &TestApp, filter: &str) -> Rows {
    app.whole_rows("sessions", filter, "id").await
}

/// One account's row by column.
async fn account(app: &TestApp, id: &str) -> HashMap<String, Option<String>> {
    let mut rows = app
        .whole_rows("accounts", &format!("id = {id}"), "id")
        .await;
    assert_eq!(rows.len(), 1, "{id}: {rows:?}");
    rows.remove(0).into_iter().collect()
}

/// (row id, column) of every value that differs between two snapshots of the same rows.
fn changed(before: &Rows, after: &Rows) -> Vec<String> {
    assert_eq!(before.len(), after.len(), "{before:?}\n{after:?}");
    let mut out = Vec::new();
    for (b, a) in before.iter().zip(after) {
        let id = b[0].1.clone().unwrap_or_default();
        for ((c, bv), (_, av)) in b.iter().zip(a) {
            if bv != av {
                out.push(format!("{id}.{c}"));
            }
        }
    }
    out
}

fn active(value: bool) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": value}}]})
}

fn carol(active: bool) -> Value {
    json!({"schemas": [USER], "userName": "carol",
        "emails": [{"value": "carol@example.com", "primary": true}], "active": active})
}

/// Moves `updated_at` into the past, so that a write within the same second (MariaDB keeps
/// whole seconds) still shows.
async fn age(app: &TestApp, id: &str) {
    app.exec(&format!(
        "UPDATE accounts SET updated_at = '2020-01-01 00:00:00' WHERE id = {id}"
    ))
    .await;
}

async fn add_session(app: &TestApp, user: &str, token: &str) {
    app.exec(&format!(
        "INSERT INTO sessions (user_id, token, kind) VALUES ({user}, '{token}', 'web')"
    ))
    .await;
}

/// PATCH, PUT and DELETE each deactivate once: the account's password, `locked_at` and
/// `updated_at` change and its sessions go, nothing else anywhere; re-sending the state
/// changes nothing; reactivation clears the stamp and keeps the scrambled password.
async fn actions_run_when_active_changes_and_only_then(b: Backend) {
    let mapping = std::fs::read_to_string(mapping_path()).unwrap();
    let app = spawn_with_mapping(b, &mapping).await;
    let r = app.post("/Users", &carol(true)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    add_session(&app, &id, "carol-1").await;
    add_session(&app, &id, "carol-2").await;
    let others = format!("user_id <> {id}");
    let other_sessions = sessions(&app, &others).await;
    assert_eq!(other_sessions.len(), 3);

    // PATCH active=false: the actions, in the same request.
    age(&app, &id).await;
    let before = accounts(&app).await;
    let password = account(&app, &id).await["password"].clone().unwrap();
    let t0 = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    let r = app.patch(&format!("/Users/{id}"), &active(false)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false, "{}", r.body);
    let after = accounts(&app).await;
    assert_eq!(
        changed(&before, &after),
        [
            format!("{id}.password"),
            format!("{id}.locked_at"),
            format!("{id}.updated_at")
        ]
    );
    let a = account(&app, &id).await;
    let scrambled = a["password"].clone().unwrap();
    assert!(
        scrambled.len() == 40 && scrambled != password,
        "{scrambled}"
    );
    let locked = a["locked_at"].as_deref().unwrap();
    let locked = chrono::NaiveDateTime::parse_from_str(locked, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("{locked}: {e}"));
    assert!(locked >= t0, "{locked} is the time of the deactivation");
    assert!(sessions(&app, &format!("user_id = {id}")).await.is_empty());
    assert_eq!(sessions(&app, &others).await, other_sessions);
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["active"], false, "{}", r.body);

    // The same state again (PATCH, then PUT): nothing written, a new session stays.
    add_session(&app, &id, "carol-3").await;
    age(&app, &id).await;
    let (before, before_sessions) = (accounts(&app).await, sessions(&app, "1=1").await);
    let r = app.patch(&format!("/Users/{id}"), &active(false)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.put(&format!("/Users/{id}"), &carol(false)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(accounts(&app).await, before);
    assert_eq!(sessions(&app, "1=1").await, before_sessions);

    // Reactivation (PUT): the stamp cleared; the password stays scrambled; sessions stay.
    let r = app.put(&format!("/Users/{id}"), &carol(true)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], true, "{}", r.body);
    let after = accounts(&app).await;
    assert_eq!(
        changed(&before, &after),
        [format!("{id}.locked_at"), format!("{id}.updated_at")]
    );
    assert_eq!(
        account(&app, &id).await["password"].as_deref(),
        Some(scrambled.as_str())
    );
    assert_eq!(sessions(&app, "1=1").await, before_sessions);

    // PUT active=false deactivates; DELETE of an inactive user deactivates nothing more.
    age(&app, &id).await;
    let before = accounts(&app).await;
    let r = app.put(&format!("/Users/{id}"), &carol(false)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = accounts(&app).await;
    assert_eq!(
        changed(&before, &after).len(),
        3,
        "{:?}",
        changed(&before, &after)
    );
    assert!(sessions(&app, &format!("user_id = {id}")).await.is_empty());
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(accounts(&app).await, after);
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 404);

    // DELETE of an active user (ann, as the application made her): the actions run.
    let before = accounts(&app).await;
    let r = app.delete("/Users/1").await;
    assert_eq!(r.status, 204, "{}", r.body);
    let after = accounts(&app).await;
    assert_eq!(
        changed(&before, &after),
        ["1.password", "1.locked_at", "1.updated_at"]
    );
    assert!(sessions(&app, "user_id = 1").await.is_empty());
    assert_eq!(
        sessions(&app, "user_id = 2").await.len(),
        1,
        "bob's session untouched"
    );
    app.stop().await;
}

/// Without an `active` column and without actions: `check` warns; PATCH and PUT setting
/// active=false answer 400 and change nothing; re-sending active=true is fine. With the
/// actions, `check` lists them.
async fn without_actions_deactivation_is_refused(b: Backend) {
    let full = std::fs::read_to_string(mapping_path()).unwrap();
    let cut = full.find("[users.on_deactivate]").unwrap();
    let bare = full[..cut].replace("on_delete = \"deactivate\"", "on_delete = \"ignore\"");
    let app = spawn_with_mapping(b, &bare).await;
    let (rows, all_sessions) = (accounts(&app).await, sessions(&app, "1=1").await);
    let r = app.patch("/Users/2", &active(false)).await;
    r.assert_error(400, Some("mutability"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("cannot deactivate users") && detail.contains("[users.on_deactivate]"),
        "{detail}"
    );
    let r = app
        .put(
            "/Users/2",
            &json!({"schemas": [USER], "userName": "bob", "active": false}),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    assert_eq!(accounts(&app).await, rows);
    assert_eq!(sessions(&app, "1=1").await, all_sessions);
    assert_eq!(app.get("/Users/2").await.body["active"], Value::Null);
    let r = app.patch("/Users/2", &active(true)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(accounts(&app).await, rows);

    let (ok, out) = app.check(&bare);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: users.on_deactivate: no column holds \"active\"")
            && out.contains("answers 400"),
        "{out}"
    );
    let (ok, out) = app.check(&full);
    assert!(ok && out.contains("0 error(s)"), "{out}");
    assert!(
        out.contains("on_deactivate (when the identity provider changes active")
            && out.contains("set password ← random 40 characters (alphanumeric), new each time")
            && out.contains("set locked_at ← now")
            && out.contains("delete rows of sessions where user_id = user key")
            && out.contains("set locked_at ← NULL"),
        "{out}"
    );
    let typo = full.replace("parent = \"user_id\"", "parent = \"userid\"");
    let (ok, out) = app.check(&typo);
    assert!(!ok, "{out}");
    assert!(
        out.contains("users.on_deactivate.delete[0].parent")
            && out.contains("did you mean id or user_id"),
        "{out}"
    );
    app.stop().await;
}

backend_tests!(
    actions_run_when_active_changes_and_only_then,
    without_actions_deactivation_is_refused,
);
