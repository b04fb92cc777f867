//! The shipped presets (`mappings/*.toml`) against fixture copies of real helpdesk schemas and
//! their seed rows, over HTTP, on every backend: create, read, update, deactivate, reactivate,
//! adopt, group push — asserting on every host table each preset touches.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use common::patch_op as patch;
use common::*;
use serde_json::{json, Value};

fn okta_user(user_name: &str, given: &str, family: &str, emails: Value) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "active": true,
        "externalId": format!("00u{}", user_name.len()),
    });
    body["emails"] = emails;
    body
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("<NULL>")
}

/// Booleans as the backends return them through a text cast.
fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "t" | "true" | "TRUE"))
}

async fn zammad_preset(b: Backend) {
    let app = spawn_helpdesk(b, "zammad", "zammad").await;
    let users_before = app.count("SELECT COUNT(*) FROM users").await;

    // Scope: the system user "-" is not a SCIM user.
    let r = app.get("/Users?filter=userName%20eq%20%22-%22").await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = app.get("/Users?count=1").await;
    assert_eq!(r.body["totalResults"], users_before - 1);

    // Create: login lower-cased, bookkeeping columns filled, the Customer role given.
    let body = okta_user(
        "Carla.New@Acme.Example",
        "Carla",
        "New",
        json!([{"value": "Carla.New@Acme.Example", "type": "work", "primary": true}]),
    );
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["userName"], "Carla.New@Acme.Example",
        "IdP spelling kept"
    );
    let row = &app
        .rows(&format!("SELECT login, email, firstname, lastname, CAST(active AS {{T}}), CAST(created_by_id AS {{T}}), CAST(updated_by_id AS {{T}}), source, CAST(created_at AS {{T}}) FROM users WHERE id = {id}"))
        .await[0];
    assert_eq!(s(&row[0]), "carla.new@acme.example");
    assert_eq!(s(&row[1]), "carla.new@acme.example");
    assert_eq!((s(&row[2]), s(&row[3])), ("Carla", "New"));
    assert!(truthy(&row[4]));
    assert_eq!((s(&row[5]), s(&row[6]), s(&row[7])), ("1", "1", "scim"));
    assert!(row[8].is_some());
    let roles = app
        .rows(&format!(
            "SELECT CAST(role_id AS {{T}}) FROM roles_users WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(
        roles,
        vec![vec![Some("3".to_string())]],
        "one Customer role"
    );

    // Update (PUT), deactivate and reactivate (Okta's PATCH).
    let mut put = body.clone();
    put["name"]["familyName"] = json!("Newer");
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (active, want) in [(false, false), (true, true)] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &patch(json!([{"op": "replace", "value": {"active": active}}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["active"], active);
        let row = &app
            .rows(&format!(
                "SELECT CAST(active AS {{T}}), lastname FROM users WHERE id = {id}"
            ))
            .await[0];
        assert_eq!(truthy(&row[0]), want);
        assert_eq!(s(&row[1]), "Newer");
    }
    let roles = app
        .count(&format!(
            "SELECT COUNT(*) FROM roles_users WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(roles, 1, "updates do not duplicate the role row");

    // Adopt: an existing customer is linked, not duplicated; it gains no second role row.
    let r = app
        .post(
            "/Users",
            &okta_user(
                "Alice.Anderson@acme.example",
                "Alice",
                "Anderson",
                json!([{"value": "alice.anderson@acme.example", "primary": true}]),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "6");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM roles_users WHERE user_id = 6")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        users_before + 1
    );
    // Two rows hold bob.brown@acme.example (a login and an email): refused, not guessed.
    let r = app
        .post(
            "/Users",
            &okta_user("bob.brown@acme.example", "Bob", "Brown", json!([])),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));

    // Group push: a new group and a link to the existing "Support" group.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Escalations",
                "members": [{"value": id}, {"value": "6"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let esc = r.body["id"].as_str().unwrap().to_string();
    let g = &app
        .rows("SELECT CAST(id AS {T}), name_last, CAST(created_by_id AS {T}), CAST(active AS {T}) FROM groups WHERE name = 'Escalations'")
        .await[0];
    let gid = s(&g[0]).to_string();
    assert_eq!((s(&g[1]), s(&g[2])), ("Escalations", "1"));
    assert!(truthy(&g[3]));
    let members = |gid: String| {
        let app = &app;
        async move {
            app.rows(&format!("SELECT CAST(user_id AS {{T}}) AS u, access FROM groups_users WHERE group_id = {gid} ORDER BY u"))
                .await
        }
    };
    let mut want = vec![
        vec![Some(id.clone()), Some("full".to_string())],
        vec![Some("6".to_string()), Some("full".to_string())],
    ];
    want.sort();
    let mut got = members(gid.clone()).await;
    got.sort();
    assert_eq!(got, want);

    let groups_before = app.count("SELECT COUNT(*) FROM groups").await;
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "support",
                "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM groups").await,
        groups_before,
        "linked, not created"
    );
    let support = members("2".into()).await;
    assert!(support.contains(&vec![Some(id.clone()), Some("full".into())]));
    assert!(
        support.contains(&vec![Some("3".into()), Some("full".into())]),
        "the application's own rows stay"
    );

    // Removing a member deletes only that member's row.
    let r = app
        .patch(
            &format!("/Groups/{esc}"),
            &patch(json!([{"op": "remove", "path": "members[value eq \"6\"]"}])),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        members(gid.clone()).await,
        vec![vec![Some(id.clone()), Some("full".to_string())]]
    );
    // Deleting the push group deactivates the host group.
    let r = app.delete(&format!("/Groups/{esc}")).await;
    assert_eq!(r.status, 204);
    let g = &app
        .rows(&format!(
            "SELECT CAST(active AS {{T}}) FROM groups WHERE id = {gid}"
        ))
        .await[0];
    assert!(!truthy(&g[0]), "soft-deleted");

    // Deprovision: DELETE writes active = false; the row stays.
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204);
    let row = &app
        .rows(&format!(
            "SELECT CAST(active AS {{T}}) FROM users WHERE id = {id}"
        ))
        .await[0];
    assert!(!truthy(&row[0]));
    app.stop().await;
}

async fn glpi_preset(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    let emails = |id: String| {
        let app = &app;
        async move {
            app.rows(&format!("SELECT CAST(id AS {{T}}) AS k, email, CAST(is_default AS {{T}}), CAST(is_dynamic AS {{T}}) FROM glpi_useremails WHERE users_id = {id} ORDER BY k"))
                .await
        }
    };
    // Rows in GLPI's trash are outside the scope.
    let trashed = app
        .rows("SELECT CAST(id AS {T}) FROM glpi_users WHERE is_deleted = 1")
        .await;
    assert!(!trashed.is_empty(), "the fixture has a trashed user");
    let r = app.get(&format!("/Users/{}", s(&trashed[0][0]))).await;
    r.assert_error(404, None);
    let in_scope = app
        .count("SELECT COUNT(*) FROM glpi_users WHERE is_deleted = 0")
        .await;
    assert_eq!(
        app.get("/Users?count=0").await.body["totalResults"],
        in_scope
    );

    // Create with two addresses: the primary one carries is_default.
    let body = okta_user(
        "nina.new",
        "Nina",
        "New",
        json!([{"value": "Nina.New@Example.com", "type": "work", "primary": true},
               {"value": "nina@home.example", "type": "home"}]),
    );
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let row = &app
        .rows(&format!("SELECT name, firstname, realname, CAST(is_active AS {{T}}), CAST(authtype AS {{T}}), CAST(auths_id AS {{T}}), CAST(date_creation AS {{T}}) FROM glpi_users WHERE id = {id}"))
        .await[0];
    assert_eq!(
        (
            s(&row[0]),
            s(&row[1]),
            s(&row[2]),
            s(&row[3]),
            s(&row[4]),
            s(&row[5])
        ),
        ("nina.new", "Nina", "New", "1", "4", "0")
    );
    assert!(row[6].is_some());
    let e = emails(id.clone()).await;
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        (s(&e[0][1]), s(&e[0][2]), s(&e[0][3])),
        ("nina.new@example.com", "1", "1")
    );
    assert_eq!((s(&e[1][1]), s(&e[1][2])), ("nina@home.example", "0"));
    let home_key = e[1][0].clone();
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["emails"][0]["value"], "Nina.New@Example.com");
    assert_eq!(r.body["emails"][0]["primary"], true);
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 2);

    // A child-table filter.
    let r = app
        .get("/Users?filter=emails.value%20eq%20%22nina%40home.example%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], id);

    // PATCH the addresses: the work one goes, a new primary comes, the home row keeps its id.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": "emails", "value": [
                {"value": "nina@home.example", "type": "home"},
                {"value": "nina@new.example", "type": "work", "primary": true}]}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let e = emails(id.clone()).await;
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0][0], home_key, "updated in place");
    assert_eq!((s(&e[0][1]), s(&e[0][2])), ("nina@home.example", "0"));
    assert_eq!((s(&e[1][1]), s(&e[1][2])), ("nina@new.example", "1"));

    // A title is a key into glpi_usertitles: an unknown one is added once, then reused.
    let titles = app.count("SELECT COUNT(*) FROM glpi_usertitles").await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "add", "path": "title", "value": "Drone Wrangler"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["title"], "Drone Wrangler");
    let title_id = app
        .rows("SELECT CAST(id AS {T}) FROM glpi_usertitles WHERE name = 'Drone Wrangler'")
        .await;
    assert_eq!(title_id.len(), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM glpi_users WHERE id = {id} AND usertitles_id = {}",
            s(&title_id[0][0])
        ))
        .await,
        1
    );
    let mut other = okta_user("omar.other", "Omar", "Other", json!([]));
    other["title"] = json!("drone wrangler");
    let r = app.post("/Users", &other).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["title"], "Drone Wrangler",
        "the application's spelling"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM glpi_usertitles").await,
        titles + 1,
        "reused, matched case-insensitively"
    );
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "remove", "path": "title"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("title").is_none(), "{}", r.body);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM glpi_users WHERE id = {id} AND usertitles_id = 0"
        ))
        .await,
        1
    );

    // Deactivate, reactivate.
    for (active, want) in [(false, "0"), (true, "1")] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &patch(json!([{"op": "replace", "path": "active", "value": active}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let row = &app
            .rows(&format!(
                "SELECT CAST(is_active AS {{T}}), CAST(is_deleted AS {{T}}) FROM glpi_users WHERE id = {id}"
            ))
            .await[0];
        assert_eq!((s(&row[0]), s(&row[1])), (want, "0"));
    }

    // Group push.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Field Techs",
                "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = &app
        .rows("SELECT CAST(id AS {T}), completename, CAST(level AS {T}) FROM glpi_groups WHERE name = 'Field Techs'")
        .await[0];
    assert_eq!((s(&g[1]), s(&g[2])), ("Field Techs", "1"));
    let m = app
        .rows(&format!("SELECT CAST(users_id AS {{T}}), CAST(is_dynamic AS {{T}}) FROM glpi_groups_users WHERE groups_id = {}", s(&g[0])))
        .await;
    assert_eq!(m, vec![vec![Some(id.clone()), Some("1".into())]]);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &patch(json!([{"op": "replace", "path": "displayName", "value": "Field Technicians"}])),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM glpi_groups WHERE id = {} AND name = 'Field Technicians' AND completename = 'Field Technicians'", s(&g[0])))
            .await,
        1
    );
    // on_delete = "ignore": the host group and its rows stay.
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, 204);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM glpi_groups_users WHERE groups_id = {}",
            s(&g[0])
        ))
        .await,
        1
    );

    // DELETE deactivates; nothing goes to the trash.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let row = &app
        .rows(&format!(
            "SELECT CAST(is_active AS {{T}}), CAST(is_deleted AS {{T}}) FROM glpi_users WHERE id = {id}"
        ))
        .await[0];
    assert_eq!((s(&row[0]), s(&row[1])), ("0", "0"));
    app.stop().await;
}

