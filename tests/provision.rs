//! "Provision existing users", played end to end on every backend: a helpdesk that already
//! has users, Okta's import paging, then Provision of every assigned person.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_scim-bridge");

async fn seed_extra(app: &TestApp) {
    app.exec(
        "INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) VALUES \
         ('carol@example.com', 'Carol@Example.COM', 'Carol', 'Chen', TRUE, 'customer', 'carol-hash', '2024-05-01 10:00:00', '2024-05-01 10:00:00'), \
         ('dup.a', 'Dup@Example.com', 'Dee', 'A', TRUE, 'customer', 'a-hash', '2024-05-02 10:00:00', '2024-05-02 10:00:00'), \
         ('dup.b', 'dup@example.com', 'Dee', 'B', TRUE, 'customer', 'b-hash', '2024-05-03 10:00:00', '2024-05-03 10:00:00')",
    )
    .await;
}

async fn untouched(app: &TestApp) -> Vec<Vec<Option<String>>> {
    app.rows("SELECT CAST(id AS {T}) AS k, role, password, CAST(created_at AS {T}) FROM users ORDER BY users.id").await
}

async fn provision_existing_users_without_duplicates(b: Backend) {
    let app = spawn_app(b).await;
    seed_extra(&app).await;
    let before = untouched(&app).await;
    let host_rows = app.count("SELECT COUNT(*) FROM users").await;

    // Okta's import pages through the whole directory, untouched rows included.
    let mut imported = Vec::new();
    let mut start = 1;
    loop {
        let r = app.get(&format!("/Users?startIndex={start}&count=2")).await;
        assert_eq!(r.body["totalResults"], host_rows);
        let page = r.body["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        imported.extend(
            page.iter()
                .map(|u| u["userName"].as_str().unwrap().to_string()),
        );
        start += 2;
    }
    assert_eq!(i64::try_from(imported.len()).unwrap(), host_rows);
    assert!(imported.contains(&"Bob.Brown@Acme.Example".to_string()));

    // Provision: Okta searches each assigned person, links a match (then pushes the profile),
    // or creates.
    let assigned = [
        ("maria.garcia@acme.example", "María", "García"),
        ("bob.brown@acme.example", "Bob", "Brown"), // the helpdesk spells it Bob.Brown@Acme.Example
        ("CAROL@example.com", "Carol", "Chen"),
        ("dup@example.com", "Dee", "Dup"), // two rows hold this address
        ("new.one@example.com", "New", "One"),
        ("new.two@example.com", "New", "Two"),
    ];
    let mut outcome = Vec::new();
    for (user_name, given, family) in assigned {
        let r = app
            .get(&format!(
                "/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100",
                user_name.replace('@', "%40")
            ))
            .await;
        assert_eq!(r.status, 200);
        let status = if r.body["totalResults"] == 1 {
            let id = r.body["Resources"][0]["id"].as_str().unwrap().to_string();
            let mut echo = app.get(&format!("/Users/{id}")).await.body;
            echo["name"]["givenName"] = json!(given);
            echo["externalId"] = json!(format!("00u-{user_name}"));
            app.put(&format!("/Users/{id}"), &echo)
                .await
                .status
                .as_u16()
        } else {
            let r = app
                .post("/Users", &okta_user(user_name, given, family))
                .await;
            if r.status == 409 {
                r.assert_error(409, Some("uniqueness"));
                let detail = r.body["detail"].as_str().unwrap();
                let ids = app.rows("SELECT CAST(id AS {T}) FROM users WHERE login IN ('dup.a', 'dup.b') ORDER BY id").await;
                for id in ids {
                    assert!(
                        detail.contains(id[0].as_deref().unwrap()),
                        "the 409 names both rows: {detail}"
                    );
                }
            }
            r.status.as_u16()
        };
        outcome.push((user_name, status));
    }
    assert_eq!(
        outcome,
        vec![
            ("maria.garcia@acme.example", 200),
            ("bob.brown@acme.example", 200),
            ("CAROL@example.com", 200),
            ("dup@example.com", 409),
            ("new.one@example.com", 201),
            ("new.two@example.com", 201)
        ]
    );
    // No duplicate rows, everyone linked but the ambiguous pair, the pair untouched.
    assert!(app
        .rows("SELECT lower(login) FROM users GROUP BY lower(login) HAVING COUNT(*) > 1")
        .await
        .is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, host_rows + 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, 5);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users WHERE user_name LIKE 'dup%'")
            .await,
        0
    );
    // Columns the mapping does not write kept the application's values on every old row.
    let after = untouched(&app).await;
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(
        app.user_row("carol@example.com").await.unwrap()[3].as_deref(),
        Some("Carol")
    );
    app.stop().await;
}

