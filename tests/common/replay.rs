//! Replaying an identity provider against a preset (`mappings/*.toml`) over its fixture
//! helpdesk: Okta's sequence (import, search, create, retry, update, no-op, deactivate,
//! reactivate, a group push, a granted group joined and left, delete) and "provision existing
//! users" — each step compared with whole snapshots of every host table the preset could touch,
//! so a step that writes anything it should not fails. Used by `tests/preset_replay.rs`
//! (end-user presets) and `tests/agent_presets.rs`.

use serde_json::json;

use super::snapshot::{places, Snapshot};
use super::*;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// What one preset is expected to do at each step. Places are `table[key].column`,
/// `+table[key]` (inserted) or `-table[key]` (deleted); `{id}` is the created user's key and
/// `{table}` the key of that table's row whose parent column holds it (see `joined`).
pub struct Spec {
    pub fixture: &'static str,
    pub preset: &'static str,
    /// Every host table the preset could write, with its key column ("" for join tables).
    pub tables: &'static [(&'static str, &'static str)],
    /// Tables holding one row per created user: (table, column holding the user's key).
    pub joined: &'static [(&'static str, &'static str)],
    /// SQL counting the users the bridge serves.
    pub user_count: &'static str,
    /// Cells of the created user's rows: (table, column, value; None = any non-NULL value).
    pub created: &'static [(&'static str, &'static str, Option<&'static str>)],
    /// Places a PUT changing the family name to "King" writes.
    pub renamed: &'static [&'static str],
    /// Places `active = false` writes (and `active = true` writes back).
    pub deactivated: &'static [&'static str],
    /// Places a DELETE writes.
    pub deleted: &'static [&'static str],
    /// Places pushing a group with the new user and the existing one as members writes.
    pub pushed: &'static [&'static str],
    /// Places removing the existing member from that group writes.
    pub member_removed: &'static [&'static str],
    /// An existing user: the userName Okta sends (another spelling), its key, its name.
    pub existing: (&'static str, &'static str, &'static str, &'static str),
    /// Places adopting the existing user writes (none when Okta sends what the row holds).
    pub adopted: &'static [&'static str],
    /// A protected user's userName, when the preset protects some.
    pub protected: Option<&'static str>,
    /// A pushed group whose members the preset grants something (`[[users.grants]]`).
    pub grant: Option<GrantSpec>,
}

/// What joining and leaving a granted group writes. Places may hold `*` for a key the
/// test cannot know (a generated group key); `{id}` and `{table}` as in `Spec`.
pub struct GrantSpec {
    pub group: &'static str,
    pub joined: &'static [&'static str],
    pub left: &'static [&'static str],
}

/// Booleans as the backends return them through a text cast.
fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "t" | "true" | "TRUE"))
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20")
        .replace('"', "%22")
        .replace('@', "%40")
        .replace('+', "%2B")
}

pub struct Run<'a> {
    app: &'a TestApp,
    spec: &'a Spec,
    ctx: String,
}

impl Run<'_> {
    async fn snap(&self) -> Snapshot {
        Snapshot::take(self.app, self.spec.tables).await
    }

    /// `want` with `{id}` and `{table}` replaced, in `want`'s order.
    fn resolve(&self, snap: &Snapshot, id: &str, want: &[&str]) -> Vec<String> {
        want.iter()
            .map(|w| {
                let mut w = w.replace("{id}", id);
                for (table, parent) in self.spec.joined {
                    let keys = snap.keys_where(table, parent, id);
                    if let Some(k) = keys.as_slice().first() {
                        w = w.replace(&format!("{{{table}}}"), k);
                    }
                }
                w
            })
            .collect()
    }

    /// Runs `step` and asserts the places it changed (`{table}` keys looked up after the
    /// step, or before it for a row the step deletes).
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
        let want: Vec<String> = self
            .resolve(&after, id, want)
            .into_iter()
            .zip(self.resolve(&before, id, want))
            .map(|(a, b)| {
                if a.trim_start_matches('?').starts_with('-') {
                    b
                } else {
                    a
                }
            })
            .collect();
        assert!(
            matches_all(&got, &want),
            "{}: {what} ({}): got {got:?}, want {want:?}: {}",
            self.ctx,
            r.status,
            r.body
        );
        r
    }
}

