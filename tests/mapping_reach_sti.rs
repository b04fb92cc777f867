//! Groups stored beside users (issue 16, single-table inheritance), over HTTP against
//! `tests/fixtures/helpdesks/sti` with one mapping on SQLite, PostgreSQL and MariaDB: a
//! group pushed under a name a user also has (as surname) links the group row, never the
//! user; a new group row gets the group scope's value; users never list groups; `check`
//! refuses a shared table without a scope on both sides. The column telling them apart is an
//! enumerated type on PostgreSQL and MariaDB, text on SQLite — one mapping for all three.

mod common;

use common::*;
use serde_json::json;

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn mapping_path() -> String {
    format!("{REPO}/tests/fixtures/helpdesks/sti/mapping.toml")
}

type Rows = Vec<Vec<(String, Option<String>)>>;

fn cell<'a>(rows: &'a Rows, id: &str, c: &str) -> Option<&'a str> {
    let row = rows
        .iter()
        .find(|r| r[0].1.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no row {id}"));
    row.iter().find(|(n, _)| n == c).unwrap().1.as_deref()
}

async fn groups_beside_users_are_told_apart_by_scope(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = helpdesk_database(b, dir.path(), "sti").await;
    let opts = Options {
        mapping: mapping_path(),
        extra_config: String::new(),
    };
    let app = spawn_on_url(b, url, dir, opts).await;
    let principals = || app.whole_rows("principals", "1=1", "id");
    let before = principals().await;
    // `kind` is an enumerated type on PostgreSQL and MariaDB (text on SQLite): both scopes
    // compare it as text, and new rows get their label through a cast.
    let kind_type = match b {
        Backend::Sqlite => "SELECT type FROM pragma_table_info('principals') WHERE name = 'kind'",
        Backend::Postgres => "SELECT CAST(udt_name AS TEXT) FROM information_schema.columns WHERE table_name = 'principals' AND column_name = 'kind'",
        Backend::Mysql => "SELECT CAST(column_type AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'principals' AND column_name = 'kind'",
    };
    let kind_type = app.rows(kind_type).await[0][0].clone().unwrap();
    let want = match b {
        Backend::Sqlite => "VARCHAR(10)",
        Backend::Postgres => "principal_kind",
        Backend::Mysql => "enum('User','Group')",
    };
    assert_eq!(kind_type, want);

    // Users are the User rows only.
    let r = app.get("/Users").await;
    assert_eq!(r.body["totalResults"], 2, "{}", r.body);

    // "Support" is a group row and a user's surname: the group row is linked, nothing written
    // to it, and the membership points at it.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Support", "members": [{"value": "3"}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(
        principals().await,
        before,
        "linked, not inserted, user 1 untouched"
    );
    let m = app
        .rows("SELECT CAST(group_id AS {T}), CAST(member_id AS {T}) FROM memberships")
        .await;
    assert_eq!(m, vec![vec![Some("2".into()), Some("3".into())]]);

    // A new group is a Group row; a new user a User row.
    let r = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Sales"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let r = app
        .post("/Users", &okta_user("carl", "Carl", "Sales"))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let uid = r.body["id"].as_str().unwrap().to_string();
    let after = principals().await;
    assert_eq!(after.len(), 5);
    let group_row = after
        .iter()
        .find(|r| {
            r.iter()
                .any(|(c, v)| c == "name" && v.as_deref() == Some("Sales"))
                && r.iter()
                    .any(|(c, v)| c == "kind" && v.as_deref() == Some("Group"))
        })
        .expect("a Group row named Sales");
    assert_eq!(
        group_row.iter().find(|(c, _)| c == "login").unwrap().1,
        None
    );
    assert_eq!(
        (cell(&after, &uid, "kind"), cell(&after, &uid, "login")),
        (Some("User"), Some("carl"))
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 3);

    // check: the preset-like mapping passes; a shared table without groups.scope is refused.
    let text = std::fs::read_to_string(mapping_path()).unwrap();
    let (ok, out) = app.check(&text);
    assert!(ok, "{out}");
    let (ok, out) = app.check(&text.replace("scope = { kind = \"Group\" }\n", ""));
    assert!(
        !ok && out.contains("groups.scope") && out.contains("share table \"principals\""),
        "{out}"
    );
    // A value the enumerated type does not have is refused, naming its labels.
    let (ok, out) = app.check(&text.replace("kind = \"Group\"", "kind = \"Team\""));
    if b == Backend::Sqlite {
        assert!(ok, "{out}");
    } else {
        assert!(
            !ok && out.contains("groups.scope.kind") && out.contains("\"User\", \"Group\""),
            "{out}"
        );
    }
    app.stop().await;
}

backend_tests!(groups_beside_users_are_told_apart_by_scope);
