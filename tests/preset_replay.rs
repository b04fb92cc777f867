//! The FreeScout and UVdesk presets (`mappings/freescout.toml`, `mappings/uvdesk.toml`) over
//! their fixture helpdesks, on SQLite, PostgreSQL and MariaDB: Okta's sequence (import,
//! search, create, retry, update, no-op, deactivate, reactivate, delete), a group push, and
//! "provision existing users" — each step compared with whole snapshots of every host table
//! the preset could touch, so a step that writes anything it should not fails.

mod common;

use common::snapshot::{places, Snapshot};
use common::*;
use serde_json::{json, Value};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// What one preset is expected to do at each step. Places are `table[key].column`,
/// `+table[key]` (inserted) or `-table[key]` (deleted); `{id}` is the created user's key and
/// `{table}` the key of that table's row whose parent column holds it (see `joined`).
struct Spec {
    fixture: &'static str,
    preset: &'static str,
    /// Every host table the preset could write, with its key column ("" for join tables).
    tables: &'static [(&'static str, &'static str)],
    /// Tables holding one row per created user: (table, column holding the user's key).
    joined: &'static [(&'static str, &'static str)],
    /// SQL counting the users the bridge serves.
    user_count: &'static str,
    /// Cells of the created user's rows: (table, column, value; None = any non-NULL value).
    created: &'static [(&'static str, &'static str, Option<&'static str>)],
    /// Places a PUT changing the family name to "King" writes.
    renamed: &'static [&'static str],
    /// Places `active = false` writes (and `active = true` writes back).
    deactivated: &'static [&'static str],
    /// Places a DELETE writes.
    deleted: &'static [&'static str],
    /// Places pushing a group with the new user and the existing one as members writes.
    pushed: &'static [&'static str],
    /// An existing user: the userName Okta sends (another spelling), its key, its name.
    existing: (&'static str, &'static str, &'static str, &'static str),
    /// A protected user's userName, when the preset protects some.
    protected: Option<&'static str>,
}

const FREESCOUT: Spec = Spec {
    fixture: "freescout",
    preset: "freescout",
    tables: &[
        ("customers", "id"),
        ("emails", "id"),
        ("customer_channel", "id"),
        ("users", "id"),
        ("mailboxes", "id"),
        ("mailbox_user", "id"),
    ],
    joined: &[("emails", "customer_id")],
    user_count: "SELECT COUNT(*) FROM customers",
    created: &[
        ("customers", "first_name", Some("Ada")),
        ("customers", "last_name", Some("Lovelace")),
        ("customers", "job_title", Some("Analyst")),
        ("customers", "company", Some("Analytical Engines")),
        ("customers", "created_at", None),
        ("customers", "updated_at", None),
        ("customers", "phones", Some("<NULL>")),
        ("emails", "email", Some("ada.lovelace@example.com")),
        ("emails", "type", Some("1")),
    ],
    renamed: &["customers[{id}].last_name", "customers[{id}].updated_at"],
    // FreeScout customers have no state: deactivation writes nothing.
    deactivated: &[],
    deleted: &[],
    pushed: &[],
    existing: ("bob.brown@acme.example", "2", "Bob", "Brown"),
    protected: None,
};

const UVDESK: Spec = Spec {
    fixture: "uvdesk",
    preset: "uvdesk",
    tables: &[
        ("uv_user", "id"),
        ("uv_user_instance", "id"),
        ("uv_support_group", "id"),
        ("uv_support_team", "id"),
        ("uv_user_support_groups", ""),
        ("uv_user_support_teams", ""),
    ],
    joined: &[("uv_user_instance", "user_id")],
    user_count: "SELECT COUNT(*) FROM uv_user",
    created: &[
        ("uv_user", "email", Some("ada.lovelace@example.com")),
        ("uv_user", "first_name", Some("Ada")),
        ("uv_user", "last_name", Some("Lovelace")),
        ("uv_user", "password", Some("<NULL>")),
        ("uv_user_instance", "supportRole_id", Some("4")),
        ("uv_user_instance", "source", Some("website")),
        ("uv_user_instance", "created_at", None),
        ("uv_user_instance", "updated_at", None),
        ("uv_user_instance", "contact_number", Some("+1 555 0199")),
    ],
    // uv_user has no updated_at; the instance's is bumped only when the instance changes.
    renamed: &["uv_user[{id}].last_name"],
    deactivated: &[
        "uv_user[{id}].is_enabled",
        "uv_user_instance[{uv_user_instance}].is_active",
        "uv_user_instance[{uv_user_instance}].updated_at",
    ],
    deleted: &[
        "uv_user[{id}].is_enabled",
        "uv_user_instance[{uv_user_instance}].is_active",
        "uv_user_instance[{uv_user_instance}].updated_at",
    ],
    pushed: &[],
    existing: ("bob.brown@acme.example", "6", "Bob", ""),
    protected: Some("Maria.Garcia@helpdesk.example"),
};

