//! The request sequences the guides in docs/ describe (Okta App Integration Wizard and catalog
//! app, Microsoft Entra ID, OneLogin, JumpCloud), replayed against every preset in mappings/
//! over its fixture helpdesk, on SQLite, PostgreSQL and MariaDB, asserting statuses and the
//! host rows each step writes.
//!
//! Steps the guides describe that fail today because of open issues are left out of the replay
//! with a comment naming the issue; nothing here asserts behaviour those issues will change.
#![allow(
    clippy::too_many_lines,
    reason = "scenario tests read top to bottom as the IdP sends them"
)]

mod common;

use common::patch_op as ops;
use common::*;
use hyper::Method;
use serde_json::{json, Value};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A preset of mappings/ and the fixture it runs on. Each replay runs against the four at once
/// (their databases are separate), which keeps the file's run short.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Preset {
    Demo,
    Zammad,
    Glpi,
    Osticket,
}

/// What a preset's host tables hold for one user, read with SQL.
#[derive(Debug)]
struct Host {
    user_name: String,
    email: Option<String>,
    /// Given and family name as the application shows them ("Ada Lovelace").
    name: String,
    active: bool,
}

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "t" | "true" | "TRUE"))
}

impl Preset {
    async fn spawn(self, b: Backend) -> TestApp {
        match self {
            Preset::Demo => spawn_app(b).await,
            Preset::Zammad => spawn_helpdesk(b, "zammad", "zammad").await,
            Preset::Glpi => spawn_helpdesk(b, "glpi", "glpi").await,
            Preset::Osticket => spawn_helpdesk(b, "osticket", "osticket").await,
        }
    }

    /// An existing user of the fixture (created before SCIM): its userName and id.
    fn existing(self) -> (&'static str, &'static str) {
        match self {
            Preset::Demo => ("maria.garcia@acme.example", "2"),
            Preset::Zammad => ("alice.anderson@acme.example", "6"),
            Preset::Glpi => ("tech", "4"),
            Preset::Osticket => ("alice", "1"),
        }
    }

    /// The userName as the host stores it (Zammad lower-cases logins).
    fn stored_user_name(self, user_name: &str) -> String {
        match self {
            Preset::Zammad => user_name.to_lowercase(),
            _ => user_name.trim().to_string(),
        }
    }

    /// Users the bridge serves: every in-scope row.
    async fn user_count(self, app: &TestApp) -> i64 {
        app.count(match self {
            Preset::Demo => "SELECT COUNT(*) FROM users",
            Preset::Zammad => "SELECT COUNT(*) FROM users WHERE login <> '-'",
            Preset::Glpi => "SELECT COUNT(*) FROM glpi_users WHERE is_deleted = 0",
            Preset::Osticket => "SELECT COUNT(*) FROM ost_user",
        })
        .await
    }

    async fn host(self, app: &TestApp, id: &str) -> Host {
        let sql = match self {
            Preset::Demo => format!("SELECT login, email, firstname, lastname, CASE WHEN active THEN '1' ELSE '0' END FROM users WHERE id = {id}"),
            Preset::Zammad => format!("SELECT login, email, firstname, lastname, CAST(active AS {{T}}) FROM users WHERE id = {id}"),
            Preset::Glpi => format!("SELECT u.name, (SELECT e.email FROM glpi_useremails e WHERE e.users_id = u.id AND e.is_default = 1), u.firstname, u.realname, CAST(u.is_active AS {{T}}) FROM glpi_users u WHERE u.id = {id}"),
            Preset::Osticket => format!("SELECT a.username, e.address, u.name, NULL, CAST(a.status AS {{T}}) FROM ost_user u LEFT JOIN ost_user_account a ON a.user_id = u.id LEFT JOIN ost_user_email e ON e.id = u.default_email_id WHERE u.id = {id}"),
        };
        let rows = app.rows(&sql).await;
        let r = rows
            .first()
            .unwrap_or_else(|| panic!("{self:?}: no host row for id {id}"));
        let name = [&r[2], &r[3]]
            .iter()
            .filter_map(|v| v.as_deref())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let active = match self {
            // osTicket: bit 0x2 of the account status is LOCKED.
            Preset::Osticket => {
                r[4].as_deref()
                    .map(|s| s.parse::<i64>().unwrap())
                    .unwrap_or(0)
                    & 2
                    == 0
            }
            _ => truthy(&r[4]),
        };
        Host {
            user_name: r[0].clone().unwrap_or_default(),
            email: r[1].clone(),
            name,
            active,
        }
    }

