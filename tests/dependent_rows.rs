//! Dependent rows (issue 16): a joined row the user's row points at — `accounts.principal_id`
//! holds `principals.id`, a generated key — over HTTP against
//! `tests/fixtures/helpdesks/principals` with ONE mapping file on SQLite, PostgreSQL and
//! MariaDB (a real foreign key on the last two). A new user's principal is inserted first and
//! its key written into the account; an adopted account without one gets one; a DELETE removes
//! the account, then its principal. `{ own_key = true }` columns hold their row's own key; a
//! joined row made after the account holds the principal's key (`{ key_of = "principals" }`).
//! Every write is checked on the whole rows of both tables. The order of a create is derived
//! from where each key goes; `check` prints it, and a dry run's statements follow it.

mod common;

use common::*;
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

type Rows = Vec<Vec<(String, Option<String>)>>;

async fn spawn(b: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "principals").await;
    spawn_on_url(
        b,
        url,
        dir,
        Options {
            mapping: format!("{REPO}/tests/fixtures/helpdesks/principals/mapping.toml"),
            extra_config: String::new(),
        },
    )
    .await
}

fn row(cells: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    cells
        .iter()
        .map(|(c, v)| (c.to_string(), v.map(str::to_string)))
        .collect()
}

/// A principal row the bridge made: `object_id` holds its own key.
fn principal(id: &str, kind: &str, display: Option<&str>) -> Vec<(String, Option<String>)> {
    row(&[
        ("id", Some(id)),
        ("kind", Some(kind)),
        ("object_id", Some(id)),
        ("display", display),
    ])
}

/// An account row; `created_by` holds its own key when the bridge made it.
fn account(
    id: &str,
    login: &str,
    created_by: Option<&str>,
    principal: Option<&str>,
) -> Vec<(String, Option<String>)> {
    row(&[
        ("id", Some(id)),
        ("login", Some(login)),
        ("created_by", created_by),
        ("principal_id", principal),
    ])
}

/// An ACL-equivalence group row: the user's key, its principal's.
fn acl_group(id: &str, user: &str, principal: &str) -> Vec<(String, Option<String>)> {
    row(&[
        ("id", Some(id)),
        ("domain", Some("ACLEquivalence")),
        ("instance", Some(user)),
        ("principal_id", Some(principal)),
    ])
}

async fn both(app: &TestApp) -> (Rows, Rows) {
    (
        app.whole_rows("accounts", "1=1", "id").await,
        app.whole_rows("principals", "1=1", "id").await,
    )
}

async fn groups(app: &TestApp) -> Rows {
    app.whole_rows("acl_groups", "1=1", "id").await
}

/// Create, update, filter, adopt and delete through a row the user's row points at.
async fn principal_rows_come_first(b: Backend) {
    let app = spawn(b).await;
    let (accounts, principals) = both(&app).await;
    let mut want_g = groups(&app).await;
    let r = app.get("/Users/1").await;
    assert_eq!(r.body["displayName"], "Ann Archer", "{}", r.body);

    // A new user: its principal is inserted (conditions, attributes, its own key as its
    // object_id), then the account pointing at it (and holding its own key as created_by).
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "carol", "displayName": "Carol Cho"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["displayName"], "Carol Cho", "{}", r.body);
    let carol = r.body["id"].as_str().unwrap().to_string();
    let (a, p) = both(&app).await;
    let mut want_p = principals.clone();
    want_p.push(principal("3", "User", Some("Carol Cho")));
    assert_eq!(p, want_p);
    let mut want_a = accounts.clone();
    want_a.push(account(&carol, "carol", Some(&carol), Some("3")));
    assert_eq!(a, want_a);
    // Then her ACL-equivalence group, holding her principal's key.
    want_g.push(acl_group("2", &carol, "3"));
    assert_eq!(groups(&app).await, want_g);

    // An update writes the principal only; a filter reads through it.
    let ops = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Carol Chen"}]});
    let r = app.patch(&format!("/Users/{carol}"), &ops).await;
    assert_eq!(r.status, 200, "{}", r.body);
    want_p[2] = principal("3", "User", Some("Carol Chen"));
    assert_eq!(both(&app).await, (want_a.clone(), want_p.clone()));
    let r = app
        .get("/Users?filter=displayName%20eq%20%22Carol%20Chen%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["userName"], "carol", "{}", r.body);
    // The same PATCH again writes nothing.
    let r = app.patch(&format!("/Users/{carol}"), &ops).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(both(&app).await, (want_a.clone(), want_p.clone()));

    // bob, made before principals existed, is adopted: his principal is made when a write
    // has something for it, and his account pointed at it — nothing else changes (created_by
    // is written only into a row the bridge inserts).
    let r = app
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "bob", "displayName": "Bob Brown"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "2", "{}", r.body);
    assert_eq!(r.body["displayName"], "Bob Brown", "{}", r.body);
    want_p.push(principal("4", "User", Some("Bob Brown")));
    want_a[1] = account("2", "bob", None, Some("4"));
    assert_eq!(both(&app).await, (want_a.clone(), want_p.clone()));
    assert_eq!(
        groups(&app).await,
        want_g,
        "no group for an adopted user (on = insert)"
    );

    // DELETE (on_delete = "delete"): the ACL group and the account, then the principal they
    // pointed at (the foreign keys allow no other order); the group's principal, ann's rows
    // and bob's stay.
    let r = app.delete(&format!("/Users/{carol}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    want_a.retain(|r| r[0].1.as_deref() != Some(carol.as_str()));
    want_p.retain(|r| r[0].1.as_deref() != Some("3"));
    assert_eq!(both(&app).await, (want_a, want_p));
    want_g.retain(|r| r[0].1.as_deref() != Some("2"));
    assert_eq!(groups(&app).await, want_g);
    app.stop().await;
}

/// The insert order is derived, not declared: `check` prints it with where each key goes,
/// and a create's statements run in exactly that order (a dry run, which writes nothing).
async fn check_prints_the_order_a_create_follows(b: Backend) {
    let app = spawn(b).await;
    let before = both(&app).await;
    let text = std::fs::read_to_string(format!(
        "{REPO}/tests/fixtures/helpdesks/principals/mapping.toml"
    ))
    .unwrap();
    let (ok, out) = app.check(&text);
    assert!(ok, "{out}");
    assert_eq!(
        order::check_order(&out),
        ["principals", "accounts", "acl_groups"],
        "{out}"
    );
    assert!(
        out.contains("1. principals; its new key goes into accounts.principal_id")
            && out.contains("2. accounts (the user's row)")
            && out.contains("3. acl_groups; instance holds the user's key"),
        "{out}"
    );
    let body = json!({"schemas": [USER], "userName": "dave", "displayName": "Dave Dunn"});
    order::assert_preview_follows(&app, &text, &body, &out);
    assert_eq!(both(&app).await, before, "a dry run writes nothing");
    app.stop().await;
}

backend_tests!(
    principal_rows_come_first,
    check_prints_the_order_a_create_follows
);