async fn import_reports_and_prelinks_then_create_adopts(b: Backend) {
    let app = spawn_app(b).await;
    seed_extra(&app).await;
    // A contact without a login of its own (osTicket's guests who e-mailed a ticket): a create
    // whose userName is its email adopts it, since `match` lists email.
    app.exec(
        "INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) VALUES \
         ('', 'Guest@Example.com', 'Gus', 'Guest', TRUE, 'customer', 'g-hash', '2024-05-04 10:00:00', '2024-05-04 10:00:00')",
    )
    .await;
    let guest_id = app
        .rows("SELECT CAST(id AS {T}) FROM users WHERE login = ''")
        .await[0][0]
        .clone()
        .unwrap();
    let config = app.dir.path().join("config.toml");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let o = run(&["import", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let status_of = |login: &str| {
        rows.iter()
            .find(|r| r["user_name"] == login)
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status_of("carol@example.com").as_deref(), Some("adoptable"));
    assert_eq!(
        status_of("admin@helpdesk.example").as_deref(),
        Some("protected"),
        "the demo protects its agents"
    );
    // Kenji is inactive in the application: listed, with what adoption will do about it.
    let kenji = rows
        .iter()
        .find(|r| r["user_name"] == "kenji.wong@acme.example")
        .unwrap();
    assert_eq!(kenji["status"], "adoptable");
    assert!(
        kenji["detail"]
            .as_str()
            .unwrap()
            .contains("adoption keeps it inactive"),
        "{kenji}"
    );
    assert_eq!(status_of("dup.a").as_deref(), Some("ambiguous"));
    assert_eq!(status_of("dup.b").as_deref(), Some("ambiguous"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 ambiguous"));
    let guest = rows.iter().find(|r| r["id"] == guest_id.as_str()).unwrap();
    assert_eq!(guest["status"], "adoptable", "{guest}");
    assert_eq!(guest["user_name"], serde_json::Value::Null, "{guest}");
    assert!(
        guest["detail"]
            .as_str()
            .unwrap()
            .contains("a create whose userName is \"Guest@Example.com\" adopts it by \"email\""),
        "{guest}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(" 0 without a userName"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users").await,
        0,
        "a dry run writes nothing"
    );
    let o = run(&["import", "--apply", "--format", "csv"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("id,user_name,status,detail"));
    let linked = app.count("SELECT COUNT(*) FROM scim_users").await;
    assert_eq!(
        linked, 5,
        "four demo users (the admin is protected) and carol"
    );
    // Safe to re-run.
    assert!(run(&["import", "--apply"]).status.success());
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, linked);
    // A pre-linked row is adopted by the identity provider's create, not refused.
    let carol_id = app
        .rows("SELECT CAST(id AS {T}) FROM users WHERE login = 'carol@example.com'")
        .await[0][0]
        .clone()
        .unwrap();
    let r = app
        .post(
            "/Users",
            &okta_user("carol@example.com", "Caroline", "Chen"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], carol_id.as_str());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users WHERE origin = 'import'")
            .await,
        4
    );
    // The pre-link recorded nothing of the application's values as sent by the identity
    // provider, so its first PUT clears nothing it never sent (the department stays).
    let kenji_id = app
        .rows("SELECT CAST(id AS {T}) FROM users WHERE login = 'kenji.wong@acme.example'")
        .await[0][0]
        .clone()
        .unwrap();
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "kenji.wong@acme.example", "name": {"givenName": "Kenji", "familyName": "Wong"}});
    let r = app.put(&format!("/Users/{kenji_id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.rows(&format!(
            "SELECT department FROM users WHERE id = {kenji_id}"
        ))
        .await[0][0]
            .as_deref(),
        Some("Support")
    );
    // The guest: adopted by its email, as import said; its login is filled in.
    let r = app
        .post("/Users", &okta_user("guest@example.com", "Gus", "Guest"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], guest_id.as_str());
    assert_eq!(
        app.rows(&format!("SELECT login FROM users WHERE id = {guest_id}"))
            .await[0][0]
            .as_deref(),
        Some("guest@example.com")
    );
    // ...and a second create is then a real conflict.
    app.post("/Users", &okta_user("carol@example.com", "C", "C"))
        .await
        .assert_error(409, Some("uniqueness"));
    // Reconcile: a row deleted in the application answers 404 and is reported.
    app.exec(&format!("DELETE FROM users WHERE id = {carol_id}"))
        .await;
    app.get(&format!("/Users/{carol_id}"))
        .await
        .assert_error(404, None);
    let o = run(&["reconcile", "--fix"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("deleted-in-app") && out.contains(&carol_id),
        "{out}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM scim_users WHERE host_key = '{carol_id}'"
        ))
        .await,
        0
    );
    app.stop().await;
}

async fn paging_is_stable_while_rows_are_added_and_removed(b: Backend) {
    let app = spawn_app(b).await;
    seed_extra(&app).await;
    let all: Vec<String> = app
        .rows("SELECT CAST(id AS {T}) AS k FROM users ORDER BY users.id")
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = app.get(&format!("/Users?startIndex={start}&count=3")).await;
        let page = r.body["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        if start == 1 {
            // The application adds a user and removes one already served, mid-import.
            app.exec("INSERT INTO users (login, email, firstname, lastname, active, role, password, created_at, updated_at) VALUES ('late@example.com', 'late@example.com', 'L', 'A', TRUE, 'customer', '!', '2024-06-01 00:00:00', '2024-06-01 00:00:00')").await;
            app.exec(&format!("DELETE FROM users WHERE id = {}", all[0]))
                .await;
        }
        start += 3;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user served twice: {seen:?}");
    for id in &all {
        assert!(seen.contains(id), "pre-existing user {id} missed: {seen:?}");
    }
    app.stop().await;
}

async fn adoption_can_be_switched_off(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mapping = std::fs::read_to_string(format!("{REPO}/mappings/demo.toml"))
        .unwrap()
        .replace("adopt = true", "adopt = false");
    let path = dir.path().join("noadopt.toml");
    std::fs::write(&path, mapping).unwrap();
    let app = spawn_with(
        b,
        Options {
            mapping: path.display().to_string(),
            ..Default::default()
        },
    )
    .await;
    let before = app.count("SELECT COUNT(*) FROM users").await;
    let r = app
        .post("/Users", &okta_user("maria.garcia@acme.example", "M", "G"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("adoption is switched off"),
        "{}",
        r.body
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, before);
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, 0);
    app.stop().await;
}

backend_tests!(
    adoption_can_be_switched_off,
    provision_existing_users_without_duplicates,
    import_reports_and_prelinks_then_create_adopts,
    paging_is_stable_while_rows_are_added_and_removed
);
