//! Issue 16 part B compiled against a user table without a disabled column, a sessions table
//! and a preference table: `[users.on_deactivate]` / `[users.on_reactivate]`, and joined rows
//! with `on = "insert"`, `skip_if_absent`, `user_column`, and rows the user's row points at.

use std::collections::HashMap;

use serde_json::json;

use crate::mapping::compile::{compile, parse_str, Compiled, Fill, Problem, StateChange};
use crate::mapping::host::{ColumnKind, HostColumn, HostTable};

fn column(name: &str, sql_type: &str, kind: ColumnKind, nullable: bool) -> HostColumn {
    HostColumn {
        name: name.into(),
        sql_type: sql_type.into(),
        kind: Some(kind),
        nullable,
        has_default: false,
        generated: name == "id",
        primary_key: name == "id",
        max_len: sql_type
            .strip_prefix("varchar(")
            .and_then(|s| s.trim_end_matches(')').parse().ok()),
        int_range: None,
        collation: None,
        ci_index_advice: None,
    }
}

fn tables() -> Vec<(&'static str, HostTable)> {
    use ColumnKind::*;
    let accounts = HostTable {
        name: "accounts".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("login", "varchar(64)", Text, false),
            column("password", "varchar(64)", Text, false),
            column("locked_at", "timestamp", Timestamp, true),
            column("state", "varchar(16)", Text, true),
            column("title", "varchar(64)", Text, true),
            column("handle", "varchar(64)", Text, true),
            column("principal_id", "integer", Int, true),
            column("created_by", "integer", Int, true),
        ],
    };
    let sessions = HostTable {
        name: "sessions".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("user_id", "integer", Int, false),
            column("token", "varchar(64)", Text, false),
            column("kind", "varchar(16)", Text, true),
        ],
    };
    let preferences = HostTable {
        name: "preferences".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("user_id", "integer", Int, false),
            column("name", "varchar(32)", Text, false),
            column("value", "varchar(100)", Text, false),
        ],
    };
    let settings = HostTable {
        name: "user_settings".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("login", "varchar(64)", Text, false),
            column("nickname", "varchar(64)", Text, true),
        ],
    };
    let principals = HostTable {
        name: "principals".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("kind", "varchar(16)", Text, false),
            column("object_id", "integer", Int, false),
            column("display", "varchar(64)", Text, true),
        ],
    };
    let acl_groups = HostTable {
        name: "acl_groups".into(),
        columns: vec![
            column("id", "integer", Int, false),
            column("instance", "integer", Int, false),
            column("principal_id", "integer", Int, false),
        ],
    };
    vec![
        ("acl_groups", acl_groups),
        ("principals", principals),
        ("accounts", accounts),
        ("sessions", sessions),
        ("preferences", preferences),
        ("user_settings", settings),
    ]
}

fn compiled(extra: &str) -> Compiled {
    compiled_with_column(extra, "")
}

/// `compiled` with one more line in `[users.columns]`.
fn compiled_with_column(extra: &str, column: &str) -> Compiled {
    let text = format!(
        "[users]\ntable = \"accounts\"\nkey = \"id\"\n{extra}\n[users.columns]\nlogin = {{ attr = \"userName\" }}\ntitle = {{ attr = \"title\" }}\npassword = {{ value = {{ random = 40 }}, on = \"insert\" }}\n{column}\n"
    );
    let tables: HashMap<String, HostTable> = tables()
        .into_iter()
        .map(|(k, t)| (k.to_string(), t))
        .collect();
    let all = vec![
        "accounts".to_string(),
        "sessions".to_string(),
        "preferences".to_string(),
        "user_settings".to_string(),
        "principals".to_string(),
        "acl_groups".to_string(),
    ];
    compile(&parse_str(&text).unwrap(), &tables, &all)
}

fn has(problems: &[Problem], error: bool, key: &str, words: &[&str]) -> bool {
    problems
        .iter()
        .any(|p| p.error == error && p.key == key && words.iter().all(|w| p.message.contains(w)))
}

const ACTIONS: &str = r#"
on_delete = "deactivate"
[users.on_deactivate]
set = { PASSWORD = { random = 40, alphabet = "base64url" }, locked_at = "now", state = "locked" }
delete = [{ table = "sessions", parent = "USER_ID" }, { table = "sessions", parent = "user_id", where = { kind = "api" } }]
[users.on_reactivate]
set = { locked_at = { null = true }, state = { null = true } }
"#;

