//! A key a create receives again is a new person. SQLite hands out the largest rowid again
//! once its row is deleted (PostgreSQL and MariaDB do after a sequence is reset, as a restore
//! may do), so a user the application deleted behind the bridge's back can leave the bridge's
//! link and group memberships for the key the next create receives. The create replaces that
//! link (it answered 409 before) and forgets the memberships.
//!
//! And a user is one user whatever spelling of its id a client sends (`007` for 7): the link,
//! the audit entry and the tombstone are found and written under the key as stored.

mod common;

use common::*;
use serde_json::json;

/// Makes the next insert into `users` receive `id` again, as SQLite does by itself.
async fn reuse_next(app: &TestApp, b: Backend, id: &str) {
    match b {
        Backend::Sqlite => {}
        Backend::Postgres => {
            app.exec(&format!(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), {id} - 1)"
            ))
            .await;
        }
        Backend::Mysql => {
            app.exec(&format!("ALTER TABLE users AUTO_INCREMENT = {id}"))
                .await;
        }
    }
}

async fn a_reused_key_is_a_new_user(b: Backend) {
    let app = spawn_app(b).await;
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
    reuse_next(&app, b, &first).await;
    let members = format!("SELECT COUNT(*) FROM scim_group_members WHERE member_key = '{first}'");
    assert_eq!(
        app.count(&members).await,
        1,
        "a stale membership to inherit"
    );

    let r = app
        .post(
            "/Users",
            &okta_user("next.holder@example.com", "Next", "Holder"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let next = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(next, first, "the key was reused (the case under test)");

    let got = app.get(&format!("/Users/{next}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["userName"], "next.holder@example.com");
    assert!(got.body.get("groups").is_none(), "{}", got.body);
    assert_eq!(
        got.header("etag"),
        r.header("etag"),
        "the create's answer is the user as stored"
    );
    let group = app.get(&format!("/Groups/{gid}")).await;
    assert!(
        group.body["members"].as_array().is_none_or(Vec::is_empty),
        "{}",
        group.body
    );
    assert_eq!(app.count(&members).await, 0);
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

async fn another_spelling_of_an_id_is_the_same_user(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post(
            "/Users",
            &okta_user("zero.padded@example.com", "Zero", "Padded"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let padded = format!("/Users/00{id}");

    let r = app
        .patch(
            &padded,
            &patch_op(json!([{"op": "replace", "path": "name.familyName", "value": "Renamed"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], json!(id));
    let links = app
        .rows("SELECT host_key, resource FROM scim_users ORDER BY host_key")
        .await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0][0].as_deref(), Some(id.as_str()));
    assert!(
        links[0][1].as_deref().unwrap().contains("Renamed"),
        "{links:?}"
    );
    let audit = app
        .rows("SELECT resource_id FROM scim_audit WHERE operation = 'patch'")
        .await;
    assert_eq!(audit, vec![vec![Some(id.clone())]]);

    // Deleted over SCIM under one spelling: gone under every spelling.
    assert_eq!(app.delete(&padded).await.status, 204);
    app.get(&padded).await.assert_error(404, None);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/Users/0{id}"))
        .await
        .assert_error(404, None);
    app.stop().await;
}

backend_tests!(
    a_reused_key_is_a_new_user,
    another_spelling_of_an_id_is_the_same_user
);
