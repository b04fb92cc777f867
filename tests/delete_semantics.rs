//! RFC 7644 §3.6: after `DELETE /Users/{id}` every operation on that id answers 404 and the
//! user is absent from lists and filters — whatever `on_delete` does to the application's
//! row, which is kept (or not) as configured. A later create with the same userName adopts a
//! kept row again, active. On SQLite, PostgreSQL and MariaDB, for every `on_delete`.

mod common;

use common::*;
use serde_json::json;

/// The demo mapping with `on_delete` (and what soft_delete needs) set.
fn mapping(dir: &std::path::Path, on_delete: &str) -> String {
    let demo = std::fs::read_to_string(format!("{REPO}/mappings/demo.toml")).unwrap();
    let mut text = demo.replace(
        "on_delete = \"deactivate\"",
        &format!("on_delete = \"{on_delete}\""),
    );
    if on_delete == "soft_delete" {
        text = text.replace(
            "on_delete = \"soft_delete\"",
            "on_delete = \"soft_delete\"\nsoft_delete = { role = \"deleted\" }\nscope = { role = \"customer\" }",
        );
    }
    let path = dir.join(format!("demo-{on_delete}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const ROW: &str = "SELECT CAST(id AS {T}), login, email, CASE WHEN active THEN '1' ELSE '0' END, role FROM users WHERE login = 'del.me@example.com' ORDER BY id";

async fn deleted_users_answer_404_everywhere(b: Backend, on_delete: &str) {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(
        b,
        Options {
            mapping: mapping(dir.path(), on_delete),
            extra_config: String::new(),
        },
    )
    .await;
    let r = app
        .post("/Users", &okta_user("del.me@example.com", "Del", "Me"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    assert_eq!(app.delete(&path).await.status, 204);

    // Every operation on the id: 404.
    app.get(&path).await.assert_error(404, None);
    let mut put = okta_user("del.me@example.com", "Del", "Me");
    put["name"]["familyName"] = json!("Again");
    app.put(&path, &put).await.assert_error(404, None);
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]});
    app.patch(&path, &patch).await.assert_error(404, None);
    app.delete(&path).await.assert_error(404, None);
    // ...and absent from filters and lists.
    let r = app
        .get("/Users?filter=userName%20eq%20%22del.me%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = app
        .get(&format!("/Users?filter=id%20eq%20%22{id}%22"))
        .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let all = app.get("/Users?count=1000").await.body;
    assert!(
        all["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != id.as_str()),
        "{all}"
    );
    let listed = all["totalResults"].as_u64().unwrap();
    assert_eq!(listed, all["Resources"].as_array().unwrap().len() as u64);

    // What the application keeps.
    let rows = app.rows(ROW).await;
    match on_delete {
        "delete" => assert!(rows.is_empty(), "{rows:?}"),
        "deactivate" => assert_eq!(rows[0][3].as_deref(), Some("0")),
        "ignore" => assert_eq!(rows[0][3].as_deref(), Some("1"), "the row is untouched"),
        "soft_delete" => assert_eq!(rows[0][4].as_deref(), Some("deleted")),
        other => unreachable!("{other}"),
    }

    // The identity provider creates the user again: a kept row is adopted (the same row,
    // active again; a soft-deleted one brought back into scope); a deleted one is made anew.
    let r = app
        .post("/Users", &okta_user("del.me@example.com", "Del", "Me"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], true, "{}", r.body);
    let again = r.body["id"].as_str().unwrap().to_string();
    let rows = app.rows(ROW).await;
    match on_delete {
        "deactivate" | "ignore" | "soft_delete" => {
            assert_eq!(again, id, "the kept row is adopted");
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0][3].as_deref(), Some("1"), "reactivated");
            assert_eq!(rows[0][4].as_deref(), Some("customer"), "back in scope");
        }
        _ => {
            // SQLite may give the new row the deleted one's rowid.
            if b != Backend::Sqlite {
                assert_ne!(again, id);
            }
            assert_eq!(rows.len(), 1);
        }
    }
    assert_eq!(app.get(&format!("/Users/{again}")).await.status, 200);
    app.stop().await;
}

async fn deactivate(b: Backend) {
    deleted_users_answer_404_everywhere(b, "deactivate").await;
}
async fn ignore(b: Backend) {
    deleted_users_answer_404_everywhere(b, "ignore").await;
}
async fn soft_delete(b: Backend) {
    deleted_users_answer_404_everywhere(b, "soft_delete").await;
}
async fn delete(b: Backend) {
    deleted_users_answer_404_everywhere(b, "delete").await;
}

/// Groups too: a deleted group answers 404 and leaves lists; a deleted user leaves its
/// groups' member lists.
async fn deleted_groups_and_members(b: Backend) {
    let app = spawn_app(b).await;
    let uid = app
        .post("/Users", &okta_user("member@example.com", "Mem", "Ber"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(
            "/Groups",
            &json!({"displayName": "Doomed", "members": [{"value": uid}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    // The member is deleted over SCIM: gone from the group.
    assert_eq!(app.delete(&format!("/Users/{uid}")).await.status, 204);
    let g = app.get(&format!("/Groups/{gid}")).await.body;
    assert!(
        g.get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty()),
        "{g}"
    );
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await.status, 204);
    app.get(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/Groups/{gid}"))
        .await
        .assert_error(404, None);
    let r = app
        .get("/Groups?filter=displayName%20eq%20%22Doomed%22")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    app.stop().await;
}

backend_tests!(
    deactivate,
    ignore,
    soft_delete,
    delete,
    deleted_groups_and_members
);
