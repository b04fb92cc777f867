//! Every way a database can refuse a value — CHECK, foreign key, unique, out-of-range
//! integer, NOT NULL, a value too long — answers a SCIM 400/409 naming what was refused,
//! writes nothing, and never a 5xx; on SQLite, PostgreSQL and MariaDB, against
//! tests/fixtures/helpdesks/constraints.

mod common;

use common::*;
use serde_json::{json, Value};

const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "constraints").await;
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: format!("{REPO}/tests/fixtures/helpdesks/constraints/mapping.toml"),
            extra_config: String::new(),
        },
    )
    .await
}

fn user(login: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT, ACME],
           "userName": login, "emails": [{"value": format!("{login}@acme.example"), "primary": true}]})
}

const PEOPLE: &str = "SELECT CAST(id AS {T}), login, email, phone, title, CAST(org_id AS {T}), CAST(age AS {T}), CAST(active AS {T}) FROM people ORDER BY id";

/// A refused request: the status and scimType asked for, the detail naming what was
/// refused but not quoting the value, and nothing written.
async fn refused(
    app: &TestApp,
    r: Resp,
    status: u16,
    scim_type: &str,
    names: &str,
    secret: &str,
    before: &[Vec<Option<String>>],
) {
    r.assert_error(status, Some(scim_type));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(names), "{detail}");
    assert!(!detail.contains(secret), "the value stays out: {detail}");
    assert_eq!(app.rows(PEOPLE).await, before, "nothing written");
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, 1);
}

async fn database_refusals_are_scim_errors_and_write_nothing(b: Backend) {
    let app = spawn(b).await;
    let ok = app.post("/Users", &user("bob")).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let bob = ok.body["id"].as_str().unwrap().to_string();
    let before = app.rows(PEOPLE).await;

    // CHECK: a 34-character phone on a column that holds 40 but whose CHECK allows 20.
    let long_phone = "+1 555 0100 0100 0100 0100 0100 01";
    let mut u = user("carol");
    u["phoneNumbers"] = json!([{"value": long_phone, "type": "work"}]);
    let r = app.post("/Users", &u).await;
    refused(&app, r, 400, "invalidValue", "phone", long_phone, &before).await;

    // Foreign key: an organization id that does not exist.
    let mut u = user("dave");
    u[EXT] = json!({"organization": "42"});
    let r = app.post("/Users", &u).await;
    // SQLite's message names neither the column nor the constraint.
    let names = if b == Backend::Sqlite {
        "refers to a row that does not exist"
    } else {
        "org_id"
    };
    refused(&app, r, 400, "invalidValue", names, "42", &before).await;

    // Unique: another login, but the email of an existing row.
    let mut u = user("erin");
    u["emails"] = json!([{"value": "ann@acme.example", "primary": true}]);
    let r = app.post("/Users", &u).await;
    r.assert_error(409, Some("uniqueness"));
    assert!(!r.body["detail"].as_str().unwrap().contains("ann@acme"));
    assert_eq!(app.rows(PEOPLE).await, before);
    // ...and a PATCH moving bob onto it.
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[primary eq true].value", "value": "ann@acme.example"}]});
    app.patch(&format!("/Users/{bob}"), &p)
        .await
        .assert_error(409, Some("uniqueness"));
    assert_eq!(app.rows(PEOPLE).await, before);

    // Out of range: 99999 in a SMALLINT (SQLite: its CHECK does the refusing).
    let mut u = user("fay");
    u[ACME] = json!({"age": "99999"});
    let r = app.post("/Users", &u).await;
    refused(&app, r, 400, "invalidValue", "age", "99999", &before).await;
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": format!("{ACME}:age"), "value": "99999"}]});
    let r = app.patch(&format!("/Users/{bob}"), &p).await;
    refused(&app, r, 400, "invalidValue", "age", "99999", &before).await;

    // Too long for a VARCHAR(10): caught before the database, the same answer.
    let mut u = user("gus");
    u["title"] = json!("Chief Executive Officer");
    let r = app.post("/Users", &u).await;
    refused(&app, r, 400, "invalidValue", "title", "Chief", &before).await;

    // NOT NULL: removing the email of a user when the column requires one.
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "emails"}]});
    let r = app.patch(&format!("/Users/{bob}"), &p).await;
    assert!(r.status.as_u16() < 500, "{}: {}", r.status, r.body);
    let row = app.rows(PEOPLE).await;
    assert!(
        row.iter()
            .all(|r| r[2].as_deref().is_some_and(|e| !e.is_empty())),
        "every email kept a value: {row:?}"
    );

    // After all that the server and its connections are fine.
    assert_eq!(app.post("/Users", &user("hal")).await.status, 201);
    app.stop().await;
}

backend_tests!(database_refusals_are_scim_errors_and_write_nothing);
