//! Lookup columns: a key of another table's row holding the value.

use std::collections::HashMap;

use super::problems::{check_not_null, key_column, need_column, toml_to_json, Problems};
use crate::mapping::compiled::{Lookup, Rule, Source};
use crate::mapping::host::{ColumnKind, HostTable};
use crate::mapping::model::KeyGenerate;
use crate::mapping::value::HostValue;
use crate::scim::schema::AttrType;

pub(super) fn compile_lookup(
    problems: &mut Problems,
    key: &str,
    rule: &Rule,
    l: &super::super::model::LookupSection,
    tables: &HashMap<String, HostTable>,
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
    if l.create {
        let filled = [c.name.as_str()];
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
