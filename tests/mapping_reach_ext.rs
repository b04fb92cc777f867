//! Mapping reach, part B (issue 16), over HTTP against one schema
//! (`tests/fixtures/helpdesks/extend`) and ONE mapping file on SQLite, PostgreSQL and MariaDB:
//!
//! - `[extensions]`: a custom Okta URN whose `costCenter` has a column and whose other typed
//!   attributes live in the bridge's record (`scim_users.resource`): served, round-tripped
//!   through POST, PUT and PATCH, advertised, type-checked, a no-op writing nothing.
//! - `json_path`: three attributes in one JSON object column (`profile`: PostgreSQL `jsonb`,
//!   MariaDB `JSON`, SQLite text), the application's own keys kept, change-only writes,
//!   filters refused with a clear 400, `check`'s misuses.
//!
//! Every write is checked on the whole host rows it touched and on those it must not touch.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use common::*;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn mapping_path() -> String {
    format!("{REPO}/tests/fixtures/helpdesks/extend/mapping.toml")
}

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "extend").await;
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: mapping_path(),
            extra_config: String::new(),
        },
    )
    .await
}

type Rows = Vec<Vec<(String, Option<String>)>>;

async fn people(app: &TestApp) -> Rows {
    app.whole_rows("people", "1=1", "id").await
}

/// The bridge's link rows (the record of what the identity provider sent among them).
async fn links(app: &TestApp) -> Rows {
    app.whole_rows("scim_users", "1=1", "host_key").await
}

/// The record the bridge keeps of user `id`.
async fn record(app: &TestApp, id: &str) -> Value {
    let r = app
        .rows(&format!(
            "SELECT resource FROM scim_users WHERE host_key = '{id}'"
        ))
        .await;
    serde_json::from_str(r[0][0].as_deref().unwrap()).unwrap()
}

/// The columns whose value differs between two snapshots of the same rows, and the keys of
/// rows only `after` has.
fn changed(before: &Rows, after: &Rows) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in after {
        match before.iter().find(|b| b[0] == a[0]) {
            None => out.push(format!("new row {}", a[0].1.as_deref().unwrap_or(""))),
            Some(b) => {
                for ((c, bv), (_, av)) in b.iter().zip(a) {
                    if bv != av && !out.contains(c) {
                        out.push(c.clone());
                    }
                }
            }
        }
    }
    assert!(
        before.iter().all(|b| after.iter().any(|a| a[0] == b[0])),
        "a row vanished"
    );
    out.sort();
    out
}

fn col<'a>(rows: &'a Rows, id: &str, c: &str) -> Option<&'a str> {
    let row = rows
        .iter()
        .find(|r| r[0].1.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no row {id}"));
    row.iter().find(|(n, _)| n == c).unwrap().1.as_deref()
}

fn op(op: &str, path: &str, value: Value) -> Value {
    let mut one = json!({"op": op, "path": path});
    one["value"] = value;
    patch_op(json!([one]))
}

fn okta_user() -> Value {
    json!({"schemas": [USER, ACME], "userName": "cleo", "displayName": "Cleo Custom",
        "emails": [{"value": "cleo@example.com", "type": "work", "primary": true}], "active": true,
        ACME: {"costCenter": "CC-7", "badgeActive": true, "seniority": 3,
               "hiredAt": "2024-02-01T09:00:00Z", "skills": ["rust", "sql"]}})
}

