//! SCIM filters translated into predicates over host columns — data the store renders as
//! SQL with bound parameters. A filter that cannot be answered exactly in the database is
//! refused with `invalidFilter`; it is never approximated.
//!
//! # Multi-valued attributes: slots
//!
//! A mapping stores the values of a multi-valued attribute (`emails`, `phoneNumbers`,
//! `addresses`, `ims`, `photos`, …) in *slots*, and a filter on the attribute
//! (`emails.value eq "…"`, `emails[type eq "work" and value co "@x"]`, Entra ID's
//! `emails[type eq "work"].value eq "…"`) matches a user when one of its slots holds a value
//! the bracketed filter accepts:
//!
//! - each `attr[type eq "x"].sub` selection in the mapping is a slot holding the value of type
//!   `x` (and nothing says it is the primary one);
//! - the rules without a selection (`emails.value`, `addresses.locality`) are one slot holding
//!   **the primary value**. When the attribute's canonical types include `work` (emails, phone
//!   numbers, addresses) and no rule selects `[type eq "work"]`, that value *is* the work
//!   value: Okta, Entra ID and OneLogin send the primary address as `type: "work"`, and a
//!   single email column is what they match users by. So on the demo mapping
//!   `emails[type eq "work"]`, `emails[primary eq true]` and `emails` all mean the `email`
//!   column, and `emails[type eq "home"]` matches nothing;
//! - a child table is a slot of many rows: its primary row (the flagged row, the row the
//!   pointer names, else the lowest key — as reads mark it) is again the work value when the
//!   table stores no `type` column; other rows have no type (a `type` column, when mapped, is
//!   compared like any other).
//!
//! A slot's `type` and `primary` come from this declaration, not from the host (which holds
//! no type), and reads (see [`UserMapping::to_resource`]) show the same declaration: the
//! primary slot's value as `{"value": …, "type": "work", "primary": true}`. So a filter
//! matches a user exactly when it matches the user's view — with one kind of exception, which
//! the database cannot see: what the identity provider itself sent and the bridge only keeps
//! in its record (a type other than the declared one for a stored address, shown so the
//! provider sees no drift; a primary flag on a typed value; values with no column). A type no
//! slot declares matches nothing — an empty list, never a 400 — while a sub-attribute no slot
//! stores (`emails.display`) and an attribute stored nowhere are refused as before.

use serde_json::{Map, Value};

use super::compile::{Child, Rule, Source, UserMapping};
use super::host::ColumnKind;
use super::transform::Transform;
use super::value::HostValue;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrDef, AttrType};
use crate::scim::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A column of the main table (name as in the mapping, checked against the live schema).
    Column(String),
    /// A column of joined table `n` (`joined[n]`).
    Joined(usize, String),
    /// A column of child table `n`: on its own, true when any of the user's rows matches;
    /// inside [`Pred::AnyChild`], the column of that one row.
    Child(usize, String),
    /// The key column.
    Key,
    /// `externalId`, kept in the bridge's link table.
    ExternalId,
    /// Groups: a member's id (`members.value`), in the membership table.
    Member,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    True,
    False,
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// NULL never matches (SCIM: an absent attribute equals nothing).
    Cmp {
        target: Target,
        op: CompareOp,
        value: HostValue,
        fold_case: bool,
    },
    Present(Target),
    /// A row of another table refers to the user: `table.parent` holds the user's key and
    /// the row meets `conditions`.
    Exists {
        table: String,
        parent: String,
        conditions: Vec<(String, HostValue)>,
    },
    /// Some row of child table `n` satisfies the inner predicate, whose
    /// [`Target::Child`]`(n, _)` leaves and [`Pred::PrimaryRow`] all test that one row:
    /// `emails[type eq "work" and value co "@x"]` needs one address to be both.
    AnyChild(usize, Box<Pred>),
    /// Only inside [`Pred::AnyChild`]: the row is the user's primary value, as reads mark it
    /// (the flagged row, else the row the pointer names, else the lowest key).
    PrimaryRow,
}

