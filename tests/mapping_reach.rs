//! Mapping reach (issue 16: column types, identifiers, fills, checks), over HTTP against one
//! schema (`tests/fixtures/helpdesks/reach`) and ONE mapping file on SQLite, PostgreSQL and
//! MariaDB:
//!
//! - PostgreSQL enum columns (`user_type`, `presence`) written, read, compared in `scope` and
//!   filters; MariaDB `ENUM` columns checked against their labels the same way;
//! - a MariaDB `VARBINARY` title and a `LONGBLOB` preference value holding text;
//! - names matched ignoring case: the mapping says `users`/`username`/`Prefs`, PostgreSQL has
//!   the quoted `"Users"`/`"UserName"` and the folded `prefs`/`userid`;
//! - `scope` with `{ null = true }` alone and among values, `protect` with `{ null = false }`,
//!   and a soft delete stamping `"now"`;
//! - fills: a random login cookie per row, `"now"` as UNIX time, as a date, templates keeping
//!   their literal text; a template mentioning userName never becomes where it is read from;
//! - `check`: which spelling it used, where userName is read from, MyISAM, and the misuses.
//!
//! Every write is checked on the host rows it touched, and on those it must not touch.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn mapping_path() -> String {
    format!("{REPO}/tests/fixtures/helpdesks/reach/mapping.toml")
}

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "reach").await;
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

/// The preference table as the database spells it (PostgreSQL folded the unquoted name).
fn prefs(app: &TestApp) -> &'static str {
    if app.backend == Backend::Postgres {
        "prefs"
    } else {
        "Prefs"
    }
}

/// A column of the preference table as the database spells it.
fn pcol(app: &TestApp, name: &str) -> String {
    if app.backend == Backend::Postgres {
        name.to_ascii_lowercase()
    } else {
        name.to_string()
    }
}

type Rows = Vec<Vec<(String, Option<String>)>>;

/// Every column of the user rows matching `filter` (SQL over the user table).
async fn users(app: &TestApp, filter: &str) -> Rows {
    app.whole_rows("Users", filter, "Id").await
}

fn user_name_is(app: &TestApp, user_name: &str) -> String {
    format!("{} = '{user_name}'", app.ident("UserName"))
}

/// One user's row by column.
async fn row(app: &TestApp, user_name: &str) -> HashMap<String, Option<String>> {
    let mut rows = users(app, &user_name_is(app, user_name)).await;
    assert_eq!(rows.len(), 1, "{user_name}: {rows:?}");
    rows.remove(0).into_iter().collect()
}

fn s<'a>(r: &'a HashMap<String, Option<String>>, c: &str) -> Option<&'a str> {
    r.get(c)
        .unwrap_or_else(|| panic!("no column {c} in {r:?}"))
        .as_deref()
}

