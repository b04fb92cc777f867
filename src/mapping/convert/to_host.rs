//! SCIM resource → the row plan a write puts into the host tables.

use chrono::Utc;
use serde_json::Value;

use crate::mapping::compile::{
    Child, Lookup, MatchAt, PrimaryMark, RandomFill, Rule, Source, TemplatePart, UserMapping,
};
use crate::mapping::model::When;
use crate::mapping::value::HostValue;

use super::change::{Change, Gate};
use super::{Assign, ChildItem, Row, RowPlan, WriteMode};
use crate::scim::{Folded, ScimError};

/// A template's text from the resource; `None` when none of its attributes is present.
///
/// Text before the first attribute and after the last is the template's own and is written
/// whenever anything is (`scim:{userName}` is `scim:ann`); text between two attributes
/// separates them and is written only between values that are present (`{name.givenName}
/// {name.familyName}` is `Ann`, not `Ann `). A random part is a fresh secret each time.
pub(super) fn render_template(parts: &[TemplatePart], resource: &Value) -> Option<Value> {
    let is_text = |p: &TemplatePart| matches!(p, TemplatePart::Text(_));
    let first = parts.iter().position(|p| !is_text(p))?;
    let last = parts.iter().rposition(|p| !is_text(p))?;
    let literal = |ps: &[TemplatePart]| -> String {
        ps.iter()
            .filter_map(|p| match p {
                TemplatePart::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    };
    let mut out = literal(&parts[..first]);
    let mut any = false;
    let mut pending = String::new();
    for p in &parts[first..=last] {
        let value = match p {
            TemplatePart::Text(t) => {
                pending.push_str(t);
                continue;
            }
            TemplatePart::Attr(a) => a
                .get(resource)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            TemplatePart::Random(r) => Some(fresh_secret(r)),
        };
        if let Some(v) = value {
            if any {
                out.push_str(&pending);
            }
            out.push_str(&v);
            any = true;
        }
        pending.clear();
    }
    out.push_str(&literal(&parts[last + 1..]));
    any.then(|| Value::String(out))
}

/// A fresh secret: `len` characters drawn uniformly from the alphabet by a cryptographically
/// secure generator seeded from the operating system.
pub fn fresh_secret(r: &RandomFill) -> String {
    use rand::Rng;
    let chars = r.alphabet.chars();
    let mut rng = rand::rng();
    (0..r.len)
        .map(|_| char::from(chars[rng.random_range(0..chars.len())]))
        .collect()
}

impl Rule {
    /// The assignment for this rule from `resource`, or `None` to leave the column alone.
    fn assign(
        &self,
        resource: &Value,
        mode: WriteMode,
        previous: Option<&Value>,
        now: chrono::NaiveDateTime,
    ) -> Result<Option<Assign>, ScimError> {
        let h = match &self.source {
            Source::Const(h) => h.clone(),
            Source::Now => HostValue::now(self.kind, &self.storage, now),
            Source::Template(parts) => {
                let fallback = || {
                    self.default_attr
                        .as_ref()
                        .and_then(|d| d.get(resource))
                        .cloned()
                };
                self.to_host(render_template(parts, resource).or_else(fallback).as_ref())?
            }
            Source::Attr(t) => {
                let v = t
                    .get(resource)
                    .or_else(|| self.default_attr.as_ref().and_then(|d| d.get(resource)));
                if let Some(mask) = self.flag {
                    let mut b = v.cloned().or_else(|| self.default.clone());
                    for tr in &self.transforms {
                        b = b
                            .map(|x| tr.apply(x))
                            .transpose()
                            .map_err(ScimError::invalid_value)?;
                    }
                    return Ok(match b {
                        Some(Value::Bool(on)) => Some(Assign::Bits { mask, on }),
                        None | Some(Value::Null) => None,
                        Some(other) => {
                            return Err(ScimError::invalid_value(format!(
                                "\"{}\" must be a boolean, not {other}",
                                t.text
                            )))
                        }
                    });
                }
                if let Some(l) = &self.lookup {
                    let mut x = v.cloned().or_else(|| self.default.clone());
                    for tr in &self.transforms {
                        x = x
                            .map(|x| tr.apply(x))
                            .transpose()
                            .map_err(ScimError::invalid_value)?;
                    }
                    match (x, &l.none) {
                        (Some(Value::String(s)), _) if !s.trim().is_empty() => {
                            let new_row = l.new_row(resource, now);
                            return Ok(Some(Assign::Lookup { text: s, new_row }));
                        }
                        (_, Some(none)) => return Ok(Some(Assign::Value(none.clone()))),
                        _ => HostValue::Null(self.kind),
                    }
                } else {
                    self.to_host(v)?
                }
            }
        };
        if h.is_null() && !self.nullable {
            let removed = previous.is_some_and(|p| self.attrs().iter().any(|t| t.get(p).is_some()));
            let what = self
                .attrs()
                .first()
                .map(|t| t.text.clone())
                .unwrap_or_default();
            if removed && self.default.is_none() {
                return Err(ScimError::mutability(format!(
                    "\"{what}\" cannot be removed: the application's column \"{}\" requires a value",
                    self.column
                )));
            }
            if mode == WriteMode::Update || self.has_default {
                return Ok(None);
            }
            return Err(ScimError::invalid_value(format!(
                "\"{what}\" is required: the application's column \"{}\" cannot be empty",
                self.column
            )));
        }
        if let Some(j) = &self.json {
            return Ok(Some(Assign::Json {
                key: j.key.clone(),
                value: super::json::key_value(&h),
            }));
        }
        Ok(Some(Assign::Value(h)))
    }
}

impl Lookup {
    /// The `set` columns of a row this lookup would create for `resource`, or why the row
    /// cannot be made (the detail of the 400 it answers when one has to be). A column whose
    /// attribute is absent is left out, so the database's default applies.
    fn new_row(
        &self,
        resource: &Value,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<(String, HostValue)>, String> {
        let mut out = Vec::new();
        for r in &self.set {
            match r.assign(resource, WriteMode::Insert, None, now) {
                Ok(Some(a)) if !a.insert_value().is_null() => {
                    out.push((r.column.clone(), a.insert_value()));
                }
                Ok(_) => {}
                Err(e) => return Err(e.detail),
            }
        }
        Ok(out)
    }
}

/// The assignments `rules` (one table's) make for `resource`: a host group row, membership
/// constants.
///
/// # Errors
/// `invalidValue` naming the attribute.
pub fn row_for(rules: &[Rule], resource: &Value, mode: WriteMode) -> Result<Row, ScimError> {
    let now = Utc::now().naive_utc();
    let mut row = Vec::new();
    for r in rules.iter().filter(|r| r.writes()) {
        if r.on == When::Insert && mode == WriteMode::Update {
            continue;
        }
        if let Some(a) = r.assign(resource, mode, None, now)? {
            row.push((r.column.clone(), a));
        }
    }
    Ok(row)
}

impl Child {
    /// The child rows `resource` asks for (none when the attribute is absent).
    fn items(
        &self,
        resource: &Value,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<ChildItem>, ScimError> {
        let Some(values) = resource.get(&self.attr).and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        let primary_at = values
            .iter()
            .position(|v| v.get("primary") == Some(&Value::Bool(true)))
            .unwrap_or(0);
        let mut out: Vec<ChildItem> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut row = Vec::new();
            let mut insert_only = Vec::new();
            let mut bookkeeping = Vec::new();
            for r in self.rules.iter().filter(|r| r.writes()) {
                if let Some(a) = r.assign(v, WriteMode::Insert, None, now)? {
                    let to = if r.on == When::Insert {
                        &mut insert_only
                    } else if matches!(r.source, Source::Const(_) | Source::Now) {
                        &mut bookkeeping
                    } else {
                        &mut row
                    };
                    to.push((r.column.clone(), a.insert_value()));
                }
            }
            let vr = &self.rules[self.value_rule];
            let Some((_, hv)) = row.iter().find(|(c, _)| c == &vr.column) else {
                continue; // a value without `value` is nothing to store
            };
            let value = match hv.plain() {
                HostValue::Text(s) => Folded::new(s),
                other => Folded::new(&other.display()),
            };
            if out.iter().any(|it| it.value == value) {
                continue; // the same address twice is one row
            }
            if let PrimaryMark::Flag { column, on, off } = &self.primary {
                row.retain(|(c, _)| c != column);
                row.push((
                    column.clone(),
                    if i == primary_at {
                        on.clone()
                    } else {
                        off.clone()
                    },
                ));
            }
            out.push(ChildItem {
                row,
                insert_only,
                bookkeeping,
                primary: i == primary_at,
                value,
            });
        }
        if !out.iter().any(|i| i.primary) {
            if let Some(first) = out.first_mut() {
                first.primary = true;
                if let PrimaryMark::Flag { column, on, .. } = &self.primary {
                    for (c, v) in &mut first.row {
                        if c == column {
                            *v = on.clone();
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

impl UserMapping {
    /// What writing `resource` puts into the host tables.
    ///
    /// On insert every rule writes, and an absent attribute whose column is NOT NULL without
    /// a default is refused. Otherwise ([`Change`]) only the rules whose attributes differ
    /// from the stored view write, so a column nobody changed is never rewritten (not even
    /// through a transform); an absent attribute leaves a NOT NULL column as it is, and a
    /// strict change (PATCH) that explicitly removes one is refused.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute.
    pub fn to_row(&self, resource: &Value, change: Change<'_>) -> Result<RowPlan, ScimError> {
        let now = Utc::now().naive_utc();
        let mode = change.mode();
        let previous = change.previous();
        let mut plan = RowPlan::empty(self.joined.len() + 1);
        let absent = self.absent_joined(resource);
        for (i, r) in self.rules.iter().enumerate().filter(|(_, r)| r.writes()) {
            let identifier = i == self.user_name
                || self
                    .match_columns
                    .iter()
                    .any(|mc| mc.at == MatchAt::Table(r.at) && mc.column == r.column);
            let gate = change.gate(r, resource, identifier);
            if r.at > 0 && absent[r.at - 1] {
                // No value left for a row that exists only with one: deleted, not emptied.
                plan.joined_delete[r.at - 1] |= gate == Gate::Write && mode != WriteMode::Insert;
                continue;
            }
            let to = match gate {
                Gate::Skip => continue,
                Gate::Write => &mut plan.tables[r.at],
                Gate::Bookkeeping => &mut plan.bookkeeping[r.at],
            };
            if let Some(a) = r.assign(resource, mode, previous, now)? {
                to.push((r.column.clone(), a));
            }
        }
        if mode == WriteMode::Insert {
            self.insert_fillers(&mut plan.tables[0]);
        }
        // A joined row missing on update is created with everything an insert would write.
        for (i, _) in self.joined.iter().enumerate() {
            if absent[i] {
                continue;
            }
            let mut row: Row = Vec::new();
            for r in self.rules.iter().filter(|r| r.writes() && r.at == i + 1) {
                if let Ok(Some(a)) = r.assign(resource, WriteMode::Insert, None, now) {
                    row.push((r.column.clone(), a));
                }
            }
            plan.joined_insert[i] = Some(row);
        }
        for c in &self.children {
            plan.children.push(if change.touches_child(c, resource) {
                Some(c.items(resource, now)?)
            } else {
                None
            });
        }
        plan.merge_children = change.merges_children();
        Ok(plan)
    }

    /// Columns a new row needs beyond its rules: the scope's values (so the row is in scope)
    /// and a placeholder for each primary pointer, filled in once the child rows exist.
    fn insert_fillers(&self, main: &mut Row) {
        for c in self.scope.iter().filter(|c| !c.negate) {
            if let [v] = c.values.as_slice() {
                if !main.iter().any(|(x, _)| x == &c.column) {
                    main.push((c.column.clone(), Assign::Value(v.clone())));
                }
            }
        }
        for c in &self.children {
            if let PrimaryMark::Pointer { column, kind } = &c.primary {
                if !main.iter().any(|(x, _)| x == column) {
                    // osTicket's default_email_id.
                    let placeholder = match kind {
                        crate::mapping::host::ColumnKind::Int => HostValue::Int(0),
                        _ => HostValue::Text(String::new()),
                    };
                    main.push((column.clone(), Assign::Value(placeholder)));
                }
            }
        }
    }

    pub fn user_name_rule(&self) -> &Rule {
        &self.rules[self.user_name]
    }

    /// The change written for `active = false` (on delete with `on_delete = "deactivate"`).
    pub fn deactivate_row(&self) -> Result<Option<(usize, String, Assign)>, ScimError> {
        let Some(i) = self.active else {
            return Ok(None);
        };
        let r = &self.rules[i];
        let a = match r.flag {
            Some(mask) => {
                let mut b = Value::Bool(false);
                for t in &r.transforms {
                    b = t.apply(b).map_err(ScimError::invalid_value)?;
                }
                Assign::Bits {
                    mask,
                    on: b == Value::Bool(true),
                }
            }
            None => Assign::Value(r.to_host(Some(&Value::Bool(false)))?),
        };
        Ok(Some((r.at, r.column.clone(), a)))
    }
}