impl Pred {
    /// `column = one of values` for every condition (or none of them, negated).
    pub fn conditions(conds: &[crate::mapping::compiled::Condition]) -> Option<Pred> {
        let mut parts: Vec<Pred> = conds
            .iter()
            .map(|c| {
                let any = Pred::Or(
                    c.values
                        .iter()
                        .map(|v| Pred::Cmp {
                            target: Target::Column(c.column.clone()),
                            op: CompareOp::Eq,
                            value: v.clone(),
                            fold_case: false,
                        })
                        .collect(),
                );
                if c.negate {
                    Pred::Not(Box::new(any))
                } else {
                    any
                }
            })
            .collect();
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Pred::And(parts)),
        }
    }
}

/// A multi-valued complex attribute a filter names.
#[derive(Clone, Copy)]
struct Plural<'a> {
    /// The extension's URN; `None` for the core schema.
    urn: Option<&'a str>,
    def: &'a AttrDef,
}

/// A selection (`[type eq "work"]`, or none) and the rules that read it.
type Selection<'a> = (Option<&'a (String, String)>, Vec<&'a Rule>);

/// Where one slot of a multi-valued attribute lives (see the module documentation).
enum Slot<'a> {
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

/// `p and q`, constants folded.
fn and(parts: Vec<Pred>) -> Pred {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Pred::True => {}
            Pred::False => return Pred::False,
            Pred::And(v) => out.extend(v),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pred::True,
        1 => out.pop().unwrap_or(Pred::True),
        _ => Pred::And(out),
    }
}

/// `p or q`, constants folded.
fn or(parts: Vec<Pred>) -> Pred {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Pred::False => {}
            Pred::True => return Pred::True,
            Pred::Or(v) => out.extend(v),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pred::False,
        1 => out.pop().unwrap_or(Pred::False),
        _ => Pred::Or(out),
    }
}

fn not(p: Pred) -> Pred {
    match p {
        Pred::True => Pred::False,
        Pred::False => Pred::True,
        p => Pred::Not(Box::new(p)),
    }
}

