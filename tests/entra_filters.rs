//! Microsoft Entra ID's value-path forms (issue 17 part 4) over HTTP, on every backend:
//! `emails[type eq "work"].value eq "…"` when it matches users by mail, and the PATCH
//! `{"op": "Replace", "path": "emails[type eq \"work\"].value", …}` it sends when mail
//! changes — on the demo mapping (one `email` column, the primary address, declared the work
//! one) and on the GLPI preset (addresses in `glpi_useremails`, `is_default` marking the
//! primary row), for users the identity provider never wrote and for users it provisioned.
//! After every write the host rows are compared whole with what they were before.

mod common;

use common::patch_op as ops;
use common::*;
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

/// The ids a filter answers, sorted; asserts a 200 list whose total matches.
async fn ids(app: &TestApp, filter: &str) -> Vec<String> {
    let r = app
        .get(&format!("/Users?filter={}&count=100", enc(filter)))
        .await;
    assert_eq!(r.status, 200, "{filter}: {}", r.body);
    let mut v: Vec<String> = r.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{filter}: {}", r.body))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(r.body["totalResults"], v.len(), "{filter}: {}", r.body);
    v.sort();
    v
}

fn list(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(std::string::ToString::to_string).collect();
    v.sort();
    v
}

/// Every column of a table's row, as text, in a fixed order.
async fn whole_row(
    app: &TestApp,
    table: &str,
    columns: &[&str],
    id: &str,
) -> Vec<(String, Option<String>)> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS {{T}})"))
        .collect();
    let row = app
        .rows(&format!(
            "SELECT {} FROM {table} WHERE id = {id}",
            select.join(", ")
        ))
        .await;
    assert_eq!(row.len(), 1, "{table} {id}");
    columns
        .iter()
        .map(std::string::ToString::to_string)
        .zip(row[0].clone())
        .collect()
}

/// The columns that differ between two reads of a row.
fn changed(before: &[(String, Option<String>)], after: &[(String, Option<String>)]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.clone())
        .collect()
}

const DEMO_COLUMNS: &[&str] = &[
    "id",
    "login",
    "email",
    "firstname",
    "lastname",
    "department",
    "phone",
    "active",
    "role",
    "password",
    "created_at",
    "updated_at",
];

const GLPI_COLUMNS: &[&str] = &[
    "id",
    "name",
    "password",
    "password_last_update",
    "phone",
    "phone2",
    "mobile",
    "realname",
    "firstname",
    "locations_id",
    "language",
    "use_mode",
    "is_active",
    "comment",
    "auths_id",
    "authtype",
    "last_login",
    "date_mod",
    "date_sync",
    "is_deleted",
    "profiles_id",
    "entities_id",
    "usertitles_id",
    "usercategories_id",
    "user_dn",
    "registration_number",
    "is_deleted_ldap",
    "picture",
    "begin_date",
    "end_date",
    "date_creation",
    "sync_field",
    "groups_id",
    "users_id_supervisor",
    "timezone",
    "nickname",
];