#[test]
fn actions_compile_with_the_databases_names() {
    let c = compiled(ACTIONS);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    assert!(m.active.is_none() && m.can_deactivate());
    let set = &m.on_deactivate.set.0;
    assert_eq!(set.len(), 3, "{set:?}");
    assert!(set
        .iter()
        .any(|(c, f)| c == "password" && matches!(f, Fill::Random(r) if r.len == 40)));
    assert!(set
        .iter()
        .any(|(c, f)| c == "locked_at" && matches!(f, Fill::Now { .. })));
    assert_eq!(m.on_deactivate.delete.len(), 2);
    assert_eq!(m.on_deactivate.delete[0].table, "sessions");
    assert_eq!(m.on_deactivate.delete[1].conditions.len(), 1);
    assert!(m
        .on_reactivate
        .set
        .0
        .iter()
        .all(|(_, f)| matches!(f, Fill::Value(v) if v.is_null())));
    let lines = m.on_deactivate.describe();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("set password ← random 40 characters (base64url)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "delete rows of sessions where user_id = user key"),
        "{lines:?}"
    );
    // Two fresh secrets differ; "now" is taken at the time.
    let a: Vec<_> = m.on_deactivate.set.iter().collect();
    let b: Vec<_> = m.on_deactivate.set.iter().collect();
    let pw = |v: &[(String, crate::mapping::HostValue)]| {
        v.iter().find(|(c, _)| c == "password").unwrap().1.clone()
    };
    assert_ne!(pw(&a), pw(&b));
}

#[test]
fn misuses_are_named_with_the_fix() {
    let c = compiled(
        r#"
[users.on_deactivate]
set = { passwrd = "x", title = "gone", id = 0, state = { random = 4 } }
delete = [{ table = "session", parent = "user_id" }, { table = "sessions", parent = "token" }, { table = "accounts", parent = "id" }]
"#,
    );
    let p = &c.problems;
    assert!(c.mapping.is_none());
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.set.passwrd",
            &["does not exist", "did you mean password"]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.set.title",
            &["also written from title on every update", "on = \"insert\""]
        ),
        "{p:#?}"
    );
    assert!(
        has(p, true, "users.on_deactivate.set.id", &["the user's key"]),
        "{p:#?}"
    );
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.set.state",
            &["use random = 11 or more"]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.delete[0].table",
            &["did you mean \"sessions\""]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.delete[1].parent",
            &["varchar(64)", "user key \"id\" is integer"]
        ),
        "{p:#?}"
    );
    assert!(
        has(
            p,
            true,
            "users.on_deactivate.delete[2].table",
            &["is the user table", "on_delete = \"delete\""]
        ),
        "{p:#?}"
    );
}

#[test]
fn without_active_or_actions_check_warns_and_deactivate_on_delete_is_refused() {
    let c = compiled("on_delete = \"ignore\"");
    assert!(
        has(
            &c.problems,
            false,
            "users.on_deactivate",
            &["cannot carry one out", "answers 400"]
        ),
        "{:#?}",
        c.problems
    );
    assert!(!c.mapping.unwrap().can_deactivate());
    let c = compiled("on_delete = \"deactivate\"");
    assert!(
        has(
            &c.problems,
            true,
            "users.on_delete",
            &["[users.on_deactivate]"]
        ),
        "{:#?}",
        c.problems
    );
    // With actions neither is said.
    let c = compiled(ACTIONS);
    assert!(
        c.problems
            .iter()
            .all(|p| p.key != "users.on_deactivate" && p.key != "users.on_delete"),
        "{:#?}",
        c.problems
    );
}

#[test]
fn record_only_declares_a_deactivation_that_writes_nothing() {
    let c = compiled("on_delete = \"ignore\"\n[users.on_deactivate]\nrecord_only = true");
    assert!(
        c.problems
            .iter()
            .all(|p| p.key != "users.on_deactivate" && !p.error),
        "{:#?}",
        c.problems
    );
    let m = c.mapping.unwrap();
    assert!(m.can_deactivate() && m.on_deactivate.is_empty());
    assert!(m.on_deactivate.describe()[0].contains("record_only"));
    let c = compiled(
        "on_delete = \"ignore\"\n[users.on_deactivate]\nrecord_only = true\nset = { locked_at = \"now\" }",
    );
    assert!(
        has(
            &c.problems,
            true,
            "users.on_deactivate.record_only",
            &["remove record_only"]
        ),
        "{:#?}",
        c.problems
    );
}

#[test]
fn a_state_change_is_a_change_of_active_only() {
    let on = json!({"active": true});
    let off = json!({"active": false});
    let unsaid = json!({"userName": "x"});
    assert_eq!(
        StateChange::between(&on, &off),
        Some(StateChange::Deactivate)
    );
    assert_eq!(
        StateChange::between(&unsaid, &off),
        Some(StateChange::Deactivate),
        "no active is active"
    );
    assert_eq!(
        StateChange::between(&off, &on),
        Some(StateChange::Reactivate)
    );
    assert_eq!(StateChange::between(&off, &off), None);
    assert_eq!(StateChange::between(&on, &on), None);
    assert_eq!(
        StateChange::between(&off, &unsaid),
        None,
        "not sent: unchanged"
    );
}