async fn osticket_preset(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    let user = |id: String| {
        let app = &app;
        async move {
            app.rows(&format!("SELECT name, CAST(org_id AS {{T}}), CAST(default_email_id AS {{T}}), CAST(created AS {{T}}) FROM ost_user WHERE id = {id}"))
                .await
                .remove(0)
        }
    };
    let emails = |id: String| {
        let app = &app;
        async move {
            app.rows(&format!("SELECT CAST(id AS {{T}}) AS k, address FROM ost_user_email WHERE user_id = {id} ORDER BY k"))
                .await
        }
    };
    let account = |id: String| {
        let app = &app;
        async move {
            app.rows(&format!("SELECT username, CAST(status AS {{T}}), lang FROM ost_user_account WHERE user_id = {id}"))
                .await
        }
    };

    // Create: three tables, the circular pointer resolved in one transaction.
    let mut body = okta_user(
        "gina.new",
        "Gina",
        "New",
        json!([{"value": "gina@old.example", "type": "home"},
               {"value": "Gina.New@Acme.Example", "type": "work", "primary": true}]),
    );
    body["preferredLanguage"] = json!("de_DE");
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let u = user(id.clone()).await;
    assert_eq!((s(&u[0]), s(&u[1])), ("Gina New", "0"));
    assert!(u[3].is_some());
    let e = emails(id.clone()).await;
    assert_eq!(e.len(), 2);
    assert_eq!(s(&e[1][1]), "gina.new@acme.example");
    assert_eq!(u[2], e[1][0], "default_email_id points at the primary");
    assert_eq!(
        account(id.clone()).await,
        vec![vec![
            Some("gina.new".into()),
            Some("0".into()),
            Some("de_DE".into())
        ]]
    );
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["name"]["givenName"], "Gina");
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 2);
    let primary: Vec<&Value> = r.body["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["value"], "Gina.New@Acme.Example");

    // The application renames the user: the name is split back on reads.
    app.exec(&format!(
        "UPDATE ost_user SET name = 'Regina Neumann' WHERE id = {id}"
    ))
    .await;
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["name"]["givenName"], "Regina");
    assert_eq!(r.body["name"]["familyName"], "Neumann");

    // Deactivate sets LOCKED (0x2) and keeps the account's other bits; reactivate clears it.
    app.exec(&format!(
        "UPDATE ost_user_account SET status = 1 WHERE user_id = {id}"
    ))
    .await;
    for (active, want) in [(false, "3"), (true, "1")] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &patch(json!([{"op": "replace", "path": "active", "value": active}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["active"], active);
        assert_eq!(s(&account(id.clone()).await[0][1]), want);
    }
    let r = app.get("/Users?filter=active%20eq%20false").await;
    r.assert_error(400, Some("invalidFilter"));

    // PUT with a new primary: the pointer moves, the dropped address row goes.
    let mut put = body.clone();
    put["name"] = json!({"givenName": "Gina", "familyName": "Newer"});
    put["emails"] = json!([{"value": "gina@old.example", "primary": true}]);
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let e = emails(id.clone()).await;
    assert_eq!(e.len(), 1);
    let u = user(id.clone()).await;
    assert_eq!(s(&u[0]), "Gina Newer");
    assert_eq!(u[2], e[0][0]);

    // Adopt a client that has emails but no account: matched by address, the account created.
    assert!(account("4".into()).await.is_empty());
    let r = app
        .post(
            "/Users",
            &okta_user(
                "Zoe.Angstrom@globex.example",
                "Zoë",
                "Ångström",
                json!([{"value": "zoe.angstrom@globex.example", "primary": true}]),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "4");
    assert_eq!(
        account("4".into()).await,
        vec![vec![
            Some("Zoe.Angstrom@globex.example".into()),
            Some("0".into()),
            None
        ]]
    );
    assert_eq!(emails("4".into()).await.len(), 1, "matched, not duplicated");
    // An address another client holds is a 409, and nothing of the request is kept.
    let users = app.count("SELECT COUNT(*) FROM ost_user").await;
    let r = app
        .post(
            "/Users",
            &okta_user(
                "someone.else",
                "Some",
                "One",
                json!([{"value": "carol.chen@acme.example", "primary": true}]),
            ),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(app.count("SELECT COUNT(*) FROM ost_user").await, users);

    // DELETE locks the account; the client and its addresses stay.
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(s(&account(id.clone()).await[0][1]), "3");
    assert_eq!(emails(id.clone()).await.len(), 1);

    // No [groups] section: a push group stays in the bridge; no osTicket table changes.
    let teams = app.count("SELECT COUNT(*) FROM ost_team").await;
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Clients",
                "members": [{"value": "4"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM ost_team").await, teams);
    app.stop().await;
}

backend_tests!(zammad_preset, glpi_preset, osticket_preset);

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

/// A config in `dir` pointing at `db_url` with `mapping`.
fn config(dir: &std::path::Path, db_url: &str, mapping: &str) -> std::path::PathBuf {
    let path = dir.join("cli.toml");
    std::fs::write(
        &path,
        format!("[database]\nurl = \"{db_url}\"\n[mapping]\nfile = \"{mapping}\"\n[log]\nlevel = \"warn\"\n"),
    )
    .unwrap();
    path
}

fn bridge(cfg: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut c = std::process::Command::new(BIN);
    c.arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `check` accepts every preset on its fixture, and rejects one that leaves a NOT NULL column
/// without a default unfilled — naming the table and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_accepts_presets_and_names_unfilled_not_null_columns() {
    for (app, preset) in [
        ("zammad", "zammad"),
        ("glpi", "glpi"),
        ("osticket", "osticket"),
        ("zammad", "zammad-agents"),
        ("glpi", "glpi-agents"),
        ("osticket", "osticket-agents"),
        ("freescout", "freescout-agents"),
        ("uvdesk", "uvdesk-agents"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = helpdesk_database(Backend::Sqlite, dir.path(), app).await;
        let cfg = config(dir.path(), &url, &format!("{REPO}/mappings/{preset}.toml"));
        let (ok, out) = bridge(&cfg, &["check"], None);
        assert!(ok && out.contains("0 error(s)"), "{preset}: {out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(Backend::Sqlite, dir.path(), "zammad").await;
    let preset = std::fs::read_to_string(format!("{REPO}/mappings/zammad.toml")).unwrap();
    for (line, table, column) in [
        ("created_by_id = { value = 1, on = \"insert\" }\nupdated_by_id = { value = 1 }\ncreated_at    = { value = \"now\", on = \"insert\" }\nupdated_at    = { value = \"now\" }\n\n# Every", "users", "created_by_id"),
        ("name_last     = { attr = \"displayName\" }\n", "groups", "name_last"),
    ] {
        let needle = line.split('\n').next().unwrap();
        assert!(preset.contains(needle), "{needle}");
        let broken = preset.replacen(needle, "", 1);
        let mapping = dir.path().join("broken.toml");
        std::fs::write(&mapping, broken).unwrap();
        let cfg = config(dir.path(), &url, mapping.to_str().unwrap());
        let (ok, out) = bridge(&cfg, &["check"], None);
        assert!(!ok, "{out}");
        assert!(
            out.contains(&format!("column \"{column}\" of \"{table}\"")) && out.contains("NOT NULL"),
            "{out}"
        );
        // The server refuses to start with it too.
        let (ok, out) = bridge(&cfg, &["serve"], None);
        assert!(!ok && out.contains(column), "{out}");
    }
}

/// `preview` prints the statements a create would run on three osTicket tables — including
/// the pointer update — and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_shows_statements_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(Backend::Sqlite, dir.path(), "osticket").await;
    let cfg = config(dir.path(), &url, &format!("{REPO}/mappings/osticket.toml"));
    let user = okta_user(
        "paula.preview@example.com",
        "Paula",
        "Preview",
        json!([{"value": "paula.preview@example.com", "primary": true}]),
    )
    .to_string();
    let count = |sql: &'static str| {
        let url = url.clone();
        async move {
            AnyConn::open(Backend::Sqlite, &url).await.rows(sql).await[0][0]
                .clone()
                .unwrap()
        }
    };
    // A dry run creates nothing, not even the bridge's own tables: it asks for `migrate`.
    let (ok, out) = bridge(&cfg, &["preview"], Some(&user));
    assert!(!ok && out.contains("run `scim-bridge migrate`"), "{out}");
    let (ok, out) = bridge(&cfg, &["migrate"], None);
    assert!(ok, "{out}");
    let before = (
        count("SELECT CAST(COUNT(*) AS TEXT) FROM ost_user").await,
        count("SELECT CAST(COUNT(*) AS TEXT) FROM ost_user_email").await,
        count("SELECT CAST(COUNT(*) AS TEXT) FROM scim_users").await,
    );
    for _ in 0..2 {
        let (ok, out) = bridge(&cfg, &["preview"], Some(&user));
        assert!(ok, "{out}");
        for want in [
            "INSERT INTO \"ost_user\"",
            "INSERT INTO \"ost_user_account\"",
            "INSERT INTO \"ost_user_email\"",
            "UPDATE \"ost_user\" SET \"default_email_id\" = ?",
            "\"Paula Preview\"",
            "-- answer: 201 (creates a row)",
            "rolled back, nothing written",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
    }
    let after = (
        count("SELECT CAST(COUNT(*) AS TEXT) FROM ost_user").await,
        count("SELECT CAST(COUNT(*) AS TEXT) FROM ost_user_email").await,
        count("SELECT CAST(COUNT(*) AS TEXT) FROM scim_users").await,
    );
    assert_eq!(before, after, "a preview writes nothing");
    // A PATCH of active previews the one column it changes (a bit of the account's status)
    // and the bookkeeping timestamp — nothing of the email, name or other rows.
    let deactivate = json!({"schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": false}}]})
    .to_string();
    let (ok, out) = bridge(
        &cfg,
        &["preview", "--operation", "patch", "--id", "1"],
        Some(&deactivate),
    );
    assert!(ok, "{out}");
    // Writes into the application's tables (the bridge's own scim_* rows aside).
    let host_writes = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| {
                ["INSERT INTO \"ost", "UPDATE \"ost", "DELETE FROM \"ost"]
                    .iter()
                    .any(|w| l.contains(w))
            })
            .map(str::to_string)
            .collect()
    };
    let writes = host_writes(&out);
    assert_eq!(writes.len(), 2, "{out}");
    assert!(
        writes[0].contains("UPDATE \"ost_user\" SET \"updated\" = ?"),
        "{out}"
    );
    assert!(
        writes[1]
            .contains("UPDATE \"ost_user_account\" SET \"status\" = (COALESCE(\"status\", 0) | ?)"),
        "{out}"
    );
    // The same PATCH on an already locked account previews no write at all.
    let (ok, out) = bridge(
        &cfg,
        &["preview", "--operation", "patch", "--id", "2"],
        Some(&deactivate),
    );
    assert!(ok, "{out}");
    assert_eq!(host_writes(&out), Vec::<String>::new(), "{out}");
    // A request the mapping refuses shows the SCIM error and exits 1.
    let (ok, out) = bridge(
        &cfg,
        &["preview"],
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x".repeat(80)}).to_string()),
    );
    assert!(!ok && out.contains("at most 64"), "{out}");
}