impl UserMapping {
    /// Translates a filter into a host predicate.
    ///
    /// # Errors
    /// `invalidFilter` naming the attribute when it is not stored in a host column or the
    /// comparison cannot be expressed exactly.
    pub fn predicate(&self, f: &Filter) -> Result<Pred, ScimError> {
        Ok(match f {
            Filter::And(a, b) => Pred::And(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Or(a, b) => Pred::Or(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Not(a) => Pred::Not(Box::new(self.predicate(a)?)),
            Filter::Present(p) => match self.plural(p)? {
                // `emails pr`, `emails.value pr`: some value is there.
                Some((pl, sub)) => self.value_path_of(p, pl, present_of(pl.def, sub).as_ref())?,
                None => Pred::Present(self.target_for(p)?.0),
            },
            Filter::Compare(p, op, v) => match (self.plural(p)?, op, v) {
                // `emails.value eq null`: no value at all, not "a value without one".
                (Some((pl, sub)), CompareOp::Eq | CompareOp::Ne, CompValue::Null) => {
                    let some = self.value_path_of(p, pl, present_of(pl.def, sub).as_ref())?;
                    if *op == CompareOp::Eq {
                        not(some)
                    } else {
                        some
                    }
                }
                (Some((pl, sub)), _, _) => {
                    let rel = AttrPath::simple(sub.unwrap_or("value"));
                    self.value_path_of(p, pl, Some(&Filter::Compare(rel, *op, v.clone())))?
                }
                (None, _, _) => self.compare(p, *op, v)?,
            },
            Filter::ValuePath(attr, inner) => match self.plural(attr)? {
                Some((pl, None)) => self.value_path_of(attr, pl, Some(inner))?,
                _ => self.value_path(attr, inner)?,
            },
        })
    }

    /// For a path into a multi-valued complex attribute (`emails`, `emails.value`), its
    /// definition (with the canonical extension URN, `None` for the core schema however it
    /// was written) and the sub-attribute named.
    fn plural<'p>(
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
    fn value_path(&self, attr: &AttrPath, inner: &Filter) -> Result<Pred, ScimError> {
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
    fn value_path_of(
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
            any.push(self.in_slot(&base, def, slot, accepted)?);
        }
        Ok(or(any))
    }

    /// The slots holding `def`'s values, in mapping order.
    fn slots(&self, base: &AttrPath, def: &AttrDef) -> Vec<Slot<'_>> {
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
    fn in_slot(
        &self,
        base: &AttrPath,
        def: &AttrDef,
        slot: &Slot<'_>,
        inner: Pred,
    ) -> Result<Pred, ScimError> {
        Ok(match slot {
            Slot::Columns { rules, .. } => {
                // A slot with no value is no value at all: reads show nothing for it.
                let exists = self.exists_in_columns(base, def, rules)?;
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
    fn exists_in_columns(
        &self,
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
    fn in_value(
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
            Filter::Present(rel) | Filter::Compare(rel, ..) => (rel, f),
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
            Filter::Present(_) => Filter::Present(AttrPath::simple(sub.name)),
            Filter::Compare(_, op, v) => {
                Filter::Compare(AttrPath::simple(sub.name), *op, v.clone())
            }
            _ => unreachable!("only leaves reach here"),
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

    /// A comparison or presence test on a column target.
    fn leaf(
        &self,
        p: &AttrPath,
        target: Target,
        rule: Option<&Rule>,
        f: &Filter,
    ) -> Result<Pred, ScimError> {
        match f {
            Filter::Present(_) => Ok(Pred::Present(target)),
            Filter::Compare(_, op, v) => self.compare_target(p, target, rule, *op, v),
            _ => Err(ScimError::invalid_filter(format!(
                "filtering on \"{p}\" is not supported"
            ))),
        }
    }

    /// What the error for an unstored attribute lists as filterable.
    fn filterable(&self) -> String {
        let mapped: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.reads() && r.flag.is_none() && r.lookup.is_none())
            .filter_map(|r| r.attr().map(|t| t.text.as_str()))
            .collect();
        format!(
            "filterable attributes are id, externalId, {}",
            mapped.join(", ")
        )
    }

    fn target_for(&self, p: &AttrPath) -> Result<(Target, Option<&Rule>), ScimError> {
        if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("id") {
            return Ok((Target::Key, None));
        }
        if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("externalId") {
            return Ok((Target::ExternalId, None));
        }
        let resolved = self
            .resource_type
            .resolve(p)
            .map_err(|e| ScimError::invalid_filter(e.detail))?;
        let canon_attr = resolved.attr.name;
        let canon_sub = resolved.sub.map(|s| s.name);
        let urn = resolved.urn;
        let rule = self.rules.iter().filter(|r| r.reads()).find(|r| {
            r.attrs().iter().any(|t| {
                t.path.attr == canon_attr
                    && t.path.sub.as_deref() == canon_sub
                    && t.path.urn.as_deref() == urn
            })
        });
        match rule {
            Some(r) => Ok((column_target(p, r)?, Some(r))),
            None => Err(ScimError::invalid_filter(format!(
                "filtering on \"{p}\" is not supported: it is not stored in a column of the application; {}",
                self.filterable()
            ))),
        }
    }

    fn compare(&self, p: &AttrPath, op: CompareOp, v: &CompValue) -> Result<Pred, ScimError> {
        let (target, rule) = self.target_for(p)?;
        self.compare_target(p, target, rule, op, v)
    }

    fn compare_target(
        &self,
        p: &AttrPath,
        target: Target,
        rule: Option<&Rule>,
        op: CompareOp,
        v: &CompValue,
    ) -> Result<Pred, ScimError> {
        if *v == CompValue::Null {
            return match op {
                CompareOp::Eq => Ok(Pred::Not(Box::new(Pred::Present(target)))),
                CompareOp::Ne => Ok(Pred::Present(target)),
                _ => Err(ScimError::invalid_filter(format!(
                    "\"{p}\": null can only be compared with eq or ne"
                ))),
            };
        }
        let json = match v {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::Num(n) => Value::Number(n.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Null => Value::Null,
        };
        match target {
            Target::Member => Err(ScimError::invalid_filter("users have no members")),
            Target::Key => self.compare_key(op, json),
            Target::ExternalId => compare_external_id(op, json),
            Target::Column(_) | Target::Joined(..) | Target::Child(..) => {
                compare_column(p, target, rule, op, json)
            }
        }
    }

    /// `id`: typed like the key column; a non-integer never equals an integer key.
    fn compare_key(&self, op: CompareOp, json: Value) -> Result<Pred, ScimError> {
        let text = match &json {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
            && self.key.kind != ColumnKind::Text
        {
            return Err(ScimError::invalid_filter(format!(
                "\"id\" is numeric here: use eq, ne, gt, ge, lt or le, not {}",
                op.as_str()
            )));
        }
        let value = match self.key.kind {
            ColumnKind::Int => match text.trim().parse::<i64>() {
                Ok(n) => HostValue::Int(n),
                // No id of this form exists: eq matches nothing, ne everything.
                Err(_) if op == CompareOp::Eq => return Ok(Pred::False),
                Err(_) if op == CompareOp::Ne => return Ok(Pred::True),
                Err(_) => {
                    return Err(ScimError::invalid_filter(format!(
                        "\"id\" values are integers here, not {text:?}"
                    )))
                }
            },
            _ => HostValue::Text(text),
        };
        Ok(Pred::Cmp {
            target: Target::Key,
            op,
            value,
            fold_case: false,
        })
    }
}

/// Whether `def`'s canonical types include `work` (emails, phoneNumbers, addresses).
fn work_typed(def: &AttrDef) -> bool {
    def.sub_attr("type")
        .is_some_and(|t| t.canonical.contains(&"work"))
}

/// `attr pr` / `attr.sub pr` as the bracketed filter `[sub pr]`: `value` when no
/// sub-attribute is named, and for attributes without one (addresses) any value at all.
fn present_of(def: &AttrDef, sub: Option<&str>) -> Option<Filter> {
    match sub {
        Some(s) => Some(Filter::Present(AttrPath::simple(s))),
        None if def.sub_attr("value").is_some() => Some(Filter::Present(AttrPath::simple("value"))),
        None => None,
    }
}

/// `inner`, required to be about a value that is there. Left out when `inner` already says
/// so: a comparison with a non-empty operand or a presence test on the same column.
fn and_exists(exists: Pred, inner: Pred) -> Pred {
    fn implies(p: &Pred, exists: &Pred) -> bool {
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

/// The target of a rule's column; refused when the column holds the value encoded.
fn column_target(p: &AttrPath, r: &Rule) -> Result<Target, ScimError> {
    if r.flag.is_some() || r.lookup.is_some() || matches!(r.source, Source::Template(_)) {
        return Err(encoded(p, r));
    }
    Ok(if r.at == 0 {
        Target::Column(r.column.clone())
    } else {
        Target::Joined(r.at - 1, r.column.clone())
    })
}

fn encoded(p: &AttrPath, r: &Rule) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on \"{p}\" is not supported: the application stores it encoded (combined with other data, as one bit, or as a key of another table) in column \"{}\"",
        r.column
    ))
}

fn not_stored(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on \"{p}\" is not supported: \"{}\" of {} is not stored by the application",
        p.sub.as_deref().unwrap_or("value"),
        p.attr
    ))
}

/// `externalId`, kept in the bridge's link table.
fn compare_external_id(op: CompareOp, json: Value) -> Result<Pred, ScimError> {
    let Value::String(s) = json else {
        return Err(ScimError::invalid_filter(
            "\"externalId\" is a string: compare it with a quoted value",
        ));
    };
    Ok(Pred::Cmp {
        target: Target::ExternalId,
        op,
        value: HostValue::Text(s),
        fold_case: false,
    })
}

/// A mapped column: the operand goes through the rule's encodings, as a write would store it.
fn compare_column(
    p: &AttrPath,
    target: Target,
    rule: Option<&Rule>,
    op: CompareOp,
    json: Value,
) -> Result<Pred, ScimError> {
    // target_for returns a rule with an attribute for every column target.
    let Some((r, t)) = rule.and_then(|r| r.attr().map(|t| (r, t))) else {
        return Err(ScimError::invalid_filter(format!(
            "filtering on \"{p}\" is not supported"
        )));
    };
    if r.map.is_some() || r.transforms.contains(&Transform::Not) {
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err(ScimError::invalid_filter(format!(
                "\"{p}\" is stored as a coded value: only eq, ne and pr apply"
            )));
        }
        let value = r
            .to_host(Some(&json))
            .map_err(|e| ScimError::invalid_filter(e.detail))?;
        return Ok(Pred::Cmp {
            target,
            op,
            value,
            fold_case: false,
        });
    }
    if t.ty == crate::scim::schema::AttrType::Boolean && op.is_ordering() {
        return Err(ScimError::invalid_filter(format!(
            "\"{p}\" is a boolean: only eq, ne and pr apply"
        )));
    }
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if substring && r.kind != ColumnKind::Text {
        return Err(ScimError::invalid_filter(format!(
            "\"{p}\": {} applies to strings only",
            op.as_str()
        )));
    }
    let value = if substring {
        // Substring operands keep their spaces; only case transforms apply.
        let mut v = json.clone();
        for tr in r
            .transforms
            .iter()
            .filter(|t| matches!(t, Transform::Lowercase | Transform::Uppercase))
        {
            v = tr.apply(v).map_err(ScimError::invalid_filter)?;
        }
        HostValue::from_json(r.kind, &v)
    } else {
        let mut v = json.clone();
        for tr in &r.transforms {
            v = tr.apply(v).map_err(ScimError::invalid_filter)?;
        }
        HostValue::from_json(r.kind, &v)
    };
    let Some(value) = value else {
        return Err(ScimError::invalid_filter(format!(
            "{json} is not a valid value for \"{p}\""
        )));
    };
    let fold_case = r.kind == ColumnKind::Text && !t.case_exact;
    Ok(Pred::Cmp {
        target,
        op,
        value,
        fold_case,
    })
}

#[cfg(test)]
pub(crate) mod value_paths;

#[cfg(test)]
mod tests {
    use super::super::convert::tests::mapping;
    use super::*;

    fn pred(s: &str) -> Result<Pred, ScimError> {
        mapping().predicate(&Filter::parse(s).unwrap())
    }

    #[test]
    fn okta_and_entra_lookups() {
        assert_eq!(
            pred(r#"userName eq "  Alice@Example.com""#).unwrap(),
            Pred::Cmp {
                target: Target::Column("email".into()),
                op: CompareOp::Eq,
                value: HostValue::Text("alice@example.com".into()),
                fold_case: true
            }
        );
        assert_eq!(
            pred(r#"externalId eq "00u1""#).unwrap(),
            Pred::Cmp {
                target: Target::ExternalId,
                op: CompareOp::Eq,
                value: HostValue::Text("00u1".into()),
                fold_case: false
            }
        );
        assert_eq!(
            pred(r#"id eq "17""#).unwrap(),
            Pred::Cmp {
                target: Target::Key,
                op: CompareOp::Eq,
                value: HostValue::Int(17),
                fold_case: false
            }
        );
        assert_eq!(pred(r#"id eq "not-a-number""#).unwrap(), Pred::False);
    }

    #[test]
    fn coded_values_and_logic() {
        let p =
            pred(r#"active eq false and (name.givenName sw "Al" or name.familyName pr)"#).unwrap();
        let Pred::And(parts) = p else { panic!() };
        assert_eq!(
            parts[0],
            Pred::Cmp {
                target: Target::Column("status".into()),
                op: CompareOp::Eq,
                value: HostValue::Int(2),
                fold_case: false
            }
        );
        assert!(matches!(&parts[1], Pred::Or(v) if v.len() == 2));
        assert!(pred("active gt true").is_err());
    }

    #[test]
    fn unmapped_attributes_are_refused_not_approximated() {
        let e = pred(r#"title eq "Boss""#).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::scim::ScimType::InvalidFilter));
        assert!(
            e.detail.contains("title") && e.detail.contains("userName"),
            "{}",
            e.detail
        );
        assert!(
            pred(r#"emails.value eq "a@b""#).is_err(),
            "this mapping stores no email column"
        );
        assert!(pred(r#"nonsense eq "a""#).is_err());
    }
}
