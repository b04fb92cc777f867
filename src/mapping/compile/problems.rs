//! Collecting findings, and the checks every section shares: tables and columns that must
//! exist (with "did you mean"), keys, conditions, NOT NULL columns nothing fills.

use std::collections::HashMap;

use serde_json::Value;

use super::Problem;
use crate::mapping::compiled::{Assignments, Condition, Fill, KeyColumn, Rule, Source};
use crate::mapping::host::{ColumnKind, HostColumn, HostTable, Storage};
use crate::mapping::model::{Conditions, KeyGenerate};
use crate::mapping::value::HostValue;

/// Collects problems, each naming its mapping key, and the names found only by ignoring
/// case (said once per table, by [`Problems::finish`]).
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<Problem>, Vec<Spelling>);

/// A name the mapping spells otherwise than the database: (the first mapping key naming it,
/// the table as the database spells it, as the mapping wrote it, as the database spells it).
type Spelling = (String, String, String, String);

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

    /// Records that the mapping's `written` is `live` in the database (table `table`).
    pub(super) fn spelled(&mut self, key: &str, table: &str, written: &str, live: &str) {
        if written == live || self.1.iter().any(|(_, t, w, _)| t == table && w == written) {
            return;
        }
        self.1
            .push((key.into(), table.into(), written.into(), live.into()));
    }

    /// The problems, with one warning per table whose names the mapping spells otherwise
    /// than the database, saying which spelling the bridge uses.
    pub(super) fn finish(mut self) -> Vec<Problem> {
        let mut tables: Vec<&str> = Vec::new();
        for (_, t, _, _) in &self.1 {
            if !tables.contains(&t.as_str()) {
                tables.push(t);
            }
        }
        let mut notes = Vec::new();
        for t in tables {
            let names: Vec<&Spelling> = self.1.iter().filter(|s| s.1 == t).collect();
            let list: Vec<String> = names
                .iter()
                .map(|(_, _, w, l)| format!("\"{w}\" is \"{l}\""))
                .collect();
            notes.push(Problem {
                error: false,
                key: names[0].0.clone(),
                message: format!(
                    "names found by ignoring case in table \"{t}\": {}; the bridge uses the database's spelling (write it so in the mapping to silence this)",
                    list.join(", ")
                ),
            });
        }
        self.0.extend(notes);
        self.0
    }
}

/// A table the mapping names, as introspected (found by ignoring case when the database
/// spells it otherwise); a missing one is reported.
pub(super) fn need_table<'t>(
    problems: &mut Problems,
    key: &str,
    tables: &'t HashMap<String, HostTable>,
    all_tables: &[String],
    name: &str,
) -> Option<&'t HostTable> {
    match tables.get(name) {
        Some(t) => {
            problems.spelled(key, &t.name, name, &t.name);
            Some(t)
        }
        None => {
            missing_table(problems, key, name, all_tables);
            None
        }
    }
}

pub(super) fn missing_table(problems: &mut Problems, key: &str, name: &str, all_tables: &[String]) {
    let same: Vec<&str> = all_tables
        .iter()
        .filter(|t| t.eq_ignore_ascii_case(name))
        .map(String::as_str)
        .collect();
    if same.len() > 1 {
        problems.error(
            key,
            format!(
                "table \"{name}\" is ambiguous: the database has {}, which differ only in case; write the exact spelling of the one you mean",
                quoted_list(&same)
            ),
        );
        return;
    }
    let lower = name.to_ascii_lowercase();
    let close: Vec<&str> = all_tables
        .iter()
        .map(String::as_str)
        .filter(|t| edit_distance(&t.to_ascii_lowercase(), &lower) <= 2)
        .collect();
    let known = if all_tables.is_empty() {
        "the database has no tables".to_string()
    } else if !close.is_empty() {
        format!("did you mean {}?", quoted_list(&close))
    } else {
        format!("tables in the database: {}", all_tables.join(", "))
    };
    problems.error(
        key,
        format!("table \"{name}\" does not exist ({known}); name one of the application's tables"),
    );
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A column that must exist, with a "did you mean" when it does not; found by ignoring case
/// when the database spells it otherwise (recorded for [`Problems::finish`]).
pub(super) fn need_column<'t>(
    problems: &mut Problems,
    key: &str,
    table: &'t HostTable,
    name: &str,
) -> Option<&'t HostColumn> {
    match table.column(name) {
        Some(c) => {
            problems.spelled(key, &table.name, name, &c.name);
            Some(c)
        }
        None => {
            problems.error(key, no_column(table, name));
            None
        }
    }
}

