//! Filters, discovery, tokens and every kind of bad input, over HTTP against a real server.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use common::*;
use hyper::Method;
use serde_json::json;

fn enc(filter: &str) -> String {
    filter
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn filters_on_mapped_attributes_externalid_and_id(b: Backend) {
    let app = spawn_app(b).await;
    let mut a = okta_user("alice@example.com", "Alice", "Anders");
    a["externalId"] = json!("00uALICE");
    let alice = app.post("/Users", &a).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = okta_user("bob@example.org", "Bob", "Berg");
    b["externalId"] = json!("00uBOB");
    b["active"] = json!(false);
    let bob = app.post("/Users", &b).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let ids = |r: &Resp| -> Vec<String> {
        let mut v: Vec<String> = r.body["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.body))
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let q = |f: &str| format!("/Users?filter={}", enc(f));
    assert_eq!(
        ids(&app.get(&q(r#"externalId eq "00uALICE""#)).await),
        vec![alice.clone()]
    );
    assert!(
        ids(&app.get(&q(r#"externalId eq "00ualice""#)).await).is_empty(),
        "externalId is case-exact"
    );
    assert_eq!(
        ids(&app.get(&q(&format!(r#"id eq "{bob}""#))).await),
        vec![bob.clone()]
    );
    assert_eq!(
        ids(&app.get(&q(r#"emails.value eq "ALICE@example.com""#)).await),
        vec![alice.clone()]
    );
    assert_eq!(
        ids(&app.get(&q(r#"emails[value co "example.org"]"#)).await),
        vec![bob.clone()]
    );
    // The mapping's one email column holds the primary address, which it declares the work
    // one (issue 17): a work filter is answered by it, another type matches nothing.
    assert_eq!(
        ids(&app
            .get(&q(r#"emails[type eq "work" and value co "example.org"]"#))
            .await),
        vec![bob.clone()]
    );
    assert!(ids(&app
        .get(&q(r#"emails[type eq "home" and value co "example.org"]"#))
        .await)
    .is_empty());
    let mut both = vec![alice.clone(), bob.clone()];
    both.sort();
    assert_eq!(
        ids(&app
            .get(&q(
                r#"userName eq "alice@example.com" or externalId eq "00uBOB""#
            ))
            .await),
        both
    );
    assert!(ids(&app
        .get(&q(
            r#"userName eq "alice@example.com" and externalId eq "00uBOB""#
        ))
        .await)
    .is_empty());
    assert_eq!(
        ids(&app
            .get(&q(r#"userName sw "bob@" and active eq false"#))
            .await),
        vec![bob.clone()]
    );
    let r = app.get(&q(r#"not (active eq true)"#)).await;
    assert!(
        ids(&r).contains(&bob) && !ids(&r).contains(&alice),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["totalResults"], 2,
        "kenji (pre-existing, inactive) and bob"
    );
    // Entra's unquoted value.
    assert_eq!(
        ids(&app.get("/Users?filter=externalId%20eq%2000uALICE").await),
        vec![alice.clone()]
    );
    // Paging applies to filtered results with a correct total.
    let r = app
        .get(&format!("{}&startIndex=2&count=1", q(r#"userName co "@""#)))
        .await;
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["itemsPerPage"], 1);
    // LIKE metacharacters are literal.
    assert_eq!(
        app.get(&q(r#"userName co "%""#)).await.body["totalResults"],
        0
    );
    app.stop().await;
}

async fn filters_the_bridge_cannot_answer_exactly_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    for (f, needle) in [
        (r#"title eq "Boss""#, "title"),
        (r#"userName eq"#, "value"),
        (r#"userName eq "a" xor b"#, "join"),
        (r#"active gt true"#, "boolean"),
        (r#"meta.lastModified gt "2020-01-01T00:00:00Z""#, "meta"),
        (r#"bogus eq "x""#, "bogus"),
    ] {
        let r = app.get(&format!("/Users?filter={}", enc(f))).await;
        r.assert_error(400, Some("invalidFilter"));
        assert!(
            r.body["detail"].as_str().unwrap().contains(needle),
            "{f}: {}",
            r.body["detail"]
        );
    }
    let huge = vec![r#"userName eq "x""#; 300].join(" or ");
    app.get(&format!("/Users?filter={}", enc(&huge)))
        .await
        .assert_error(400, Some("invalidFilter"));
    app.get("/Users?count=lots")
        .await
        .assert_error(400, Some("invalidValue"));
    let r = app.get("/Users?startIndex=-5&count=-1").await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.body["startIndex"].clone(),
            r.body["itemsPerPage"].clone()
        ),
        (200, json!(1), json!(0))
    );
    app.stop().await;
}

async fn discovery_describes_what_is_served(b: Backend) {
    let app = spawn_app(b).await;
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    let rts = app.get("/ResourceTypes").await;
    assert_eq!(rts.body["Resources"][0]["endpoint"], "/Users");
    assert_eq!(rts.body["Resources"][1]["endpoint"], "/Groups");
    assert_eq!(
        app.get("/ResourceTypes/Group").await.body["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    assert_eq!(
        app.get("/ResourceTypes/User").await.body["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
    let schemas = app.get("/Schemas").await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group"
        ]
    );
    let one = app
        .get("/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        .await;
    assert!(one.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "department"));
    app.get("/Schemas/urn:nope").await.assert_error(404, None);
    app.send(
        Method::POST,
        "/ServiceProviderConfig",
        Some(&json!({})),
        &[],
    )
    .await
    .assert_error(405, None);
    app.stop().await;
}

async fn custom_extension_declared_by_the_mapping_is_served_and_stored(b: Backend) {
    let mapping = std::fs::read_to_string(format!("{REPO}/mappings/demo.toml")).unwrap().replace(
        "department = { attr = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\" }",
        "department = { attr = \"urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCode\" }",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, mapping).unwrap();
    let app = spawn_with(
        b,
        Options {
            mapping: path.display().to_string(),
            ..Default::default()
        },
    )
    .await;
    let ids: Vec<String> = app.get("/Schemas").await.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"urn:ietf:params:scim:schemas:extension:acme:2.0:User".to_string()),
        "{ids:?}"
    );
    let mut u = okta_user("custom@example.com", "C", "U");
    u["urn:ietf:params:scim:schemas:extension:acme:2.0:User"] = json!({"costCode": "CC-7"});
    let r = app.post("/Users", &u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.user_row("custom@example.com").await.unwrap()[5].as_deref(),
        Some("CC-7")
    );
    assert_eq!(
        r.body["urn:ietf:params:scim:schemas:extension:acme:2.0:User"]["costCode"],
        "CC-7"
    );
    app.stop().await;
}

async fn revoked_token_stops_working_immediately(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(app.get("/Users?count=1").await.status, 200);
    let db = scim_bridge::store::Db::connect(
        &scim_bridge::store::DbUrl::parse(&app.db_url).unwrap(),
        &scim_bridge::store::DbOptions {
            pool_size: 1,
            acquire_timeout: std::time::Duration::from_secs(5),
            sqlite_wal: false,
            sqlite_busy_timeout: std::time::Duration::from_secs(5),
        },
    )
    .await
    .unwrap();
    let listed = scim_bridge::store::tokens::list(&db).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "last use is recorded");
    let stored = app
        .rows("SELECT name, lookup, secret_hash FROM scim_tokens")
        .await;
    let secret = &app.token[22..];
    assert!(
        stored
            .iter()
            .flatten()
            .flatten()
            .all(|v| !v.contains(secret) && !secret.contains(v.as_str()) || v.len() < 8),
        "no part of the secret is stored: {stored:?}"
    );
    assert!(scim_bridge::store::tokens::revoke(&db, &app.token_name)
        .await
        .unwrap());
    app.get("/Users?count=1").await.assert_error(401, None);
    app.stop().await;
}

async fn bad_input_gets_a_scim_error_and_changes_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let count = || async {
        app.count("SELECT COUNT(*) FROM users").await
            + app.count("SELECT COUNT(*) FROM scim_users").await
    };
    let before = count().await;
    let post_raw = |body: &'static [u8], ct: Option<&'static str>| {
        let mut b = hyper::Request::post(app.url("/Users"))
            .header("authorization", format!("Bearer {}", app.token));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(http_body_util::Full::new(bytes::Bytes::from_static(body)))
            .unwrap()
    };
    app.raw(post_raw(b"{not json", Some("application/scim+json")))
        .await
        .assert_error(400, Some("invalidSyntax"));
    app.raw(post_raw(b"\xff\xfe{}", Some("application/scim+json")))
        .await
        .assert_error(400, Some("invalidSyntax"));
    app.raw(post_raw(b"{\"userName\":\"x\"}", Some("text/plain")))
        .await
        .assert_error(415, None);
    app.raw(post_raw(b"{\"userName\":\"x\"}", None))
        .await
        .assert_error(415, None);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    app.send(Method::POST, "/Users", None, &[]).await; // no body at all: handled below
    let r = app
        .raw(
            hyper::Request::post(app.url("/Users"))
                .header("authorization", format!("Bearer {}", app.token))
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(bytes::Bytes::from(deep)))
                .unwrap(),
        )
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    let big = json!({"userName": "x".repeat(2 * 1024 * 1024)});
    app.post("/Users", &big).await.assert_error(413, None);
    // A userName too long for the host column: 400 naming the column, not a database error.
    let r = app
        .post(
            "/Users",
            &okta_user(&format!("{}@example.com", "a".repeat(100_000)), "A", "B"),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("at most 255"),
        "{}",
        r.body
    );
    app.post("/Users", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "name": {"givenName": "No"}})).await.assert_error(400, Some("invalidValue"));
    app.post(
        "/Users",
        &json!({"userName": "u@x", "favouriteColour": "red", "emails": [{"value": "u@x"}]}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.post(
        "/Users",
        &json!({"schemas": ["urn:evil"], "userName": "u@x"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.post(
        "/Users",
        &json!({"userName": "nul\u{0}@x", "emails": [{"value": "n@x"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue")); // the demo's email column is NOT NULL
    app.post("/Users", &json!(["array"]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    assert_eq!(count().await, before, "nothing written by any bad request");

    // The demo's NOT NULL email column falls back to the userName (default = { attr = "userName" }).
    assert_eq!(
        app.post("/Users", &json!({"userName": "Only.Name@x"}))
            .await
            .status,
        201
    );
    assert_eq!(
        app.user_row("Only.Name@x").await.unwrap()[2].as_deref(),
        Some("only.name@x")
    );

    // Injection strings are data, stored and returned verbatim.
    let evil = "x'); DROP TABLE users; --@example.com";
    let mut u = okta_user(evil, "Robert'); DROP TABLE users;--", "\" OR 1=1 --");
    u["emails"][0]["value"] = json!("evil@example.com");
    let r = app.post("/Users", &u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["userName"], evil);
    assert_eq!(
        app.user_row(evil).await.unwrap()[3].as_deref(),
        Some("Robert'); DROP TABLE users;--")
    );
    let r = app
        .get(&format!(
            "/Users?filter={}",
            enc(&format!("userName eq \"{}\"", evil.replace('"', "\\\"")))
        ))
        .await;
    assert_eq!(r.body["totalResults"], 1);
    let id = r.body["Resources"][0]["id"].as_str().unwrap().to_string();

    // PATCH errors are specific and atomic.
    let p = |ops: serde_json::Value| json!({"schemas": [PATCH_OP], "Operations": ops});
    let path = format!("/Users/{id}");
    app.patch(
        &path,
        &p(json!([{"op": "replace", "path": "id", "value": "1"}])),
    )
    .await
    .assert_error(400, Some("mutability"));
    app.patch(
        &path,
        &p(json!([{"op": "replace", "path": "nope.x", "value": "1"}])),
    )
    .await
    .assert_error(400, Some("invalidPath"));
    app.patch(&path, &p(json!([{"op": "remove"}])))
        .await
        .assert_error(400, Some("noTarget"));
    app.patch(
        &path,
        &p(json!([{"op": "frobnicate", "path": "title", "value": 1}])),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.patch(&path, &p(json!([])))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let r = app.patch(&path, &p(json!([{"op": "replace", "path": "name.givenName", "value": "Changed"}, {"op": "replace", "path": "active", "value": "sometimes"}]))).await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(
        app.user_row(evil).await.unwrap()[3].as_deref(),
        Some("Robert'); DROP TABLE users;--"),
        "first op not applied either"
    );
    // Garbled and missing auth.
    for h in [
        "Bearer",
        "Bearer ",
        "Basic Og==",
        "scimb_x",
        "Bearer scimb_zz",
    ] {
        let r = app
            .send(Method::GET, "/Users", None, &[("authorization", h)])
            .await;
        assert_eq!(r.status, 401, "{h:?}");
    }
    // Unknown endpoints and methods.
    app.get("/Nope").await.assert_error(404, None);
    app.send(Method::DELETE, "/Users", None, &[])
        .await
        .assert_error(405, None);
    let r = app.get("/Users?count=1").await;
    assert_eq!(r.status, 200, "still healthy");
    app.stop().await;
}

async fn update_to_a_taken_user_name_is_409(b: Backend) {
    let app = spawn_app(b).await;
    app.post("/Users", &okta_user("one@example.com", "O", "N"))
        .await;
    let two = app
        .post("/Users", &okta_user("two@example.com", "T", "W"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "ONE@example.com"}]});
    app.patch(&format!("/Users/{two}"), &p)
        .await
        .assert_error(409, Some("uniqueness"));
    assert!(app.user_row("two@example.com").await.is_some(), "unchanged");
    app.stop().await;
}

async fn host_edits_are_visible_and_move_the_etag(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .post("/Users", &okta_user("edit@example.com", "Ed", "It"))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let v1 = r.header("etag").unwrap().to_string();
    app.exec(&format!(
        "UPDATE users SET lastname = 'Edited-in-app' WHERE id = {id}"
    ))
    .await;
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        r.body["name"]["familyName"], "Edited-in-app",
        "the host row is the truth"
    );
    assert_ne!(r.header("etag").unwrap(), v1);
    // A deleted host row answers 404, not 500.
    app.exec(&format!("DELETE FROM users WHERE id = {id}"))
        .await;
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.stop().await;
}

async fn healthz_needs_no_token(b: Backend) {
    let app = spawn_app(b).await;
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/healthz", app.addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.raw[..], b"ok\n");
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/readyz", app.addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.raw[..]),
        (200, &b"ready\n"[..]),
        "database reachable, migrations current"
    );
    // A database missing a migration this build ships is not ready.
    app.exec("DELETE FROM scim_schema_migrations WHERE version LIKE '%000003%'")
        .await;
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/readyz", app.addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 503);
    assert!(String::from_utf8_lossy(&r.raw).contains("migrations"));
    app.stop().await;
}

async fn concurrent_creates_of_one_user_name_make_exactly_one_row(b: Backend) {
    let app = std::sync::Arc::new(spawn_app(b).await);
    let mut handles = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            let name = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            app.post("/Users", &okta_user(name, "R", "C"))
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE lower(login) = 'race@example.com'")
            .await,
        1
    );
}

/// Issue 13: values of the wrong JSON type are refused (not coerced), and a PATCH whose value
/// filter selects nothing is `noTarget` with nothing written — while the same paths still
/// write when they select, and Entra's slot form still creates.
async fn wrong_types_and_filters_that_select_nothing_write_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let count = || async {
        app.count("SELECT COUNT(*) FROM users").await
            + app.count("SELECT COUNT(*) FROM scim_users").await
    };
    let before = count().await;

    // "userName": 12345 was stored as "12345"; now it is refused and nothing is written.
    let mut u = okta_user("typed@example.com", "Ty", "Ped");
    u["userName"] = json!(12345);
    let r = app.post("/Users", &u).await;
    r.assert_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("userName") && detail.contains("must be a string, got a number"),
        "{detail}"
    );
    assert!(app.user_row("12345").await.is_none());
    // "emails": "a@b.example" was read as one email; now it is refused.
    let mut u = okta_user("typed@example.com", "Ty", "Ped");
    u["emails"] = json!("a@b.example");
    let r = app.post("/Users", &u).await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("emails"),
        "{}",
        r.body
    );
    assert!(app.user_row("typed@example.com").await.is_none());
    assert_eq!(count().await, before, "no host row, no link written");
    // Entra's string boolean is still a boolean.
    let mut u = okta_user("typed@example.com", "Ty", "Ped");
    u["active"] = json!("False");
    let r = app.post("/Users", &u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let p = |ops: serde_json::Value| json!({"schemas": [PATCH_OP], "Operations": ops});

    // A value filter that selects nothing: 400 noTarget, and the whole host row and the
    // resource stay as they were.
    let row = app.user_row("typed@example.com").await.unwrap();
    let resource = app.get(&path).await.body;
    for (ops, scim_type) in [
        (
            json!([{"op": "replace", "path": "emails[value eq \"x' OR 1=1 --\"].value", "value": "attacker@example.com"}]),
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "emails[value eq \"x' OR 1=1 --\"]", "value": {"value": "attacker@example.com"}}]),
            "noTarget",
        ),
        (
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                   {"op": "replace", "path": "emails[value eq \"nobody@example.com\"].value", "value": "x@example.com"}]),
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": 12345}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "value": {"emails": "attacker@example.com"}}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": 5}]),
            "invalidValue",
        ),
    ] {
        app.patch(&path, &p(ops.clone()))
            .await
            .assert_error(400, Some(scim_type));
        assert_eq!(
            app.user_row("typed@example.com").await.as_ref(),
            Some(&row),
            "host row changed by {ops}"
        );
    }
    assert_eq!(app.get(&path).await.body, resource);

    // The same forms write when they select: the filter is evaluated against the stored email.
    let r = app
        .patch(
            &path,
            &p(json!([{"op": "replace", "path": "emails[value eq \"TYPED@example.com\"].value", "value": "Second@Example.com"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = app.user_row("typed@example.com").await.unwrap();
    assert_eq!(after[2].as_deref(), Some("second@example.com"));
    // Entra's slot form creates the work phone the user does not have yet.
    assert_eq!(after[6], None, "no phone yet");
    let r = app
        .patch(
            &path,
            &p(json!([{"op": "Replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.user_row("typed@example.com").await.unwrap()[6].as_deref(),
        Some("+1 555 0100")
    );
    app.stop().await;
}

backend_tests!(
    filters_on_mapped_attributes_externalid_and_id,
    filters_the_bridge_cannot_answer_exactly_are_refused,
    discovery_describes_what_is_served,
    custom_extension_declared_by_the_mapping_is_served_and_stored,
    revoked_token_stops_working_immediately,
    bad_input_gets_a_scim_error_and_changes_nothing,
    update_to_a_taken_user_name_is_409,
    host_edits_are_visible_and_move_the_etag,
    healthz_needs_no_token,
    concurrent_creates_of_one_user_name_make_exactly_one_row,
    wrong_types_and_filters_that_select_nothing_write_nothing,
);

async fn metrics_count_requests_outcomes_and_pools(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(
        app.post("/Users", &okta_user("metrics@example.com", "M", "E"))
            .await
            .status,
        201
    );
    assert_eq!(
        app.post("/Users", &okta_user("bob.brown@acme.example", "B", "B"))
            .await
            .status,
        201
    );
    app.post("/Users", &okta_user("metrics@example.com", "M", "E"))
        .await
        .assert_error(409, Some("uniqueness"));
    let id = app
        .get("/Users?filter=userName%20eq%20%22metrics%40example.com%22")
        .await
        .body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let p = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    assert_eq!(app.patch(&format!("/Users/{id}"), &p).await.status, 200);
    let r = app
        .raw(
            hyper::Request::get(format!("http://{}/metrics", app.metrics_addr))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.raw.to_vec()).unwrap();
    for line in [
        "scim_bridge_requests_total{route=\"/Users\",method=\"POST\",status=\"201\"} 2",
        "scim_bridge_requests_total{route=\"/Users\",method=\"POST\",status=\"409\"} 1",
        "scim_bridge_provisioning_total{outcome=\"created\"} 1",
        "scim_bridge_provisioning_total{outcome=\"adopted\"} 1",
        "scim_bridge_provisioning_total{outcome=\"deactivated\"} 1",
        "scim_bridge_provisioning_total{outcome=\"conflict\"} 1",
        "scim_bridge_request_duration_seconds_count 5",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains("scim_bridge_db_connections{pool="));
    // Not on the SCIM port.
    app.get("/metrics").await.assert_error(404, None);
    app.stop().await;
}

backend_tests!(metrics_count_requests_outcomes_and_pools);
