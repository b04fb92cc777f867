//! `[[users.grants]]` over HTTP on SQLite, PostgreSQL and MariaDB: members of the pushed group
//! "Helpdesk Agents" get `role = "agent"` on the demo helpdesk and lose it (back to
//! "customer") when they leave the group, the group is renamed or deleted, or they are
//! deactivated or deleted — checked against whole snapshots of the users table, so every
//! step proves which cells it wrote and that nothing else moved. With the demo's
//! `[[users.protect]] where = { role = "agent" }`: the bridge keeps managing the users it
//! promoted, while the application's own agents stay out of its reach.

mod common;

use common::snapshot::{places, Change, Snapshot};
use common::*;
use serde_json::{json, Value};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

const GRANT: &str = r#"
[[users.grants]]
group = "Helpdesk Agents"
set = { role = "agent" }
otherwise = { role = "customer" }
"#;

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(format!("{REPO}/mappings/demo.toml")).unwrap();
    let path = dir.path().join("grants.toml");
    std::fs::write(&path, format!("{demo}\n{GRANT}")).unwrap();
    let app = spawn_with(
        b,
        Options {
            mapping: path.to_str().unwrap().to_string(),
            extra_config: String::new(),
        },
    )
    .await;
    // The mapping file is read at start; the directory may go.
    drop(dir);
    app
}

fn role(key: &str, from: &str, to: &str) -> Change {
    Change::Cell(
        "users".into(),
        key.into(),
        "role".into(),
        Some(from.into()),
        Some(to.into()),
    )
}

/// Runs a request and returns it with the changes it made to the users table.
async fn step<F: std::future::Future<Output = Resp>>(app: &TestApp, f: F) -> (Resp, Vec<Change>) {
    let before = Snapshot::take(app, &[("users", "id")]).await;
    let r = f.await;
    let after = Snapshot::take(app, &[("users", "id")]).await;
    // updated_at may keep its value within one second (MariaDB's DATETIME): not compared.
    let changes = before
        .changes(&after)
        .into_iter()
        .filter(|c| !c.at().ends_with(".updated_at"))
        .collect();
    (r, changes)
}

fn add(k: &str) -> Value {
    patch_op(json!([{"op": "add", "path": "members", "value": [{"value": k}]}]))
}

fn remove(k: &str) -> Value {
    patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{k}\"]")}]))
}

async fn grants_follow_group_membership(b: Backend) {
    let app = spawn(b).await;
    let (a, g) = push_grants_and_keeps_reach(&app).await;
    leave_and_deactivate_take_back(&app, &a, &g).await;
    rename_and_delete_take_back(&app, &a, &g).await;
    // Everything the bridge wrote is in the audit trail: seven grants, six taken back
    // (María's role the application had changed was left alone).
    for (op, n) in [("grant", 7), ("revoke", 6)] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM scim_audit WHERE operation = '{op}'"
            ))
            .await,
            n,
            "{op}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_grants").await, 0);
    app.stop().await;
}

