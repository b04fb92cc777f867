//! Read fallbacks (issue 16), over HTTP against osTicket's schema (`tests/fixtures/helpdesks/
//! osticket`, whose guests have no account row) with the repo's preset on SQLite, PostgreSQL
//! and MariaDB: every client is served with a userName (the primary email when there is no
//! login), filters find the users by the userName they are served with, reads write nothing,
//! a no-op PUT writes nothing, adoption by the served userName writes the login, and `check`
//! warns about rows served without one and names the fix.

mod common;

use common::*;
use serde_json::{json, Value};

type Rows = Vec<Vec<(String, Option<String>)>>;

/// Every osTicket table the preset reads or writes, whole.
async fn host(app: &TestApp) -> (Rows, Rows, Rows) {
    (
        app.whole_rows("ost_user", "1=1", "id").await,
        app.whole_rows("ost_user_email", "1=1", "id").await,
        app.whole_rows("ost_user_account", "1=1", "id").await,
    )
}

/// The rows of `after` that differ from `before` (new or changed), by their first column.
fn differing(before: &Rows, after: &Rows) -> Vec<Vec<(String, Option<String>)>> {
    assert!(
        before.iter().all(|b| after.iter().any(|a| a[0] == b[0])),
        "a row vanished"
    );
    after
        .iter()
        .filter(|a| !before.contains(a))
        .cloned()
        .collect()
}

fn get<'a>(row: &'a [(String, Option<String>)], c: &str) -> Option<&'a str> {
    row.iter().find(|(n, _)| n == c).unwrap().1.as_deref()
}

/// `/Users?filter=…` → (totalResults, ids).
async fn search(app: &TestApp, filter: &str) -> (u64, Vec<String>) {
    let q: String = filter
        .bytes()
        .map(|b| match b {
            b' ' => "%20".to_string(),
            b'"' => "%22".to_string(),
            b'(' => "%28".to_string(),
            b')' => "%29".to_string(),
            b => (b as char).to_string(),
        })
        .collect();
    let r = app.get(&format!("/Users?count=100&filter={q}")).await;
    assert_eq!(r.status, 200, "{filter}: {}", r.body);
    let ids = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    (r.body["totalResults"].as_u64().unwrap(), ids)
}

fn preset() -> String {
    std::fs::read_to_string(format!("{REPO}/mappings/osticket.toml")).unwrap()
}

/// `check`: the preset serves everyone; without the fallback the 8 guests are named with
/// the fix; a fallback POSTs could not adopt by, and a misuse, are named with theirs.
fn check_names_rows_without_a_user_name(app: &TestApp) {
    let (ok, out) = app.cli_with(&preset(), &["check"]);
    assert!(ok, "{out}");
    assert!(!out.contains("without a userName"), "{out}");
    let bare = preset().replace("read_fallback = { userName = \"emails.value\" }\n", "");
    let (ok, out) = app.cli_with(&bare, &["check"]);
    assert!(ok, "a warning, not an error: {out}");
    assert!(
        out.contains(
            "8 host row(s) would be served without a userName (ids 3, 4, 5, 8, 9, 10, 11, 12)"
        ) && out.contains("read_fallback = { userName = \"emails.value\" }"),
        "{out}"
    );
    // A fallback POSTs could not adopt by is named with the match entry to add.
    let no_match = preset().replace(
        "match = [\"ost_user_account.username\", \"ost_user_email.address\"]",
        "match = [\"ost_user_account.username\"]",
    );
    let (_, out) = app.cli_with(&no_match, &["check"]);
    assert!(
        out.contains("add \"ost_user_email.address\" to users.match"),
        "{out}"
    );
    let wrong = preset().replace("userName = \"emails.value\"", "userName = \"title\"");
    let (ok, out) = app.cli_with(&wrong, &["check"]);
    assert!(
        !ok && out.contains("users.read_fallback.userName") && out.contains("map a column to it"),
        "{out}"
    );
}

