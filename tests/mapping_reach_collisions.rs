//! Match values that collide case-insensitively (issue 16), over HTTP and the CLI against
//! GLPI's schema (`tests/fixtures/helpdesks/glpi`, which allows the same login under two
//! authentication sources and one address for two users) with the repo's preset on SQLite,
//! PostgreSQL and MariaDB: `check` and `import` list the rows and say what a POST does — 409
//! while nothing is linked, the linked row once one is — and the POST does exactly that,
//! writing nothing when it refuses.

mod common;

use common::*;

/// The GLPI preset, as shipped.
fn glpi() -> String {
    std::fs::read_to_string(format!("{REPO}/mappings/glpi.toml")).unwrap()
}

type Rows = Vec<Vec<(String, Option<String>)>>;

async fn host(app: &TestApp) -> (Rows, Rows) {
    (
        app.whole_rows("glpi_users", "1=1", "id").await,
        app.whole_rows("glpi_useremails", "1=1", "id").await,
    )
}

/// The line of `out` that mentions `needle`.
fn line<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

async fn colliding_logins_are_listed_and_refused(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    // GLPI allows a login that differs only in case: Taro becomes "Alice.Anderson" beside "alice.anderson" (Léa's "lea.petit" is in the trash, outside the scope).
    app.exec("UPDATE glpi_users SET name = 'Alice.Anderson' WHERE id = 16")
        .await;

    let (ok, out) = app.cli_with(&glpi(), &["check"]);
    assert!(ok, "collisions are a warning: {out}");
    let lea = line(&out, "\"alice.anderson\":");
    assert!(
        lea.contains("11 glpi_users.name \"alice.anderson\"")
            && lea.contains("16 glpi_users.name \"Alice.Anderson\"")
            && lea.contains("answers 409, adopting neither"),
        "{lea}"
    );
    // Two users' addresses differing only in case (the fixture's Bob Brown and Robert Brown).
    let bob = line(&out, "\"bob.brown@acme.example\":");
    assert!(
        bob.contains("12 glpi_useremails.email \"Bob.Brown@Acme.Example\"")
            && bob.contains("13 glpi_useremails.email \"bob.brown@acme.example\""),
        "{bob}"
    );
    assert!(
        out.contains("[warning] users.match") || out.contains("users.match:"),
        "{out}"
    );
    // import says the same per row.
    let (ok, out) = app.cli_with(&glpi(), &["import"]);
    assert!(ok, "{out}");
    for id in ["11 ", "16 "] {
        let l = out
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            l.contains("ambiguous") && l.contains("answers 409") && l.contains("Alice.Anderson"),
            "{l}"
        );
    }

    // The POST does what they said: 409, nothing written.
    let before = host(&app).await;
    let links = app.count("SELECT COUNT(*) FROM scim_users").await;
    let r = app
        .post("/Users", &okta_user("ALICE.ANDERSON", "Alice", "Anderson"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("11, 16"),
        "{}",
        r.body
    );
    assert_eq!(host(&app).await, before);
    assert_eq!(app.count("SELECT COUNT(*) FROM scim_users").await, links);

    // Once one row is linked to the userName (renamed apart, adopted, renamed back), check
    // names the linked row, and a POST is refused as already provisioned.
    app.exec("UPDATE glpi_users SET name = 'taro.yamada' WHERE id = 16")
        .await;
    let r = app
        .post("/Users", &okta_user("alice.anderson", "Alice", "Anderson"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["id"].as_str()),
        (201, Some("11")),
        "{}",
        r.body
    );
    app.exec("UPDATE glpi_users SET name = 'Alice.Anderson' WHERE id = 16")
        .await;
    let (_, out) = app.cli_with(&glpi(), &["check"]);
    assert!(
        line(&out, "\"alice.anderson\":").contains("already provisioned as user 11"),
        "{out}"
    );
    let before = host(&app).await;
    let r = app
        .post("/Users", &okta_user("Alice.Anderson", "Alice", "Anderson"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("already provisioned as user 11"),
        "{}",
        r.body
    );
    assert_eq!(host(&app).await, before);
    app.stop().await;
}

/// A lookup text two rows hold in different case is ambiguous: 409 like an ambiguous user
/// match, nothing written (no third row, no user); a text one row holds still resolves.
async fn ambiguous_lookups_answer_409(b: Backend) {
    let app = spawn_helpdesk(b, "glpi", "glpi").await;
    app.exec("INSERT INTO glpi_usertitles (id, name, comment, date_mod, date_creation) VALUES (3, 'support engineer', NULL, '2023-01-01 00:00:00', '2023-01-01 00:00:00')")
        .await;
    let titles = || app.whole_rows("glpi_usertitles", "1=1", "id");
    let (before, titles_before) = (host(&app).await, titles().await);
    let mut body = okta_user("new.person", "New", "Person");
    body["title"] = serde_json::json!("Support Engineer");
    let r = app.post("/Users", &body).await;
    r.assert_error(409, Some("uniqueness"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("glpi_usertitles.name")
            && detail.contains("keys 1, 3")
            && detail.contains("usertitles_id"),
        "{detail}"
    );
    assert_eq!(
        (host(&app).await, titles().await),
        (before.clone(), titles_before.clone())
    );
    // A PATCH of an existing user's title is refused the same way, and writes nothing.
    let patch = serde_json::json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "SUPPORT ENGINEER"}]});
    app.patch("/Users/11", &patch)
        .await
        .assert_error(409, Some("uniqueness"));
    assert_eq!(
        (host(&app).await, titles().await),
        (before.clone(), titles_before.clone())
    );
    // A title one row holds resolves to that row.
    body["title"] = serde_json::json!("team lead");
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let row = app
        .rows(&format!(
            "SELECT CAST(usertitles_id AS {{T}}) FROM glpi_users WHERE id = {id}"
        ))
        .await;
    assert_eq!(row[0][0].as_deref(), Some("2"));
    assert_eq!(titles().await, titles_before, "no title added");
    app.stop().await;
}

backend_tests!(
    colliding_logins_are_listed_and_refused,
    ambiguous_lookups_answer_409
);
