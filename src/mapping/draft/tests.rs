//! The draft's unit tests: each draft is validated exactly as `check` validates a mapping.

use super::*;
use crate::mapping::host::{ColumnKind, HostColumn};
use crate::mapping::model::MappingFile;
use std::collections::HashMap;

/// `name type [flags]` (`+` in a name stands for a space): flags `pk` (generated key), `key` (key the database does not
/// fill), `nn` (NOT NULL without default), `nd` (NOT NULL with a default).
fn table(name: &str, spec: &[&str]) -> HostTable {
    let columns = spec
        .iter()
        .map(|s| {
            let parts: Vec<&str> = s.split_whitespace().collect();
            let kind = match parts[1] {
                "text" => ColumnKind::Text,
                "int" => ColumnKind::Int,
                "bool" => ColumnKind::Bool,
                "ts" => ColumnKind::Timestamp,
                _ => panic!("{s}"),
            };
            let has = |f: &str| parts[2..].contains(&f);
            HostColumn {
                name: parts[0].replace('+', " "),
                sql_type: parts[1].to_string(),
                kind: Some(kind),
                nullable: !(has("nn") || has("nd") || has("pk") || has("key")),
                has_default: has("nd"),
                generated: has("pk"),
                primary_key: has("pk") || has("key"),
                max_len: None,
                int_range: None,
                collation: None,
                ci_index_advice: None,
            }
        })
        .collect();
    HostTable {
        name: name.to_string(),
        columns,
    }
}

/// Drafts, then validates the draft exactly as `check` does; returns the draft and the
/// errors.
fn draft_and_check(tables: &[HostTable], choose: Option<&str>) -> (Draft, Vec<String>) {
    let d = draft(tables, choose, "a test schema").unwrap();
    let file: MappingFile = toml::from_str(&d.text).unwrap_or_else(|e| panic!("{e}\n{}", d.text));
    let map: HashMap<String, HostTable> =
        tables.iter().map(|t| (t.name.clone(), t.clone())).collect();
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let compiled = crate::mapping::compile(&file, &map, &names);
    let errors = compiled
        .problems
        .iter()
        .filter(|p| p.error)
        .map(std::string::ToString::to_string)
        .collect();
    (d, errors)
}

fn line_of<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in\n{text}"))
}

#[test]
fn a_plain_users_table_is_mapped_by_name_and_type() {
    let tables = [
        table(
            "users",
            &[
                "id int pk",
                "login text nn",
                "email text nn",
                "firstname text",
                "lastname text",
                "department text",
                "phone text",
                "active bool nd",
                "role text nn",
                "password text nn",
                "created_at ts nn",
                "updated_at ts nn",
            ],
        ),
        table("roles_users", &["user_id int", "role_id int"]),
        table(
            "tickets",
            &["id int pk", "subject text nn", "user_id int nn"],
        ),
    ];
    let (d, errors) = draft_and_check(&tables, None);
    assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
    assert_eq!(d.table, "users");
    assert!(d.decisions.is_empty(), "{:?}", d.decisions);
    let t = &d.text;
    assert_eq!(
        line_of(t, "login ="),
        "login = { attr = \"userName\", transform = \"trim\" }"
    );
    assert!(
        line_of(t, "email =").contains("\"emails.value\"")
            && line_of(t, "email =").contains("default = { attr = \"userName\" }")
    );
    assert_eq!(
        line_of(t, "firstname ="),
        "firstname = { attr = \"name.givenName\" }"
    );
    assert_eq!(
        line_of(t, "lastname ="),
        "lastname = { attr = \"name.familyName\" }"
    );
    assert!(line_of(t, "department =").contains("enterprise:2.0:User:department"));
    assert!(line_of(t, "phone =").contains(r#"phoneNumbers[type eq "work"].value"#));
    assert_eq!(
        line_of(t, "active ="),
        "active = { attr = \"active\", default = true }"
    );
    assert_eq!(
        line_of(t, "password ="),
        "password = { value = \"!\", on = \"insert\" }"
    );
    assert_eq!(
        line_of(t, "role ="),
        "role = { value = \"\", on = \"insert\" }"
    );
    assert_eq!(
        line_of(t, "created_at ="),
        "created_at = { value = \"now\", on = \"insert\" }"
    );
    assert_eq!(
        line_of(t, "updated_at ="),
        "updated_at = { value = \"now\" }"
    );
    assert_eq!(line_of(t, "match ="), "match = [\"login\", \"email\"]");
    assert_eq!(line_of(t, "on_delete ="), "on_delete = \"deactivate\"");
    // Every rule has its reason above it.
    let lines: Vec<&str> = t.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.contains(" = { ") && !l.starts_with('#') && !l.starts_with("columns") {
            assert!(lines[i - 1].starts_with("# "), "no reason above {l:?}");
        }
    }
    // Tables pointing at users are named, not mapped.
    assert!(
        t.contains("roles_users.user_id") && t.contains("tickets.user_id"),
        "{t}"
    );
    // Join tables and tables without identity columns are not candidates.
    assert_eq!(d.candidates.len(), 1, "{:?}", d.candidates);
}

#[test]
fn a_status_code_is_the_one_line_to_decide() {
    // FreeScout's agents: no login column, an integer status, NOT NULL names and password.
    let tables = [
        table(
            "users",
            &[
                "id int pk",
                "first_name text nn",
                "last_name text nn",
                "email text nn",
                "password text nn",
                "timezone text nd",
                "status int nd",
                "locked bool nd",
                "created_at ts",
                "updated_at ts",
            ],
        ),
        table(
            "customers",
            &["id int pk", "first_name text", "last_name text"],
        ),
    ];
    let (d, errors) = draft_and_check(&tables, None);
    assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
    assert_eq!(d.table, "users");
    let t = &d.text;
    assert_eq!(
        line_of(t, "email ="),
        "email = { attr = \"userName\", transform = [\"trim\", \"lowercase\"] }"
    );
    assert_eq!(
        line_of(t, "first_name ="),
        "first_name = { attr = \"name.givenName\", default = \"\" }"
    );
    assert!(line_of(t, "status =").contains("map = { true = 1, false = 0 }"));
    assert!(
        !t.contains("\nlocked ="),
        "one state column, the status: {t}"
    );
    assert!(
        !t.contains("\ntimezone ="),
        "NOT NULL with a meaningful default: left alone\n{t}"
    );
    assert_eq!(d.decisions.len(), 1, "{:?}", d.decisions);
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[d.decisions[0].line - 1].starts_with("status = "),
        "{:?}",
        d.decisions
    );
    assert!(d.decisions[0].what.contains("status"));
}

