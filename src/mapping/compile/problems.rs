//! Collecting findings, and the checks every section shares: tables and columns that must
//! exist (with "did you mean"), keys, conditions, NOT NULL columns nothing fills.

use serde_json::Value;

use super::Problem;
use crate::mapping::compiled::{Condition, KeyColumn, Rule, Source};
use crate::mapping::host::{ColumnKind, HostColumn, HostTable};
use crate::mapping::model::{Conditions, KeyGenerate};
use crate::mapping::value::HostValue;

/// Collects problems, each naming its mapping key.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>);

impl Problems {
    pub(super) fn error(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            error: true,
            key: key.to_string(),
            message: message.into(),
        });
    }
    pub(super) fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            error: false,
            key: key.to_string(),
            message: message.into(),
        });
    }
    pub(super) fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.error)
    }
}

pub(super) fn missing_table(problems: &mut Problems, key: &str, name: &str, all_tables: &[String]) {
    let known = if all_tables.is_empty() {
        "the database has no tables".to_string()
    } else {
        format!("tables in the database: {}", all_tables.join(", "))
    };
    problems.error(
        key,
        format!("table \"{name}\" does not exist ({known}); name one of the application's tables"),
    );
}

/// A column that must exist, with a "did you mean" when it does not.
pub(super) fn need_column<'t>(
    problems: &mut Problems,
    key: &str,
    table: &'t HostTable,
    name: &str,
) -> Option<&'t HostColumn> {
    let c = table.column(name);
    if c.is_none() {
        problems.error(
            key,
            format!(
                "column \"{name}\" does not exist in table \"{}\"{}",
                table.name,
                suggest(name, table)
            ),
        );
    }
    c
}

pub(super) fn suggest(name: &str, table: &HostTable) -> String {
    let lower = name.to_ascii_lowercase();
    let close: Vec<&str> = table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| {
            let cl = c.to_ascii_lowercase();
            cl.contains(&lower)
                || lower.contains(&cl)
                || edit_distance(&cl.replace('_', ""), &lower.replace('_', "")) <= 2
        })
        .collect();
    if close.is_empty() {
        let all: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        format!("; its columns are: {}", all.join(", "))
    } else {
        format!("; did you mean {}?", close.join(" or "))
    }
}

/// Levenshtein distance, for "did you mean" suggestions on short names.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn example_value(c: &HostColumn) -> &'static str {
    match c.kind {
        Some(ColumnKind::Int) => "0",
        Some(ColumnKind::Bool) => "false",
        Some(ColumnKind::Timestamp | ColumnKind::TimestampTz) => "\"now\"",
        _ => "\"\"",
    }
}

pub(super) fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(super) fn key_column(
    problems: &mut Problems,
    key: &str,
    table: &HostTable,
    name: &str,
    generate: Option<KeyGenerate>,
) -> Option<KeyColumn> {
    let c = need_column(problems, key, table, name)?;
    match c.kind {
        Some(kind @ (ColumnKind::Int | ColumnKind::Text)) => {
            if !c.generated && generate.is_none() {
                problems.error(key, format!(
                    "column \"{}\" of \"{}\" is not filled by the database on insert; set key_generate = \"uuid\" (text keys) or use an auto-increment key", c.name, table.name));
            }
            if generate == Some(KeyGenerate::Uuid) && kind != ColumnKind::Text {
                problems.error(
                    key,
                    format!(
                        "key_generate = \"uuid\" needs a text key, but \"{}\" is {}",
                        c.name, c.sql_type
                    ),
                );
            }
            Some(KeyColumn {
                name: c.name.clone(),
                kind,
                generated: c.generated,
                generate,
            })
        }
        _ => {
            problems.error(
                key,
                format!(
                    "column \"{}\" has type {}; a key must be an integer or text column",
                    c.name, c.sql_type
                ),
            );
            None
        }
    }
}

/// `{ column = value | [values] }` checked against the table. Lists only where `lists`.
pub(super) fn conditions(
    problems: &mut Problems,
    key: &str,
    table: &HostTable,
    raw: Option<&Conditions>,
    lists: bool,
) -> Vec<Condition> {
    let mut out = Vec::new();
    for (col, v) in raw.into_iter().flatten() {
        let k = format!("{key}.{col}");
        let Some(c) = need_column(problems, &k, table, col) else {
            continue;
        };
        let Some(kind) = c.kind else {
            problems.error(
                &k,
                format!(
                    "column \"{col}\" has type {}, which cannot be compared",
                    c.sql_type
                ),
            );
            continue;
        };
        let (v, negate) = match v {
            toml::Value::Table(t) if lists && t.len() == 1 && t.contains_key("not") => {
                (&t["not"], true)
            }
            other => (other, false),
        };
        let values: Vec<&toml::Value> = match v {
            toml::Value::Array(a) if lists => a.iter().collect(),
            toml::Value::Array(_) => {
                problems.error(
                    &k,
                    "give one value here (the bridge writes it into new rows)",
                );
                continue;
            }
            other => vec![other],
        };
        let mut hv = Vec::new();
        for x in values {
            match HostValue::from_json(kind, &toml_to_json(x)) {
                Some(h) if !h.is_null() => hv.push(h),
                _ => problems.error(
                    &k,
                    format!("{x} cannot be stored in \"{col}\" ({})", c.sql_type),
                ),
            }
        }
        out.push(Condition {
            column: c.name.clone(),
            values: hv,
            negate,
        });
    }
    out
}

pub(super) fn single(v: Vec<Condition>) -> Vec<(String, HostValue)> {
    v.into_iter()
        .filter_map(|mut c| c.values.pop().map(|v| (c.column, v)))
        .collect()
}

/// NOT NULL columns without a default that nothing fills on insert: named, with the fix.
pub(super) fn check_not_null(
    problems: &mut Problems,
    prefix: &str,
    table: &HostTable,
    rules: &[&Rule],
    filled: &[&str],
    failed: &[String],
) {
    for c in &table.columns {
        if c.nullable
            || c.has_default
            || c.generated
            || filled.contains(&c.name.as_str())
            || failed.contains(&c.name)
        {
            continue;
        }
        let key = format!("{prefix}.columns.{}", c.name);
        match rules.iter().find(|r| r.column == c.name) {
            None => problems.error(&key, format!(
                "column \"{}\" of \"{}\" ({}) is NOT NULL without a default and no rule fills it; add e.g. {} = {{ value = {}, on = \"insert\" }}",
                c.name, table.name, c.sql_type, c.name, example_value(c))),
            Some(r) if !r.writes() => problems.error(&key, format!(
                "column \"{}\" is NOT NULL without a default but its rule is read-only (direction = \"from_host\")", c.name)),
            // A child row exists only for a value; its value column is always filled.
            Some(_) if prefix.starts_with("users.children.") => {}
            Some(r) => {
                if let Source::Attr(t) = &r.source {
                    let required = t.path.attr == "userName" && t.path.urn.is_none()
                        || t.path.attr == "displayName" && t.path.urn.is_none();
                    if r.default.is_none() && r.default_attr.is_none() && !required && r.flag.is_none() {
                        problems.warn(&key, format!(
                            "column \"{}\" is NOT NULL without a default: creating a user without \"{}\" will be refused with 400; add default = … to the rule to fill it",
                            c.name, t.text));
                    }
                }
            }
        }
    }
}