/// The extension is advertised with its types; a POST stores costCenter in its column and the
/// rest in the record; GET serves both; PATCH add/replace/remove with `urn:…:attr` paths and
/// PUT round-trip; a wrong type is 400 and writes nothing; a no-op writes nothing; an
/// undeclared URN is still refused.
async fn extensions_round_trip(b: Backend) {
    let app = spawn(b).await;
    let r = app.get("/ResourceTypes/User").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let exts: Vec<&str> = r.body["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["schema"].as_str().unwrap())
        .collect();
    assert!(exts.contains(&ACME), "{}", r.body);
    let r = app.get(&format!("/Schemas/{ACME}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let types: Vec<(String, String, bool)> = r.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["type"].as_str().unwrap().to_string(),
                a["multiValued"].as_bool().unwrap(),
            )
        })
        .collect();
    for want in [
        ("costCenter", "string", false),
        ("badgeActive", "boolean", false),
        ("seniority", "integer", false),
        ("hiredAt", "dateTime", false),
        ("skills", "string", true),
    ] {
        assert!(
            types.contains(&(want.0.into(), want.1.into(), want.2)),
            "{want:?} in {types:?}"
        );
    }

    // POST: one new host row, costCenter in its column; the rest only in the record.
    let before = people(&app).await;
    let r = app.post("/Users", &okta_user()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body[ACME], okta_user()[ACME], "{}", r.body);
    let after = people(&app).await;
    assert_eq!(changed(&before, &after), [format!("new row {id}")]);
    assert_eq!(col(&after, &id, "cost_center"), Some("CC-7"));
    assert_eq!(col(&after, &id, "profile"), None);
    assert_eq!(record(&app, &id).await[ACME]["seniority"], 3);
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body[ACME], okta_user()[ACME], "{}", r.body);
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ACME)));

    // PATCH of a record-only attribute: the host rows stay as they are.
    let host = people(&app).await;
    for (o, path, value) in [
        ("replace", "seniority", json!(7)),
        ("add", "skills", json!(["go"])),
        ("remove", "hiredAt", Value::Null),
        ("replace", "badgeActive", json!("False")),
    ] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &op(o, &format!("{ACME}:{path}"), value),
            )
            .await;
        assert_eq!(r.status, 200, "{o} {path}: {}", r.body);
    }
    assert_eq!(people(&app).await, host);
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        r.body[ACME],
        json!({"costCenter": "CC-7", "badgeActive": false, "seniority": 7,
               "skills": ["rust", "sql", "go"]}),
        "{}",
        r.body
    );
    assert_eq!(record(&app, &id).await[ACME], r.body[ACME]);

    // PATCH of the mapped one: only its column.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &op("replace", &format!("{ACME}:costCenter"), json!("CC-9")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let now = people(&app).await;
    assert_eq!(changed(&host, &now), ["cost_center"]);
    assert_eq!(col(&now, &id, "cost_center"), Some("CC-9"));

    // A no-op (same value, another spelling of the path) writes nothing, link included.
    let (host, link) = (people(&app).await, links(&app).await);
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &op(
                "replace",
                &format!("{}:SENIORITY", ACME.to_uppercase()),
                json!(7),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((people(&app).await, links(&app).await), (host, link));

    // Wrong types: 400 invalidValue, nothing written.
    let (host, link) = (people(&app).await, links(&app).await);
    for (path, value) in [
        ("seniority", json!("seven")),
        ("seniority", json!(1.5)),
        ("badgeActive", json!(3)),
        ("hiredAt", json!("yesterday")),
        ("skills", json!([1])),
        ("costCenter", json!(12)),
    ] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &op("replace", &format!("{ACME}:{path}"), value),
            )
            .await;
        r.assert_error(400, Some("invalidValue"));
    }
    let mut bad = okta_user();
    bad["userName"] = json!("dora");
    bad[ACME]["seniority"] = json!("3");
    app.post("/Users", &bad)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!((people(&app).await, links(&app).await), (host, link));

    // PUT: what it leaves out of the extension leaves the record; the column keeps the
    // application's value unless the provider sent it before (it did: cleared).
    let mut put = okta_user();
    put[ACME] = json!({"seniority": 8});
    let host = people(&app).await;
    let r = app.put(&format!("/Users/{id}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[ACME], json!({"seniority": 8}), "{}", r.body);
    let now = people(&app).await;
    assert_eq!(changed(&host, &now), ["cost_center"]);
    assert_eq!(col(&now, &id, "cost_center"), None);
    assert_eq!(record(&app, &id).await[ACME], json!({"seniority": 8}));

    // An undeclared URN is still refused, naming it; an undeclared attribute too.
    let (host, link) = (people(&app).await, links(&app).await);
    let other = "urn:ietf:params:scim:schemas:extension:other:2.0:User";
    let mut u = okta_user();
    u["userName"] = json!("eve");
    u["schemas"] = json!([USER, other]);
    u[other] = json!({"x": "y"});
    let r = app.post("/Users", &u).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains(other),
        "{}",
        r.body
    );
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &op("replace", &format!("{ACME}:shoeSize"), json!(9)),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!((people(&app).await, links(&app).await), (host, link));

    // check lists where each attribute is kept, and names the fix for misuses.
    let mapping = std::fs::read_to_string(mapping_path()).unwrap();
    let (ok, out) = app.check(&mapping);
    assert!(ok, "{out}");
    assert!(
        out.contains("costCenter (string) → column people.cost_center")
            && out.contains("skills (string, multi-valued) → kept in the bridge's record"),
        "{out}"
    );
    let bad = mapping
        .replace("seniority   = \"integer\"", "seniority   = \"int\"")
        .replace("hiredAt     = \"dateTime\"\n", "");
    let bad = bad.replace(
        "is_active   =",
        "full_name2 = { attr = \"urn:ietf:params:scim:schemas:extension:acme:2.0:User:hiredAt\" }\nis_active   =",
    );
    let (ok, out) = app.check(&bad);
    assert!(!ok, "{out}");
    assert!(
        out.contains("unknown type \"int\"; use one of")
            && out.contains("which this extension does not declare; add hiredAt = \"string\""),
        "{out}"
    );
    app.stop().await;
}

