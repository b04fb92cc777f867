//! `truncate = N`: text longer than the column is cut instead of refused, only where the
//! mapping opts in; the cut value is what later writes compare with, so repeating the long
//! value writes nothing. On SQLite, PostgreSQL and MariaDB.

mod common;

use common::*;
use serde_json::{json, Value};

const PHONE: &str = "phone      = { attr = \"phoneNumbers[type eq \\\"work\\\"].value\" }";

fn user(phone: &str) -> Value {
    let mut u = okta_user("tina.trunc@example.com", "Tina", "Trunc");
    u["phoneNumbers"] = json!([{"value": phone, "type": "work"}]);
    u
}

async fn long_values_are_cut_where_the_mapping_says_so(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(format!("{REPO}/mappings/demo.toml")).unwrap();
    assert!(demo.contains(PHONE), "the demo maps the work phone");
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        demo.replace(
            PHONE,
            "phone      = { attr = \"phoneNumbers[type eq \\\"work\\\"].value\", truncate = 100 }",
        ),
    )
    .unwrap();
    let app = spawn_with(
        b,
        Options {
            mapping: mapping.display().to_string(),
            extra_config: String::new(),
        },
    )
    .await;
    // The demo's phone column is VARCHAR(100).
    let long = format!("+1 555 0100 ext. {}", "9".repeat(120));
    let r = app.post("/Users", &user(&long)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let cut: String = long.chars().take(100).collect();
    // Like the other lossy transforms, reads give back the spelling the identity provider
    // sent while the column still holds its cut (so the provider sees no drift to correct).
    assert_eq!(
        r.body["phoneNumbers"][0]["value"],
        long.as_str(),
        "{}",
        r.body
    );
    let row = app.user_row("tina.trunc@example.com").await.unwrap();
    assert_eq!(row[6].as_deref(), Some(cut.as_str()));
    // The same long value again is no change: the row is left alone, updated_at included.
    let before = app.whole_rows("users", &format!("id = {id}"), "id").await;
    let r = app.put(&format!("/Users/{id}"), &user(&long)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.whole_rows("users", &format!("id = {id}"), "id").await,
        before
    );
    // A short value is written as sent.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch_op(json!([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0101"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.user_row("tina.trunc@example.com").await.unwrap()[6].as_deref(),
        Some("+1 555 0101")
    );
    // Without truncate (the department) a value too long is still refused, naming the column.
    let mut u = user("+1 555 0102");
    u["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "D".repeat(201)});
    let before = app.whole_rows("users", &format!("id = {id}"), "id").await;
    app.put(&format!("/Users/{id}"), &u)
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(
        app.whole_rows("users", &format!("id = {id}"), "id").await,
        before
    );
    app.stop().await;
}

backend_tests!(long_values_are_cut_where_the_mapping_says_so);
