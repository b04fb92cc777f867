//! Validation of a mapping file against the live host table, producing the compiled
//! [`UserMapping`] the server runs with.
//!
//! Every problem is collected (not just the first) so `scim-bridge check` can report them all
//! in one run, each naming the mapping key and saying how to fix it.

use std::path::Path;

use serde_json::Value;

use super::host::{ColumnKind, HostColumn, HostTable};
use std::collections::{BTreeMap, HashMap};

use super::model::{
    ColumnRule, Conditions, Direction, GroupsSection, KeyGenerate, MappingFile, OnDelete, When,
};
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
    /// Which table: 0 is the user's main row, `n` is `joined[n - 1]`.
    pub at: usize,
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
    /// The bit this boolean sets or clears in an integer flags column.
    pub flag: Option<i64>,
    /// The column holds the key of a row of another table.
    pub lookup: Option<Lookup>,
}

/// A lookup table: `key` of the row whose `column` equals the value.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub table: String,
    pub key: KeyColumn,
    pub column: String,
    pub create: bool,
    /// The host value meaning "none".
    pub none: Option<HostValue>,
}

impl Rule {
    pub fn writes(&self) -> bool {
        self.direction != Direction::FromHost
    }
    pub fn reads(&self) -> bool {
        self.direction != Direction::ToHost
            && matches!(self.source, Source::Attr(_) | Source::Template(_))
    }
    pub fn attr(&self) -> Option<&AttrTarget> {
        match &self.source {
            Source::Attr(t) => Some(t),
            _ => None,
        }
    }
    /// Every attribute the rule reads or writes (one, or a template's several).
    pub fn attrs(&self) -> Vec<&AttrTarget> {
        match &self.source {
            Source::Attr(t) => vec![t],
            Source::Template(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    TemplatePart::Attr(t) => Some(t),
                    TemplatePart::Text(_) => None,
                })
                .collect(),
            _ => vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    Attr(AttrTarget),
    Const(HostValue),
    Now,
    Template(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Attr(AttrTarget),
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

/// A table holding at most one row per user, joined on `parent = user key`.
#[derive(Debug, Clone)]
pub struct Joined {
    pub table: String,
    pub parent: String,
    pub conditions: Vec<(String, HostValue)>,
}

/// `column = one of values` (or, negated, none of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub values: Vec<HostValue>,
    pub negate: bool,
}

/// How a child table marks the primary value.
#[derive(Debug, Clone, PartialEq)]
pub enum PrimaryMark {
    /// A main-table column holding the primary child's key.
    Pointer { column: String, kind: ColumnKind },
    /// A child column: `on` for the primary row, `off` for the others.
    Flag {
        column: String,
        on: HostValue,
        off: HostValue,
    },
    /// The lowest key is the primary.
    First,
}

/// Rows holding the values of one multi-valued attribute.
#[derive(Debug, Clone)]
pub struct Child {
    pub table: String,
    pub key: KeyColumn,
    pub parent: String,
    /// Canonical attribute name (`emails`).
    pub attr: String,
    pub primary: PrimaryMark,
    pub conditions: Vec<(String, HostValue)>,
    /// Rules over one value; their targets are relative to the value object (`value`, `type`).
    pub rules: Vec<Rule>,
    /// The rule holding `value`: rows are matched to incoming values by it.
    pub value_rule: usize,
    /// Child columns read back, in SELECT order (after the key; the flag column last if any).
    pub read_columns: Vec<String>,
}

/// Where a `match` column lives.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchAt {
    /// 0 main, n joined[n - 1].
    Table(usize),
    Child(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchColumn {
    pub at: MatchAt,
    pub column: String,
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
    pub match_columns: Vec<MatchColumn>,
    pub adopt: bool,
    pub on_delete: OnDelete,
    /// Which main-table rows are SCIM users.
    pub scope: Vec<Condition>,
    pub soft_delete: Vec<(String, HostValue)>,
    pub joined: Vec<Joined>,
    pub children: Vec<Child>,
    pub resource_type: ResourceType,
    /// Columns read back (table index as in [`Rule::at`], column), in SELECT order.
    pub read_columns: Vec<(usize, String)>,
    /// Host groups, when the mapping writes them.
    pub host_groups: Option<GroupMapping>,
}

/// Host group table and its membership join table.
#[derive(Debug, Clone)]
pub struct GroupMapping {
    pub table: String,
    pub key: KeyColumn,
    pub match_column: Option<String>,
    pub on_delete: OnDelete,
    pub soft_delete: Vec<(String, HostValue)>,
    /// Rules over the Group resource (`displayName`, constants).
    pub rules: Vec<Rule>,
    pub members: Members,
}

#[derive(Debug, Clone)]
pub struct Members {
    pub table: String,
    pub group: String,
    pub group_kind: ColumnKind,
    pub user: String,
    pub user_kind: ColumnKind,
    /// Constant columns; the `Const` ones also identify the bridge's rows on removal.
    pub rules: Vec<Rule>,
}

pub struct Compiled {
    pub mapping: Option<UserMapping>,
    pub problems: Vec<Problem>,
}

/// Every host table a mapping names, main table first.
pub fn tables_named(file: &MappingFile) -> Vec<String> {
    let mut out = vec![file.users.table.clone()];
    out.extend(file.users.joined.iter().map(|j| j.table.clone()));
    let lookups = file
        .users
        .columns
        .values()
        .chain(file.users.joined.iter().flat_map(|j| j.columns.values()))
        .filter_map(|r| r.lookup.as_ref().map(|l| l.table.clone()));
    out.extend(lookups);
    out.extend(file.users.children.iter().map(|c| c.table.clone()));
    if let Some(g) = &file.groups {
        out.push(g.table.clone());
        out.push(g.members.table.clone());
    }
    let mut seen = Vec::new();
    out.retain(|t| {
        let fresh = !seen.contains(t);
        seen.push(t.clone());
        fresh
    });
    out
}

/// Custom extension URNs (and their attribute names) used by the mapping's `attr` paths.
pub fn custom_schemas(file: &MappingFile) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let all_rules = file
        .users
        .columns
        .values()
        .chain(file.users.joined.iter().flat_map(|j| j.columns.values()));
    for rule in all_rules {
        if let Some(t) = &rule.attr {
            texts.push(t.clone());
        }
        if let Some(t) = &rule.template {
            texts.extend(template_attrs(t));
        }
    }
    for text in &texts {
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

/// The `{…}` attribute names of a template, in order.
fn template_attrs(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(rest[open + 1..open + close].trim().to_string());
        rest = &rest[open + close + 1..];
    }
    out
}

/// Collects problems, each naming its mapping key.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            error: true,
            key: key.to_string(),
            message: message.into(),
        });
    }
    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            error: false,
            key: key.to_string(),
            message: message.into(),
        });
    }
    fn has_errors(&self) -> bool {
        self.0.iter().any(|p| p.error)
    }
}