    /// The host group table and its name column, for presets with a [groups] section.
    fn host_groups(self) -> Option<(&'static str, &'static str)> {
        match self {
            Preset::Zammad => Some(("groups", "name")),
            Preset::Glpi => Some(("glpi_groups", "name")),
            Preset::Demo | Preset::Osticket => None,
        }
    }

    async fn host_group_count(self, app: &TestApp, name: &str) -> Option<i64> {
        let (table, column) = self.host_groups()?;
        Some(
            app.count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} = '{name}'"
            ))
            .await,
        )
    }
}

fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace('@', "%40")
        .replace('+', "%2B")
}

/// `GET /Users?filter=userName eq "…"&startIndex=1&count=100`, as Okta and Entra ID search.
async fn search(app: &TestApp, user_name: &str) -> Value {
    let r = app
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            enc(&format!("userName eq \"{user_name}\""))
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    r.body
}

fn id_of(r: &Resp) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", r.body))
        .to_string()
}

/// Okta, App Integration Wizard (docs/okta.md): every user change is a GET then a PUT of the
/// fetched resource with the change merged in; Push Groups replaces the member list with PUT.
async fn okta_app_integration_wizard(b: Backend) {
    tokio::join!(
        okta_aiw(b, Preset::Demo),
        okta_aiw(b, Preset::Zammad),
        okta_aiw(b, Preset::Glpi),
        okta_aiw(b, Preset::Osticket)
    );
}

async fn okta_aiw(b: Backend, p: Preset) {
    let app = p.spawn(b).await;
    let ctx = format!("{p:?} on {b:?}");
    // Test Connector Configuration.
    let r = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert!(r.body["Resources"].as_array().unwrap().len() <= 2);
    assert!(r.body["totalResults"].is_u64() && r.body["itemsPerPage"].is_u64());
    // Import (To Okta): pages through every user the application has.
    let total = p.user_count(&app).await;
    let mut seen = 0;
    let mut start = 1;
    loop {
        let r = app.get(&format!("/Users?startIndex={start}&count=2")).await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(r.body["totalResults"], total, "{ctx}");
        let n = r.body["Resources"].as_array().unwrap().len();
        if n == 0 {
            break;
        }
        seen += i64::try_from(n).unwrap();
        start += n;
    }
    assert_eq!(seen, total, "{ctx}: import saw every row");

    // Assigning a person the application already has: found by userName and linked.
    let (existing, existing_id) = p.existing();
    let found = search(&app, existing).await;
    assert_eq!(found["totalResults"], 1, "{ctx}: {found}");
    assert_eq!(found["Resources"][0]["id"], existing_id, "{ctx}");

    // Assigning a new person: search (none), then create. The AIW posts application/json.
    let user_name = "ada.lovelace@example.com";
    assert_eq!(search(&app, user_name).await["totalResults"], 0, "{ctx}");
    let body = json!({
        "schemas": [CORE], "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ada Lovelace", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    });
    let r = app
        .send(
            Method::POST,
            "/Users",
            Some(&body),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(r.body["userName"], user_name, "{ctx}");
    assert!(r.body.get("password").is_none(), "{ctx}: password echoed");
    let id = id_of(&r);
    let h = p.host(&app, &id).await;
    assert_eq!(h.user_name, p.stored_user_name(user_name), "{ctx}");
    assert_eq!(h.email.as_deref(), Some(user_name), "{ctx}");
    assert_eq!(h.name, "Ada Lovelace", "{ctx}");
    assert!(h.active, "{ctx}");
    // Okta retrying the create: the second one is refused, not duplicated.
    app.post("/Users", &body)
        .await
        .assert_error(409, Some("uniqueness"));

    // Profile update: GET, then PUT the fetched resource with the change.
    let mut fetched = app.get(&format!("/Users/{id}")).await.body;
    fetched["name"]["familyName"] = json!("King");
    fetched["password"] = json!("1mz050nq");
    let r = app.put(&format!("/Users/{id}"), &fetched).await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(r.body["name"]["familyName"], "King");
    assert_eq!(p.host(&app, &id).await.name, "Ada King", "{ctx}");

    // Unassignment / deactivation, then reassignment: PUT with active false, then true.
    for active in [false, true] {
        let mut fetched = app.get(&format!("/Users/{id}")).await.body;
        fetched["active"] = json!(active);
        let r = app.put(&format!("/Users/{id}"), &fetched).await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(r.body["active"], active, "{ctx}");
        let h = p.host(&app, &id).await;
        assert_eq!(h.active, active, "{ctx}");
        assert_eq!(h.name, "Ada King", "{ctx}: the rest of the row stays");
    }

    // Push Groups: look the group up by name, create it, then PUT the member list.
    let r = app
        .get("/Groups?filter=displayName%20eq%20%22Helpdesk%20Pilots%22&startIndex=1&count=100")
        .await;
    assert_eq!(r.body["totalResults"], 0, "{ctx}: {}", r.body);
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Helpdesk Pilots", "members": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = id_of(&r);
    let members =
        json!([{"value": id, "display": user_name}, {"value": existing_id, "display": existing}]);
    let r = app
        .put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [GROUP], "id": gid, "displayName": "Helpdesk Pilots", "members": members}),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    let g = app.get(&format!("/Groups/{gid}")).await.body;
    assert_eq!(g["members"].as_array().unwrap().len(), 2, "{ctx}: {g}");
    if let Some(n) = p.host_group_count(&app, "Helpdesk Pilots").await {
        assert_eq!(n, 1, "{ctx}: the host group row");
    }
    let u = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(u["groups"][0]["display"], "Helpdesk Pilots", "{ctx}: {u}");
    // A member unassigned from the group: PUT with the remaining members.
    let r = app
        .put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [GROUP], "id": gid, "displayName": "Helpdesk Pilots", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(
        app.get(&format!("/Groups/{gid}")).await.body["members"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{ctx}"
    );
    app.stop().await;
}

