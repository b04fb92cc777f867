//! A key the application reuses is a new person. SQLite hands out the largest rowid again once
//! its row is deleted, so a user the application deleted behind the bridge's back can leave
//! the bridge's link and group memberships for a key the next create receives. The create
//! replaces that link (it answered 409 before) and forgets the memberships (its answer shows
//! no groups without asking the membership table, and GET must agree).

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_sqlite_rowid_is_a_new_user() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app
        .post(
            "/Users",
            &okta_user("first.holder@example.com", "First", "Holder"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let first = r.body["id"].as_str().unwrap().to_string();
    let g = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Night shift", "members": [{"value": first}]}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.body["id"].as_str().unwrap().to_string();

    // The application deletes the row itself; the bridge is not told.
    app.exec(&format!("DELETE FROM users WHERE id = {first}"))
        .await;
    let before = app
        .count(&format!(
            "SELECT COUNT(*) FROM scim_group_members WHERE member_key = '{first}'"
        ))
        .await;
    assert_eq!(before, 1, "the stale membership is there to be inherited");

    let r = app
        .post(
            "/Users",
            &okta_user("next.holder@example.com", "Next", "Holder"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let next = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(next, first, "SQLite reused the rowid (the case under test)");
    assert!(r.body.get("groups").is_none(), "{}", r.body);

    let got = app.get(&format!("/Users/{next}")).await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("groups").is_none(), "{}", got.body);
    assert_eq!(
        got.header("etag"),
        r.header("etag"),
        "the create's answer is the user as stored"
    );
    let members = app.get(&format!("/Groups/{gid}")).await;
    assert_eq!(members.body["members"], json!([]), "{}", members.body);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM scim_group_members WHERE member_key = '{next}'"
        ))
        .await,
        0
    );
    let link = app
        .rows(&format!(
            "SELECT user_name, origin FROM scim_users WHERE host_key = '{next}'"
        ))
        .await;
    assert_eq!(
        link,
        vec![vec![
            Some("next.holder@example.com".to_string()),
            Some("scim".to_string())
        ]],
        "one link, the new user's"
    );
    app.stop().await;
}