/// [`need_column`], and a type the bridge can write (its kind), or the error saying so.
pub(super) fn writable_column<'t>(
    problems: &mut Problems,
    key: &str,
    table: &'t HostTable,
    name: &str,
) -> Option<(&'t HostColumn, ColumnKind)> {
    let c = need_column(problems, key, table, name)?;
    match c.kind {
        Some(kind) => Some((c, kind)),
        None => {
            problems.error(
                key,
                format!(
                    "column \"{name}\" has type {}, which the bridge cannot write",
                    c.sql_type
                ),
            );
            None
        }
    }
}

/// Why `name` names no column of `table`, with the fix.
pub(super) fn no_column(table: &HostTable, name: &str) -> String {
    let same = table.same_but_case(name);
    if same.len() > 1 {
        return format!(
            "column \"{name}\" is ambiguous: table \"{}\" has {}, which differ only in case; write the exact spelling of the one you mean",
            table.name,
            quoted_list(&same)
        );
    }
    format!(
        "column \"{name}\" does not exist in table \"{}\"{}",
        table.name,
        suggest(name, table)
    )
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

pub(super) fn example_value(c: &HostColumn) -> String {
    if let Some(l) = c.storage().labels().and_then(<[String]>::first) {
        return format!("\"{}\"", l.replace('"', "\\\""));
    }
    match c.kind {
        Some(ColumnKind::Int) => "0",
        Some(ColumnKind::Bool) => "false",
        Some(ColumnKind::Timestamp | ColumnKind::TimestampTz) => "\"now\"",
        _ => "\"\"",
    }
    .to_string()
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

/// A constant from the mapping for column `c` (of `kind`): converted to the column's kind,
/// an enum's label checked, and bound with the column's cast (a PostgreSQL enum).
pub(super) fn constant_for(
    c: &HostColumn,
    kind: ColumnKind,
    v: &toml::Value,
) -> Result<HostValue, String> {
    let h = HostValue::from_json(kind, &toml_to_json(v))
        .filter(|h| !h.is_null())
        .ok_or_else(|| format!("{v} cannot be stored in \"{}\" ({})", c.name, c.sql_type))?;
    let storage = c.storage();
    Ok(HostValue::typed(label_of(&storage, &c.name, h)?, &storage))
}

/// For an enumerated column, the label `h` names (its own spelling, or the one label equal to
/// it ignoring case); an error naming the labels otherwise. Other values pass.
pub(super) fn label_of(storage: &Storage, column: &str, h: HostValue) -> Result<HostValue, String> {
    let (Some(labels), HostValue::Text(t)) = (storage.labels(), &h) else {
        return Ok(h);
    };
    match storage.label(t) {
        Some(l) => Ok(HostValue::Text(l.to_string())),
        None => Err(format!(
            "\"{t}\" is not one of the values column \"{column}\" accepts (an enumerated type): {}",
            labels
                .iter()
                .map(|l| format!("\"{l}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `{ null = true }` / `{ null = false }`: `Some(Ok(flag))`; a table that is not that form
/// (but has a `null` key) `Some(Err)`; anything else `None`.
fn null_form(v: &toml::Value) -> Option<Result<bool, String>> {
    let toml::Value::Table(t) = v else {
        return None;
    };
    let n = t.get("null")?;
    Some(match (n, t.len()) {
        (toml::Value::Boolean(b), 1) => Ok(*b),
        _ => Err(
            "write { null = true } (the column IS NULL) or { null = false } (IS NOT NULL)".into(),
        ),
    })
}

/// `{ column = value | [values] | { not = … } | { null = true } | { null = false } }` checked
/// against the table. Lists, `not` and the null forms only where `lists` (scope, protect);
/// elsewhere one value, which the bridge writes into new rows.
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
        let not_null = toml::Value::Table(
            [("null".to_string(), toml::Value::Boolean(true))]
                .into_iter()
                .collect(),
        );
        let (v, negate) = match v {
            toml::Value::Table(t) if lists && t.len() == 1 && t.contains_key("not") => {
                (&t["not"], true)
            }
            // `{ null = false }`: not NULL.
            t if lists && matches!(null_form(t), Some(Ok(false))) => (&not_null, true),
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
        let storage = c.storage();
        let mut hv = Vec::new();
        for x in values {
            match null_form(x) {
                Some(Ok(true)) if !lists => problems.error(
                    &k,
                    "{ null = true } is available in scope, protect's where and soft_delete; here give one value, which the bridge writes into new rows",
                ),
                Some(Ok(true)) if !c.nullable => problems.error(
                    &k,
                    format!("column \"{}\" is NOT NULL, so {{ null = true }} matches no row; remove the condition or compare with a value", c.name),
                ),
                Some(Ok(true)) => hv.push(HostValue::typed(HostValue::Null(kind), &storage)),
                Some(Ok(false)) => problems.error(
                    &k,
                    "{ null = false } stands alone: write column = { null = false } (IS NOT NULL), or { not = [values] }",
                ),
                Some(Err(m)) => problems.error(&k, m),
                None => match constant_for(c, kind, x) {
                    Ok(h) => hv.push(h),
                    Err(m) => problems.error(&k, m),
                },
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

/// Whether `value = "now"` (or a soft delete's `"now"`) fits column `c` of `kind`: `Err` with
/// the reason when it cannot, `Ok(Some(warning))` when it can but likely is a mistake (UNIX
/// time in an integer column whose name says nothing of time).
pub(super) fn now_fits(c: &HostColumn, kind: ColumnKind) -> Result<Option<String>, String> {
    let storage = c.storage();
    match kind {
        ColumnKind::Timestamp | ColumnKind::TimestampTz => Ok(None),
        ColumnKind::Text if storage.labels().is_none() => Ok(None),
        ColumnKind::Int => {
            if let Some((_, hi)) = c.int_range.filter(|(_, hi)| *hi < i64::from(i32::MAX)) {
                return Err(format!("value = \"now\" in an integer column writes UNIX time (seconds since 1970), which \"{}\" ({}, at most {hi}) cannot hold; use a wider integer column", c.name, c.sql_type));
            }
            let n = c.name.to_ascii_lowercase();
            let timely = [
                "time", "date", "stamp", "created", "updated", "modified", "changed", "deleted",
                "expire", "seen", "login", "epoch", "since", "until", "_at", "_on",
            ]
            .iter()
            .any(|w| n.contains(w))
                || n.ends_with("at");
            Ok((!timely).then(|| format!("value = \"now\" writes UNIX time (seconds since 1970) into the integer column \"{}\", whose name does not say it holds a time; if it does not, write a constant", c.name)))
        }
        _ => Err(format!(
            "value = \"now\" needs a timestamp, date, text or integer (UNIX time) column, but \"{}\" is {}",
            c.name, c.sql_type
        )),
    }
}

/// `soft_delete = { column = value | "now" | { null = true } }`: what a deletion writes (and
/// a deactivation's `set`).
pub(super) fn assignments(
    problems: &mut Problems,
    key: &str,
    table: &HostTable,
    raw: Option<&Conditions>,
) -> Assignments {
    let mut out = Vec::new();
    for (col, v) in raw.into_iter().flatten() {
        let k = format!("{key}.{col}");
        let Some((c, kind)) = writable_column(problems, &k, table, col) else {
            continue;
        };
        let storage = c.storage();
        let fill = match (v, null_form(v)) {
            (toml::Value::String(s), _) if s == "now" => match now_fits(c, kind) {
                Ok(warning) => {
                    if let Some(w) = warning {
                        problems.warn(&k, w);
                    }
                    Fill::Now { kind, storage }
                }
                Err(m) => {
                    problems.error(&k, m);
                    continue;
                }
            },
            (_, Some(Ok(true))) if c.nullable => {
                Fill::Value(HostValue::typed(HostValue::Null(kind), &storage))
            }
            (_, Some(Ok(true))) => {
                problems.error(
                    &k,
                    format!("column \"{}\" is NOT NULL; write a value", c.name),
                );
                continue;
            }
            (_, Some(Ok(false))) => {
                problems.error(&k, "this writes values: { null = false } names none; write \"now\", a value or { null = true }");
                continue;
            }
            (_, Some(Err(m))) => {
                problems.error(&k, m);
                continue;
            }
            (toml::Value::Array(_), _) => {
                problems.error(&k, "give one value here: the one the bridge writes");
                continue;
            }
            (v, None) => match constant_for(c, kind, v) {
                Ok(h) => Fill::Value(h),
                Err(m) => {
                    problems.error(&k, m);
                    continue;
                }
            },
        };
        out.push((c.name.clone(), fill));
    }
    Assignments(out)
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