/// Okta, catalog app "SCIM 2.0 Test App (Header Auth)" (docs/okta.md): profile changes as PUT,
/// activation and deactivation as PATCH, Push Groups as membership PATCHes.
async fn okta_catalog_app(b: Backend) {
    tokio::join!(
        okta_catalog(b, Preset::Demo),
        okta_catalog(b, Preset::Zammad),
        okta_catalog(b, Preset::Glpi),
        okta_catalog(b, Preset::Osticket)
    );
}

async fn okta_catalog(b: Backend, p: Preset) {
    let app = p.spawn(b).await;
    let ctx = format!("{p:?} on {b:?}");
    // Test API Credentials.
    let r = app.get("/Users?count=2&startIndex=1").await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    // A bad token is refused with the SCIM error body Okta reads.
    let r = app
        .send(
            Method::GET,
            "/Users?count=2&startIndex=1",
            None,
            &[("authorization", "Bearer wrong")],
        )
        .await;
    r.assert_error(401, None);

    let user_name = "grace.hopper@example.com";
    assert_eq!(search(&app, user_name).await["totalResults"], 0);
    let r = app
        .post("/Users", &okta_user(user_name, "Grace", "Hopper"))
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let id = id_of(&r);
    assert!(p.host(&app, &id).await.active, "{ctx}");
    // Profile change: PUT.
    let mut fetched = app.get(&format!("/Users/{id}")).await.body;
    fetched["name"]["givenName"] = json!("Amazing Grace");
    assert_eq!(
        app.put(&format!("/Users/{id}"), &fetched).await.status,
        200,
        "{ctx}"
    );
    assert_eq!(
        p.host(&app, &id).await.name,
        "Amazing Grace Hopper",
        "{ctx}"
    );
    // Deactivate and reactivate: a no-path replace with an object value.
    for active in [false, true] {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &ops(json!([{"op": "replace", "value": {"active": active}}])),
            )
            .await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(r.body["active"], active, "{ctx}");
        let h = p.host(&app, &id).await;
        assert_eq!(h.active, active, "{ctx}");
        assert_eq!(h.user_name, p.stored_user_name(user_name), "{ctx}");
    }
    // Push Groups: create, then membership PATCHes that re-send the name.
    let (existing, existing_id) = p.existing();
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Night Shift", "members": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = id_of(&r);
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([
                {"op": "replace", "value": {"id": gid, "displayName": "Night Shift"}},
                {"op": "add", "path": "members", "value": [{"value": id, "display": user_name}, {"value": existing_id, "display": existing}]}
            ])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    if let Some(n) = p.host_group_count(&app, "Night Shift").await {
        assert_eq!(n, 1, "{ctx}");
    }
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "remove", "path": format!("members[value eq \"{existing_id}\"]")}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    let g = app.get(&format!("/Groups/{gid}")).await.body;
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![id.as_str()], "{ctx}");
    app.stop().await;
}