/// Demo seed: 1 admin@helpdesk.example, 2 maria.garcia@acme.example (work phone
/// +34 600 000 000), 3 Bob.Brown@Acme.Example, 4 kenji.wong@acme.example,
/// 5 lea.petit@globex.example.
async fn entra_filters_on_the_demo_mapping(b: Backend) {
    let app = spawn_app(b).await;
    let all = list(&["1", "2", "3", "4", "5"]);
    // eq, in Entra's form and the equivalent ones, case-insensitively (emails.value is not
    // caseExact).
    for f in [
        r#"emails[type eq "work"].value eq "maria.garcia@acme.example""#,
        r#"emails[type eq "work"].value eq "Maria.Garcia@ACME.example""#,
        r#"emails[type eq "work" and value eq "maria.garcia@acme.example"]"#,
        r#"emails[primary eq true].value eq "maria.garcia@acme.example""#,
        r#"emails.value eq "maria.garcia@acme.example""#,
    ] {
        assert_eq!(ids(&app, f).await, list(&["2"]), "{f}");
    }
    assert_eq!(
        ids(
            &app,
            r#"emails[type eq "work"].value eq "bob.brown@acme.example""#
        )
        .await,
        list(&["3"]),
        "the seeded spelling is Bob.Brown@Acme.Example"
    );
    assert!(ids(
        &app,
        r#"emails[type eq "work"].value eq "nobody@acme.example""#
    )
    .await
    .is_empty());
    // co, sw, pr — matching and not.
    assert_eq!(
        ids(&app, r#"emails[type eq "work"].value co "@ACME.example""#).await,
        list(&["2", "3", "4"])
    );
    assert_eq!(
        ids(&app, r#"emails[type eq "work" and value co "globex"]"#).await,
        list(&["5"])
    );
    assert!(ids(&app, r#"emails[type eq "work"].value co "initech""#)
        .await
        .is_empty());
    assert_eq!(
        ids(&app, r#"emails[type eq "work"].value sw "lea.""#).await,
        list(&["5"])
    );
    assert!(ids(&app, r#"emails[type eq "work"].value sw "acme""#)
        .await
        .is_empty());
    assert_eq!(ids(&app, r#"emails[type eq "work"].value pr"#).await, all);
    assert_eq!(ids(&app, r#"emails[type eq "work"]"#).await, all);
    // Types the mapping does not store: an empty list, 200 — never a 400.
    for f in [
        r#"emails[type eq "home"].value eq "maria.garcia@acme.example""#,
        r#"emails[type eq "other"].value co "@""#,
        r#"emails[type eq "home"].value pr"#,
        r#"phoneNumbers[type eq "mobile"].value eq "+34 600 000 000""#,
    ] {
        assert!(ids(&app, f).await.is_empty(), "{f}");
    }
    // The typed phone column answers its own type.
    assert_eq!(
        ids(
            &app,
            r#"phoneNumbers[type eq "work"].value eq "+34 600 000 000""#
        )
        .await,
        list(&["2"])
    );
    // What reads show is what filters answer: the one address, work and primary.
    let r = app.get("/Users/2").await;
    assert_eq!(
        r.body["emails"],
        json!([{"value": "maria.garcia@acme.example", "type": "work", "primary": true}])
    );
    // A user Okta provisioned matches the same way.
    let r = app
        .post("/Users", &okta_user("Pat.Doe@Example.com", "Pat", "Doe"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pat = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(
            &app,
            r#"emails[type eq "work"].value eq "pat.doe@example.com""#
        )
        .await,
        vec![pat.clone()]
    );
    assert_eq!(
        ids(&app, r#"emails[type eq "work"].value ew "@example.com""#).await,
        vec![pat]
    );
    // A sub-attribute no column stores is still refused rather than approximated.
    let r = app
        .get(&format!(
            "/Users?filter={}",
            enc(r#"emails[type eq "work"].display eq "x""#)
        ))
        .await;
    r.assert_error(400, Some("invalidFilter"));
    app.stop().await;
}

/// GLPI seed: user 7 (maria.garcia) has Maria.Garcia@Helpdesk.example (is_default) and
/// mgarcia@acme.example; user 8 (an older maria.garcia) has mgarcia@acme.example as its only,
/// default address; user 3 (post-only) has none; user 10 is in GLPI's trash.
async fn entra_filters_on_the_glpi_preset(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    // The work address is the primary row only; any address is any row.
    assert_eq!(
        ids(
            &app,
            r#"emails[type eq "work"].value eq "mgarcia@acme.example""#
        )
        .await,
        list(&["8"])
    );
    assert_eq!(
        ids(&app, r#"emails.value eq "mgarcia@acme.example""#).await,
        list(&["7", "8"])
    );
    assert_eq!(
        ids(
            &app,
            r#"emails[not (primary eq true)].value eq "mgarcia@acme.example""#
        )
        .await,
        list(&["7"])
    );
    assert_eq!(
        ids(
            &app,
            r#"emails[type eq "work"].value eq "maria.garcia@helpdesk.example""#
        )
        .await,
        list(&["7"])
    );
    assert!(ids(
        &app,
        r#"emails[type eq "work"].value eq "nobody@acme.example""#
    )
    .await
    .is_empty());
    // co, sw: one row must satisfy both the type and the comparison.
    assert_eq!(
        ids(&app, r#"emails[type eq "work"].value co "@ACME.example""#).await,
        list(&["11", "12", "13", "8"])
    );
    assert_eq!(
        ids(&app, r#"emails[type eq "work" and value co "helpdesk"]"#).await,
        list(&["2", "7", "9"])
    );
    assert_eq!(
        ids(&app, r#"emails[type eq "work"].value sw "MGARCIA@""#).await,
        list(&["8"])
    );
    assert!(ids(&app, r#"emails[type eq "work"].value sw "acme""#)
        .await
        .is_empty());
    // pr: every user with an address, not post-only, not the trashed one.
    let with_address = ids(&app, r#"emails[type eq "work"].value pr"#).await;
    assert_eq!(with_address, ids(&app, "emails pr").await);
    assert!(with_address.contains(&"7".to_string()));
    assert!(!with_address.contains(&"3".to_string()));
    assert!(!with_address.contains(&"10".to_string()));
    // Types the table cannot answer: an empty list, 200.
    for f in [
        r#"emails[type eq "home"].value eq "mgarcia@acme.example""#,
        r#"emails[type eq "home"].value pr"#,
        r#"emails[type eq "other" and value co "@"]"#,
    ] {
        assert!(ids(&app, f).await.is_empty(), "{f}");
    }
    // The application left every is_default at 0: the lowest key is the primary row, for
    // reads and filters alike.
    app.exec("INSERT INTO glpi_useremails (id, users_id, is_default, is_dynamic, email) VALUES (50, 3, 0, 0, 'post@only.example'), (51, 3, 0, 0, 'aaa@only.example')").await;
    assert_eq!(
        ids(
            &app,
            r#"emails[type eq "work"].value eq "post@only.example""#
        )
        .await,
        list(&["3"])
    );
    assert!(ids(
        &app,
        r#"emails[type eq "work"].value eq "aaa@only.example""#
    )
    .await
    .is_empty());
    let r = app.get("/Users/3").await;
    assert_eq!(
        r.body["emails"],
        json!([{"value": "post@only.example", "type": "work", "primary": true},
               {"value": "aaa@only.example"}])
    );
    // Reads show what filters answer.
    let r = app.get("/Users/7").await;
    assert_eq!(
        r.body["emails"],
        json!([{"value": "Maria.Garcia@Helpdesk.example", "type": "work", "primary": true},
               {"value": "mgarcia@acme.example"}])
    );
    app.stop().await;
}

/// osTicket marks the primary address by a pointer in the user's row
/// (`ost_user.default_email_id`); user 3 has juergen.mueller@globex.example (pointed at) and
/// j.mueller@private.example.
async fn entra_filters_follow_the_osticket_pointer(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    let work = |a: &str| format!(r#"emails[type eq "work"].value eq "{a}""#);
    assert_eq!(
        ids(&app, &work("juergen.mueller@globex.example")).await,
        list(&["3"])
    );
    assert!(ids(&app, &work("j.mueller@private.example"))
        .await
        .is_empty());
    assert_eq!(
        ids(&app, r#"emails.value eq "j.mueller@private.example""#).await,
        list(&["3"])
    );
    // The application moves the pointer: filters follow it.
    app.exec("UPDATE ost_user SET default_email_id = 4 WHERE id = 3")
        .await;
    assert_eq!(
        ids(&app, &work("j.mueller@private.example")).await,
        list(&["3"])
    );
    assert!(ids(&app, &work("juergen.mueller@globex.example"))
        .await
        .is_empty());
    // A pointer naming no address of the user: the lowest key is the primary, as reads say.
    app.exec("UPDATE ost_user SET default_email_id = 999 WHERE id = 3")
        .await;
    assert_eq!(
        ids(&app, &work("juergen.mueller@globex.example")).await,
        list(&["3"])
    );
    assert!(ids(&app, &work("j.mueller@private.example"))
        .await
        .is_empty());
    let r = app.get("/Users/3").await;
    assert_eq!(
        r.body["emails"][0]["value"],
        "juergen.mueller@globex.example"
    );
    assert_eq!(r.body["emails"][0]["type"], "work");
    assert_eq!(r.body["emails"][0]["primary"], true);
    app.stop().await;
}

/// Entra's replace and add of `emails[type eq "work"].value` on the demo mapping: the `email`
/// column changes (and the bookkeeping `updated_at`), nothing else.
async fn entra_patch_work_email_on_the_demo_mapping(b: Backend) {
    let app = spawn_app(b).await;
    // A seeded user the identity provider never wrote, then one it provisioned.
    let r = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "externalId": "0a21f0f2", "userName": "Entra.User@Example.com", "active": true,
                "name": {"givenName": "Entra", "familyName": "User"},
                "emails": [{"primary": true, "type": "work", "value": "Entra.User@Example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let provisioned = r.body["id"].as_str().unwrap().to_string();
    for id in ["2".to_string(), provisioned] {
        for (n, op) in ["Replace", "add", "replace", "Add"].into_iter().enumerate() {
            let new = format!("New.{n}.{id}@Example.com");
            let before = whole_row(&app, "users", DEMO_COLUMNS, &id).await;
            let r = app
                .patch(
                    &format!("/Users/{id}"),
                    &ops(
                        json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": new}]),
                    ),
                )
                .await;
            assert_eq!(r.status, 200, "{op} on {id}: {}", r.body);
            assert_eq!(
                r.body["emails"],
                json!([{"value": new, "type": "work", "primary": true}]),
                "{op} on {id}: one address, changed in place"
            );
            let after = whole_row(&app, "users", DEMO_COLUMNS, &id).await;
            assert_eq!(
                after[2].1.as_deref(),
                Some(new.to_lowercase().as_str()),
                "{op} on {id}: the mapping lowercases"
            );
            let diff = changed(&before, &after);
            assert!(
                diff.iter().all(|c| c == "email" || c == "updated_at")
                    && diff.contains(&"email".to_string()),
                "{op} on {id}: {diff:?}"
            );
            // Reads and filters see the new address.
            let r = app.get(&format!("/Users/{id}")).await;
            assert_eq!(r.body["emails"][0]["value"], new.as_str());
            assert_eq!(
                ids(&app, &format!(r#"emails[type eq "work"].value eq "{new}""#)).await,
                vec![id.clone()]
            );
        }
        // The same address again changes nothing at all, not even updated_at.
        let before = whole_row(&app, "users", DEMO_COLUMNS, &id).await;
        let current = app.get(&format!("/Users/{id}")).await.body["emails"][0]["value"].clone();
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &ops(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": current}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(whole_row(&app, "users", DEMO_COLUMNS, &id).await, before);
    }
    app.stop().await;
}

async fn glpi_addresses(app: &TestApp, id: &str) -> Vec<Vec<Option<String>>> {
    app.rows(&format!(
        "SELECT CAST(id AS {{T}}) AS k, email, CAST(is_default AS {{T}}) FROM glpi_useremails WHERE users_id = {id} ORDER BY k"
    ))
    .await
}

/// Entra's replace of the work address on the GLPI preset: the primary row is replaced, the
/// other rows and the user's row (but for `date_mod`) stay as they were.
async fn entra_patch_work_email_on_the_glpi_preset(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    let r = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "nina.new", "active": true,
                "name": {"givenName": "Nina", "familyName": "New"},
                "emails": [{"primary": true, "type": "work", "value": "Nina.New@Example.com"},
                           {"type": "home", "value": "nina@home.example"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let provisioned = r.body["id"].as_str().unwrap().to_string();
    for (id, other) in [
        ("7".to_string(), "mgarcia@acme.example"),
        (provisioned, "nina@home.example"),
    ] {
        for (n, op) in ["Replace", "Add"].into_iter().enumerate() {
            let new = format!("work.{n}.{id}@example.com");
            let before = whole_row(&app, "glpi_users", GLPI_COLUMNS, &id).await;
            let rows_before = glpi_addresses(&app, &id).await;
            let kept: Vec<_> = rows_before
                .iter()
                .filter(|r| r[1].as_deref() == Some(other))
                .cloned()
                .collect();
            assert_eq!(kept.len(), 1, "{rows_before:?}");
            let r = app
                .patch(
                    &format!("/Users/{id}"),
                    &ops(
                        json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": new}]),
                    ),
                )
                .await;
            assert_eq!(r.status, 200, "{op} on {id}: {}", r.body);
            let emails = r.body["emails"].as_array().unwrap();
            assert_eq!(emails.len(), 2, "{op} on {id}: {}", r.body);
            assert_eq!(
                emails.iter().find(|e| e["primary"] == true).unwrap(),
                &json!({"value": new, "type": "work", "primary": true})
            );
            let after = whole_row(&app, "glpi_users", GLPI_COLUMNS, &id).await;
            let diff = changed(&before, &after);
            assert!(
                diff.iter().all(|c| c == "date_mod"),
                "{op} on {id}: {diff:?}"
            );
            let rows_after = glpi_addresses(&app, &id).await;
            assert_eq!(rows_after.len(), 2, "{rows_after:?}");
            assert!(
                rows_after.contains(&kept[0]),
                "the other row is untouched: {rows_after:?}"
            );
            let primary: Vec<_> = rows_after
                .iter()
                .filter(|r| r[2].as_deref() == Some("1"))
                .collect();
            assert_eq!(primary.len(), 1, "{rows_after:?}");
            assert_eq!(primary[0][1].as_deref(), Some(new.as_str()));
            assert_eq!(
                ids(&app, &format!(r#"emails[type eq "work"].value eq "{new}""#)).await,
                vec![id.clone()]
            );
        }
    }
    app.stop().await;
}

backend_tests!(
    entra_filters_on_the_demo_mapping,
    entra_filters_on_the_glpi_preset,
    entra_filters_follow_the_osticket_pointer,
    entra_patch_work_email_on_the_demo_mapping,
    entra_patch_work_email_on_the_glpi_preset,
);