/// Whether `got` and `want` pair up one to one, `*` in a wanted place standing for any text;
/// a wanted place starting with `?` may be missing (a timestamp the step may write within the
/// second the previous one wrote, on a backend that keeps seconds only).
fn matches_all(got: &[String], want: &[String]) -> bool {
    let mut left: Vec<&String> = got.iter().collect();
    for w in want {
        let (optional, w) = match w.strip_prefix('?') {
            Some(rest) => (true, rest),
            None => (false, w.as_str()),
        };
        match left.iter().position(|g| glob(w, g)) {
            Some(i) => {
                left.remove(i);
            }
            None if optional => {}
            None => return false,
        }
    }
    left.is_empty()
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

pub async fn replay(b: Backend, spec: &Spec) {
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
    deactivate_and_reactivate(run, &id).await;
    group_push(run, &id).await;
    if let Some(g) = &spec.grant {
        granted_group(run, &id, g).await;
    }
    // Deprovision: DELETE; the user is gone for SCIM, the rows stay.
    let r = run
        .expect("delete", &id, spec.deleted, app.delete(&path))
        .await;
    assert_eq!(r.status, 204, "{ctx}: {}", r.body);
    app.get(&path).await.assert_error(404, None);
}

/// Deactivate and reactivate (the catalog app's PATCH); each writes only the state.
async fn deactivate_and_reactivate(run: &Run<'_>, id: &str) {
    let (app, spec, ctx) = (run.app, run.spec, run.ctx.as_str());
    let path = format!("/Users/{id}");
    let before = run.snap().await;
    for active in [false, true] {
        let r = run
            .expect(
                &format!("active = {active}"),
                id,
                spec.deactivated,
                app.patch(
                    &path,
                    &patch_op(json!([{"op": "replace", "value": {"active": active}}])),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{ctx}: {}", r.body);
        assert_eq!(r.body["active"], active, "{ctx}");
        for place in run.resolve(&before, id, spec.deactivated) {
            if place.ends_with("is_enabled") || place.ends_with("is_active") {
                let (table, rest) = place.split_once('[').unwrap();
                let (key, column) = rest.split_once("].").unwrap();
                let now = run.snap().await.cell(table, key, column);
                assert_eq!(truthy(now.as_deref()), active, "{ctx}: {place}");
            }
        }
    }
}

/// A group push with the new and an existing user, then the existing one removed.
async fn group_push(run: &Run<'_>, id: &str) {
    let (app, spec, ctx) = (run.app, run.spec, run.ctx.as_str());
    let path = format!("/Users/{id}");
    // A group push with the new and an existing user.
    let members = json!([{"value": id}, {"value": spec.existing.1}]);
    let r = run
        .expect(
            "group push",
            id,
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
            id,
            spec.member_removed,
            app.patch(
                &format!("/Groups/{gid}"),
                &patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", spec.existing.1)}])),
            ),
        )
        .await;
    assert!(r.status.is_success(), "{ctx}: {}", r.body);
}

/// Joining the granted group grants, a repeated add writes nothing, leaving takes it back.
async fn granted_group(run: &Run<'_>, id: &str, g: &GrantSpec) {
    let (app, ctx) = (run.app, run.ctx.as_str());
    let r = run
        .expect(
            "granted group pushed",
            id,
            g.joined,
            app.post(
                "/Groups",
                &json!({"schemas": [GROUP], "displayName": g.group, "members": [{"value": id}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{ctx}: {}", r.body);
    let gpath = format!("/Groups/{}", r.body["id"].as_str().unwrap());
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
    let r = run
        .expect("member added again", id, &[], app.patch(&gpath, &add))
        .await;
    assert!(r.status.is_success(), "{ctx}: {}", r.body);
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]));
    let r = run
        .expect(
            "granted member removed",
            id,
            g.left,
            app.patch(&gpath, &remove),
        )
        .await;
    assert!(r.status.is_success(), "{ctx}: {}", r.body);
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
        .expect("adoption", key, spec.adopted, app.post("/Users", &body))
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