/// Microsoft Entra ID (docs/entra-id.md): Test Connection, a create matched on userName,
/// updates in the default PATCH dialect and with the aadOptscim062020 flag, deactivation,
/// groups, and the hard delete after the soft-delete period.
async fn entra_id(b: Backend) {
    tokio::join!(
        entra(b, Preset::Demo),
        entra(b, Preset::Zammad),
        entra(b, Preset::Glpi),
        entra(b, Preset::Osticket)
    );
}

async fn entra(b: Backend, p: Preset) {
    let app = p.spawn(b).await;
    let ctx = format!("{p:?} on {b:?}");
    // Test Connection: a user and a group that do not exist, by the matching attribute.
    let guid = "0c2f1f5e-8d6b-4c1e-9f1d-6a1b2c3d4e5f";
    assert_eq!(search(&app, guid).await["totalResults"], 0, "{ctx}");
    let r = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22{guid}%22"
        ))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["totalResults"].clone()),
        (200, json!(0)),
        "{ctx}"
    );

    // An assigned user the application already has: matched on userName, then updated.
    let (existing, existing_id) = p.existing();
    let found = search(&app, existing).await;
    assert_eq!(found["Resources"][0]["id"], existing_id, "{ctx}: {found}");

    // A new user: the default attribute map's create.
    let upn = "Test_User_ab6490ee@contoso.example";
    assert_eq!(search(&app, upn).await["totalResults"], 0, "{ctx}");
    let body = json!({
        "schemas": [CORE, ENTERPRISE],
        "externalId": "testuser_ab6490ee",
        "userName": upn,
        "active": true,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "test.user@contoso.example"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        "title": "Engineer",
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0101"}],
        "preferredLanguage": "en-US",
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": existing_id}}
    });
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = id_of(&r);
    let h = p.host(&app, &id).await;
    assert_eq!(h.user_name, p.stored_user_name(upn), "{ctx}");
    assert_eq!(
        h.email.as_deref(),
        Some("test.user@contoso.example"),
        "{ctx}"
    );
    assert_eq!(h.name, "Test User", "{ctx}");
    assert!(h.active, "{ctx}");
    // Entra also matches on externalId when configured so.
    let r = app
        .get("/Users?filter=externalId%20eq%20%22testuser_ab6490ee%22")
        .await;
    assert_eq!(
        r.body["Resources"][0]["id"],
        id.as_str(),
        "{ctx}: {}",
        r.body
    );

    // Entra matching on mail: the primary email (a column or a child row) answers for the
    // work one.
    let email = r.body["Resources"][0]["emails"][0]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = app
        .get(&format!(
            "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22{}%22",
            email.replace('@', "%40")
        ))
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(
        r.body["Resources"][0]["id"],
        id.as_str(),
        "{ctx}: {}",
        r.body
    );

    // Update, default dialect: capitalised ops, paths, a string boolean.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([
                {"op": "Replace", "path": "name.givenName", "value": "Testy"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Finance"},
                {"op": "Add", "path": "title", "value": "Lead"}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(p.host(&app, &id).await.name, "Testy User", "{ctx}");
    // A new work email, by its value path (mail → emails[type eq "work"].value): on every
    // preset it replaces the primary address, a column or a child row.
    {
        let r = app
            .patch(
                &format!("/Users/{id}"),
                &ops(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "test.user2@contoso.example"}])),
            )
            .await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(
            p.host(&app, &id).await.email.as_deref(),
            Some("test.user2@contoso.example"),
            "{ctx}"
        );
    }

    // Unassignment (soft delete in Entra): active "False" as a string.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert!(!p.host(&app, &id).await.active, "{ctx}");
    // The user stays readable, inactive (Entra's soft delete; the validator checks this).
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);

    // With aadOptscim062020: lowercase ops, boolean, a no-path replace with dotted keys.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([
                {"op": "replace", "path": "active", "value": true},
                {"op": "replace", "value": {
                    "displayName": "Test User",
                    "name.givenName": "Test",
                    "name.familyName": "Usher",
                    format!("{ENTERPRISE}:employeeNumber"): "701985"
                }}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    let h = p.host(&app, &id).await;
    assert!(h.active, "{ctx}");
    assert_eq!(h.name, "Test Usher", "{ctx}");

    // Groups: Entra's schema URN and externalId; members added with "$ref": null and removed
    // with a value list (default dialect) or a filter (with the flag).
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Entra Agents",
                "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = id_of(&r);
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": existing_id}]}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    if let Some(n) = p.host_group_count(&app, "Entra Agents").await {
        assert_eq!(n, 1, "{ctx}");
    }
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "Remove", "path": "members", "value": [{"value": existing_id}]}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    let g = app.get(&format!("/Groups/{gid}")).await.body;
    assert!(
        g.get("members")
            .and_then(Value::as_array)
            .is_none_or(std::vec::Vec::is_empty),
        "{ctx}: {g}"
    );

    // Hard delete, 30 days after the soft delete: every preset deactivates and keeps the row.
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    let h = p.host(&app, &id).await;
    assert!(!h.active, "{ctx}: row kept, inactive");
    // RFC 7644 §3.6: the deleted id answers 404 from now on, though the row is kept.
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.stop().await;
}

