//! Okta's provisioning sequences over HTTP, checked against the host table afterwards.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

async fn test_api_credentials_lists_existing_users_with_okta_required_fields(b: Backend) {
    let app = spawn_app(b).await;
    for count in [1, 2] {
        let r = app.get(&format!("/Users?startIndex=1&count={count}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
        let b = &r.body;
        assert_eq!(
            b["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        assert!(
            b["totalResults"].is_u64() && b["startIndex"].is_u64() && b["itemsPerPage"].is_u64(),
            "{b}"
        );
        assert_eq!(
            b["totalResults"], 5,
            "the demo helpdesk has five pre-existing users"
        );
        assert_eq!(b["itemsPerPage"], count);
        let u = &b["Resources"][0];
        for field in [
            "/id",
            "/userName",
            "/name/familyName",
            "/name/givenName",
            "/emails/0/value",
        ] {
            assert!(
                u.pointer(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty()),
                "{field} missing in {u}"
            );
        }
        assert!(u["active"].is_boolean());
    }
    app.stop().await;
}

async fn okta_spec_test_sequence(b: Backend) {
    let app = spawn_app(b).await;
    // 3. An unmatched filter is 200 with zero results, not 404.
    let r = app
        .get("/Users?filter=userName%20eq%20%22nobody%40example.com%22&startIndex=1&count=100")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    // 4. Unknown id is 404 with the Error schema.
    app.get("/Users/999999").await.assert_error(404, None);
    // 5. Create with Content-Type application/json, as Okta's test sends it.
    let body = okta_user("Test.User@Okta.Local", "Test", "User");
    let r = app
        .send(
            Method::POST,
            "/Users",
            Some(&body),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["userName"], "Test.User@Okta.Local", "case preserved");
    assert_eq!(r.body["name"]["givenName"], "Test");
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body["meta"]["created"].is_string() && r.body["meta"]["lastModified"].is_string());
    assert_eq!(r.header("location"), r.body["meta"]["location"].as_str());
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert!(
        r.body.get("password").is_none(),
        "the password is never returned"
    );
    assert_eq!(r.body["externalId"], "00u20");
    // The host row holds the mapped values, and nothing of the password.
    let row = app
        .user_row("Test.User@Okta.Local")
        .await
        .expect("host row inserted");
    assert_eq!(row[0].as_deref(), Some(id.as_str()));
    assert_eq!(
        row[2].as_deref(),
        Some("test.user@okta.local"),
        "email lowercased by the mapping"
    );
    assert_eq!(
        (row[3].as_deref(), row[4].as_deref()),
        (Some("Test"), Some("User"))
    );
    assert_eq!(row[7].as_deref(), Some("1"));
    assert_eq!(row[8].as_deref(), Some("customer"));
    assert_eq!(
        row[9].as_deref(),
        Some("!"),
        "placeholder, not Okta's password"
    );
    assert!(row[10].is_some() && row[11].is_some());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scim_users WHERE resource LIKE '%1mz050nq%'")
            .await,
        0,
        "password not in the shadow record"
    );
    // 6. Read back.
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["userName"], "Test.User@Okta.Local");
    assert_eq!(
        r.body["locale"], "en-US",
        "unmapped attributes round-trip through the shadow record"
    );
    // 7. The same POST again is 409 uniqueness.
    let r = app
        .send(
            Method::POST,
            "/Users",
            Some(&body),
            &[("content-type", "application/json")],
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE lower(login) = 'test.user@okta.local'")
            .await,
        1
    );
    // 8. Upper-cased filter finds the user.
    let r = app
        .get("/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    // 10. A bad token is 401 with WWW-Authenticate.
    let r = app.send(Method::GET, "/Users", None, &[("authorization", "Bearer scimb_0000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]).await;
    r.assert_error(401, None);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer")));
    app.send(
        Method::GET,
        "/Users",
        None,
        &[("authorization", "Basic dXNlcjpwYXNz")],
    )
    .await
    .assert_error(401, None);
    app.raw(
        hyper::Request::get(app.url("/Users"))
            .body(Default::default())
            .unwrap(),
    )
    .await
    .assert_error(401, None);
    // 11. A numeric-looking unknown id is 404.
    app.get("/Users/00919288221112222")
        .await
        .assert_error(404, None);
    app.stop().await;
}

async fn aiw_put_updates_deactivates_and_reactivates(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post("/Users", &okta_user("put.user@example.com", "Put", "User"))
        .await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let created_at = app.user_row("put.user@example.com").await.unwrap()[10].clone();

    // Okta AIW: GET, then PUT the fetched body back with changes merged in.
    let mut echo = app.get(&format!("/Users/{id}")).await.body;
    echo["name"]["givenName"] = json!("Putting");
    echo["groups"] = json!([]);
    echo["password"] = json!("ignored-secret");
    echo["emails"][0]["display"] = json!("put.user@example.com");
    echo["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Finance"});
    let r = app.put(&format!("/Users/{id}"), &echo).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Putting");
    let row = app.user_row("put.user@example.com").await.unwrap();
    assert_eq!(row[3].as_deref(), Some("Putting"));
    assert_eq!(row[5].as_deref(), Some("Finance"));
    assert_eq!(
        row[9].as_deref(),
        Some("!"),
        "insert-only columns are not rewritten"
    );
    assert_eq!(row[10], created_at, "created_at untouched by updates");

    // Deactivation as an AIW PUT.
    echo = r.body.clone();
    echo["active"] = json!(false);
    let r = app.put(&format!("/Users/{id}"), &echo).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["active"], false);
    assert_eq!(
        app.user_row("put.user@example.com").await.unwrap()[7].as_deref(),
        Some("0")
    );
    // A deactivated user stays readable with active false.
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (r.status.as_u16(), r.body["active"].clone()),
        (200, json!(false))
    );
    // Reactivation.
    echo["active"] = json!(true);
    let r = app.put(&format!("/Users/{id}"), &echo).await;
    assert_eq!(r.body["active"], true);
    assert_eq!(
        app.user_row("put.user@example.com").await.unwrap()[7].as_deref(),
        Some("1")
    );
    // PUT to an unknown id is 404 and writes nothing.
    app.put("/Users/424242", &echo)
        .await
        .assert_error(404, None);
    app.stop().await;
}

async fn catalog_app_patch_deactivate_reactivate_and_profile_paths(b: Backend) {
    let app = spawn_app(b).await;
    let id = app
        .post("/Users", &okta_user("patch.user@example.com", "Pat", "Ch"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let r = app.patch(&format!("/Users/{id}"), &deactivate).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(
        app.user_row("patch.user@example.com").await.unwrap()[7].as_deref(),
        Some("0")
    );
    let reactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": true}}]});
    assert_eq!(
        app.patch(&format!("/Users/{id}"), &reactivate).await.body["active"],
        true
    );
    assert_eq!(
        app.user_row("patch.user@example.com").await.unwrap()[7].as_deref(),
        Some("1")
    );
    // Path forms.
    let ops = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Patricia"},
        {"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"},
        {"op": "remove", "path": "name.familyName"}]});
    let r = app.patch(&format!("/Users/{id}"), &ops).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let row = app.user_row("patch.user@example.com").await.unwrap();
    assert_eq!(row[3].as_deref(), Some("Patricia"));
    assert_eq!(row[6].as_deref(), Some("+1 555 0100"));
    assert_eq!(
        row[4].as_deref(),
        Some(""),
        "lastname is NOT NULL DEFAULT '': the rule's default fills it"
    );
    // Entra's string boolean.
    let entra = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    assert_eq!(
        app.patch(&format!("/Users/{id}"), &entra).await.body["active"],
        false
    );
    app.stop().await;
}