#[test]
fn emails_in_a_child_table_with_a_flag_or_a_pointer() {
    // GLPI: login in `name`, emails in glpi_useremails flagged by is_default, a trash flag.
    let glpi = [
        table(
            "glpi_users",
            &[
                "id int pk",
                "name text",
                "realname text",
                "firstname text",
                "is_active int nd",
                "is_deleted int nd",
                "date_creation ts",
                "date_mod ts",
            ],
        ),
        table(
            "glpi_useremails",
            &[
                "id int pk",
                "users_id int nd",
                "is_default int nd",
                "email text",
            ],
        ),
    ];
    let (d, errors) = draft_and_check(&glpi, None);
    assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
    let t = &d.text;
    assert_eq!(
        line_of(t, "name ="),
        "name = { attr = \"userName\", transform = \"trim\" }"
    );
    assert_eq!(
        line_of(t, "realname ="),
        "realname = { attr = \"name.familyName\" }"
    );
    assert_eq!(line_of(t, "scope ="), "scope = { is_deleted = 0 }");
    assert_eq!(
        line_of(t, "match ="),
        "match = [\"name\", \"glpi_useremails.email\"]"
    );
    assert_eq!(
        line_of(t, "primary ="),
        "primary = { flag = \"is_default\" }"
    );
    assert!(d.decisions.is_empty(), "{:?}", d.decisions);

    // osTicket's clients (chosen with --table): the primary address is a pointer column.
    let ost = [
        table(
            "ost_user",
            &[
                "id int pk",
                "org_id int nn",
                "default_email_id int nn",
                "name text nn",
                "created ts nn",
                "updated ts nn",
            ],
        ),
        table(
            "ost_user_email",
            &[
                "id int pk",
                "user_id int nn",
                "flags int nd",
                "address text nn",
            ],
        ),
    ];
    let (d, errors) = draft_and_check(&ost, Some("ost_user"));
    assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
    let t = &d.text;
    assert_eq!(
        line_of(t, "primary ="),
        "primary = { pointer = \"default_email_id\" }"
    );
    assert_eq!(
        line_of(t, "match ="),
        "match = [\"name\", \"ost_user_email.address\"]"
    );
    // org_id: a NOT NULL reference filled with 0, and said so; no active column, said so.
    assert_eq!(
        line_of(t, "org_id ="),
        "org_id = { value = 0, on = \"insert\" }"
    );
    let decided: Vec<&str> = d.decisions.iter().map(|x| x.what.as_str()).collect();
    assert!(
        decided.iter().any(|w| w.starts_with("org_id")),
        "{decided:?}"
    );
    assert!(
        decided
            .iter()
            .any(|w| w.contains("no column holds whether")),
        "{decided:?}"
    );
}

#[test]
fn text_keys_get_uuids_and_odd_names_are_quoted() {
    let tables = [table(
        "people",
        &[
            "uuid text key",
            "E-Mail text nn",
            "Display+Name text",
            "isDisabled bool nd",
        ],
    )];
    let (d, errors) = draft_and_check(&tables, None);
    assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
    let t = &d.text;
    assert!(t.contains("key_generate = \"uuid\""), "{t}");
    assert!(line_of(t, "E-Mail =").contains("\"userName\""));
    assert!(line_of(t, "\"Display Name\" =").contains("\"displayName\""));
    assert_eq!(
        line_of(t, "isDisabled ="),
        "isDisabled = { attr = \"active\", transform = \"not\", default = true }"
    );
}

#[test]
fn no_user_table_is_an_error_naming_the_tables() {
    let tables = [table("roles_users", &["user_id int", "role_id int"])];
    let e = draft(&tables, None, "x").unwrap_err();
    assert!(e.contains("roles_users") && e.contains("--table"), "{e}");
    let e = draft(&tables, Some("nope"), "x").unwrap_err();
    assert!(e.contains("\"nope\" does not exist"), "{e}");
    let e = draft(&tables, Some("roles_users"), "x").unwrap_err();
    assert!(e.contains("primary key"), "{e}");
}
