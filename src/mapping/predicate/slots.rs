//! Multi-valued attributes in filters: which slots (columns, child rows) hold which values,
//! and value filters (`emails[type eq "work" and value co "@x"]`) over them.

use serde_json::{Map, Value};

use super::translate::{column_target, encoded, not_stored};
use super::*;
use crate::mapping::compile::{Child, Rule, UserMapping};
use crate::mapping::value::HostValue;
use crate::scim::filter::Filter;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrDef, AttrType};
use crate::scim::ScimError;

/// A multi-valued complex attribute a filter names.
#[derive(Clone, Copy)]
pub(super) struct Plural<'a> {
    /// The extension's URN; `None` for the core schema.
    urn: Option<&'a str>,
    pub(super) def: &'a AttrDef,
}

/// A selection (`[type eq "work"]`, or none) and the rules that read it.
pub(super) type Selection<'a> = (Option<&'a (String, String)>, Vec<&'a Rule>);

/// Where one slot of a multi-valued attribute lives (see the module documentation).
pub(super) enum Slot<'a> {
    /// Columns of the user's row (main or joined table): the rules of one selection.
    Columns {
        /// What the mapping says every value of this slot is (`type`, `primary`).
        declared: Map<String, Value>,
        rules: Vec<&'a Rule>,
    },
    /// The rows of child table `index`.
    Rows {
        index: usize,
        child: &'a Child,
        /// What the primary row is, and what the other rows are.
        primary: Map<String, Value>,
        other: Map<String, Value>,
    },
}

impl Child {
    /// Whether one of the table's columns holds the values' `type`.
    pub(crate) fn stores_type(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.reads() && r.attr().is_some_and(|t| t.path.attr == "type"))
    }
}