async fn import_paging_is_stable_complete_and_counts_are_actual(b: Backend) {
    let app = spawn_app(b).await;
    for i in 0..7 {
        assert_eq!(
            app.post(
                "/Users",
                &okta_user(&format!("page{i}@example.com"), "P", &i.to_string())
            )
            .await
            .status,
            201
        );
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = app.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(r.body["totalResults"], 12);
        let page = r.body["Resources"].as_array().unwrap().clone();
        assert_eq!(r.body["itemsPerPage"], page.len());
        assert_eq!(r.body["startIndex"], start);
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += 3;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (seen.len(), unique.len()),
        (12, 12),
        "every user exactly once"
    );
    // Past the end: empty page, correct total.
    let r = app.get("/Users?startIndex=101&count=100").await;
    assert_eq!(
        (
            r.body["totalResults"].clone(),
            r.body["itemsPerPage"].clone()
        ),
        (json!(12), json!(0))
    );
    // count=0 gives only the total.
    assert_eq!(app.get("/Users?count=0").await.body["totalResults"], 12);
    app.stop().await;
}

async fn existing_user_is_adopted_not_duplicated(b: Backend) {
    let app = spawn_app(b).await;
    let before = app.count("SELECT COUNT(*) FROM users").await;
    // The demo has "Bob.Brown@Acme.Example"; Okta holds it lower-cased, with stray spaces.
    let r = app
        .post(
            "/Users",
            &okta_user(" bob.brown@acme.example ", "Robert", "Brown"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "3", "the existing row's id");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        before,
        "no duplicate row"
    );
    let row = app
        .rows("SELECT firstname, role, password, CAST(created_at AS {T}) FROM users WHERE id = 3")
        .await
        .remove(0);
    assert_eq!(
        row[0].as_deref(),
        Some("Robert"),
        "mapped attributes applied"
    );
    assert_eq!(row[1].as_deref(), Some("customer"));
    assert_eq!(
        row[3].as_deref(),
        Some("2024-03-02 08:00:00"),
        "insert-only columns keep the app's values"
    );
    // Now linked: a second create with another spelling is 409.
    app.post("/Users", &okta_user("BOB.BROWN@ACME.EXAMPLE", "B", "B"))
        .await
        .assert_error(409, Some("uniqueness"));
    app.stop().await;
}

async fn delete_follows_on_delete_deactivate(b: Backend) {
    let app = spawn_app(b).await;
    let id = app
        .post("/Users", &okta_user("del@example.com", "D", "E"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204);
    assert!(r.raw.is_empty());
    assert_eq!(
        app.user_row("del@example.com").await.unwrap()[7].as_deref(),
        Some("0"),
        "row kept, deactivated"
    );
    // RFC 7644 §3.6: the deleted resource answers 404, though the row is kept.
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.delete("/Users/777777").await.assert_error(404, None);
    app.stop().await;
}

backend_tests!(
    test_api_credentials_lists_existing_users_with_okta_required_fields,
    okta_spec_test_sequence,
    aiw_put_updates_deactivates_and_reactivates,
    catalog_app_patch_deactivate_reactivate_and_profile_paths,
    import_paging_is_stable_complete_and_counts_are_actual,
    existing_user_is_adopted_not_duplicated,
    delete_follows_on_delete_deactivate,
);