/// The columns whose value differs between two snapshots of the same rows.
fn changed(before: &Rows, after: &Rows) -> Vec<String> {
    assert_eq!(before.len(), after.len(), "{before:?}\n{after:?}");
    let mut out: Vec<String> = Vec::new();
    for (b, a) in before.iter().zip(after) {
        for ((c, bv), (_, av)) in b.iter().zip(a) {
            if bv != av && !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out.sort();
    out
}

fn filter(q: &str) -> String {
    let enc: String = q
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '"' => "%22".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("/Users?filter={enc}")
}

fn names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

fn parse_ts(t: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn paula() -> Value {
    json!({"schemas": [USER], "userName": "paula.preview",
        "name": {"givenName": "Paula", "familyName": "Lee"},
        "emails": [{"value": "paula@example.com", "type": "work", "primary": true}],
        "userType": "agent", "title": "Leitung Büro", "preferredLanguage": "fr", "active": true})
}

/// Reads: the scope (enum labels, a null form, a null among values) picks three of six rows;
/// reads take userName from its column, names from the template, the title from a binary
/// column and the language from a LONGBLOB preference; filters compare enums and binary
/// strings; `check` says what it matched and where userName comes from.
async fn reads_scope_filters_and_check(b: Backend) {
    let app = spawn(b).await;
    let r = app.get("/Users?count=50").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 3, "{}", r.body);
    assert_eq!(names(&r.body), ["admin", "maria.garcia", "lee.null"]);
    let maria = &r.body["Resources"][1];
    assert_eq!(maria["id"], "2");
    assert_eq!(
        maria["name"],
        json!({"familyName": "Garcia", "givenName": "Maria"})
    );
    assert_eq!(maria["userType"], "customer");
    assert_eq!(maria["title"], "Leitung Büro");
    assert_eq!(maria["preferredLanguage"], "es");
    assert_eq!(maria["emails"][0]["value"], "maria.garcia@example.com");
    assert_eq!(r.body["Resources"][2].get("preferredLanguage"), None);
    for id in [3, 4, 5] {
        let r = app.get(&format!("/Users/{id}")).await;
        assert_eq!(r.status, 404, "row {id} is outside the scope: {}", r.body);
    }

    // Filters: the enum column (as text, folded: userType is not caseExact); a label the
    // type lacks matches nothing (no database error); a binary column as text.
    for (q, want) in [
        (r#"userType eq "agent""#, vec!["admin", "lee.null"]),
        (r#"userType eq "CUSTOMER""#, vec!["maria.garcia"]),
        (r#"userType eq "boss""#, vec![]),
        (r#"userType sw "ag" and title pr"#, vec!["admin"]),
        (r#"userName eq "MARIA.GARCIA""#, vec!["maria.garcia"]),
        (r#"title sw "leitung""#, vec!["maria.garcia"]),
        (r#"preferredLanguage eq "es""#, vec!["maria.garcia"]),
    ] {
        let r = app.get(&filter(q)).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(names(&r.body), want, "{q}");
    }
    let r = app
        .get("/Users?sortBy=userType&sortOrder=descending&count=50")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r.body), ["maria.garcia", "admin", "lee.null"]);

    // check: no errors; the spellings it used; where userName is read from; MyISAM on MariaDB.
    let mapping = std::fs::read_to_string(mapping_path()).unwrap();
    let (ok, out) = app.check(&mapping);
    assert!(ok && out.contains("0 error(s)"), "{out}");
    assert!(
        out.contains("names found by ignoring case in table \"Users\"")
            && out.contains("\"username\" is \"UserName\""),
        "{out}"
    );
    // PostgreSQL folded the preference table's unquoted names; the others kept them.
    assert_eq!(
        out.contains(
            "names found by ignoring case in table \"prefs\": \"Prefs\" is \"prefs\", \"UserId\" is \"userid\", \"Name\" is \"name\", \"Value\" is \"value\""
        ),
        b == Backend::Postgres,
        "{out}"
    );
    assert!(!out.contains("in table \"Prefs\""), "{out}");
    assert!(
        out.contains("userName is read from column \"UserName\"")
            && out.contains("\"ExternalRef\" (template \"scim:{userName}\", written only)"),
        "{out}"
    );
    assert_eq!(
        out.contains("uses the MyISAM engine, which cannot roll back")
            && out.contains("ALTER TABLE `Prefs` ENGINE=InnoDB"),
        b == Backend::Mysql,
        "{out}"
    );
    // Misuses, each named with the fix.
    let readable = mapping.replace(
        "template = \"scim:{userName}\", direction = \"to_host\"",
        "template = \"scim:{userName}\"",
    );
    assert_ne!(readable, mapping);
    let (ok, out) = app.check(&readable);
    assert!(!ok, "{out}");
    assert!(
        out.contains("\"userName\" is also read from column \"UserName\"")
            && out.contains("add direction = \"to_host\""),
        "{out}"
    );
    let short = mapping.replace("{ random = 32 }", "{ random = 6 }");
    let (ok, out) = app.check(&short);
    assert!(!ok && out.contains("use random = 11 or more"), "{out}");
    if b != Backend::Sqlite {
        // SQLite keeps its "enums" in CHECK constraints, which the bridge does not read.
        let robot = mapping.replace("[\"agent\", \"customer\"]", "[\"agent\", \"robot\"]");
        let (ok, out) = app.check(&robot);
        assert!(!ok, "{out}");
        assert!(
            out.contains("\"robot\" is not one of the values column \"Kind\" accepts")
                && out.contains("\"agent\", \"customer\", \"system\""),
            "{out}"
        );
    }
    app.stop().await;
}

/// A create writes every construct in the column's own form; a second create draws another
/// cookie; a value the enum lacks is refused before anything is written; a PATCH writes only
/// the changed column and the bookkeeping one; adoption matches the existing row and keeps it.
async fn writes_each_construct_in_the_columns_form(b: Backend) {
    let app = spawn(b).await;
    let others = users(&app, "1=1").await;
    let prefs_before = app.whole_rows(prefs(&app), "1=1", &pcol(&app, "Id")).await;
    let t0 = chrono::Utc::now();
    let r = app.post("/Users", &paula()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let t1 = chrono::Utc::now();
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["userName"], "paula.preview");
    assert_eq!(r.body["userType"], "agent");
    assert_eq!(r.body["name"]["familyName"], "Lee");
    assert_eq!(r.body["title"], "Leitung Büro");

    let u = row(&app, "paula.preview").await;
    assert_eq!(s(&u, "Id"), Some(id.as_str()));
    assert_eq!(
        s(&u, "Kind"),
        Some("agent"),
        "an enum label, cast on PostgreSQL"
    );
    assert_eq!(s(&u, "Availability"), Some("offline"));
    assert_eq!(s(&u, "Email"), Some("paula@example.com"));
    assert_eq!(s(&u, "FullName"), Some("Lee, Paula"));
    assert_eq!(s(&u, "Title"), Some("Leitung Büro"));
    assert_eq!(
        s(&u, "ExternalRef"),
        Some("scim:paula.preview"),
        "literal text kept"
    );
    let cookie = s(&u, "Cookie").unwrap().to_string();
    assert!(
        cookie.len() == 32 && cookie.chars().all(|c| c.is_ascii_alphanumeric()),
        "{cookie}"
    );
    for c in ["Created", "Updated"] {
        let t: i64 = s(&u, c).unwrap().parse().unwrap();
        assert!(
            (t0.timestamp() - 1..=t1.timestamp() + 1).contains(&t),
            "{c} = {t}: UNIX time"
        );
    }
    let day = s(&u, "CreatedDay").unwrap();
    assert!(
        [t0.date_naive(), t1.date_naive()]
            .iter()
            .any(|d| day == d.format("%Y-%m-%d").to_string()),
        "a date, in the date column's form: {day}"
    );
    for c in ["DeletedAt", "Archived", "PasswordHash"] {
        assert_eq!(s(&u, c), None, "{c}");
    }
    if b == Backend::Mysql {
        let hex = app
            .rows("SELECT HEX(Title) FROM Users WHERE UserName = 'paula.preview'")
            .await;
        let want: String = "Leitung Büro".bytes().map(|x| format!("{x:02X}")).collect();
        assert_eq!(hex[0][0].as_deref(), Some(want.as_str()), "UTF-8 bytes");
    }
    // Its preference row, and nothing else anywhere.
    let uid = app.ident(&pcol(&app, "UserId"));
    let p = app
        .whole_rows(prefs(&app), &format!("{uid} = {id}"), &pcol(&app, "Id"))
        .await;
    assert_eq!(p.len(), 1, "{p:?}");
    let p: HashMap<String, Option<String>> = p[0].iter().cloned().collect();
    assert_eq!(p[&pcol(&app, "Name")].as_deref(), Some("language"));
    assert_eq!(p[&pcol(&app, "Value")].as_deref(), Some("fr"));
    let keep = format!("{} <> {id}", app.ident("Id"));
    assert_eq!(users(&app, &keep).await, others);
    assert_eq!(
        app.whole_rows(prefs(&app), &format!("{uid} <> {id}"), &pcol(&app, "Id"))
            .await,
        prefs_before
    );

    // Another user: another cookie; userName is still read from its column.
    let mut quinn = paula();
    quinn["userName"] = json!("quinn");
    quinn["emails"] = json!([{"value": "quinn@example.com", "primary": true}]);
    let r = app.post("/Users", &quinn).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let q = row(&app, "quinn").await;
    assert_ne!(s(&q, "Cookie"), Some(cookie.as_str()));
    assert_eq!(s(&q, "ExternalRef"), Some("scim:quinn"));
    let r = app.get("/Users?count=50").await;
    assert_eq!(
        names(&r.body),
        [
            "admin",
            "maria.garcia",
            "lee.null",
            "paula.preview",
            "quinn"
        ]
    );

    // A label the enum lacks: 400 naming the labels, nothing written. (SQLite's "enum" is a
    // CHECK constraint the bridge does not read: the database refuses it, also with a 400.)
    let before = users(&app, "1=1").await;
    let mut bad = paula();
    bad["userName"] = json!("robert");
    bad["userType"] = json!("robot");
    let r = app.post("/Users", &bad).await;
    r.assert_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    let named =
        detail.contains("\"robot\"") && detail.contains("\"agent\", \"customer\", \"system\"");
    assert_eq!(named, b != Backend::Sqlite, "{detail}");
    assert_eq!(users(&app, "1=1").await, before);

    // PATCH of the title: the binary column and the bookkeeping epoch, nothing else.
    app.exec(&format!(
        "UPDATE {} SET {} = 1 WHERE {}",
        app.ident("Users"),
        app.ident("Updated"),
        user_name_is(&app, "paula.preview")
    ))
    .await;
    let before = users(&app, "1=1").await;
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Chef"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = users(&app, "1=1").await;
    assert_eq!(changed(&before, &after), ["Title", "Updated"]);
    let u = row(&app, "paula.preview").await;
    assert_eq!(s(&u, "Title"), Some("Chef"));
    assert!(s(&u, "Updated").unwrap().parse::<i64>().unwrap() >= t0.timestamp() - 1);
    assert_eq!(
        s(&u, "Cookie"),
        Some(cookie.as_str()),
        "made once, on insert"
    );

    // Adoption: the existing row, found by its userName column (never by a filled column),
    // kept as the application has it; no second Maria.
    let before = users(&app, "1=1").await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "MARIA.GARCIA", "userType": "customer",
                "name": {"givenName": "Maria", "familyName": "Garcia"},
                "emails": [{"value": "maria.garcia@example.com", "primary": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "2");
    assert_eq!(users(&app, "1=1").await, before, "nothing to write");
    app.stop().await;
}

/// DELETE stamps `DeletedAt` with the time and nothing else; the scope's `{ null = true }`
/// then hides the row. A row with a local password (`{ null = false }`) is protected.
async fn soft_delete_stamps_now_and_protect_takes_not_null(b: Backend) {
    let app = spawn(b).await;
    let r = app.post("/Users", &paula()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let before = users(&app, "1=1").await;
    let prefs_before = app.whole_rows(prefs(&app), "1=1", &pcol(&app, "Id")).await;
    let t0 = chrono::Utc::now().naive_utc();
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let t1 = chrono::Utc::now().naive_utc();
    let after = users(&app, "1=1").await;
    assert_eq!(changed(&before, &after), ["DeletedAt"]);
    let u = row(&app, "paula.preview").await;
    let at = parse_ts(s(&u, "DeletedAt").unwrap());
    let second = chrono::Duration::seconds(1);
    assert!(
        at >= t0 - second && at <= t1 + second,
        "{at} between {t0} and {t1}"
    );
    assert_eq!(
        app.whole_rows(prefs(&app), "1=1", &pcol(&app, "Id")).await,
        prefs_before
    );
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = app.get(&filter(r#"userName eq "paula.preview""#)).await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = app.get("/Users").await;
    assert_eq!(r.body["totalResults"], 3, "{}", r.body);

    // admin has a local password: PATCH and DELETE are refused, nothing written.
    let before = users(&app, "1=1").await;
    let r = app
        .patch(
            "/Users/1",
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Root"}]}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("accounts with a local password")),
        "{}",
        r.body
    );
    let r = app.delete("/Users/1").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(users(&app, "1=1").await, before);
    // lee.null has none: its row is SCIM's to change.
    let r = app
        .patch(
            "/Users/6",
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Agent"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s(&row(&app, "lee.null").await, "Title"), Some("Agent"));
    app.stop().await;
}

backend_tests!(
    reads_scope_filters_and_check,
    writes_each_construct_in_the_columns_form,
    soft_delete_stamps_now_and_protect_takes_not_null,
);