/// OneLogin, "SCIM Provisioner with SAML (SCIM v2 Enterprise)" (docs/onelogin.md): its
/// connection test and search forms, creates from a SCIM JSON template, updates as PUT,
/// suspension, deletion and group membership PATCHes.
async fn onelogin(b: Backend) {
    tokio::join!(
        onelogin_replay(b, Preset::Demo),
        onelogin_replay(b, Preset::Zammad),
        onelogin_replay(b, Preset::Glpi),
        onelogin_replay(b, Preset::Osticket)
    );
}

async fn onelogin_replay(b: Backend, p: Preset) {
    let app = p.spawn(b).await;
    let ctx = format!("{p:?} on {b:?}");
    // Search as OneLogin writes it: `+` for spaces and a trailing `&`; an empty User-Agent.
    let r = app
        .send(
            Method::GET,
            "/Users?filter=userName+eq+%22olivia.one%40example.com%22&",
            None,
            &[("user-agent", "")],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["totalResults"].clone()),
        (200, json!(0)),
        "{ctx}: {}",
        r.body
    );
    // The stock template, with the legacy schema URNs `urn:scim:schemas:core:2.0` and
    // `urn:scim:schemas:extension:enterprise:2.0` (the extension under that legacy key).
    let legacy = json!({
        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
        "id": null,
        "userName": "otto.legacy@example.com",
        "name": {"givenName": "Otto", "familyName": "Legacy"},
        "emails": [{"value": "otto.legacy@example.com", "type": "work", "primary": true}],
        "active": "true",
        "urn:scim:schemas:extension:enterprise:2.0": {"department": "Ops"}
    });
    let r = app.post("/Users", &legacy).await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(
        r.body["schemas"][0], CORE,
        "{ctx}: answered with the RFC URNs"
    );
    assert_eq!(p.host(&app, &id_of(&r)).await.name, "Otto Legacy", "{ctx}");
    // A template with the RFC URNs works the same, with its rendered string boolean and
    // "id": null.
    let template = |active: &str, family: &str| {
        json!({
            "schemas": [CORE, ENTERPRISE],
            "id": null,
            "userName": "olivia.one@example.com",
            "name": {"givenName": "Olivia", "familyName": family},
            "emails": [{"value": "olivia.one@example.com", "type": "work", "primary": true}],
            "active": active,
            "title": "Analyst",
            ENTERPRISE: {"department": "Ops", "manager": {"value": "", "displayName": " "}}
        })
    };
    let r = app.post("/Users", &template("true", "One")).await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(r.body["active"], true);
    let id = id_of(&r);
    let h = p.host(&app, &id).await;
    assert_eq!(h.name, "Olivia One", "{ctx}");
    assert!(h.active, "{ctx}");
    // Update: PUT to `/Users/{id}?` (a trailing `?`).
    let r = app
        .put(&format!("/Users/{id}?"), &template("true", "Onesie"))
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(p.host(&app, &id).await.name, "Olivia Onesie", "{ctx}");
    // Suspension ("When users are suspended in OneLogin: Suspend"): the template with active
    // rendered "false".
    let r = app
        .put(&format!("/Users/{id}?"), &template("false", "Onesie"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["active"].clone()),
        (200, json!(false)),
        "{ctx}: {}",
        r.body
    );
    assert!(!p.host(&app, &id).await.active, "{ctx}");
    // Groups (Rules mapping roles to groups): create, membership PATCH.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "OneLogin Role"}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = id_of(&r);
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    assert_eq!(
        app.get(&format!("/Groups/{gid}")).await.body["members"][0]["value"],
        id.as_str(),
        "{ctx}"
    );
    // Deletion ("When users are deleted in OneLogin: Delete"): DELETE, which every preset
    // turns into a deactivation; the row stays.
    let r = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    assert!(!p.host(&app, &id).await.active, "{ctx}");
    app.stop().await;
}

