//! Validation of a mapping file against the live host table, producing the compiled
//! [`UserMapping`] the server runs with.
//!
//! Every problem is collected (not just the first) so `scim-bridge check` can report them all
//! in one run, each naming the mapping key and saying how to fix it.

use std::path::Path;

use serde_json::Value;

use super::host::{ColumnKind, Dialect, HostColumn, HostTable};
use super::model::{ColumnRule, Direction, KeyGenerate, MappingFile, OnDelete, When};
use super::transform::Transform;
use super::value::HostValue;
use crate::scim::patch::PatchPath;
use crate::scim::path::AttrPath;
use crate::scim::resource::ResourceType;
use crate::scim::schema::{self, AttrType};

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("mapping file {path} is not valid: {message}")]
    Parse { path: String, message: String },
}

/// One finding of validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub error: bool,
    /// The mapping key it concerns, e.g. `users.columns.email`.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            if self.error { "error" } else { "warning" },
            self.key,
            self.message
        )
    }
}

/// Reads and parses a mapping file.
///
/// # Errors
/// A message naming the file and, for TOML errors, the line and key.
pub fn load_file(path: &Path) -> Result<MappingFile, MappingError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_str(&text).map_err(|message| MappingError::Parse {
        path: shown,
        message,
    })
}

/// # Errors
/// The TOML error, which names the line and the offending key.
pub fn parse_str(text: &str) -> Result<MappingFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim().to_string())
}

/// A compiled column rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub column: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub has_default: bool,
    pub max_len: Option<u32>,
    pub source: Source,
    pub on: When,
    pub direction: Direction,
    pub transforms: Vec<Transform>,
    pub default: Option<Value>,
    /// `default = { attr = "userName" }`: another attribute used when this one is absent.
    pub default_attr: Option<AttrTarget>,
    /// (SCIM value, host value) pairs.
    pub map: Option<Vec<(Value, HostValue)>>,
    pub read_default: Option<Value>,
}

impl Rule {
    pub fn writes(&self) -> bool {
        self.direction != Direction::FromHost
    }
    pub fn reads(&self) -> bool {
        self.direction != Direction::ToHost && matches!(self.source, Source::Attr(_))
    }
    pub fn attr(&self) -> Option<&AttrTarget> {
        match &self.source {
            Source::Attr(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    Attr(AttrTarget),
    Const(HostValue),
    Now,
}

/// Where in a SCIM resource a rule reads and writes, with canonical names.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrTarget {
    /// `urn` is set only for extension attributes.
    pub path: AttrPath,
    pub ty: AttrType,
    pub case_exact: bool,
    /// The attribute is multi-valued: a value is chosen by `select`, or the primary one.
    pub multi: bool,
    /// `emails[type eq "work"].value` → `("type", "work")`.
    pub select: Option<(String, String)>,
    /// As written in the mapping.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct KeyColumn {
    pub name: String,
    pub kind: ColumnKind,
    /// The database fills it (serial, identity, AUTO_INCREMENT, rowid).
    pub generated: bool,
    pub generate: Option<KeyGenerate>,
}

/// The validated mapping for users.
#[derive(Debug, Clone)]
pub struct UserMapping {
    pub table: String,
    pub key: KeyColumn,
    pub rules: Vec<Rule>,
    /// Index of the rule that holds `userName`.
    pub user_name: usize,
    /// Index of the rule that holds `active`, if any.
    pub active: Option<usize>,
    pub match_columns: Vec<String>,
    pub adopt: bool,
    pub on_delete: OnDelete,
    pub resource_type: ResourceType,
    /// Host columns read back, in SELECT order.
    pub read_columns: Vec<String>,
}

pub struct Compiled {
    pub mapping: Option<UserMapping>,
    pub problems: Vec<Problem>,
}

/// Custom extension URNs (and their attribute names) used by the mapping's `attr` paths.
pub fn custom_schemas(file: &MappingFile) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for rule in file.users.columns.values() {
        let Some(text) = &rule.attr else { continue };
        let Ok(p) = PatchPath::parse(text) else {
            continue;
        };
        let Some(urn) = p.attr.urn else { continue };
        if urn.eq_ignore_ascii_case(schema::USER_SCHEMA)
            || urn.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA)
        {
            continue;
        }
        match out.iter_mut().find(|(u, _)| u.eq_ignore_ascii_case(&urn)) {
            Some((_, attrs)) => {
                if !attrs.iter().any(|a| a.eq_ignore_ascii_case(&p.attr.attr)) {
                    attrs.push(p.attr.attr.clone())
                }
            }
            None => out.push((urn, vec![p.attr.attr.clone()])),
        }
    }
    out
}

