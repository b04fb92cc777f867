//! Lookup columns: a key of another table's row holding the value, and the other columns of
//! a row the lookup creates (`set`).

use std::collections::{BTreeMap, HashMap};

use super::problems::{example_value, key_column, need_column, toml_to_json, Problems};
use super::rule::compile_rule;
use crate::mapping::compiled::{KeyColumn, Lookup, Rule, Source};
use crate::mapping::host::{ColumnKind, HostTable};
use crate::mapping::model::{ColumnRule, Direction, KeyGenerate, LookupSection};
use crate::mapping::value::HostValue;
use crate::scim::resource::ResourceType;
use crate::scim::schema::AttrType;

pub(super) fn compile_lookup(
    problems: &mut Problems,
    key: &str,
    rule: &Rule,
    l: &LookupSection,
    (rt, tables): (&ResourceType, &HashMap<String, HostTable>),
) -> Option<Lookup> {
    if let Some(t) = tables.get(&l.table) {
        problems.spelled(&format!("{key}.table"), &t.name, &l.table, &t.name);
    }
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
    let set = match (&l.set, l.create) {
        (Some(raw), true) => compile_set(problems, key, rt, t, raw, (&c.name, &lk)),
        (Some(_), false) => {
            problems.error(&format!("{key}.set"), "set is written into a row the lookup creates, and this lookup creates none: add create = true, or remove set");
            Vec::new()
        }
        (None, _) => Vec::new(),
    };
    if l.create {
        check_new_row_filled(problems, key, t, (&c.name, &lk), &set);
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
        set,
    })
}

/// `set = { name = { attr = "displayName" }, type = "contact", active = true }`: each entry
/// compiled as a column rule of the lookup table — a bare value as `value = …` (a constant,
/// `"now"`, `{ random = N }`), a table holding `attr`, `template` or `value` as written.
/// Checked like a user column (the column exists, its type is writable, the value or the
/// attribute fits), minus what a row written once cannot use: reads, bits, JSON keys, keys.
fn compile_set(
    problems: &mut Problems,
    key: &str,
    rt: &ResourceType,
    t: &HostTable,
    raw: &BTreeMap<String, toml::Value>,
    (column, lk): (&str, &KeyColumn),
) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for (name, v) in raw {
        let k = format!("{key}.set.{name}");
        let is_rule = matches!(v, toml::Value::Table(x) if ["attr", "template", "value"].iter().any(|f| x.contains_key(*f)));
        let table = if is_rule {
            v.clone()
        } else {
            toml::Value::Table([("value".to_string(), v.clone())].into_iter().collect())
        };
        let mut r: ColumnRule = match table.try_into() {
            Ok(r) => r,
            Err(e) => {
                problems.error(&k, format!("{}; write a constant (\"contact\", true, \"now\") or a rule such as {{ attr = \"displayName\" }}", e.message()));
                continue;
            }
        };
        if r.lookup.is_some()
            || r.flag.is_some()
            || r.json_path.is_some()
            || r.column.is_some()
            || r.read_default.is_some()
            || r.direction == Direction::FromHost
        {
            problems.error(&k, "a set column is written once, into the new row: use attr, template or value with transform, truncate, default or map; remove lookup, flag, json_path, column, read_default and direction = \"from_host\"");
            continue;
        }
        // Never read back: a template needs no separator to be split at.
        r.direction = Direction::ToHost;
        let rule = match compile_rule(rt, t, name, &r, None) {
            Ok((rule, warnings)) => {
                for w in warnings {
                    problems.warn(&k, w);
                }
                rule
            }
            Err(messages) => {
                for m in messages {
                    problems.error(&k, m);
                }
                continue;
            }
        };
        problems.spelled(&k, &t.name, name, &rule.column);
        let why = if rule.own_key || rule.key_of.is_some() {
            Some("{ own_key } and { key_of } are for the user's rows; write a constant or an attribute".to_string())
        } else if rule.column == column {
            Some(format!("\"{column}\" is the lookup's column: the new row gets the attribute's value there; remove it from set"))
        } else if rule.column == lk.name && (lk.generated || lk.generate.is_some()) {
            Some(format!(
                "\"{}\" is the key, which {} fills; remove it from set",
                lk.name,
                if lk.generated {
                    "the database"
                } else {
                    "the bridge (a fresh uuid)"
                }
            ))
        } else if out.iter().any(|x| x.column == rule.column) {
            Some(format!(
                "\"{}\" is set twice (its names differ only in case); keep one",
                rule.column
            ))
        } else {
            None
        };
        match why {
            Some(m) => problems.error(&k, m),
            None => out.push(rule),
        }
    }
    out
}

/// Every NOT NULL column without a default of a row the lookup creates is filled: by the
/// value (`column`), the key, or `set`. A column `set` fills from an attribute that may be
/// absent is a warning: creating the row then answers 400 naming it.
fn check_new_row_filled(
    problems: &mut Problems,
    key: &str,
    t: &HostTable,
    (column, lk): (&str, &KeyColumn),
    set: &[Rule],
) {
    for c in &t.columns {
        if c.nullable
            || c.has_default
            || c.generated
            || c.name == column
            || (c.name == lk.name && lk.generate.is_some())
        {
            continue;
        }
        let Some(r) = set.iter().find(|r| r.column == c.name) else {
            problems.error(&format!("{key}.set.{}", c.name), format!(
                "column \"{}\" of \"{}\" ({}) is NOT NULL without a default, so a row this lookup creates needs a value for it; add it to the lookup's set, e.g. set = {{ {} = {} }} (or {{ attr = \"…\" }})",
                c.name, t.name, c.sql_type, c.name, example_value(c)));
            continue;
        };
        let Some(a) = r
            .attr()
            .filter(|_| r.default.is_none() && r.default_attr.is_none())
        else {
            continue;
        };
        if !(a.path.urn.is_none() && a.path.attr == "userName") {
            problems.warn(&format!("{key}.set.{}", c.name), format!(
                "column \"{}\" of \"{}\" is NOT NULL without a default: creating a row for a request without \"{}\" will be refused with 400; add a default, e.g. {{ attr = \"{}\", default = {{ attr = \"userName\" }} }}",
                c.name, t.name, a.text, a.text));
        }
    }
}