const PREFS: &str = r#"
on_delete = "ignore"
[[users.joined]]
table = "preferences"
parent = "user_id"
where = { name = "language" }
skip_if_absent = true
columns = { value = { attr = "preferredLanguage" } }
[[users.joined]]
table = "preferences"
parent = "user_id"
where = { name = "welcome" }
on = "insert"
columns = { value = { value = "pending" } }
"#;

#[test]
fn joined_presence_compiles_and_plans_rows_only_with_a_value() {
    use crate::mapping::convert::Change;
    use crate::mapping::model::When;
    let c = compiled(PREFS);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    // value NOT NULL is filled whenever the row exists: no warning about it.
    assert!(
        !c.problems
            .iter()
            .any(|p| p.key.contains("preferences.columns.value")),
        "{:#?}",
        c.problems
    );
    let m = c.mapping.unwrap();
    assert!(m.joined[0].skip_if_absent && m.joined[0].on == When::Always);
    assert!(!m.joined[1].skip_if_absent && m.joined[1].on == When::Insert);

    let with = json!({"userName": "a", "preferredLanguage": "fr"});
    let without = json!({"userName": "a"});
    let plan = m.to_row(&with, Change::Insert).unwrap();
    assert!(plan.joined_insert[0].is_some() && plan.joined_insert[1].is_some());
    let plan = m.to_row(&without, Change::Insert).unwrap();
    assert!(
        plan.joined_insert[0].is_none(),
        "no row without the attribute"
    );
    assert!(!plan.joined_delete[0], "nothing to delete on insert");
    // Removing it deletes the row; leaving it absent deletes nothing.
    let update = |before| Change::Update {
        before,
        strict: true,
        sent: None,
    };
    let plan = m.to_row(&without, update(&with)).unwrap();
    assert!(
        plan.joined_delete[0] && plan.tables[1].is_empty(),
        "{plan:?}"
    );
    let plan = m.to_row(&without, update(&without)).unwrap();
    assert!(!plan.joined_delete[0]);
    let plan = m.to_row(&with, update(&without)).unwrap();
    assert!(!plan.joined_delete[0] && !plan.tables[1].is_empty());
}

#[test]
fn skip_if_absent_needs_an_attribute() {
    let c = compiled(&PREFS.replace("on = \"insert\"", "skip_if_absent = true"));
    assert!(
        has(
            &c.problems,
            true,
            "users.joined.preferences.skip_if_absent",
            &["no column here is fed by an attribute"]
        ),
        "{:#?}",
        c.problems
    );
}

const SETTINGS: &str = r#"
[[users.joined]]
table = "user_settings"
parent = "LOGIN"
user_column = "Login"
columns = { nickname = { attr = "nickName" } }
"#;

#[test]
fn user_column_resolves_to_the_databases_name_and_type() {
    let c = compiled(&format!("{PREFS}{SETTINGS}"));
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    // Without user_column a joined table is keyed by the user key.
    assert_eq!(
        (
            m.joined[0].user_column.as_str(),
            m.joined[0].user_column_kind
        ),
        ("id", ColumnKind::Int)
    );
    let s = &m.joined[2];
    assert_eq!(
        (s.parent.as_str(), s.user_column.as_str()),
        ("login", "login")
    );
    assert_eq!(s.user_column_kind, ColumnKind::Text);
}

#[test]
fn user_column_misuses_are_named_with_the_fix() {
    let key = "users.joined.user_settings.user_column";
    let c = compiled(&SETTINGS.replace("user_column = \"Login\"", "user_column = \"logon\""));
    assert!(has(&c.problems, true, key, &["logon"]), "{:#?}", c.problems);
    // parent holds a login, user_column names the integer key.
    let c = compiled(&SETTINGS.replace("user_column = \"Login\"", "user_column = \"id\""));
    assert!(
        has(
            &c.problems,
            true,
            key,
            &["user_settings.login", "name a column of the user row"]
        ),
        "{:#?}",
        c.problems
    );
    // A nullable column: the users without a value would get no row.
    let nullable = SETTINGS.replace("user_column = \"Login\"", "user_column = \"title\"");
    let c = compiled(&format!("on_delete = \"ignore\"\n{nullable}"));
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    assert!(
        has(&c.problems, false, key, &["may be NULL", "NOT NULL"]),
        "{:#?}",
        c.problems
    );
    // An action changing the column would leave the rows behind.
    let handle = SETTINGS.replace("user_column = \"Login\"", "user_column = \"handle\"");
    let c = compiled(&format!(
        "[users.on_deactivate]\nset = {{ handle = \"gone\" }}\n{handle}"
    ));
    assert!(
        has(
            &c.problems,
            true,
            "users.on_deactivate.set.handle",
            &["user_settings", "remove it"]
        ),
        "{:#?}",
        c.problems
    );
}