/// Booleans as the backends return them through a text cast.
fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "t" | "true" | "TRUE"))
}

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20")
        .replace('"', "%22")
        .replace('@', "%40")
        .replace('+', "%2B")
}

struct Run<'a> {
    app: &'a TestApp,
    spec: &'a Spec,
    ctx: String,
}

impl Run<'_> {
    async fn snap(&self) -> Snapshot {
        Snapshot::take(self.app, self.spec.tables).await
    }

    /// `want` with `{id}` and `{table}` replaced, sorted.
    fn resolve(&self, snap: &Snapshot, id: &str, want: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = want
            .iter()
            .map(|w| {
                let mut w = w.replace("{id}", id);
                for (table, parent) in self.spec.joined {
                    let keys = snap.keys_where(table, parent, id);
                    if let Some(k) = keys.first() {
                        w = w.replace(&format!("{{{table}}}"), k);
                    }
                }
                w
            })
            .collect();
        out.sort();
        out
    }

    /// Runs `step` and asserts the places it changed.
    async fn expect<F: std::future::Future<Output = Resp>>(
        &self,
        what: &str,
        id: &str,
        want: &[&str],
        step: F,
    ) -> Resp {
        let before = self.snap().await;
        let r = step.await;
        let after = self.snap().await;
        let got = places(&before.changes(&after));
        assert_eq!(
            got,
            self.resolve(&after, id, want),
            "{}: {what} ({}): {}",
            self.ctx,
            r.status,
            r.body
        );
        r
    }
}

async fn replay(b: Backend, spec: &Spec) {
    let app = spawn_helpdesk(b, spec.fixture, spec.preset).await;
    let run = Run {
        app: &app,
        spec,
        ctx: format!("{} on {b:?}", spec.preset),
    };
    let ctx = run.ctx.clone();
    okta_sequence(&run).await;
    provision_existing(&run).await;
    app.stop().await;
    eprintln!("{ctx}: replayed");
}