impl UserMapping {
    /// For a path into a multi-valued complex attribute (`emails`, `emails.value`), its
    /// definition (with the canonical extension URN, `None` for the core schema however it
    /// was written) and the sub-attribute named.
    pub(super) fn plural<'p>(
        &self,
        p: &'p AttrPath,
    ) -> Result<Option<(Plural<'_>, Option<&'p str>)>, ScimError> {
        if p.urn.is_none()
            && (p.attr.eq_ignore_ascii_case("id") || p.attr.eq_ignore_ascii_case("externalId"))
        {
            return Ok(None);
        }
        let resolved = self
            .resource_type
            .resolve(p)
            .map_err(|e| ScimError::invalid_filter(e.detail))?;
        let def = resolved.attr;
        Ok((def.multi && def.ty == AttrType::Complex).then_some((
            Plural {
                urn: resolved.urn,
                def,
            },
            p.sub.as_deref(),
        )))
    }

    /// A value filter on a single-valued complex attribute (`name[givenName eq "Ann"]`): its
    /// comparisons are on the attribute's sub-attributes.
    pub(super) fn value_path(&self, attr: &AttrPath, inner: &Filter) -> Result<Pred, ScimError> {
        Ok(match inner {
            Filter::And(a, b) => {
                Pred::And(vec![self.value_path(attr, a)?, self.value_path(attr, b)?])
            }
            Filter::Or(a, b) => {
                Pred::Or(vec![self.value_path(attr, a)?, self.value_path(attr, b)?])
            }
            Filter::Not(a) => Pred::Not(Box::new(self.value_path(attr, a)?)),
            Filter::Compare(rel, op, v) => self.compare(&attr.with_sub(Some(&rel.attr)), *op, v)?,
            Filter::Present(rel) => {
                Pred::Present(self.target_for(&attr.with_sub(Some(&rel.attr)))?.0)
            }
            Filter::ValuePath(..) => {
                return Err(ScimError::invalid_filter("value filters cannot be nested"))
            }
        })
    }

    /// `attr[inner]` on a multi-valued attribute: some slot holds a value `inner` accepts
    /// (any value when `inner` is `None`).
    pub(super) fn value_path_of(
        &self,
        attr: &AttrPath,
        plural: Plural<'_>,
        inner: Option<&Filter>,
    ) -> Result<Pred, ScimError> {
        let def = plural.def;
        let base = AttrPath {
            urn: plural.urn.map(str::to_string),
            attr: def.name.to_string(),
            sub: None,
        };
        let slots = self.slots(&base, def);
        if slots.is_empty() {
            return Err(ScimError::invalid_filter(format!(
                "filtering on \"{attr}\" is not supported: {} is not stored in a column of the application; {}",
                def.name,
                self.filterable()
            )));
        }
        let mut any = Vec::new();
        for slot in &slots {
            let accepted = match inner {
                Some(f) => self.in_value(&base, def, slot, f)?,
                None => Pred::True,
            };
            any.push(Self::in_slot(&base, def, slot, accepted)?);
        }
        Ok(or(any))
    }

    /// The slots holding `def`'s values, in mapping order.
    pub(super) fn slots(&self, base: &AttrPath, def: &AttrDef) -> Vec<Slot<'_>> {
        let work = work_typed(def);
        if base.urn.is_none() {
            if let Some((index, child)) = self
                .children
                .iter()
                .enumerate()
                .find(|(_, c)| c.attr == def.name)
            {
                let mut primary = Map::new();
                primary.insert("primary".into(), Value::Bool(true));
                if self.child_primary_is_work(child) {
                    primary.insert("type".into(), Value::String("work".into()));
                }
                return vec![Slot::Rows {
                    index,
                    child,
                    primary,
                    other: Map::new(),
                }];
            }
        }
        // The rules of each selection (`None`: the unselected ones), in mapping order.
        let mut slots: Vec<Selection<'_>> = Vec::new();
        for r in self.rules.iter().filter(|r| r.reads()) {
            for t in r.attrs() {
                if t.path.attr != def.name || t.path.urn != base.urn {
                    continue;
                }
                let sel = t.select.as_ref();
                match slots.iter_mut().find(|(s, _)| *s == sel) {
                    Some((_, rules)) => {
                        if !rules.iter().any(|x| std::ptr::eq(*x, r)) {
                            rules.push(r);
                        }
                    }
                    None => slots.push((sel, vec![r])),
                }
            }
        }
        let untyped_is_work = work && self.untyped_is_work(def.name);
        slots
            .into_iter()
            .map(|(sel, rules)| {
                let mut declared = Map::new();
                match sel {
                    Some((field, v)) => {
                        declared.insert(field.clone(), Value::String(v.clone()));
                    }
                    None => {
                        declared.insert("primary".into(), Value::Bool(true));
                        if untyped_is_work {
                            declared.insert("type".into(), Value::String("work".into()));
                        }
                    }
                }
                Slot::Columns { declared, rules }
            })
            .collect()
    }

    /// Whether the value a mapping stores without a selection (`emails.value`) for the
    /// multi-valued attribute `attr` is its work value: its canonical types include `work`,
    /// and no rule selects `[type eq "work"]` (that column is then the work value).
    pub(crate) fn untyped_is_work(&self, attr: &str) -> bool {
        let canonical = self
            .resource_type
            .resolve(&AttrPath::simple(attr))
            .ok()
            .is_some_and(|r| work_typed(r.attr));
        canonical
            && !self.rules.iter().filter(|r| r.reads()).any(|r| {
                r.attrs().iter().any(|t| {
                    t.path.urn.is_none()
                        && t.path.attr == attr
                        && t.select.as_ref().is_some_and(|(f, v)| {
                            f.eq_ignore_ascii_case("type") && v.eq_ignore_ascii_case("work")
                        })
                })
            })
    }

    /// Whether the primary row of child table `c` is the work value: the attribute's
    /// canonical types include `work` and the table stores no `type` column.
    pub(crate) fn child_primary_is_work(&self, c: &Child) -> bool {
        !c.stores_type()
            && self
                .resource_type
                .resolve(&AttrPath::simple(&c.attr))
                .ok()
                .is_some_and(|r| work_typed(r.attr))
    }

    /// A slot holding a value, of which `inner` (the bracketed filter, translated) holds.
    pub(super) fn in_slot(
        base: &AttrPath,
        def: &AttrDef,
        slot: &Slot<'_>,
        inner: Pred,
    ) -> Result<Pred, ScimError> {
        Ok(match slot {
            Slot::Columns { rules, .. } => {
                // A slot with no value is no value at all: reads show nothing for it.
                let exists = Self::exists_in_columns(base, def, rules)?;
                and_exists(exists, inner)
            }
            Slot::Rows { index, child, .. } => {
                let value = &child.rules[child.value_rule];
                let exists = Pred::Present(Target::Child(*index, value.column.clone()));
                match and_exists(exists, inner) {
                    Pred::False => Pred::False,
                    // One comparison on a column is its own EXISTS (the shape simple
                    // `emails.value eq "…"` lookups always had).
                    p @ (Pred::Cmp { .. } | Pred::Present(_)) => p,
                    p => Pred::AnyChild(*index, Box::new(p)),
                }
            }
        })
    }

    /// Whether a slot in the user's row holds a value: its `value` column when it has one,
    /// else any of its columns.
    pub(super) fn exists_in_columns(
        base: &AttrPath,
        def: &AttrDef,
        rules: &[&Rule],
    ) -> Result<Pred, ScimError> {
        let value = rules.iter().find(|r| {
            r.attrs()
                .iter()
                .any(|t| t.path.sub.as_deref() == Some("value"))
        });
        let of = |r: &Rule| -> Result<Pred, ScimError> {
            let sub = r
                .attrs()
                .iter()
                .find(|t| t.path.attr == def.name && t.path.urn == base.urn)
                .and_then(|t| t.path.sub.clone());
            let p = base.with_sub(sub.as_deref());
            Ok(Pred::Present(column_target(&p, r)?))
        };
        match value {
            Some(r) => of(r),
            None => Ok(or(rules.iter().map(|r| of(r)).collect::<Result<_, _>>()?)),
        }
    }

    /// One bracketed filter term on one slot: a stored sub-attribute is a column comparison,
    /// `type` and `primary` (and whatever the slot's selection names) are what the slot
    /// declares.
    pub(super) fn in_value(
        &self,
        base: &AttrPath,
        def: &AttrDef,
        slot: &Slot<'_>,
        f: &Filter,
    ) -> Result<Pred, ScimError> {
        let (rel, leaf) = match f {
            Filter::And(a, b) => {
                return Ok(and(vec![
                    self.in_value(base, def, slot, a)?,
                    self.in_value(base, def, slot, b)?,
                ]))
            }
            Filter::Or(a, b) => {
                return Ok(or(vec![
                    self.in_value(base, def, slot, a)?,
                    self.in_value(base, def, slot, b)?,
                ]))
            }
            Filter::Not(a) => return Ok(not(self.in_value(base, def, slot, a)?)),
            Filter::ValuePath(..) => {
                return Err(ScimError::invalid_filter("value filters cannot be nested"))
            }
            Filter::Present(rel) => (rel, None),
            Filter::Compare(rel, op, v) => (rel, Some((*op, v))),
        };
        let sub = match (&rel.urn, &rel.sub) {
            (None, None) => def.sub_attr(&rel.attr),
            _ => None,
        }
        .ok_or_else(|| {
            ScimError::invalid_filter(format!("\"{rel}\" is not a sub-attribute of {}", def.name))
        })?;
        let full = base.with_sub(Some(sub.name));
        // The leaf with the canonical sub-attribute name, for evaluating declarations.
        let canonical = match leaf {
            None => Filter::Present(AttrPath::simple(sub.name)),
            Some((op, v)) => Filter::Compare(AttrPath::simple(sub.name), op, v.clone()),
        };
        let declares = |m: &Map<String, Value>| -> Result<bool, ScimError> {
            let case_exact =
                |p: &AttrPath| self.resource_type.case_exact(&base.with_sub(Some(&p.attr)));
            canonical
                .matches(&Value::Object(m.clone()), &case_exact)
                .map_err(|e| ScimError::invalid_filter(e.detail))
        };
        let declared_field = sub.name == "type" || sub.name == "primary";
        match slot {
            Slot::Columns { declared, rules } => {
                if declared_field || declared.contains_key(sub.name) {
                    return Ok(if declares(declared)? {
                        Pred::True
                    } else {
                        Pred::False
                    });
                }
                let rule = rules.iter().find(|r| {
                    r.attrs().iter().any(|t| {
                        t.path.attr == def.name
                            && t.path.urn == base.urn
                            && t.path.sub.as_deref() == Some(sub.name)
                    })
                });
                match rule {
                    Some(r) => {
                        let target = column_target(&full, r)?;
                        self.leaf(&full, target, Some(r), &canonical)
                    }
                    None => Err(not_stored(&full)),
                }
            }
            Slot::Rows {
                index,
                child,
                primary,
                other,
            } => {
                let rule = child
                    .rules
                    .iter()
                    .filter(|r| r.reads())
                    .find(|r| r.attr().is_some_and(|t| t.path.attr == sub.name));
                if let Some(r) = rule.filter(|_| sub.name != "primary") {
                    if r.flag.is_some() || r.lookup.is_some() {
                        return Err(encoded(&full, r));
                    }
                    let target = Target::Child(*index, r.column.clone());
                    return self.leaf(&full, target, Some(r), &canonical);
                }
                if !declared_field {
                    return Err(not_stored(&full));
                }
                Ok(match (declares(primary)?, declares(other)?) {
                    (true, true) => Pred::True,
                    (false, false) => Pred::False,
                    (true, false) => Pred::PrimaryRow,
                    (false, true) => Pred::Not(Box::new(Pred::PrimaryRow)),
                })
            }
        }
    }
}

