//! OneLogin's "SCIM Provisioner with SAML (SCIM v2 Enterprise)" app, as its default JSON
//! template renders a user: the legacy schema URNs `urn:scim:schemas:core:2.0` and
//! `urn:scim:schemas:extension:enterprise:2.0` (the extension's attributes under that legacy
//! key), and `"active": "{$user.active}"` rendered as the string "true" or "false". It must
//! create, update (PUT and PATCH) and suspend a user, with the host row checked on every
//! backend, and every answer must carry the RFC 7643 URNs only.

mod common;

use common::patch_op as ops;
use common::*;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const LEGACY_CORE: &str = "urn:scim:schemas:core:2.0";
const LEGACY_ENTERPRISE: &str = "urn:scim:schemas:extension:enterprise:2.0";

/// The template's body for one user, as OneLogin renders it.
fn rendered(user_name: &str, family: &str, department: &str, active: &str) -> Value {
    json!({
        "schemas": [LEGACY_CORE, LEGACY_ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": "Olive", "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "title": "Engineer",
        "active": active,
        LEGACY_ENTERPRISE: {
            "department": department,
            "manager": {"value": "1", "displayName": "Ada Lovelace"}
        }
    })
}

/// An answer in RFC URNs only.
fn assert_rfc_urns(body: &Value) {
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]),
        "{body}"
    );
    assert!(!body.to_string().contains("urn:scim:"), "{body}");
}

/// (firstname, lastname, department, phone, active) of the demo row.
async fn row(app: &TestApp, login: &str) -> Vec<Option<String>> {
    let r = app.user_row(login).await.expect("the host row exists");
    vec![
        r[3].clone(),
        r[4].clone(),
        r[5].clone(),
        r[6].clone(),
        r[7].clone(),
    ]
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

async fn onelogin_default_template_creates_updates_and_suspends(b: Backend) {
    let app = spawn_app(b).await;
    let login = "olive.login@example.com";

    // Create.
    let r = app
        .post("/Users", &rendered(login, "Login", "Support", "true"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_rfc_urns(&r.body);
    assert_eq!(r.body[ENTERPRISE]["department"], "Support");
    assert_eq!(r.body["active"], true);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        row(&app, login).await,
        some(&["Olive", "Login", "Support", "+1 555 0100", "1"])
    );

    // OneLogin finds users with `+` for spaces and a trailing `&`.
    let r = app
        .get("/Users?filter=userName+eq+%22olive.login%40example.com%22&")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_rfc_urns(&r.body["Resources"][0]);

    // Update: the whole template again, by PUT (OneLogin's URL ends in `?`).
    let r = app
        .put(
            &format!("/Users/{id}?"),
            &rendered(login, "Logan", "Billing", "true"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_rfc_urns(&r.body);
    assert_eq!(
        row(&app, login).await,
        some(&["Olive", "Logan", "Billing", "+1 555 0100", "1"])
    );

    // Update by PATCH, through legacy-URN paths and a legacy key in a no-path value.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([
                {"op": "replace", "path": "urn:scim:schemas:core:2.0:name.givenName", "value": "Olivia"},
                {"op": "replace", "path": "urn:scim:schemas:extension:enterprise:2.0:department", "value": "Sales"},
                {"op": "replace", "value": {LEGACY_ENTERPRISE: {"costCenter": "CC-7"}}}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_rfc_urns(&r.body);
    assert_eq!(r.body[ENTERPRISE]["costCenter"], "CC-7");
    assert_eq!(
        row(&app, login).await,
        some(&["Olivia", "Logan", "Sales", "+1 555 0100", "1"])
    );

    // Suspend: the template with `active` rendered "false".
    let mut suspended = rendered(login, "Logan", "Sales", "false");
    suspended["name"]["givenName"] = json!("Olivia");
    let r = app.put(&format!("/Users/{id}?"), &suspended).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(
        row(&app, login).await,
        some(&["Olivia", "Logan", "Sales", "+1 555 0100", "0"])
    );
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["active"], false);
    assert_rfc_urns(&r.body);

    // Reactivate and suspend again by PATCH, with string booleans under legacy keys.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "replace", "value": {LEGACY_CORE: {"active": "true"}}}])),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["active"].clone()),
        (200, json!(true)),
        "{}",
        r.body
    );
    assert_eq!(row(&app, login).await[4].as_deref(), Some("1"));
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "replace", "path": "urn:scim:schemas:core:2.0:active", "value": "false"}])),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["active"].clone()),
        (200, json!(false)),
        "{}",
        r.body
    );
    assert_eq!(row(&app, login).await[4].as_deref(), Some("0"));
    // Nothing was duplicated.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM users WHERE login = '{login}'"
        ))
        .await,
        1
    );
    app.stop().await;
}

backend_tests!(onelogin_default_template_creates_updates_and_suspends);