/// Okta's sequence for one new person, then a group push.
async fn okta_sequence(run: &Run<'_>) {
    let (app, spec, ctx) = (run.app, run.spec, run.ctx.as_str());
    // Import: pages through every user, counts agree.
    let total = app.count(spec.user_count).await;
    let r = app.get("/Users?startIndex=1&count=100").await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    assert_eq!(r.body["totalResults"], total, "{ctx}");
    // Search (none), then create; the create inserts rows and changes no existing one.
    let user_name = "Ada.Lovelace@Example.com";
    let search = format!(
        "/Users?filter={}&startIndex=1&count=100",
        enc(&format!("userName eq \"{user_name}\""))
    );
    assert_eq!(app.get(&search).await.body["totalResults"], 0, "{ctx}");
    let body = json!({
        "schemas": [CORE], "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "phoneNumbers": [{"value": "+1 555 0199", "type": "work"}],
        "title": "Analyst", "timezone": "Europe/London",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"organization": "Analytical Engines"},
        "displayName": "Ada Lovelace", "externalId": "00ujl29u0le5T6Aj10h7",
        "password": "1mz050nq", "active": true
    });
    let before = run.snap().await;
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(r.body["userName"], user_name, "{ctx}: the IdP's spelling");
    let id = r.body["id"].as_str().unwrap().to_string();
    let after = run.snap().await;
    let changes = before.changes(&after);
    assert!(
        changes.iter().all(|c| c.at().starts_with('+')),
        "{ctx}: a create only inserts: {changes:?}"
    );
    let mut inserted_tables: Vec<&str> = spec.created.iter().map(|c| c.0).collect();
    inserted_tables.dedup();
    assert_eq!(changes.len(), inserted_tables.len(), "{ctx}: {changes:?}");
    for (table, column, want) in spec.created {
        let key = match spec.joined.iter().find(|(t, _)| t == table) {
            Some((t, parent)) => after.keys_where(t, parent, &id).remove(0),
            None => id.clone(),
        };
        let got = after.cell(table, &key, column);
        match want {
            Some(w) => assert_eq!(
                got.as_deref().unwrap_or("<NULL>"),
                *w,
                "{ctx}: {table}.{column}"
            ),
            None => assert!(got.is_some(), "{ctx}: {table}.{column} filled"),
        }
    }
    // Read back; a retry is 409; a search in another case finds the user.
    let r = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        r.body["name"]["familyName"], "Lovelace",
        "{ctx}: {}",
        r.body
    );
    run.expect("retried create", &id, &[], app.post("/Users", &body))
        .await
        .assert_error(409, Some("uniqueness"));
    let upper = format!(
        "/Users?filter={}",
        enc(&format!("userName eq \"{}\"", user_name.to_uppercase()))
    );
    let r = app.get(&upper).await;
    assert_eq!(r.body["totalResults"], 1, "{ctx}: {}", r.body);
    // Profile update (GET + PUT), then the same PUT again: the second writes nothing.
    let mut fetched = app.get(&format!("/Users/{id}")).await.body;
    fetched["name"]["familyName"] = json!("King");
    let path = format!("/Users/{id}");
    let r = run
        .expect("rename", &id, spec.renamed, app.put(&path, &fetched))
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    let r = run
        .expect("no-op PUT", &id, &[], app.put(&path, &fetched))
        .await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    // Deactivate and reactivate (the catalog app's PATCH); each writes only the state.
    let before = run.snap().await;
    for active in [false, true] {
        let r = run
            .expect(
                &format!("active = {active}"),
                &id,
                spec.deactivated,
                app.patch(
                    &path,
                    &ops(json!([{"op": "replace", "value": {"active": active}}])),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(r.body["active"], active, "{ctx}");
        for place in run.resolve(&before, &id, spec.deactivated) {
            if place.ends_with("is_enabled") || place.ends_with("is_active") {
                let (table, rest) = place.split_once('[').unwrap();
                let (key, column) = rest.split_once("].").unwrap();
                let now = run.snap().await.cell(table, key, column);
                assert_eq!(truthy(now.as_deref()), active, "{ctx}: {place}");
            }
        }
    }
    // A group push with the new and an existing user.
    let members = json!([{"value": id}, {"value": spec.existing.1}]);
    let r = run
        .expect(
            "group push",
            &id,
            spec.pushed,
            app.post(
                "/Groups",
                &json!({"schemas": [GROUP], "displayName": "Pilots", "members": members}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let u = app.get(&path).await.body;
    assert_eq!(u["groups"][0]["display"], "Pilots", "{ctx}: {u}");
    let r = run
        .expect(
            "member removed",
            &id,
            &[],
            app.patch(
                &format!("/Groups/{gid}"),
                &ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", spec.existing.1)}])),
            ),
        )
        .await;
    assert!(r.status.is_success(), "{ctx}: {}", r.body);
    // Deprovision: DELETE; the user is gone for SCIM, the rows stay.
    let r = run
        .expect("delete", &id, spec.deleted, app.delete(&path))
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    app.get(&path).await.assert_error(404, None);
}

/// "Provision existing users": Okta's userName in another spelling adopts the row; nothing of
/// it changes when Okta sends what the application holds; protected rows are refused.
async fn provision_existing(run: &Run<'_>) {
    let (app, spec, ctx) = (run.app, run.spec, run.ctx.as_str());
    let (user_name, key, given, family) = spec.existing;
    let mut body = json!({"schemas": [CORE], "userName": format!(" {} ", user_name.to_uppercase()),
        "name": {"givenName": given}, "active": true, "externalId": "00uexisting"});
    if !family.is_empty() {
        body["name"]["familyName"] = json!(family);
    }
    let users = app.count(spec.user_count).await;
    let r = run
        .expect("adoption", key, &[], app.post("/Users", &body))
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    assert_eq!(r.body["id"], key, "{ctx}: the existing row");
    assert_eq!(
        app.count(spec.user_count).await,
        users,
        "{ctx}: no duplicate"
    );
    // Linked now: a second create is 409.
    run.expect("second adoption", key, &[], app.post("/Users", &body))
        .await
        .assert_error(409, Some("uniqueness"));
    // A change Okta then sends writes only that column.
    let r = app.get(&format!("/Users/{key}")).await;
    assert_eq!(r.status, 200, "{ctx}: {}", r.body);
    if let Some(protected) = spec.protected {
        let body = json!({"schemas": [CORE], "userName": protected, "name": {"givenName": "Mallory"}, "active": true});
        run.expect("protected adoption", key, &[], app.post("/Users", &body))
            .await
            .assert_error(409, None);
    }
}

async fn freescout_preset(b: Backend) {
    replay(b, &FREESCOUT).await;
}

async fn uvdesk_preset(b: Backend) {
    replay(b, &UVDESK).await;
}

backend_tests!(freescout_preset, uvdesk_preset);