/// Validates `file` against the introspected `table` (None when the table does not exist).
pub fn compile(
    file: &MappingFile,
    table: Option<&HostTable>,
    dialect: Dialect,
    all_tables: &[String],
) -> Compiled {
    let mut problems: Vec<Problem> = Vec::new();
    fn err_into(problems: &mut Vec<Problem>, key: &str, message: String) {
        problems.push(Problem {
            error: true,
            key: key.to_string(),
            message,
        });
    }
    macro_rules! err {
        ($k:expr, $m:expr) => {
            err_into(&mut problems, $k, $m)
        };
    }
    let u = &file.users;
    let Some(table) = table else {
        let known = if all_tables.is_empty() {
            "the database has no tables".to_string()
        } else {
            format!("tables in the database: {}", all_tables.join(", "))
        };
        err!("users.table", format!("table \"{}\" does not exist ({known}); set users.table to the application's user table", u.table));
        return Compiled {
            mapping: None,
            problems,
        };
    };
    let rt = ResourceType::user(&custom_schemas(file));

    // The key.
    let key = match table.column(&u.key) {
        None => {
            err!(
                "users.key",
                format!(
                    "column \"{}\" does not exist in table \"{}\"{}",
                    u.key,
                    table.name,
                    suggest(&u.key, table)
                )
            );
            None
        }
        Some(c) => match c.kind {
            Some(kind @ (ColumnKind::Int | ColumnKind::Text)) => {
                if !c.generated && u.key_generate.is_none() {
                    err!("users.key", format!(
                        "column \"{}\" is not filled by the database on insert; set users.key_generate = \"uuid\" (text keys) or use an auto-increment key", c.name));
                }
                if u.key_generate == Some(KeyGenerate::Uuid) && kind != ColumnKind::Text {
                    err!(
                        "users.key_generate",
                        format!(
                            "\"uuid\" needs a text key, but \"{}\" is {}",
                            c.name, c.sql_type
                        )
                    );
                }
                Some(KeyColumn {
                    name: c.name.clone(),
                    kind,
                    generated: c.generated,
                    generate: u.key_generate,
                })
            }
            _ => {
                err!(
                    "users.key",
                    format!(
                        "column \"{}\" has type {}; a key must be an integer or text column",
                        c.name, c.sql_type
                    )
                );
                None
            }
        },
    };

    let mut rules = Vec::new();
    // Columns whose rule has errors of its own: later checks skip them instead of piling
    // consequential errors on top.
    let mut failed: Vec<&str> = Vec::new();
    for (column, raw) in &u.columns {
        let key_name = format!("users.columns.{column}");
        match compile_rule(&rt, table, column, raw) {
            Ok(rule) => rules.push(rule),
            Err(messages) => {
                failed.push(column.as_str());
                for m in messages {
                    err!(&key_name, m);
                }
            }
        }
    }

    let find = |name: &str| {
        rules.iter().position(|r: &Rule| {
            r.attr().is_some_and(|t| {
                t.path.urn.is_none() && t.path.attr == name && t.path.sub.is_none()
            })
        })
    };
    let user_name = find("userName");
    let user_name_rule_failed = u.columns.iter().any(|(c, r)| {
        failed.contains(&c.as_str())
            && r.attr
                .as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case("userName"))
    });
    match user_name {
        None if user_name_rule_failed => {}
        None => err!("users.columns", "no column is mapped from \"userName\"; map the login or email column, e.g. email = { attr = \"userName\" }".into()),
        Some(i) if rules[i].direction != Direction::Both => {
            err!(&format!("users.columns.{}", rules[i].column), "the userName column must be read and written (direction = \"both\")".into())
        }
        Some(i) if rules[i].kind != ColumnKind::Text => {
            err!(&format!("users.columns.{}", rules[i].column), "the userName column must be a text column".into())
        }
        _ => {}
    }
    let active = find("active").filter(|&i| rules[i].writes());
    if u.on_delete == OnDelete::Deactivate && active.is_none() {
        err!("users.on_delete", "\"deactivate\" needs a column mapped from \"active\"; map one, or set on_delete = \"ignore\" or \"delete\"".into());
    }

    // NOT NULL columns the bridge must fill on insert.
    for c in &table.columns {
        if failed.contains(&c.name.as_str())
            || c.nullable
            || c.has_default
            || c.generated
            || key
                .as_ref()
                .is_some_and(|k| k.name == c.name && k.generate.is_some())
        {
            continue;
        }
        match rules.iter().find(|r| r.column == c.name) {
            None => err!(&format!("users.columns.{}", c.name), format!(
                "column \"{}\" ({}) is NOT NULL without a default and no rule fills it; add e.g. {} = {{ value = {}, on = \"insert\" }}",
                c.name, c.sql_type, c.name, example_value(c))),
            Some(r) if !r.writes() => err!(&format!("users.columns.{}", c.name), format!(
                "column \"{}\" is NOT NULL without a default but its rule is read-only (direction = \"from_host\")", c.name)),
            Some(r) => {
                if let Source::Attr(t) = &r.source {
                    let required = t.path.attr == "userName" && t.path.urn.is_none();
                    if r.default.is_none() && r.default_attr.is_none() && !required {
                        problems.push(Problem { error: false, key: format!("users.columns.{}", c.name), message: format!(
                            "column \"{}\" is NOT NULL without a default: creating a user without \"{}\" will be refused with 400; add default = … to the rule to fill it",
                            c.name, t.text) });
                    }
                }
            }
        }
    }

    let mut match_columns = u.match_columns.clone().unwrap_or_else(|| {
        user_name
            .map(|i| vec![rules[i].column.clone()])
            .unwrap_or_default()
    });
    match_columns.dedup();
    for m in &match_columns {
        match table.column(m) {
            None => problems.push(Problem {
                error: true,
                key: "users.match".into(),
                message: format!(
                    "column \"{m}\" does not exist in table \"{}\"{}",
                    table.name,
                    suggest(m, table)
                ),
            }),
            Some(c) if c.kind != Some(ColumnKind::Text) => problems.push(Problem {
                error: true,
                key: "users.match".into(),
                message: format!(
                    "column \"{m}\" is {}, but matching compares text",
                    c.sql_type
                ),
            }),
            Some(_) => {
                if !table.has_ci_index(dialect, m) {
                    problems.push(Problem { error: false, key: "users.match".into(), message: format!(
                        "no index serves a case-insensitive lookup on \"{m}\", so every userName lookup scans the table; add one: {}", table.ci_index_advice(dialect, m)) });
                }
            }
        }
    }
    if let Some(i) = user_name {
        let col = &rules[i].column;
        if !match_columns.contains(col) && !table.has_ci_index(dialect, col) {
            problems.push(Problem { error: false, key: format!("users.columns.{col}"), message: format!(
                "no index serves a case-insensitive lookup on \"{col}\" (Okta's userName filter); add one: {}", table.ci_index_advice(dialect, col)) });
        }
    }

    if problems.iter().any(|p| p.error) {
        return Compiled {
            mapping: None,
            problems,
        };
    }
    let (Some(key), Some(user_name)) = (key, user_name) else {
        return Compiled {
            mapping: None,
            problems,
        };
    };
    let mut read_columns: Vec<String> = Vec::new();
    for r in rules.iter().filter(|r| r.reads()) {
        if !read_columns.contains(&r.column) {
            read_columns.push(r.column.clone());
        }
    }
    Compiled {
        mapping: Some(UserMapping {
            table: table.name.clone(),
            key,
            rules,
            user_name,
            active,
            match_columns,
            adopt: u.adopt,
            on_delete: u.on_delete,
            resource_type: rt,
            read_columns,
        }),
        problems,
    }
}