fn missing_table(problems: &mut Problems, key: &str, name: &str, all_tables: &[String]) {
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
fn need_column<'t>(
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

fn key_column(
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
fn conditions(
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

fn single(v: Vec<Condition>) -> Vec<(String, HostValue)> {
    v.into_iter()
        .filter_map(|mut c| c.values.pop().map(|v| (c.column, v)))
        .collect()
}

/// NOT NULL columns without a default that nothing fills on insert: named, with the fix.
fn check_not_null(
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

/// Compiles a `[… .columns]` table of rules; failed columns are returned by name.
#[allow(clippy::too_many_arguments, reason = "one call per section kind")]
fn compile_rules(
    problems: &mut Problems,
    prefix: &str,
    rt: &ResourceType,
    table: &HostTable,
    at: usize,
    child_of: Option<&str>,
    raw: &BTreeMap<String, ColumnRule>,
    tables: &HashMap<String, HostTable>,
) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut failed = Vec::new();
    for (column, r) in raw {
        match compile_rule(rt, table, column, r, child_of) {
            Ok(mut rule) => {
                rule.at = at;
                if let Some(l) = &r.lookup {
                    let key = format!("{prefix}.columns.{column}.lookup");
                    if child_of.is_some() || prefix.starts_with("groups") {
                        problems.error(&key, "lookups are available on user and joined tables");
                    }
                    rule.lookup = compile_lookup(problems, &key, &rule, l, tables);
                    if rule.lookup.is_none() {
                        failed.push(column.clone());
                        continue;
                    }
                }
                rules.push(rule)
            }
            Err(messages) => {
                failed.push(column.clone());
                for m in messages {
                    problems.error(&format!("{prefix}.columns.{column}"), m);
                }
            }
        }
    }
    (rules, failed)
}

/// Validates `file` against the introspected tables it names (absent ones are reported).
pub fn compile(
    file: &MappingFile,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
) -> Compiled {
    let mut problems = Problems::default();
    let u = &file.users;
    let Some(table) = tables.get(&u.table) else {
        missing_table(&mut problems, "users.table", &u.table, all_tables);
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    };
    let rt = ResourceType::user(&custom_schemas(file));
    let key = key_column(&mut problems, "users.key", table, &u.key, u.key_generate);

    let (mut rules, failed) = compile_rules(
        &mut problems,
        "users",
        &rt,
        table,
        0,
        None,
        &u.columns,
        tables,
    );
    let scope = conditions(&mut problems, "users.scope", table, u.scope.as_ref(), true);
    let soft_delete = single(conditions(
        &mut problems,
        "users.soft_delete",
        table,
        u.soft_delete.as_ref(),
        false,
    ));

    // Joined tables.
    let mut joined = Vec::new();
    for (i, j) in u.joined.iter().enumerate() {
        let prefix = format!("users.joined.{}", j.table);
        let Some(jt) = tables.get(&j.table) else {
            missing_table(
                &mut problems,
                &format!("{prefix}.table"),
                &j.table,
                all_tables,
            );
            continue;
        };
        need_column(&mut problems, &format!("{prefix}.parent"), jt, &j.parent);
        let conds = single(conditions(
            &mut problems,
            &format!("{prefix}.where"),
            jt,
            j.conditions.as_ref(),
            false,
        ));
        let (jr, jfailed) = compile_rules(
            &mut problems,
            &prefix,
            &rt,
            jt,
            i + 1,
            None,
            &j.columns,
            tables,
        );
        let mut filled: Vec<&str> = vec![j.parent.as_str()];
        filled.extend(conds.iter().map(|(c, _)| c.as_str()));
        check_not_null(
            &mut problems,
            &prefix,
            jt,
            &jr.iter().collect::<Vec<_>>(),
            &filled,
            &jfailed,
        );
        rules.extend(jr);
        joined.push(Joined {
            table: jt.name.clone(),
            parent: j.parent.clone(),
            conditions: conds,
        });
    }

    // Child tables.
    let mut children = Vec::new();
    let mut pointer_columns: Vec<String> = Vec::new();
    for c in &u.children {
        let prefix = format!("users.children.{}", c.table);
        let Some(ct) = tables.get(&c.table) else {
            missing_table(
                &mut problems,
                &format!("{prefix}.table"),
                &c.table,
                all_tables,
            );
            continue;
        };
        let ckey = key_column(
            &mut problems,
            &format!("{prefix}.key"),
            ct,
            &c.key,
            c.key_generate,
        );
        need_column(&mut problems, &format!("{prefix}.parent"), ct, &c.parent);
        let attr = match rt.resolve(&AttrPath {
            urn: None,
            attr: c.attr.clone(),
            sub: None,
        }) {
            Ok(r) if r.attr.multi && r.urn.is_none() => r.attr.name.to_string(),
            _ => {
                problems.error(&format!("{prefix}.attr"), format!("\"{}\" is not a multi-valued attribute of User; use emails, phoneNumbers, addresses, ims, photos, entitlements, roles or x509Certificates", c.attr));
                continue;
            }
        };
        if rules.iter().any(|r| {
            r.attrs()
                .iter()
                .any(|t| t.path.urn.is_none() && t.path.attr == attr)
        }) {
            problems.error(
                &format!("{prefix}.attr"),
                format!("\"{attr}\" is also mapped to a column of a user row; map it in one place"),
            );
        }
        let conds = single(conditions(
            &mut problems,
            &format!("{prefix}.where"),
            ct,
            c.conditions.as_ref(),
            false,
        ));
        let (crules, cfailed) = compile_rules(
            &mut problems,
            &prefix,
            &rt,
            ct,
            0,
            Some(&attr),
            &c.columns,
            tables,
        );
        let value_rule = crules
            .iter()
            .position(|r| r.attr().is_some_and(|t| t.path.attr == "value") && r.reads());
        if value_rule.is_none() && cfailed.is_empty() {
            problems.error(
                &format!("{prefix}.columns"),
                format!(
                    "no column is mapped from \"value\"; add e.g. {} = {{ attr = \"value\" }}",
                    ct.columns
                        .iter()
                        .find(|x| x.kind == Some(ColumnKind::Text))
                        .map_or("address", |x| x.name.as_str())
                ),
            );
        }
        let mut filled: Vec<&str> = vec![c.parent.as_str()];
        filled.extend(conds.iter().map(|(c, _)| c.as_str()));
        let primary = match c.primary.as_ref().map(|p| (&p.pointer, &p.flag)) {
            None | Some((None, None)) => PrimaryMark::First,
            Some((Some(ptr), None)) => match need_column(
                &mut problems,
                &format!("{prefix}.primary.pointer"),
                table,
                ptr,
            ) {
                Some(pc)
                    if pc.kind == Some(ColumnKind::Int) || pc.kind == Some(ColumnKind::Text) =>
                {
                    pointer_columns.push(pc.name.clone());
                    PrimaryMark::Pointer {
                        column: pc.name.clone(),
                        kind: pc.kind.unwrap_or(ColumnKind::Int),
                    }
                }
                Some(pc) => {
                    problems.error(
                        &format!("{prefix}.primary.pointer"),
                        format!("\"{}\" ({}) cannot hold a key", pc.name, pc.sql_type),
                    );
                    PrimaryMark::First
                }
                None => PrimaryMark::First,
            },
            Some((None, Some(flag))) => {
                match need_column(&mut problems, &format!("{prefix}.primary.flag"), ct, flag) {
                    Some(fc) => {
                        filled.push(flag.as_str());
                        let kind = fc.kind.unwrap_or(ColumnKind::Int);
                        let (on, off) = if kind == ColumnKind::Bool {
                            (HostValue::Bool(true), HostValue::Bool(false))
                        } else {
                            (HostValue::Int(1), HostValue::Int(0))
                        };
                        PrimaryMark::Flag {
                            column: fc.name.clone(),
                            on,
                            off,
                        }
                    }
                    None => PrimaryMark::First,
                }
            }
            Some((Some(_), Some(_))) => {
                problems.error(
                    &format!("{prefix}.primary"),
                    "give pointer (a user column) or flag (a child column), not both",
                );
                PrimaryMark::First
            }
        };
        if let Some(k) = &ckey {
            if k.generate.is_some() {
                filled.push(c.key.as_str());
            }
        }
        check_not_null(
            &mut problems,
            &prefix,
            ct,
            &crules.iter().collect::<Vec<_>>(),
            &filled,
            &cfailed,
        );
        let mut read_columns: Vec<String> = Vec::new();
        for r in crules.iter().filter(|r| r.reads()) {
            if !read_columns.contains(&r.column) {
                read_columns.push(r.column.clone());
            }
        }
        if let PrimaryMark::Flag { column, .. } = &primary {
            read_columns.push(column.clone());
        }
        if let (Some(key), Some(value_rule)) = (ckey, value_rule) {
            children.push(Child {
                table: ct.name.clone(),
                key,
                parent: c.parent.clone(),
                attr,
                primary,
                conditions: conds,
                rules: crules,
                value_rule,
                read_columns,
            });
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
    let user_name_rule_failed = u
        .columns
        .iter()
        .chain(u.joined.iter().flat_map(|j| j.columns.iter()))
        .any(|(c, r)| {
            failed.contains(c)
                && r.attr
                    .as_deref()
                    .is_some_and(|a| a.trim().eq_ignore_ascii_case("userName"))
        });
    match user_name {
        None if user_name_rule_failed => {}
        None if problems.has_errors() => {}
        None => problems.error("users.columns", "no column is mapped from \"userName\"; map the login or email column, e.g. email = { attr = \"userName\" }"),
        Some(i) if rules[i].direction != Direction::Both => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be read and written (direction = \"both\")")
        }
        Some(i) if rules[i].kind != ColumnKind::Text => {
            problems.error(&format!("users.columns.{}", rules[i].column), "the userName column must be a text column")
        }
        _ => {}
    }
    let active = find("active").filter(|&i| rules[i].writes());
    if u.on_delete == OnDelete::Deactivate && active.is_none() {
        problems.error("users.on_delete", "\"deactivate\" needs a column mapped from \"active\"; map one, or set on_delete = \"ignore\", \"soft_delete\" or \"delete\"");
    }
    if u.on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("users.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a row deleted, e.g. soft_delete = { is_deleted = 1 }");
    }
    if !soft_delete.is_empty() && u.on_delete == OnDelete::SoftDelete {
        let hidden = soft_delete.iter().all(|(c, v)| {
            scope.iter().any(|sc| {
                &sc.column == c && sc.values.iter().any(|x| x.loosely_equals(v)) == sc.negate
            })
        });
        if !hidden {
            problems.warn("users.scope", "soft-deleted rows are still in scope, so a deleted user stays visible to SCIM; add the column to scope, e.g. scope = { is_deleted = 0 }");
        }
    }

    // NOT NULL columns of the main table the bridge must fill on insert.
    {
        let main_rules: Vec<&Rule> = rules.iter().filter(|r| r.at == 0).collect();
        let mut filled: Vec<&str> = scope
            .iter()
            .filter(|c| c.values.len() == 1 && !c.negate)
            .map(|c| c.column.as_str())
            .collect();
        filled.extend(pointer_columns.iter().map(String::as_str));
        if let Some(k) = key.as_ref().filter(|k| k.generate.is_some()) {
            filled.push(k.name.as_str());
        }
        check_not_null(&mut problems, "users", table, &main_rules, &filled, &failed);
    }

    // Match columns: `column` (main), `table.column` (a joined or child table).
    let raw_match = u.match_columns.clone().unwrap_or_else(|| {
        user_name
            .map(|i| {
                let r = &rules[i];
                if r.at == 0 {
                    vec![r.column.clone()]
                } else {
                    vec![format!("{}.{}", joined[r.at - 1].table, r.column)]
                }
            })
            .unwrap_or_default()
    });
    let mut match_columns: Vec<MatchColumn> = Vec::new();
    for m in &raw_match {
        let (at, t, col) = match m.split_once('.') {
            None => (MatchAt::Table(0), Some(table), m.as_str()),
            Some((tn, col)) => {
                if let Some(i) = joined.iter().position(|j| j.table == tn) {
                    (MatchAt::Table(i + 1), tables.get(tn), col)
                } else if let Some(i) = children.iter().position(|c| c.table == tn) {
                    (MatchAt::Child(i), tables.get(tn), col)
                } else if tn == table.name {
                    (MatchAt::Table(0), Some(table), col)
                } else {
                    problems.error("users.match", format!("\"{m}\": table \"{tn}\" is neither the user table nor one of its joined or child tables"));
                    continue;
                }
            }
        };
        let Some(t) = t else { continue };
        match need_column(&mut problems, "users.match", t, col) {
            None => {}
            Some(c) if c.kind != Some(ColumnKind::Text) => problems.error(
                "users.match",
                format!(
                    "column \"{col}\" is {}, but matching compares text",
                    c.sql_type
                ),
            ),
            Some(c) => {
                if let Some(advice) = &c.ci_index_advice {
                    problems.warn("users.match", format!(
                        "no index serves a case-insensitive lookup on \"{}.{col}\", so every userName lookup scans the table; add one: {advice}", t.name));
                }
                let mc = MatchColumn {
                    at,
                    column: col.to_string(),
                };
                if !match_columns.contains(&mc) {
                    match_columns.push(mc);
                }
            }
        }
    }
    if let Some(i) = user_name {
        let r = &rules[i];
        let t = if r.at == 0 {
            Some(table)
        } else {
            tables.get(&joined[r.at - 1].table)
        };
        let listed = match_columns
            .iter()
            .any(|m| m.at == MatchAt::Table(r.at) && m.column == r.column);
        let advice = t
            .and_then(|t| t.column(&r.column))
            .and_then(|c| c.ci_index_advice.as_ref());
        if let (Some(advice), false) = (advice, listed) {
            problems.warn(&format!("users.columns.{}", r.column), format!(
                "no index serves a case-insensitive lookup on \"{}\" (Okta's userName filter); add one: {advice}", r.column));
        }
    }

    let host_groups = file
        .groups
        .as_ref()
        .and_then(|g| compile_groups(&mut problems, g, tables, all_tables, key.as_ref()));

    if problems.has_errors() {
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    }
    let (Some(key), Some(user_name)) = (key, user_name) else {
        return Compiled {
            mapping: None,
            problems: problems.0,
        };
    };
    let mut read_columns: Vec<(usize, String)> = Vec::new();
    for r in rules.iter().filter(|r| r.reads()) {
        let c = (r.at, r.column.clone());
        if !read_columns.contains(&c) {
            read_columns.push(c);
        }
    }
    for p in &pointer_columns {
        let c = (0, p.clone());
        if !read_columns.contains(&c) {
            read_columns.push(c);
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
            scope,
            soft_delete,
            joined,
            children,
            resource_type: rt,
            read_columns,
            host_groups,
        }),
        problems: problems.0,
    }
}

fn compile_groups(
    problems: &mut Problems,
    g: &GroupsSection,
    tables: &HashMap<String, HostTable>,
    all_tables: &[String],
    user_key: Option<&KeyColumn>,
) -> Option<GroupMapping> {
    let Some(table) = tables.get(&g.table) else {
        missing_table(problems, "groups.table", &g.table, all_tables);
        return None;
    };
    let key = key_column(problems, "groups.key", table, &g.key, g.key_generate);
    let rt = ResourceType::group();
    let (rules, failed) =
        compile_rules(problems, "groups", &rt, table, 0, None, &g.columns, tables);
    for r in &rules {
        for t in r.attrs() {
            if t.path.attr != "displayName" {
                problems.error(&format!("groups.columns.{}", r.column), format!("only displayName (and constants) can be written to a host group, not \"{}\"", t.text));
            }
        }
    }
    if !rules
        .iter()
        .any(|r| r.attrs().iter().any(|t| t.path.attr == "displayName"))
    {
        problems.error(
            "groups.columns",
            "no column is mapped from \"displayName\"; add e.g. name = { attr = \"displayName\" }",
        );
    }
    if let Some(m) = &g.match_column {
        if let Some(c) = need_column(problems, "groups.match", table, m) {
            if c.kind != Some(ColumnKind::Text) {
                problems.error(
                    "groups.match",
                    format!(
                        "column \"{m}\" is {}, but matching compares text",
                        c.sql_type
                    ),
                );
            }
        }
    }
    if g.on_delete == OnDelete::Deactivate {
        problems.error("groups.on_delete", "groups have no active attribute; use \"ignore\", \"soft_delete\" (with soft_delete = { … }) or \"delete\"");
    }
    let soft_delete = single(conditions(
        problems,
        "groups.soft_delete",
        table,
        g.soft_delete.as_ref(),
        false,
    ));
    if g.on_delete == OnDelete::SoftDelete && soft_delete.is_empty() {
        problems.error("groups.soft_delete", "on_delete = \"soft_delete\" needs the values that mark a group deleted, e.g. soft_delete = { active = false }");
    }
    let mut filled: Vec<&str> = Vec::new();
    if g.key_generate.is_some() {
        filled.push(g.key.as_str());
    }
    check_not_null(
        problems,
        "groups",
        table,
        &rules.iter().collect::<Vec<_>>(),
        &filled,
        &failed,
    );

    let m = &g.members;
    let Some(mt) = tables.get(&m.table) else {
        missing_table(problems, "groups.members.table", &m.table, all_tables);
        return None;
    };
    let gc = need_column(problems, "groups.members.group", mt, &m.group).and_then(|c| c.kind);
    let uc = need_column(problems, "groups.members.user", mt, &m.user).and_then(|c| c.kind);
    let (mrules, mfailed) = compile_rules(
        problems,
        "groups.members",
        &rt,
        mt,
        0,
        None,
        &m.columns,
        tables,
    );
    for r in &mrules {
        if !matches!(r.source, Source::Const(_) | Source::Now) {
            problems.error(
                &format!("groups.members.columns.{}", r.column),
                "membership columns take constants only (value = …)",
            );
        }
    }
    check_not_null(
        problems,
        "groups.members",
        mt,
        &mrules.iter().collect::<Vec<_>>(),
        &[m.group.as_str(), m.user.as_str()],
        &mfailed,
    );
    if let (Some(uk), Some(uc)) = (user_key, uc) {
        if uk.kind != uc && uc != ColumnKind::Text {
            problems.error(
                "groups.members.user",
                format!(
                    "\"{}\" is {} but user keys are {}",
                    m.user,
                    uc.as_str(),
                    uk.kind.as_str()
                ),
            );
        }
    }
    Some(GroupMapping {
        table: table.name.clone(),
        key: key?,
        match_column: g.match_column.clone(),
        on_delete: g.on_delete,
        soft_delete,
        rules,
        members: Members {
            table: mt.name.clone(),
            group: m.group.clone(),
            group_kind: gc?,
            user: m.user.clone(),
            user_kind: uc?,
            rules: mrules,
        },
    })
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
    child_of: Option<&str>,
) -> Result<Rule, Vec<String>> {
    // In a child table, `attr` names a sub-attribute of one value.
    let resolve = |text: &str| match child_of {
        None => attr_target(rt, text),
        Some(parent) => attr_target(rt, &format!("{parent}.{text}")).map(|t| AttrTarget {
            path: AttrPath {
                urn: None,
                attr: t.path.sub.clone().unwrap_or_default(),
                sub: None,
            },
            multi: false,
            select: None,
            ..t
        }),
    };
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
        _ if raw.template.is_some() => {
            if raw.attr.is_some() || raw.value.is_some() {
                errors.push("give one of attr, template and value".into());
            }
            if kind != ColumnKind::Text {
                errors.push(format!(
                    "a template needs a text column, but \"{column}\" is {}",
                    col.sql_type
                ));
            }
            match compile_template(raw.template.as_deref().unwrap_or(""), &resolve) {
                Ok(parts) => Some(Source::Template(parts)),
                Err(m) => {
                    errors.push(m);
                    None
                }
            }
        }
        (Some(_), Some(_)) => {
            errors
                .push("give either attr (a SCIM attribute) or value (a constant), not both".into());
            None
        }
        (None, None) => {
            errors.push(
                "needs attr = \"<SCIM attribute>\", template = \"…\" or value = <constant>".into(),
            );
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
        (Some(text), None) => match resolve(text) {
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
    if let Some(bit) = raw.flag {
        if attr_ty != Some(AttrType::Boolean) {
            errors.push("flag = … stores a boolean attribute (such as active) as one bit".into());
        }
        if kind != ColumnKind::Int {
            errors.push(format!(
                "flag = … needs an integer column, but \"{column}\" is {}",
                col.sql_type
            ));
        }
        if bit <= 0 || bit.count_ones() != 1 {
            errors.push(format!(
                "flag = {bit} is not a single bit; use 1, 2, 4, 8, …"
            ));
        }
        if raw.map.is_some() {
            errors.push("give flag or map, not both".into());
        }
    }
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
    if let (Some(ty), None, None) = (attr_ty, &map, raw.flag) {
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
            (Some(a), 1) => match resolve(a) {
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
        at: 0,
        lookup: None,
        flag: raw.flag,
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

fn compile_lookup(
    problems: &mut Problems,
    key: &str,
    rule: &Rule,
    l: &super::model::LookupSection,
    tables: &HashMap<String, HostTable>,
) -> Option<Lookup> {
    let Some(t) = tables.get(&l.table) else {
        let known: Vec<&str> = tables.keys().map(String::as_str).collect();
        problems.error(
            key,
            format!(
                "table \"{}\" does not exist (tables read so far: {})",
                l.table,
                known.join(", ")
            ),
        );
        return None;
    };
    if !matches!(rule.source, Source::Attr(_))
        || rule.attr().is_some_and(|a| a.ty != AttrType::String)
        || rule.map.is_some()
        || rule.flag.is_some()
    {
        problems.error(
            key,
            "a lookup takes a string attribute (attr = \"title\"), without map or flag",
        );
    }
    let lk = key_column(
        problems,
        &format!("{key}.key"),
        t,
        &l.key,
        if l.create
            && t.column(&l.key)
                .is_some_and(|c| !c.generated && c.kind == Some(ColumnKind::Text))
        {
            Some(KeyGenerate::Uuid)
        } else {
            None
        },
    )?;
    if lk.kind != rule.kind {
        problems.error(
            key,
            format!(
                "\"{}\" is {} but the key \"{}.{}\" is {}",
                rule.column,
                rule.kind.as_str(),
                t.name,
                lk.name,
                lk.kind.as_str()
            ),
        );
    }
    let c = need_column(problems, &format!("{key}.column"), t, &l.column)?;
    if c.kind != Some(ColumnKind::Text) {
        problems.error(
            &format!("{key}.column"),
            format!("\"{}\" is {}, but lookups compare text", c.name, c.sql_type),
        );
    }
    if l.create {
        let filled = [l.column.as_str()];
        check_not_null(problems, key, t, &[], &filled, &[]);
    }
    let none = match &l.none {
        None => None,
        Some(v) => match HostValue::from_json(rule.kind, &toml_to_json(v)) {
            Some(h) => Some(h),
            None => {
                problems.error(
                    &format!("{key}.none"),
                    format!("{v} cannot be stored in \"{}\"", rule.column),
                );
                return None;
            }
        },
    };
    Some(Lookup {
        table: t.name.clone(),
        key: lk,
        column: c.name.clone(),
        create: l.create,
        none,
    })
}

/// `"{name.givenName} {name.familyName}"` → parts; every `{…}` is a string attribute.
fn compile_template(
    text: &str,
    resolve: &dyn Fn(&str) -> Result<AttrTarget, String>,
) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('{') {
            None => {
                parts.push(TemplatePart::Text(rest.to_string()));
                break;
            }
            Some(open) => {
                if open > 0 {
                    parts.push(TemplatePart::Text(rest[..open].to_string()));
                }
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("template \"{text}\": a {{ is not closed"))?;
                let t = resolve(rest[open + 1..open + close].trim())
                    .map_err(|m| format!("template: {m}"))?;
                if t.ty != AttrType::String {
                    return Err(format!(
                        "template: \"{}\" is not a string attribute",
                        t.text
                    ));
                }
                parts.push(TemplatePart::Attr(t));
                rest = &rest[open + close + 1..];
            }
        }
    }
    if !parts.iter().any(|p| matches!(p, TemplatePart::Attr(_))) {
        return Err(format!("template \"{text}\" names no attribute; write e.g. \"{{name.givenName}} {{name.familyName}}\", or use value = … for a constant"));
    }
    Ok(parts)
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
