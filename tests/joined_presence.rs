//! Joined rows that exist only while their attribute does (`skip_if_absent = true`), only
//! for users the bridge creates (`on = "insert"`), and keyed by the login rather than the
//! user's key (`user_column`, kept in step on a rename), issue 16, over HTTP against
//! `tests/fixtures/helpdesks/deprov` (one preference row per attribute, `value NOT NULL`) with
//! ONE mapping file on SQLite, PostgreSQL and MariaDB. Every write is checked on the whole
//! preference rows: the user's own and everybody else's.

mod common;

use common::patch_op as patch;
use common::*;
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "deprov").await;
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: format!("{REPO}/tests/fixtures/helpdesks/deprov/mapping.toml"),
            extra_config: String::new(),
        },
    )
    .await
}

/// The user's preference rows as (name, value), by name.
async fn prefs(app: &TestApp, user: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = app
        .rows(&format!(
            "SELECT name, value FROM preferences WHERE user_id = {user}"
        ))
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    out.sort();
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

async fn all_prefs(app: &TestApp, filter: &str) -> Vec<Vec<(String, Option<String>)>> {
    app.whole_rows("preferences", filter, "id").await
}

/// A create writes a row per present attribute and none for an absent one; adding an
/// attribute inserts its row, removing it (PATCH remove, PUT without it) deletes the row; a
/// no-op writes nothing; `on = "insert"` rows are never made for an adopted user, nor later.
async fn rows_follow_their_attribute(b: Backend) {
    let app = spawn(b).await;
    let seeded = all_prefs(&app, "1=1").await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "dave", "preferredLanguage": "fr", "title": "Boss"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dave = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        prefs(&app, &dave).await,
        pairs(&[("language", "fr"), ("signature", "Boss")]),
        "no timezone row: the attribute is absent (a NULL would break value NOT NULL)"
    );
    let r = app
        .post("/Users", &json!({"schemas": [USER], "userName": "eve"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let eve = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(prefs(&app, &eve).await, vec![]);
    let others = format!("user_id NOT IN ({dave}, {eve})");
    assert_eq!(all_prefs(&app, &others).await, seeded);

    // Adding the timezone inserts its row; nothing else changes.
    let r = app
        .patch(
            &format!("/Users/{dave}"),
            &patch(json!([{"op": "add", "path": "timezone", "value": "Europe/Paris"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        prefs(&app, &dave).await,
        pairs(&[
            ("language", "fr"),
            ("signature", "Boss"),
            ("timezone", "Europe/Paris")
        ])
    );

    // PATCH remove: the language row is deleted (not emptied); GET no longer shows it.
    let before = all_prefs(&app, &format!("name <> 'language' OR user_id <> {dave}")).await;
    let r = app
        .patch(
            &format!("/Users/{dave}"),
            &patch(json!([{"op": "remove", "path": "preferredLanguage"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.get("preferredLanguage"), None, "{}", r.body);
    assert_eq!(all_prefs(&app, "1=1").await, before);

    // PUT without the timezone (sent before): its row is deleted; the same PUT again: nothing.
    let put = json!({"schemas": [USER], "userName": "dave", "title": "Boss"});
    let r = app.put(&format!("/Users/{dave}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(prefs(&app, &dave).await, pairs(&[("signature", "Boss")]));
    let before = all_prefs(&app, "1=1").await;
    let r = app.put(&format!("/Users/{dave}"), &put).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(all_prefs(&app, "1=1").await, before);
    // A value again: the row comes back.
    let r = app
        .patch(
            &format!("/Users/{dave}"),
            &patch(json!([{"op": "replace", "path": "preferredLanguage", "value": "it"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        prefs(&app, &dave).await,
        pairs(&[("language", "it"), ("signature", "Boss")])
    );

    // Adopting ann (the application's user, language "de"): her row is kept as it is, and no
    // signature row is made — not on adoption, not on a later update.
    let before = all_prefs(&app, "1=1").await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "ann", "title": "Lead", "preferredLanguage": "de"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "1", "{}", r.body);
    assert_eq!(all_prefs(&app, "1=1").await, before);
    let r = app
        .patch(
            "/Users/1",
            &patch(json!([{"op": "replace", "path": "title", "value": "Head"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(all_prefs(&app, "1=1").await, before);
    assert_eq!(prefs(&app, "1").await, pairs(&[("language", "de")]));
    app.stop().await;
}

fn settings_of<'a>(
    rows: &'a [Vec<(String, Option<String>)>],
    id: &str,
) -> &'a Vec<(String, Option<String>)> {
    rows.iter()
        .find(|r| r[0].1.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no settings row {id}: {rows:?}"))
}

/// Settings keyed by the login: read and filtered through it; a rename moves the user's row
/// with it in the same request (nobody else's), and later writes find it under the new login.
async fn rows_keyed_by_the_login_follow_it(b: Backend) {
    let app = spawn(b).await;
    let r = app.get("/Users/1").await;
    assert_eq!(r.body["nickName"], "Annie", "{}", r.body);
    let r = app.get("/Users?filter=nickName%20eq%20%22Bobby%22").await;
    assert_eq!(r.body["Resources"][0]["userName"], "bob", "{}", r.body);

    let before = app.whole_rows("user_settings", "1=1", "id").await;
    let accounts = app.whole_rows("accounts", "1=1", "id").await;
    let rename = patch(json!([{"op": "replace", "path": "userName", "value": "ann.smith"}]));
    let r = app.patch("/Users/1", &rename).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["nickName"], "Annie", "{}", r.body);
    let after = app.whole_rows("user_settings", "1=1", "id").await;
    assert_eq!(
        settings_of(&after, "2"),
        settings_of(&before, "2"),
        "bob's row"
    );
    assert_eq!(
        settings_of(&after, "1"),
        &vec![
            ("id".to_string(), Some("1".to_string())),
            ("login".to_string(), Some("ann.smith".to_string())),
            ("nickname".to_string(), Some("Annie".to_string())),
        ]
    );
    assert_eq!(after.len(), before.len());
    // The account: only its login and updated_at changed; bob's not at all.
    let accounts_after = app.whole_rows("accounts", "1=1", "id").await;
    assert_eq!(accounts_after[1], accounts[1], "bob's account");
    let changed: Vec<&str> = (accounts[0].iter().zip(&accounts_after[0]))
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.as_str())
        .collect();
    assert_eq!(changed, ["login", "updated_at"], "{accounts_after:?}");

    // The same rename again writes nothing, in either table.
    let r = app.patch("/Users/1", &rename).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.whole_rows("user_settings", "1=1", "id").await, after);
    assert_eq!(
        app.whole_rows("accounts", "1=1", "id").await,
        accounts_after
    );

    // A later write finds the row under the new login.
    let r = app
        .patch(
            "/Users/1",
            &patch(json!([{"op": "replace", "path": "nickName", "value": "Ann S."}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = app.whole_rows("user_settings", "1=1", "id").await;
    assert_eq!(settings_of(&after, "1")[2].1.as_deref(), Some("Ann S."));
    assert_eq!(
        settings_of(&after, "2"),
        settings_of(&before, "2"),
        "bob's row"
    );
    assert_eq!(after.len(), before.len());

    // A new user's row holds its login; a rename and a new nickname in one request move and
    // change that one row.
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "frank", "nickName": "Frankie"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let frank = r.body["id"].as_str().unwrap().to_string();
    let frank_rows = "SELECT login, nickname FROM user_settings WHERE login LIKE 'frank%'";
    let rows = app.rows(frank_rows).await;
    assert_eq!(
        rows,
        [[Some("frank".to_string()), Some("Frankie".to_string())]]
    );
    let others = app
        .whole_rows("user_settings", "login NOT LIKE 'frank%'", "id")
        .await;
    let both = json!([{"op": "replace", "value": {"userName": "franklin", "nickName": "Frank"}}]);
    let r = app.patch(&format!("/Users/{frank}"), &patch(both)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["nickName"], "Frank", "{}", r.body);
    let rows = app.rows(frank_rows).await;
    assert_eq!(
        rows,
        [[Some("franklin".to_string()), Some("Frank".to_string())]]
    );
    let now = app
        .whole_rows("user_settings", "login NOT LIKE 'frank%'", "id")
        .await;
    assert_eq!(now, others, "nobody else's row");
    let r = app.get("/Users?filter=nickName%20eq%20%22Frank%22").await;
    assert_eq!(r.body["Resources"][0]["userName"], "franklin", "{}", r.body);
    app.stop().await;
}

backend_tests!(
    rows_follow_their_attribute,
    rows_keyed_by_the_login_follow_it
);