fn example_value(c: &HostColumn) -> &'static str {
    match c.kind {
        Some(ColumnKind::Int) => "0",
        Some(ColumnKind::Bool) => "false",
        Some(ColumnKind::Timestamp | ColumnKind::TimestampTz) => "\"now\"",
        _ => "\"\"",
    }
}

fn suggest(name: &str, table: &HostTable) -> String {
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
fn edit_distance(a: &str, b: &str) -> usize {
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

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn compile_rule(
    rt: &ResourceType,
    table: &HostTable,
    column: &str,
    raw: &ColumnRule,
) -> Result<Rule, Vec<String>> {
    let mut errors = Vec::new();
    let Some(col) = table.column(column) else {
        return Err(vec![format!(
            "column \"{column}\" does not exist in table \"{}\"{}",
            table.name,
            suggest(column, table)
        )]);
    };
    let Some(kind) = col.kind else {
        return Err(vec![format!("column \"{column}\" has type {}, which the bridge cannot map (text, integer, boolean and timestamp columns can be mapped)", col.sql_type)]);
    };
    let mut transforms = Vec::new();
    for name in raw
        .transform
        .as_ref()
        .map(|t| t.to_vec())
        .unwrap_or_default()
    {
        match Transform::parse(&name) {
            Some(t) => transforms.push(t),
            None => errors.push(format!(
                "unknown transform \"{name}\"; use one of {}",
                Transform::NAMES
            )),
        }
    }
    let source = match (&raw.attr, &raw.value) {
        (Some(_), Some(_)) => {
            errors
                .push("give either attr (a SCIM attribute) or value (a constant), not both".into());
            None
        }
        (None, None) => {
            errors.push("needs attr = \"<SCIM attribute>\" or value = <constant>".into());
            None
        }
        (None, Some(v)) => {
            if raw.direction == Direction::FromHost {
                errors.push("a constant value cannot be read back (direction = \"from_host\"); remove direction".into());
            }
            if v.as_str() == Some("now") {
                if !matches!(
                    kind,
                    ColumnKind::Timestamp | ColumnKind::TimestampTz | ColumnKind::Text
                ) {
                    errors.push(format!(
                        "value = \"now\" needs a timestamp column, but \"{column}\" is {}",
                        col.sql_type
                    ));
                }
                Some(Source::Now)
            } else {
                match HostValue::from_json(kind, &toml_to_json(v)) {
                    Some(h) => Some(Source::Const(h)),
                    None => {
                        errors.push(format!(
                            "value {v} cannot be stored in \"{column}\" ({})",
                            col.sql_type
                        ));
                        None
                    }
                }
            }
        }
        (Some(text), None) => match attr_target(rt, text) {
            Ok(t) => Some(Source::Attr(t)),
            Err(m) => {
                errors.push(m);
                None
            }
        },
    };
    let attr_ty = match &source {
        Some(Source::Attr(t)) => Some(t.ty),
        _ => None,
    };
    if transforms.contains(&Transform::Not) && attr_ty != Some(AttrType::Boolean) {
        errors.push("transform \"not\" applies to boolean attributes such as active".into());
    }
    let scim_value = |key: &str| -> Value {
        match attr_ty {
            Some(AttrType::Boolean) => crate::mapping::value::parse_bool(key)
                .map(Value::Bool)
                .unwrap_or(Value::String(key.into())),
            _ => Value::String(key.to_string()),
        }
    };
    let map = raw.map.as_ref().map(|m| {
        m.iter()
            .filter_map(
                |(k, v)| match HostValue::from_json(kind, &toml_to_json(v)) {
                    Some(h) => Some((scim_value(k), h)),
                    None => {
                        errors.push(format!(
                            "map value {v} (for {k}) cannot be stored in \"{column}\" ({})",
                            col.sql_type
                        ));
                        None
                    }
                },
            )
            .collect::<Vec<_>>()
    });
    if let (Some(ty), None) = (attr_ty, &map) {
        let fits = match (ty, kind) {
            (_, ColumnKind::Text) => true,
            (AttrType::Boolean, ColumnKind::Bool | ColumnKind::Int) => true,
            (AttrType::Integer, ColumnKind::Int) => true,
            (AttrType::DateTime, ColumnKind::Timestamp | ColumnKind::TimestampTz) => true,
            (AttrType::String, ColumnKind::Int) => true, // numeric strings (employee numbers); checked per value
            _ => false,
        };
        if !fits {
            errors.push(format!("a {} attribute cannot be stored in \"{column}\" ({}); add a map = {{ … }} from SCIM values to column values", ty.as_str(), col.sql_type));
        }
    }
    // `default = { attr = "…" }` names a fallback attribute; any other value is a constant.
    let (default, default_attr) = match raw.default.as_ref() {
        Some(toml::Value::Table(t)) => match (t.get("attr").and_then(toml::Value::as_str), t.len())
        {
            (Some(a), 1) => match attr_target(rt, a) {
                Ok(target) => (None, Some(target)),
                Err(m) => {
                    errors.push(format!("default: {m}"));
                    (None, None)
                }
            },
            _ => {
                errors.push("default must be a value, or { attr = \"<SCIM attribute>\" } to fall back to another attribute".into());
                (None, None)
            }
        },
        other => (other.map(toml_to_json), None),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        column: column.to_string(),
        kind,
        nullable: col.nullable,
        has_default: col.has_default || col.generated,
        max_len: col.max_len,
        source: source.expect("checked above"),
        on: raw.on,
        direction: raw.direction,
        transforms,
        default,
        default_attr,
        map,
        read_default: raw.read_default.as_ref().map(toml_to_json),
    })
}

/// Parses and resolves a rule's `attr`.
fn attr_target(rt: &ResourceType, text: &str) -> Result<AttrTarget, String> {
    let p = PatchPath::parse(text).map_err(|e| format!("attr = \"{text}\": {}", e.detail))?;
    let r = rt
        .resolve(&p.attr)
        .map_err(|e| format!("attr = \"{text}\": {}", e.detail))?;
    if r.attr.is_read_only() || r.sub.is_some_and(|s| s.is_read_only()) {
        return Err(format!("attr = \"{text}\" is read-only in SCIM (id, meta and groups are managed by the bridge)"));
    }
    if r.attr.name == "password" {
        return Err("attr = \"password\": the bridge never stores passwords sent by the identity provider; use a constant such as value = \"!\" for a NOT NULL password column".into());
    }
    let def = r.sub.unwrap_or(r.attr);
    if def.ty == AttrType::Complex {
        return Err(format!(
            "attr = \"{text}\" is a complex attribute; name a sub-attribute, e.g. \"{}.{}\"",
            r.attr.name,
            r.attr.sub.first().map_or("value", |s| s.name)
        ));
    }
    if r.attr.multi && r.sub.is_none() {
        return Err(format!(
            "attr = \"{text}\" is multi-valued; name a sub-attribute, e.g. \"{}.value\"",
            r.attr.name
        ));
    }
    let select = match &p.filter {
        None => None,
        Some(crate::scim::filter::Filter::Compare(
            fp,
            crate::scim::filter::CompareOp::Eq,
            crate::scim::filter::CompValue::Str(v),
        )) if fp.sub.is_none() && fp.urn.is_none() => {
            let sd = r.attr.sub_attr(&fp.attr).ok_or_else(|| {
                format!(
                    "attr = \"{text}\": {} has no sub-attribute \"{}\"",
                    r.attr.name, fp.attr
                )
            })?;
            Some((sd.name.to_string(), v.clone()))
        }
        Some(_) => {
            return Err(format!(
            "attr = \"{text}\": only a filter of the form [type eq \"work\"] can select a value"
        ))
        }
    };
    if select.is_some() && !r.attr.multi {
        return Err(format!(
            "attr = \"{text}\": only multi-valued attributes take a [filter]"
        ));
    }
    Ok(AttrTarget {
        path: AttrPath {
            urn: r.urn.map(str::to_string),
            attr: r.attr.name.to_string(),
            sub: r.sub.map(|s| s.name.to_string()),
        },
        ty: def.ty,
        case_exact: def.case_exact,
        multi: r.attr.multi,
        select,
        text: text.to_string(),
    })
}
