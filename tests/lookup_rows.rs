//! Lookup rows with several columns (issue 16), over HTTP against
//! `tests/fixtures/helpdesks/partners` (an Odoo-like address book: each user row holds the
//! key of a partner row with a name, an email, an enumerated type and an active flag) with ONE
//! mapping file on SQLite, PostgreSQL and MariaDB. A new email creates a partner filled from
//! `set` (the request's displayName, constants, the time); an email a partner already holds —
//! in any case — reuses that row and never changes it; an email two partners hold in
//! different case is a 409 that writes nothing; a partner that cannot be made is a 400 that
//! writes nothing. Every step compares the whole rows of both tables.

mod common;

use common::*;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

type Row = Vec<(String, Option<String>)>;

fn mapping_path() -> String {
    format!("{REPO}/tests/fixtures/helpdesks/partners/mapping.toml")
}

/// A server over a fresh copy of the fixture with mapping text `mapping`.
async fn spawn(b: Backend, mapping: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "partners").await;
    let path = dir.path().join("partners.toml");
    std::fs::write(&path, mapping).unwrap();
    let opts = Options {
        mapping: path.display().to_string(),
        extra_config: String::new(),
    };
    spawn_on_url(b, url, dir, opts).await
}

/// Both tables, whole rows; a partner's `create_date` as `"stamped"` when it holds a time
/// (its value is the time of the request).
async fn both(app: &TestApp) -> (Vec<Row>, Vec<Row>) {
    let mut partners = app.whole_rows("res_partner", "1=1", "id").await;
    for row in &mut partners {
        for (c, v) in row.iter_mut() {
            if c == "create_date" && v.is_some() {
                *v = Some("stamped".into());
            }
        }
    }
    (app.whole_rows("res_users", "1=1", "id").await, partners)
}

/// A boolean as the backend's text cast shows it.
fn truth(b: Backend, v: bool) -> String {
    match (b, v) {
        (Backend::Postgres, true) => "true".into(),
        (Backend::Postgres, false) => "false".into(),
        (_, v) => u8::from(v).to_string(),
    }
}

fn partner(b: Backend, id: &str, name: &str, email: &str) -> Row {
    [
        ("id", Some(id.to_string())),
        ("name", Some(name.to_string())),
        ("email", Some(email.to_string())),
        ("type", Some("contact".to_string())),
        ("active", Some(truth(b, true))),
        ("create_date", Some("stamped".to_string())),
    ]
    .into_iter()
    .map(|(c, v)| (c.to_string(), v))
    .collect()
}

fn user_row(b: Backend, id: &str, login: &str, partner: &str) -> Row {
    [
        ("id", id.to_string()),
        ("login", login.to_string()),
        ("partner_id", partner.to_string()),
        ("active", truth(b, true)),
    ]
    .into_iter()
    .map(|(c, v)| (c.to_string(), Some(v)))
    .collect()
}

fn person(user_name: &str, email: &str, display: Option<&str>) -> Value {
    let mut v = json!({"schemas": [USER], "userName": user_name,
        "emails": [{"value": email, "type": "work", "primary": true}]});
    if let Some(d) = display {
        v["displayName"] = json!(d);
    }
    v
}