async fn guests_are_served_and_found_by_their_email(b: Backend) {
    let app = spawn_helpdesk(b, "osticket", "osticket").await;
    check_names_rows_without_a_user_name(&app);
    let before = host(&app).await;
    // Every client has a userName: its login, else its primary email as stored.
    let r = app.get("/Users?count=100").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let users = r.body["Resources"].as_array().unwrap();
    assert_eq!(users.len(), 12);
    let name =
        |id: &str| -> Value { users.iter().find(|u| u["id"] == id).unwrap()["userName"].clone() };
    assert!(
        users
            .iter()
            .all(|u| u["userName"].as_str().is_some_and(|s| !s.is_empty())),
        "{users:?}"
    );
    assert_eq!(name("1"), "alice");
    assert_eq!(
        name("3"),
        "juergen.mueller@globex.example",
        "the primary, not j.mueller@"
    );
    assert_eq!(name("4"), "ZOE.ANGSTROM@GLOBEX.EXAMPLE");
    assert_eq!(name("8"), "dave.nolastname@example.net");
    let one = app.get("/Users/11").await;
    assert_eq!(one.body["userName"], "greta.ivanova@example.ru");
    assert_eq!(host(&app).await, before, "reads write nothing");

    filters_find_users_by_the_user_name_they_are_served_with(&app).await;
    assert_eq!(host(&app).await, before, "filters write nothing");
    writes_put_the_served_user_name_in_the_login(&app, before).await;
    app.stop().await;
}

/// Filters find each user by the userName it is served with, and only by it.
async fn filters_find_users_by_the_user_name_they_are_served_with(app: &TestApp) {
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "zoe.angstrom@globex.example""#, &["4"]),
        (r#"userName eq "alice""#, &["1"]),
        (r#"userName eq "alice.anderson@acme.example""#, &[]),
        (r#"userName eq "j.mueller@private.example""#, &[]),
        (r#"userName eq "Juergen.Mueller@globex.example""#, &["3"]),
        (r#"userName sw "ZOE""#, &["4"]),
        (r#"userName ew "@globex.example""#, &["3", "4", "10"]),
        (
            r#"userName co "acme" and userName ne "bbrown""#,
            &["12", "9"],
        ),
        (r#"userName eq "carol.chen@acme.example""#, &[]),
        ("not (userName pr)", &[]),
        ("userName eq null", &[]),
    ];
    for (f, want) in cases {
        let (total, mut ids) = search(app, f).await;
        ids.sort();
        let mut want: Vec<String> = want.iter().map(ToString::to_string).collect();
        want.sort();
        assert_eq!((total, &ids), (want.len() as u64, &want), "{f}");
    }
    assert_eq!(search(app, "userName pr").await.0, 12);
    assert_eq!(search(app, r#"userName ne "alice""#).await.0, 11);
    let r = app.get("/Users?sortBy=userName").await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("read_fallback"),
        "{}",
        r.body
    );
}

/// A no-op PUT writes nothing; a deactivation and an adoption write the login they need.
async fn writes_put_the_served_user_name_in_the_login(app: &TestApp, before: (Rows, Rows, Rows)) {
    // A PUT of what a guest is served writes nothing.
    let served = app.get("/Users/8").await.body;
    let r = app.put("/Users/8", &served).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["userName"], "dave.nolastname@example.net");
    assert_eq!(host(app).await, before, "a no-op PUT writes nothing");

    // Deactivating a guest creates its account row (LOCKED) under the served userName.
    let r = app
        .patch(
            "/Users/5",
            &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["active"].clone(), r.body["userName"].clone()),
        (json!(false), json!("taro.yamada@example.jp"))
    );
    let after = host(app).await;
    assert_eq!(
        differing(&before.1, &after.1),
        Vec::<Vec<_>>::new(),
        "emails untouched"
    );
    let users_changed = differing(&before.0, &after.0);
    assert!(
        users_changed.iter().all(|r| get(r, "id") == Some("5")),
        "only user 5: {users_changed:?}"
    );
    let accounts = differing(&before.2, &after.2);
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(
        (
            get(&accounts[0], "user_id"),
            get(&accounts[0], "username"),
            get(&accounts[0], "status")
        ),
        (Some("5"), Some("taro.yamada@example.jp"), Some("2"))
    );
    let before = after;

    // Okta's import saw erin.obrien@acme.example: its POST adopts guest 9 and writes the login.
    let r = app
        .post(
            "/Users",
            &okta_user("Erin.OBrien@acme.example", "Erin", "O'Brien"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "9", "adopted, not duplicated");
    assert_eq!(r.body["userName"], "Erin.OBrien@acme.example");
    let after = host(app).await;
    assert_eq!(
        differing(&before.1, &after.1),
        Vec::<Vec<_>>::new(),
        "emails untouched"
    );
    assert_eq!(after.0.len(), before.0.len());
    let accounts = differing(&before.2, &after.2);
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(
        (get(&accounts[0], "user_id"), get(&accounts[0], "username")),
        (Some("9"), Some("Erin.OBrien@acme.example"))
    );
    assert_eq!(
        search(app, r#"userName eq "erin.obrien@acme.example""#)
            .await
            .1,
        ["9"]
    );
}

backend_tests!(guests_are_served_and_found_by_their_email);