/// The JSON object in `people.profile` of row `id`.
async fn profile(app: &TestApp, id: &str) -> Value {
    let rows = people(app).await;
    match col(&rows, id, "profile") {
        Some(t) => serde_json::from_str(t).unwrap_or_else(|e| panic!("{t}: {e}")),
        None => Value::Null,
    }
}

/// Keys of one JSON column read, written one by one (the application's keys kept), a no-op
/// writing nothing, a new user's object holding only what was sent, filters refused, an
/// unreadable object left alone, and `check`.
async fn json_keys_read_and_merge(b: Backend) {
    let app = spawn(b).await;
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let r = app.get("/Users/1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["title"], "Lead", "{}", r.body);
    assert!(r.body.get(ent).is_none(), "{}", r.body);

    let before = people(&app).await;
    let r = app
        .patch("/Users/1", &op("replace", "title", json!("Chief")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["title"], "Chief");
    let after = people(&app).await;
    assert_eq!(changed(&before, &after), ["profile"]);
    assert_eq!(
        profile(&app, "1").await,
        json!({"title": "Chief", "theme": "dark"})
    );

    let r = app
        .patch(
            "/Users/1",
            &json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": format!("{ent}:department"), "value": "Ops"},
                {"op": "add", "path": format!("{ACME}:vip"), "value": true}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[ent]["department"], "Ops", "{}", r.body);
    assert_eq!(r.body[ACME]["vip"], true, "{}", r.body);
    assert_eq!(
        profile(&app, "1").await,
        json!({"title": "Chief", "theme": "dark", "dept": "Ops", "vip": true})
    );
    assert_eq!(changed(&after, &people(&app).await), ["profile"]);

    // The same value again: nothing written (the link neither).
    let (host, link) = (people(&app).await, links(&app).await);
    let r = app
        .patch("/Users/1", &op("replace", "title", json!("Chief")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((people(&app).await, links(&app).await), (host, link));

    // Removing one key keeps the others.
    let r = app
        .patch("/Users/1", &op("remove", "title", Value::Null))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("title").is_none(), "{}", r.body);
    assert_eq!(
        profile(&app, "1").await,
        json!({"theme": "dark", "dept": "Ops", "vip": true})
    );

    // A new user's object holds what was sent; one sending none of the keys gets none.
    let mut u = okta_user();
    u["title"] = json!("Analyst");
    u[ent] = json!({"department": "Finance"});
    let r = app.post("/Users", &u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        profile(&app, &id).await,
        json!({"title": "Analyst", "dept": "Finance"})
    );
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (&r.body["title"], &r.body[ent]["department"]),
        (&json!("Analyst"), &json!("Finance"))
    );

    // A wrong type is refused before anything is written; filters on a key are refused.
    let host = people(&app).await;
    app.patch(
        "/Users/2",
        &op("replace", &format!("{ACME}:vip"), json!("yes")),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let r = app.get("/Users?filter=title%20eq%20%22Chief%22").await;
    r.assert_error(400, Some("invalidFilter"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("JSON column \"profile\""),
        "{}",
        r.body
    );
    // A column holding something other than an object is not overwritten.
    app.exec("UPDATE people SET profile = '[1, 2]' WHERE id = 2")
        .await;
    let host2 = people(&app).await;
    let r = app
        .patch("/Users/2", &op("replace", "title", json!("Agent")))
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("\"profile\""),
        "{}",
        r.body
    );
    assert_eq!(people(&app).await, host2);
    assert_eq!(changed(&host, &host2), ["profile"]);

    // check: each key shown; misuses named with the fix.
    let mapping = std::fs::read_to_string(mapping_path()).unwrap();
    let (ok, out) = app.check(&mapping);
    assert!(ok, "{out}");
    assert!(
        out.contains("profile[\"title\"]") && out.contains("← title"),
        "{out}"
    );
    let twice = mapping.replace("json_path = \"dept\"", "json_path = \"title\"");
    let (ok, out) = app.check(&twice);
    assert!(
        !ok && out.contains("JSON key \"title\" of column \"profile\" is mapped twice"),
        "{out}"
    );
    let int = mapping.replace(
        "column    = \"profile\"\nattr      = \"title\"",
        "column    = \"is_active\"\nattr      = \"title\"",
    );
    assert_ne!(int, mapping);
    let (ok, out) = app.check(&int);
    assert!(!ok && out.contains("cannot hold a JSON object"), "{out}");
    app.stop().await;
}

backend_tests!(extensions_round_trip, json_keys_read_and_merge);