async fn partners_are_created_with_their_columns_or_reused(b: Backend) {
    let app = spawn(b, &std::fs::read_to_string(mapping_path()).unwrap()).await;
    let (mut users, mut partners) = both(&app).await;

    // A new email: a partner holding it, the request's displayName, the constants and the
    // time; the user row holds its key.
    let r = app
        .post(
            "/Users",
            &person("ann", "ann@example.com", Some("Ann Archer")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ann = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["emails"][0]["value"], "ann@example.com",
        "{}",
        r.body
    );
    partners.push(partner(b, "5", "Ann Archer", "ann@example.com"));
    users.push(user_row(b, &ann, "ann", "5"));
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    // An email a partner holds in another case: that partner, exactly as it was (its name,
    // its type, archived) — the user is served the application's spelling.
    let r = app
        .post(
            "/Users",
            &person("bob", "BOB@Example.com", Some("Bob Brown")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let bob = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["emails"][0]["value"], "bob@example.com",
        "{}",
        r.body
    );
    users.push(user_row(b, &bob, "bob", "2"));
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    // A new displayName is not written into the partner (set fills a row once, when made).
    let ops = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ann Smith"}]));
    let r = app.patch(&format!("/Users/{ann}"), &ops).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    // A new email: another partner, made with the name the user has now; the first stays.
    let ops = patch_op(json!([{"op": "replace", "path": "emails",
        "value": [{"value": "ann.smith@example.com", "type": "work", "primary": true}]}]));
    let r = app.patch(&format!("/Users/{ann}"), &ops).await;
    assert_eq!(r.status, 200, "{}", r.body);
    partners.push(partner(b, "6", "Ann Smith", "ann.smith@example.com"));
    users[1] = user_row(b, &ann, "ann", "6");
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    // No displayName: the name falls back to the userName (default = { attr = "userName" }).
    let r = app
        .post("/Users", &person("dave", "dave@example.com", None))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dave = r.body["id"].as_str().unwrap().to_string();
    partners.push(partner(b, "7", "dave", "dave@example.com"));
    users.push(user_row(b, &dave, "dave", "7"));
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    // Two partners hold the email in different case: which one is ambiguous — a 409 naming
    // them, and nothing written (no partner, no user), on create and on update alike.
    let r = app
        .post("/Users", &person("carl", "Dup@Example.com", Some("Carl")))
        .await;
    r.assert_error(409, Some("uniqueness"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("res_partner.email") && detail.contains("keys 3, 4"),
        "{detail}"
    );
    let ops = patch_op(json!([{"op": "replace", "path": "emails",
        "value": [{"value": "dup@example.com", "primary": true}]}]));
    app.patch(&format!("/Users/{dave}"), &ops)
        .await
        .assert_error(409, Some("uniqueness"));
    assert_eq!(both(&app).await, (users.clone(), partners.clone()));

    check_describes_the_lookup_and_its_order(&app).await;
    assert_eq!(
        both(&app).await,
        (users, partners),
        "a dry run writes nothing"
    );
    app.stop().await;
}

/// `check` passes, says what a new partner holds and the order of a create; a dry run of a
/// create with a new email inserts in that order.
async fn check_describes_the_lookup_and_its_order(app: &TestApp) {
    let text = std::fs::read_to_string(mapping_path()).unwrap();
    let (ok, out) = app.check(&text);
    assert!(ok, "{out}");
    assert!(
        out.contains("stored as res_partner.id of the row whose email holds it")
            && out.contains("a new row when none does, with active ← constant true")
            && out.contains("name ← displayName")
            && out.contains("type ← constant \"contact\"")
            && out.contains("create_date ← now")
            && out.contains("an existing row is never changed"),
        "{out}"
    );
    assert!(
        out.contains("1. res_partner (lookup), only when no row holds the value; its key goes into res_users.partner_id")
            && out.contains("2. res_users (the user's row)"),
        "{out}"
    );
    order::assert_preview_follows(app, &text, &person("fay", "fay@example.com", None), &out);
    assert_eq!(order::check_order(&out), ["res_partner", "res_users"]);
}

async fn a_partner_that_cannot_be_made_is_refused(b: Backend) {
    let text = std::fs::read_to_string(mapping_path()).unwrap();
    let strict = text.replace(
        "name        = { attr = \"displayName\", default = { attr = \"userName\" } }",
        "name        = { attr = \"displayName\" }",
    );
    assert_ne!(strict, text);
    let app = spawn(b, &strict).await;
    let before = both(&app).await;

    // Without a displayName no partner can be made for a new email: 400 naming the
    // attribute, the column and the table, and nothing written.
    let r = app
        .post("/Users", &person("erin", "erin@example.com", None))
        .await;
    r.assert_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("res_partner.email")
            && detail.contains("\"displayName\" is required")
            && detail.contains("\"name\""),
        "{detail}"
    );
    assert_eq!(both(&app).await, before);
    // An email a partner already holds needs no new row: accepted.
    let r = app
        .post("/Users", &person("bob", "bob@example.com", None))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // check warns about that rule and refuses misuses, naming the fix.
    let (ok, out) = app.check(&strict);
    assert!(ok, "{out}");
    assert!(
        out.contains("users.columns.partner_id.lookup.set.name")
            && out.contains("without \"displayName\" will be refused with 400"),
        "{out}"
    );
    let set = "type        = \"contact\"\n";
    for (variant, words) in [
        (
            text.replace(set, ""),
            vec![
                "users.columns.partner_id.lookup.set.type",
                "NOT NULL without a default",
                "add it to the lookup's set",
            ],
        ),
        (
            text.replace("name        =", "nmae        ="),
            vec!["lookup.set.nmae", "did you mean name"],
        ),
        (
            text.replace("create = true\n", ""),
            vec!["lookup.set", "add create = true, or remove set"],
        ),
        (
            text.replace(set, "type        = \"contact\"\nemail       = \"x@y\"\n"),
            vec!["lookup.set.email", "the lookup's column"],
        ),
        (
            text.replace("active      = true", "active      = \"maybe\""),
            vec!["lookup.set.active", "cannot be stored in \"active\""],
        ),
    ] {
        let (ok, out) = app.check(&variant);
        assert!(!ok, "{variant}\n{out}");
        assert!(words.iter().all(|w| out.contains(w)), "{words:?}\n{out}");
    }
    // The enumerated type's labels are named where the column is one (not SQLite's text).
    let (ok, out) = app.check(&text.replace("\"contact\"", "\"supplier\""));
    if b == Backend::Sqlite {
        assert!(ok, "{out}");
    } else {
        assert!(
            !ok && out.contains("lookup.set.type") && out.contains("\"delivery\""),
            "{out}"
        );
    }
    app.stop().await;
}

backend_tests!(
    partners_are_created_with_their_columns_or_reused,
    a_partner_that_cannot_be_made_is_refused
);
