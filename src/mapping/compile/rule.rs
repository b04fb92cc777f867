//! One column rule: its source (attribute, template, constant), encodings (transforms, value
//! map, bit flag) and defaults, checked against the column and the SCIM schema.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::lookup::compile_lookup;
use super::problems::{constant_for, label_of, no_column, now_fits, toml_to_json, Problems};
use crate::mapping::compiled::{Alphabet, AttrTarget, RandomFill, Rule, Source, TemplatePart};
use crate::mapping::host::{ColumnKind, HostColumn, HostTable, Storage};
use crate::mapping::model::{ColumnRule, Direction, When};
use crate::mapping::transform::Transform;
use crate::mapping::value::HostValue;
use crate::scim::patch::PatchPath;
use crate::scim::path::AttrPath;
use crate::scim::resource::ResourceType;
use crate::scim::schema::AttrType;

/// Compiles a `[… .columns]` table of rules; failed columns are returned by name.
#[allow(clippy::too_many_arguments, reason = "one call per section kind")]
pub(super) fn compile_rules(
    problems: &mut Problems,
    prefix: &str,
    rt: &ResourceType,
    table: &HostTable,
    at: usize,
    child_of: Option<&str>,
    raw: &BTreeMap<String, ColumnRule>,
    tables: &HashMap<String, HostTable>,
) -> (Vec<Rule>, Vec<String>) {
    let mut rules: Vec<Rule> = Vec::new();
    let mut failed = Vec::new();
    // The mapping's name for each column mapped so far, by the database's name.
    let mut named: Vec<(String, &str)> = Vec::new();
    for (column, r) in raw {
        let key = format!("{prefix}.columns.{column}");
        let written = r.column.as_deref().unwrap_or(column);
        match compile_rule(rt, table, written, r, child_of) {
            Ok((mut rule, warnings)) => {
                for w in warnings {
                    problems.warn(&key, w);
                }
                problems.spelled(&key, &table.name, written, &rule.column);
                let twin = named.iter().find(|(c, _)| *c == rule.column);
                let shared = twin.map(|(_, other)| {
                    let first = rules.iter().find(|x| x.column == rule.column);
                    (
                        other,
                        first.map_or(Err(String::new()), |f| super::json::may_share(f, &rule)),
                    )
                });
                match shared {
                    Some((_, Err(why))) if !why.is_empty() => {
                        problems.error(&key, why);
                        continue;
                    }
                    Some((other, Err(_))) => {
                        problems.error(&key, format!(
                            "\"{column}\" and \"{other}\" are the same column of \"{}\" (its name is \"{}\", matched ignoring case); map it once, or give each rule a json_path",
                            table.name, rule.column
                        ));
                        continue;
                    }
                    _ => {}
                }
                named.push((rule.column.clone(), column));
                rule.at = at;
                if rule.json.is_some() && (child_of.is_some() || prefix.starts_with("groups")) {
                    problems.error(&format!("{key}.json_path"), "JSON keys are available on user and joined tables; map the child or group column as a whole");
                    failed.push(rule.column.clone());
                    continue;
                }
                if let Some(l) = &r.lookup {
                    let key = format!("{prefix}.columns.{column}.lookup");
                    if child_of.is_some() || prefix.starts_with("groups") {
                        problems.error(&key, "lookups are available on user and joined tables");
                    }
                    rule.lookup = compile_lookup(problems, &key, &rule, l, (rt, tables));
                    if rule.lookup.is_none() {
                        failed.push(column.clone());
                        continue;
                    }
                }
                rules.push(rule);
            }
            Err(messages) => {
                failed.push(
                    table
                        .column(column)
                        .map_or(column.clone(), |c| c.name.clone()),
                );
                for m in messages {
                    problems.error(&key, m);
                }
            }
        }
    }
    (rules, failed)
}

/// The facts about a column a rule is checked against.
struct Column<'a> {
    name: &'a str,
    sql_type: &'a str,
    kind: ColumnKind,
    storage: Storage,
    host: &'a HostColumn,
}