/// Whether `def`'s canonical types include `work` (emails, phoneNumbers, addresses).
pub(super) fn work_typed(def: &AttrDef) -> bool {
    def.sub_attr("type")
        .is_some_and(|t| t.canonical.contains(&"work"))
}

/// `attr pr` / `attr.sub pr` as the bracketed filter `[sub pr]`: `value` when no
/// sub-attribute is named, and for attributes without one (addresses) any value at all.
pub(super) fn present_of(def: &AttrDef, sub: Option<&str>) -> Option<Filter> {
    match sub {
        Some(s) => Some(Filter::Present(AttrPath::simple(s))),
        None if def.sub_attr("value").is_some() => Some(Filter::Present(AttrPath::simple("value"))),
        None => None,
    }
}

/// `inner`, required to be about a value that is there. Left out when `inner` already says
/// so: a comparison with a non-empty operand or a presence test on the same column.
pub(super) fn and_exists(exists: Pred, inner: Pred) -> Pred {
    pub(super) fn implies(p: &Pred, exists: &Pred) -> bool {
        let Pred::Present(want) = exists else {
            return false;
        };
        match p {
            Pred::Present(t) => t == want,
            Pred::Cmp { target, value, .. } => {
                target == want && !matches!(value, HostValue::Text(s) if s.is_empty())
            }
            Pred::And(v) => v.iter().any(|x| implies(x, exists)),
            _ => false,
        }
    }
    match inner {
        Pred::False => Pred::False,
        p if implies(&p, &exists) => p,
        p => and(vec![exists, p]),
    }
}