const PRINCIPAL: &str = r#"
on_delete = "ignore"
[[users.joined]]
table = "principals"
parent = "id"
user_column = "principal_id"
where = { kind = "User" }
columns = { display = { attr = "displayName" }, object_id = { value = { own_key = true } } }
"#;

#[test]
fn a_row_the_user_points_at_is_inserted_first() {
    let c = compiled(PRINCIPAL);
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    // No "may be NULL" warning: the bridge fills principal_id itself.
    assert!(
        !c.problems.iter().any(|p| p.key.contains("user_column")),
        "{:#?}",
        c.problems
    );
    let m = c.mapping.unwrap();
    assert!(m.joined[0].before_user);
    assert_eq!(m.joined[0].user_column, "principal_id");
    // A table keyed by the login is not one: its parent is no generated key.
    let c = compiled(&format!("on_delete = \"ignore\"\n{SETTINGS}"));
    assert!(!c.mapping.unwrap().joined[0].before_user);
    // The bridge writes principal_id: a rule for it is refused.
    let c = compiled_with_column(PRINCIPAL, "principal_id = { value = 0 }");
    assert!(
        has(
            &c.problems,
            true,
            "users.columns.principal_id",
            &["principals", "remove this rule"]
        ),
        "{:#?}",
        c.problems
    );
}

#[test]
fn own_key_columns_are_filled_once_and_misuses_named() {
    use crate::mapping::model::When;
    // principals.object_id is NOT NULL: the insert's placeholder fills it, then the key.
    let c = compiled_with_column(PRINCIPAL, "created_by = { value = { own_key = true } }");
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    for (at, col) in [(0, "created_by"), (1, "object_id")] {
        let r = m
            .rules
            .iter()
            .find(|r| r.at == at && r.column == col)
            .unwrap();
        assert!(r.own_key && r.on == When::Insert, "{r:?}");
    }
    // A text column for an integer key; a section whose key the bridge never learns; a
    // malformed value.
    let c = compiled_with_column(PRINCIPAL, "handle = { value = { own_key = true } }");
    assert!(
        has(&c.problems, true, "users.columns.handle", &["key's type"]),
        "{:#?}",
        c.problems
    );
    let prefs = PREFS.replace(
        "columns = { value = { attr = \"preferredLanguage\" } }",
        "columns = { value = { attr = \"preferredLanguage\" }, user_id = { value = { own_key = true } } }",
    );
    let c = compiled(&prefs);
    assert!(
        has(
            &c.problems,
            true,
            "users.joined.preferences.columns.user_id",
            &["user_column", "remove it"]
        ),
        "{:#?}",
        c.problems
    );
    let c = compiled_with_column(PRINCIPAL, "created_by = { value = { own_key = false } }");
    assert!(
        has(
            &c.problems,
            true,
            "users.columns.created_by",
            &["{ own_key = true }"]
        ),
        "{:#?}",
        c.problems
    );
}

const ACL: &str = r#"
[[users.joined]]
table = "acl_groups"
parent = "instance"
on = "insert"
columns = { principal_id = { value = { key_of = "PRINCIPALS" } } }
"#;

#[test]
fn key_of_names_a_row_inserted_before() {
    let c = compiled(&format!("{PRINCIPAL}{ACL}"));
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);
    let m = c.mapping.unwrap();
    let r = m.rules.iter().find(|r| r.at == 2).unwrap();
    assert_eq!(
        r.key_of.as_deref(),
        Some("principals"),
        "the database's spelling"
    );
    // Declared before the principal whose key it needs, but inserted after the account: fine.
    let principal = PRINCIPAL.replace("on_delete = \"ignore\"\n", "");
    let c = compiled(&format!("on_delete = \"ignore\"\n{ACL}{principal}"));
    assert!(c.problems.iter().all(|p| !p.error), "{:#?}", c.problems);

    let key = "users.joined.acl_groups.columns.principal_id";
    for (extra, words) in [
        (
            format!(
                "on_delete = \"ignore\"\n{SETTINGS}{}",
                ACL.replace("PRINCIPALS", "user_settings")
            ),
            &["only for a row the user's row points at"][..],
        ),
        (
            format!("{PRINCIPAL}{}", ACL.replace("PRINCIPALS", "nowhere")),
            &["no [[users.joined]] section"][..],
        ),
    ] {
        let c = compiled(&extra);
        assert!(has(&c.problems, true, key, words), "{:#?}", c.problems);
    }
    // The user's row holds such a key through user_column.
    let c = compiled_with_column(
        PRINCIPAL,
        "created_by = { value = { key_of = \"principals\" } }",
    );
    assert!(
        has(
            &c.problems,
            true,
            "users.columns.created_by",
            &["user_column = \"created_by\""]
        ),
        "{:#?}",
        c.problems
    );
}