/// One rule, with the warnings it deserves.
pub(super) fn compile_rule(
    rt: &ResourceType,
    table: &HostTable,
    column: &str,
    raw: &ColumnRule,
    child_of: Option<&str>,
) -> Result<(Rule, Vec<String>), Vec<String>> {
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
    let Some(col) = table.column(column) else {
        return Err(vec![no_column(table, column)]);
    };
    let Some(kind) = col.kind else {
        return Err(vec![format!("column \"{}\" has type {}, which the bridge cannot map (text, integer, boolean, date and timestamp columns can be mapped, and enumerated and binary ones holding text)", col.name, col.sql_type)]);
    };
    let attr_ty = raw
        .attr
        .as_deref()
        .and_then(|t| resolve(t).ok())
        .map(|t| t.ty);
    let json = super::json::json_key(col, raw, attr_ty)?;
    // A JSON key holds the attribute's own kind of value; the column is the object's text.
    let (kind, storage) = match &json {
        Some((_, value_kind)) => (*value_kind, Storage::Plain),
        None => (kind, col.storage()),
    };
    let c = Column {
        name: &col.name,
        sql_type: &col.sql_type,
        kind,
        storage,
        host: col,
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let transforms = transforms(raw, &c, &mut errors);
    let source = source(raw, &c, &resolve, &mut errors, &mut warnings);
    let random = matches!(&source, Some(Source::Template(p)) if p.iter().any(|x| matches!(x, TemplatePart::Random(_))));
    let own_key = matches!(&raw.value, Some(toml::Value::Table(t)) if t.contains_key("own_key"));
    let key_of = match &raw.value {
        Some(toml::Value::Table(t)) => t.get("key_of").and_then(toml::Value::as_str),
        _ => None,
    };
    if random || own_key || key_of.is_some() {
        refuse_encodings(raw, &mut errors);
    }
    let attr_ty = match &source {
        Some(Source::Attr(t)) => Some(t.ty),
        _ => None,
    };
    check_flag(raw, &c, attr_ty, &mut errors);
    if transforms.contains(&Transform::Not) && attr_ty != Some(AttrType::Boolean) {
        errors.push("transform \"not\" applies to boolean attributes such as active".into());
    }
    let map = value_map(raw, &c, attr_ty, &mut errors);
    if let (Some(ty), None, None) = (attr_ty, &map, raw.flag) {
        check_type_fits(ty, &c, &mut errors);
    }
    let (default, default_attr) = default(raw, &resolve, &mut errors);
    // A default stored as it is must be a value the column accepts.
    if let (Some(Value::String(d)), None, true) = (&default, &map, transforms.is_empty()) {
        if let Err(m) = label_of(&c.storage, c.name, HostValue::Text(d.clone())) {
            errors.push(format!("default: {m}"));
        }
    }
    let Some(source) = source.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let rule = Rule {
        at: 0,
        lookup: None,
        flag: raw.flag,
        column: col.name.clone(),
        kind,
        // An absent JSON key is the attribute's absence, whatever the column allows.
        nullable: col.nullable || json.is_some(),
        has_default: col.has_default || col.generated || json.is_some(),
        max_len: col.max_len.filter(|_| json.is_none()),
        int_range: col.int_range.filter(|_| json.is_none()),
        json: json.map(|(k, _)| k),
        storage: c.storage,
        source,
        // A secret is made once, when the row is inserted; so is the row's key.
        on: if random || own_key || key_of.is_some() {
            When::Insert
        } else {
            raw.on
        },
        own_key,
        key_of: key_of.map(str::to_string),
        direction: raw.direction,
        transforms,
        default,
        default_attr,
        map,
        read_default: raw.read_default.as_ref().map(toml_to_json),
    };
    Ok((rule, warnings))
}

/// A value the bridge makes (a secret, a row's key) is stored as made: no encoding applies.
fn refuse_encodings(raw: &ColumnRule, errors: &mut Vec<String>) {
    if raw.map.is_some()
        || raw.flag.is_some()
        || raw.transform.is_some()
        || raw.truncate.is_some()
        || raw.default.is_some()
        || raw.read_default.is_some()
        || raw.lookup.is_some()
    {
        errors.push("value = { random = … }, { own_key = true } or { key_of = \"…\" } is made by the bridge: remove map, flag, transform, truncate, default, read_default and lookup".into());
    }
}

fn transforms(raw: &ColumnRule, c: &Column<'_>, errors: &mut Vec<String>) -> Vec<Transform> {
    let mut out = Vec::new();
    for name in raw
        .transform
        .as_ref()
        .map(super::super::model::OneOrMany::to_vec)
        .unwrap_or_default()
    {
        match Transform::parse(&name) {
            Some(t) => out.push(t),
            None => errors.push(format!(
                "unknown transform \"{name}\"; use one of {}",
                Transform::NAMES
            )),
        }
    }
    if let Some(n) = raw.truncate {
        match truncate_problem(n, c) {
            Some(problem) => errors.push(problem),
            None => out.push(Transform::Truncate(n)),
        }
    }
    out
}

/// Why `truncate = n` does not fit column `c`, if it does not.
fn truncate_problem(n: u32, c: &Column<'_>) -> Option<String> {
    let column = c.name;
    if c.kind != ColumnKind::Text {
        return Some(format!(
            "truncate applies to text columns; \"{column}\" is {}: remove truncate",
            c.sql_type
        ));
    }
    if n == 0 {
        return Some("truncate = 0 would store nothing: give the column's length".into());
    }
    match c.host.max_len {
        Some(max) if n > max => Some(format!(
            "truncate = {n} is longer than \"{column}\" holds ({}): use truncate = {max}",
            c.sql_type
        )),
        _ if c.storage == Storage::Binary => Some(format!(
            "truncate counts characters, but \"{column}\" ({}) counts bytes: remove truncate",
            c.sql_type
        )),
        _ => None,
    }
}

/// Where the column's value comes from: exactly one of `template`, `value` and `attr`.
fn source(
    raw: &ColumnRule,
    c: &Column<'_>,
    resolve: &dyn Fn(&str) -> Result<AttrTarget, String>,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<Source> {
    let (column, kind) = (c.name, c.kind);
    match (&raw.attr, &raw.value) {
        _ if raw.template.is_some() => {
            if raw.attr.is_some() || raw.value.is_some() {
                errors.push("give one of attr, template and value".into());
            }
            if kind != ColumnKind::Text {
                errors.push(format!(
                    "a template needs a text column, but \"{column}\" is {}",
                    c.sql_type
                ));
            }
            match compile_template(raw.template.as_deref().unwrap_or(""), resolve) {
                Ok(parts) => {
                    if raw.direction != Direction::ToHost {
                        if let Some(m) = unsplittable(&parts) {
                            errors.push(m);
                        }
                    }
                    Some(Source::Template(parts))
                }
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
        (None, Some(v)) => constant(raw, c, v, errors, warnings),
        (Some(text), None) => match resolve(text) {
            Ok(t) => Some(Source::Attr(t)),
            Err(m) => {
                errors.push(m);
                None
            }
        },
    }
}

/// `value = …`: a constant, `"now"`, or `{ random = N, alphabet = "…" }`.
fn constant(
    raw: &ColumnRule,
    c: &Column<'_>,
    v: &toml::Value,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Option<Source> {
    if raw.direction == Direction::FromHost {
        errors.push(
            "a constant value cannot be read back (direction = \"from_host\"); remove direction"
                .into(),
        );
    }
    if v.as_str() == Some("now") {
        match now_fits(c.host, c.kind) {
            Ok(w) => warnings.extend(w),
            Err(m) => errors.push(m),
        }
        return Some(Source::Now);
    }
    if let toml::Value::Table(t) = v {
        if t.contains_key("own_key") || t.contains_key("key_of") {
            return key_placeholder(t, c).map_err(|m| errors.push(m)).ok();
        }
        return match random(t, c) {
            Ok(r) => Some(Source::Template(vec![TemplatePart::Random(r)])),
            Err(m) => {
                errors.push(m);
                None
            }
        };
    }
    match constant_for(c.host, c.kind, v) {
        Ok(h) => Some(Source::Const(h)),
        Err(m) => {
            errors.push(format!("value: {m}"));
            None
        }
    }
}

/// `{ own_key = true }`: the column holds its row's own key, written just after the row is
/// inserted (a principal's `object_id`); `{ key_of = "principals" }`: the key of the user's
/// row of that joined table, inserted before. The insert writes a placeholder of the
/// column's type; whether the key is one the bridge learns is checked by the sections.
fn key_placeholder(
    t: &toml::map::Map<String, toml::Value>,
    c: &Column<'_>,
) -> Result<Source, String> {
    let own = t.get("own_key") == Some(&toml::Value::Boolean(true));
    let of = t.get("key_of").is_some_and(toml::Value::is_str);
    if t.len() != 1 || !(own || of) {
        return Err("value: write { own_key = true } (the row's own key) or { key_of = \"principals\" } (the key of the user's row of a joined table), and nothing else in it".into());
    }
    match c.kind {
        ColumnKind::Int => Ok(Source::Const(HostValue::Int(0))),
        ColumnKind::Text => Ok(Source::Const(HostValue::Text(String::new()))),
        _ => Err(format!(
            "value = {{ own_key = … }} or {{ key_of = … }} needs an integer or text column holding a key, but \"{}\" is {}",
            c.name, c.sql_type
        )),
    }
}

/// The least entropy a random fill may have: a login cookie or a token must not be guessed,
/// and a UNIQUE column must not see two rows draw the same value.
const RANDOM_MIN_BITS: f64 = 64.0;

/// [`random`] for column `host` outside a column rule (a deactivation's `set`).
pub(super) fn random_for(
    t: &toml::map::Map<String, toml::Value>,
    host: &HostColumn,
    kind: ColumnKind,
) -> Result<RandomFill, String> {
    let c = Column {
        name: &host.name,
        sql_type: &host.sql_type,
        kind,
        storage: host.storage(),
        host,
    };
    random(t, &c)
}

/// `{ random = N, alphabet = "…" }`: a fresh secret per row, for a text column that holds it.
fn random(t: &toml::map::Map<String, toml::Value>, c: &Column<'_>) -> Result<RandomFill, String> {
    let usage = "write value = { random = 32 } (a fresh secret of 32 characters for each row inserted), optionally with alphabet = \"hex\"";
    if let Some(k) = t.keys().find(|k| *k != "random" && *k != "alphabet") {
        return Err(format!("value: unknown key \"{k}\"; {usage}"));
    }
    let len = match t.get("random") {
        Some(toml::Value::Integer(n)) if (1..=4096).contains(n) => {
            usize::try_from(*n).unwrap_or(4096)
        }
        Some(other) => {
            return Err(format!(
                "value: random = {other} is not a length from 1 to 4096; {usage}"
            ))
        }
        None => {
            return Err(format!(
                "value: a table here makes a random secret; {usage}"
            ))
        }
    };
    let alphabet = match t.get("alphabet") {
        None => Alphabet::Alphanumeric,
        Some(toml::Value::String(a)) => Alphabet::parse(a)
            .ok_or_else(|| format!("value: unknown alphabet \"{a}\"; use {}", Alphabet::NAMES))?,
        Some(other) => {
            return Err(format!(
                "value: alphabet = {other}: use {}",
                Alphabet::NAMES
            ))
        }
    };
    let fill = RandomFill { len, alphabet };
    if c.kind != ColumnKind::Text || c.storage.labels().is_some() {
        return Err(format!(
            "value = {{ random = … }} needs a text column, but \"{}\" is {}",
            c.name, c.sql_type
        ));
    }
    if fill.bits() < RANDOM_MIN_BITS {
        let per = (alphabet.chars().len() as f64).log2();
        let need = (1..=4096u32)
            .find(|n| f64::from(*n) * per >= RANDOM_MIN_BITS)
            .unwrap_or(4096);
        return Err(format!(
            "value: {len} {} characters hold {:.0} bits, too few for a secret that must not be guessed (or drawn twice in a UNIQUE column); use random = {need} or more",
            alphabet.name(),
            fill.bits()
        ));
    }
    if let Some(max) = c.host.max_len.filter(|m| (*m as usize) < len) {
        return Err(format!(
            "value: random = {len}, but \"{}\" holds at most {max} characters",
            c.name
        ));
    }
    Ok(fill)
}

/// Why a template's text cannot be split back into its attributes on reads: two attributes
/// with no literal text between them.
fn unsplittable(parts: &[TemplatePart]) -> Option<String> {
    parts.windows(2).find_map(|w| match w {
        [TemplatePart::Attr(a), TemplatePart::Attr(b)] => Some(format!(
            "template: nothing separates {{{}}} and {{{}}}, so a read cannot tell where one ends; put text between them (a space), or add direction = \"to_host\" so the bridge only writes the column",
            a.text, b.text
        )),
        _ => None,
    })
}

/// `flag = N`: a boolean as one bit of an integer column.
fn check_flag(
    raw: &ColumnRule,
    c: &Column<'_>,
    attr_ty: Option<AttrType>,
    errors: &mut Vec<String>,
) {
    let Some(bit) = raw.flag else { return };
    if attr_ty != Some(AttrType::Boolean) {
        errors.push("flag = … stores a boolean attribute (such as active) as one bit".into());
    }
    if c.kind != ColumnKind::Int {
        errors.push(format!(
            "flag = … needs an integer column, but \"{}\" is {}",
            c.name, c.sql_type
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

/// `map = { scim = host, … }`, keys read as the attribute's type.
fn value_map(
    raw: &ColumnRule,
    c: &Column<'_>,
    attr_ty: Option<AttrType>,
    errors: &mut Vec<String>,
) -> Option<Vec<(Value, HostValue)>> {
    let scim_value = |key: &str| -> Value {
        match attr_ty {
            Some(AttrType::Boolean) => crate::mapping::value::parse_bool(key)
                .map(Value::Bool)
                .unwrap_or(Value::String(key.into())),
            _ => Value::String(key.to_string()),
        }
    };
    raw.map.as_ref().map(|m| {
        m.iter()
            .filter_map(
                |(k, v)| match HostValue::from_json(c.kind, &toml_to_json(v)) {
                    Some(h) => match label_of(&c.storage, c.name, h) {
                        Ok(h) => Some((scim_value(k), h)),
                        Err(m) => {
                            errors.push(format!("map value for {k}: {m}"));
                            None
                        }
                    },
                    None => {
                        errors.push(format!(
                            "map value {v} (for {k}) cannot be stored in \"{}\" ({})",
                            c.name, c.sql_type
                        ));
                        None
                    }
                },
            )
            .collect::<Vec<_>>()
    })
}

/// An attribute stored as it is (no map, no flag) needs a column that can hold its type.
fn check_type_fits(ty: AttrType, c: &Column<'_>, errors: &mut Vec<String>) {
    let fits = match (ty, c.kind) {
        (_, ColumnKind::Text) => true,
        (AttrType::Boolean, ColumnKind::Bool | ColumnKind::Int) => true,
        (AttrType::Integer, ColumnKind::Int) => true,
        (AttrType::DateTime, ColumnKind::Timestamp | ColumnKind::TimestampTz) => true,
        (AttrType::String, ColumnKind::Int) => true, // numeric strings (employee numbers); checked per value
        _ => false,
    };
    if !fits {
        errors.push(format!("a {} attribute cannot be stored in \"{}\" ({}); add a map = {{ … }} from SCIM values to column values", ty.as_str(), c.name, c.sql_type));
    }
}

/// `default = { attr = "…" }` names a fallback attribute; any other value is a constant.
fn default(
    raw: &ColumnRule,
    resolve: &dyn Fn(&str) -> Result<AttrTarget, String>,
    errors: &mut Vec<String>,
) -> (Option<Value>, Option<AttrTarget>) {
    match raw.default.as_ref() {
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
    }
}

/// `"{name.givenName} {name.familyName}"` → parts; every `{…}` is a string attribute.
pub(super) fn compile_template(
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
pub(super) fn attr_target(rt: &ResourceType, text: &str) -> Result<AttrTarget, String> {
    let p = PatchPath::parse(text).map_err(|e| format!("attr = \"{text}\": {}", e.detail))?;
    let r = rt
        .resolve(&p.attr)
        .map_err(|e| format!("attr = \"{text}\": {}", e.detail))?;
    if r.attr.is_read_only()
        || r.sub
            .is_some_and(crate::scim::schema::AttrDef::is_read_only)
    {
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