/// JumpCloud, Custom SCIM identity management (docs/jumpcloud.md): Test Connection creates a
/// test user and group and deletes them; then users bound to the app are created, updated and
/// deactivated; members leave groups Azure-style.
async fn jumpcloud(b: Backend) {
    tokio::join!(
        jumpcloud_replay(b, Preset::Demo),
        jumpcloud_replay(b, Preset::Zammad),
        jumpcloud_replay(b, Preset::Glpi),
        jumpcloud_replay(b, Preset::Osticket)
    );
}

async fn jumpcloud_replay(b: Backend, p: Preset) {
    let app = p.spawn(b).await;
    let ctx = format!("{p:?} on {b:?}");
    // Test Connection: a test user and a test group, both deleted again.
    let test_user = "jc.test@example.com";
    assert_eq!(search(&app, test_user).await["totalResults"], 0, "{ctx}");
    let r = app
        .post("/Users", &okta_user(test_user, "JumpCloud", "Test"))
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let tid = id_of(&r);
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "JumpCloud Test Group", "members": [{"value": tid}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let tgid = id_of(&r);
    assert_eq!(
        app.delete(&format!("/Groups/{tgid}")).await.status,
        204,
        "{ctx}"
    );
    assert_eq!(
        app.delete(&format!("/Users/{tid}")).await.status,
        204,
        "{ctx}"
    );
    // The test user's row stays, inactive (every preset's on_delete = "deactivate").
    assert!(!p.host(&app, &tid).await.active, "{ctx}");

    // A user bound to the app through a user group.
    let user_name = "jamie.cloud@example.com";
    assert_eq!(search(&app, user_name).await["totalResults"], 0, "{ctx}");
    let r = app
        .post("/Users", &okta_user(user_name, "Jamie", "Cloud"))
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let id = id_of(&r);
    let h = p.host(&app, &id).await;
    assert_eq!(h.user_name, p.stored_user_name(user_name), "{ctx}");
    assert_eq!(h.name, "Jamie Cloud", "{ctx}");
    // A profile update (PUT of the whole user) and a deactivation (PATCH of active).
    let mut put = okta_user(user_name, "Jamie", "Clouds");
    put["id"] = json!(id);
    assert_eq!(
        app.put(&format!("/Users/{id}"), &put).await.status,
        200,
        "{ctx}"
    );
    assert_eq!(p.host(&app, &id).await.name, "Jamie Clouds", "{ctx}");
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert!(!p.host(&app, &id).await.active, "{ctx}");
    // The user group pushed to the app; a member leaves it with a value list, no filter.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "JumpCloud Support", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = id_of(&r);
    if let Some(n) = p.host_group_count(&app, "JumpCloud Support").await {
        assert_eq!(n, 1, "{ctx}");
    }
    let r = app
        .patch(
            &format!("/Groups/{gid}"),
            &ops(json!([{"op": "remove", "path": "members", "value": [{"value": id}]}])),
        )
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    let g = app.get(&format!("/Groups/{gid}")).await.body;
    assert!(
        g.get("members")
            .and_then(Value::as_array)
            .is_none_or(std::vec::Vec::is_empty),
        "{ctx}: {g}"
    );
    app.stop().await;
}

backend_tests!(
    okta_app_integration_wizard,
    okta_catalog_app,
    entra_id,
    onelogin,
    jumpcloud
);