/// Creates Ann, pushes the group with Ann, Ada (a protected agent) and María (a customer):
/// Ann and María are granted, and Ann stays in the bridge's reach. Returns (Ann, group).
async fn push_grants_and_keeps_reach(app: &TestApp) -> (String, String) {
    let ann = app
        .post("/Users", &okta_user("ann@example.com", "Ann", "Lee"))
        .await;
    assert_eq!(ann.status, 201, "{}", ann.body);
    let a = ann.body["id"].as_str().unwrap().to_string();

    // Push the group (another case and stray spaces): Ann and María (a customer the
    // application made) become agents; Ada (an agent the application made, protected) is
    // left as she is. Exactly two cells change.
    let (r, changes) = step(
        app,
        app.post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": " helpdesk AGENTS ",
                "members": [{"value": a}, {"value": "1"}, {"value": "2"}]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        changes,
        vec![
            role("2", "customer", "agent"),
            role(&a, "customer", "agent")
        ]
    );

    // The bridge promoted Ann: she stays in its reach. Ada stays protected.
    let (r, changes) = step(
        app,
        app.patch(
            &format!("/Users/{a}"),
            &patch_op(json!([{"op": "replace", "path": "name.familyName", "value": "Lee-Smith"}])),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(places(&changes), vec![format!("users[{a}].lastname")]);
    let (r, changes) = step(
        app,
        app.patch(
            "/Users/1",
            &patch_op(json!([{"op": "replace", "path": "name.familyName", "value": "Mallory"}])),
        ),
    )
    .await;
    r.assert_error(403, None);
    assert!(changes.is_empty(), "{changes:?}");

    (a, g)
}

/// Adding again writes nothing; leaving, deactivation and a PUT without the user take the
/// role back (only where the bridge granted it), reactivation gives it again.
async fn leave_and_deactivate_take_back(app: &TestApp, a: &str, g: &str) {
    let a = a.to_string();
    let gpath = format!("/Groups/{g}");
    let (r, changes) = step(app, app.patch(&gpath, &add(&a))).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(changes.is_empty(), "{changes:?}");

    // Removed from the group: back to the declared default; Ann is an ordinary user again.
    let (r, changes) = step(app, app.patch(&gpath, &remove(&a))).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(changes, vec![role(&a, "agent", "customer")]);
    // Ada, removed, keeps the role the application gave her: the bridge never granted it.
    let (r, changes) = step(app, app.patch(&gpath, &remove("1"))).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(changes.is_empty(), "{changes:?}");

    // Deactivation takes the role back; reactivation of a member gives it again.
    let (_, changes) = step(app, app.patch(&gpath, &add(&a))).await;
    assert_eq!(changes, vec![role(&a, "customer", "agent")]);
    let upath = format!("/Users/{a}");
    for (active, from, to) in [(false, "agent", "customer"), (true, "customer", "agent")] {
        let (r, changes) = step(
            app,
            app.patch(
                &upath,
                &patch_op(json!([{"op": "replace", "value": {"active": active}}])),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            places(&changes),
            vec![format!("users[{a}].active"), format!("users[{a}].role")],
            "active = {active}"
        );
        assert!(changes.contains(&role(&a, from, to)), "{changes:?}");
    }

    // PUT of the member list without Ann: only she loses the role.
    let (r, changes) = step(
        app,
        app.put(
            &gpath,
            &json!({"schemas": [GROUP], "displayName": "Helpdesk Agents", "members": [{"value": "2"}]}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(changes, vec![role(&a, "agent", "customer")]);

    // The application changes María's role itself: leaving the group leaves its value alone.
    app.exec("UPDATE users SET role = 'supervisor' WHERE id = 2")
        .await;
    let (_, changes) = step(app, app.patch(&gpath, &remove("2"))).await;
    assert!(changes.is_empty(), "{changes:?}");
}

/// Renaming the group away and back, deleting it, and deleting a member user.
async fn rename_and_delete_take_back(app: &TestApp, a: &str, g: &str) {
    let a = a.to_string();
    let gpath = format!("/Groups/{g}");
    let upath = format!("/Users/{a}");
    // Renaming the group away from the grant's name takes the role back, and back again.
    let (_, changes) = step(app, app.patch(&gpath, &add(&a))).await;
    assert_eq!(changes, vec![role(&a, "customer", "agent")]);
    let rename = |n: &str| patch_op(json!([{"op": "replace", "path": "displayName", "value": n}]));
    let (r, changes) = step(app, app.patch(&gpath, &rename("Former Agents"))).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(changes, vec![role(&a, "agent", "customer")]);
    let (_, changes) = step(app, app.patch(&gpath, &rename("Helpdesk Agents"))).await;
    assert_eq!(changes, vec![role(&a, "customer", "agent")]);

    // Deleting the group takes it back.
    let (r, changes) = step(app, app.delete(&gpath)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(changes, vec![role(&a, "agent", "customer")]);

    // A user deleted while a member: deactivated (on_delete) and the role taken back.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Helpdesk Agents", "members": [{"value": a}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (r, changes) = step(app, app.delete(&upath)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        places(&changes),
        vec![format!("users[{a}].active"), format!("users[{a}].role")]
    );
    assert!(
        changes.contains(&role(&a, "agent", "customer")),
        "{changes:?}"
    );
}

backend_tests!(grants_follow_group_membership);
