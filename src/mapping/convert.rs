//! SCIM resource ⇄ host row, both directions, pure.

use chrono::Utc;
use serde_json::{Map, Value};

use super::compile::{AttrTarget, Child, PrimaryMark, Rule, Source, TemplatePart, UserMapping};
use super::model::When;
use super::value::HostValue;
use crate::scim::ScimError;

/// Whether a write inserts a new row or updates an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Insert,
    Update,
}

impl AttrTarget {
    /// The scalar this target reaches in `resource`, if any.
    pub fn get<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let container = match &self.path.urn {
            Some(urn) => resource.get(urn)?,
            None => resource,
        };
        let top = container.get(&self.path.attr)?;
        let holder = if self.multi {
            let items = top.as_array()?;
            self.pick(items).map(|i| &items[i])?
        } else {
            top
        };
        let v = match &self.path.sub {
            Some(sub) => holder.get(sub)?,
            None => holder,
        };
        (!v.is_null()).then_some(v)
    }

    /// Which value of a multi-valued attribute this target means: the one its `select`
    /// filter names, otherwise the primary one, otherwise the first.
    fn pick(&self, items: &[Value]) -> Option<usize> {
        match &self.select {
            Some((field, want)) => items.iter().position(|it| {
                it.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case(want))
            }),
            None => items
                .iter()
                .position(|it| it.get("primary") == Some(&Value::Bool(true)))
                .or(if items.is_empty() { None } else { Some(0) }),
        }
    }

    /// Writes `v` where this target points, creating containers as needed; `Null` removes it.
    pub fn set(&self, resource: &mut Value, v: Value) {
        let Some(root) = resource.as_object_mut() else {
            return;
        };
        let container = match &self.path.urn {
            Some(urn) => {
                let e = root
                    .entry(urn.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                match e.as_object_mut() {
                    Some(m) => m,
                    None => return,
                }
            }
            None => root,
        };
        if self.multi {
            let arr = container
                .entry(self.path.attr.clone())
                .or_insert_with(|| Value::Array(vec![]));
            if !arr.is_array() {
                *arr = Value::Array(vec![]);
            }
            let items = arr.as_array_mut().expect("made an array");
            let sub = self.path.sub.clone().unwrap_or_else(|| "value".into());
            match (self.pick(items), v.is_null()) {
                (Some(i), true) => {
                    if sub == "value" {
                        items.remove(i);
                    } else if let Some(o) = items[i].as_object_mut() {
                        o.remove(&sub);
                    }
                }
                (Some(i), false) => {
                    if let Some(o) = items[i].as_object_mut() {
                        o.insert(sub, v);
                    }
                }
                (None, true) => {}
                (None, false) => {
                    let mut fresh = Map::new();
                    fresh.insert(sub, v);
                    match &self.select {
                        Some((f, want)) => {
                            fresh.insert(f.clone(), Value::String(want.clone()));
                        }
                        None => {
                            fresh.insert("primary".into(), Value::Bool(true));
                        }
                    }
                    items.push(Value::Object(fresh));
                }
            }
            if items.is_empty() {
                container.remove(&self.path.attr);
            }
        } else {
            match &self.path.sub {
                None => {
                    if v.is_null() {
                        container.remove(&self.path.attr);
                    } else {
                        container.insert(self.path.attr.clone(), v);
                    }
                }
                Some(sub) => {
                    let parent = container
                        .entry(self.path.attr.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(o) = parent.as_object_mut() {
                        if v.is_null() {
                            o.remove(sub);
                        } else {
                            o.insert(sub.clone(), v);
                        }
                        if o.is_empty() {
                            container.remove(&self.path.attr);
                        }
                    }
                }
            }
        }
        if let (Some(urn), Some(root)) = (&self.path.urn, resource.as_object_mut()) {
            if root
                .get(urn)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                root.remove(urn);
            }
        }
    }
}

impl Rule {
    /// The host value for a SCIM value (already picked from the resource): default,
    /// transforms, value map, type conversion and length check.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute and column.
    pub fn to_host(&self, scim: Option<&Value>) -> Result<HostValue, ScimError> {
        let target = self.attr().map(|t| t.text.as_str()).unwrap_or("constant");
        let mut v = scim
            .cloned()
            .or_else(|| self.default.clone())
            .unwrap_or(Value::Null);
        for t in &self.transforms {
            v = t
                .apply(v)
                .map_err(|m| ScimError::invalid_value(format!("\"{target}\": {m}")))?;
        }
        if let (Some(map), false) = (&self.map, v.is_null()) {
            let hit = map.iter().find(|(k, _)| json_loose_eq(k, &v));
            return match hit {
                Some((_, h)) => Ok(h.clone()),
                None => Err(ScimError::invalid_value(format!(
                    "\"{target}\" = {v} has no entry in the mapping's value map for column \"{}\" (known: {})",
                    self.column,
                    map.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>().join(", ")
                ))),
            };
        }
        let h = HostValue::from_json(self.kind, &v).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "\"{target}\" = {v} cannot be stored in column \"{}\" ({})",
                self.column,
                self.kind.as_str()
            ))
        })?;
        if let (HostValue::Text(s), Some(max)) = (&h, self.max_len) {
            let n = s.chars().count();
            if n > max as usize {
                return Err(ScimError::invalid_value(format!(
                    "\"{target}\" is {n} characters long; the application's column \"{}\" holds at most {max}",
                    self.column
                )));
            }
        }
        Ok(h)
    }

    /// The SCIM value for a host value: the value map and `not` reversed.
    pub fn from_host(&self, h: &HostValue) -> Value {
        if h.is_null() {
            return Value::Null;
        }
        if self.lookup.is_some() {
            return h.display_text().map_or(Value::Null, Value::String);
        }
        if let (Some(mask), Some(n)) = (self.flag, h.as_int()) {
            let mut v = Value::Bool(n & mask != 0);
            for t in self.transforms.iter().rev() {
                v = t.reverse(v);
            }
            return v;
        }
        let mut v = match &self.map {
            Some(map) => match map.iter().find(|(_, hv)| hv.loosely_equals(h)) {
                Some((k, _)) => k.clone(),
                None => self.read_default.clone().unwrap_or(Value::Null),
            },
            None => h.to_json(),
        };
        for t in self.transforms.iter().rev() {
            v = t.reverse(v);
        }
        // Typed attributes come back typed whatever the column stores.
        match self.attr().map(|t| t.ty) {
            Some(crate::scim::schema::AttrType::Boolean) => match &v {
                Value::Number(n) => Value::Bool(n.as_i64() != Some(0)),
                Value::String(s) => crate::mapping::value::parse_bool(s)
                    .map(Value::Bool)
                    .unwrap_or(v),
                _ => v,
            },
            Some(crate::scim::schema::AttrType::String) => match &v {
                Value::Number(n) => Value::String(n.to_string()),
                _ => v,
            },
            _ => v,
        }
    }
}

fn json_loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Bool(x), Value::String(y)) | (Value::String(y), Value::Bool(x)) => {
            crate::mapping::value::parse_bool(y) == Some(*x)
        }
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            x.to_string() == y.trim()
        }
        _ => a == b,
    }
}

/// What a write does to one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Assign {
    Value(HostValue),
    /// Set or clear bits of an integer column, leaving the others as they are.
    Bits {
        mask: i64,
        on: bool,
    },
    /// The key of the lookup table's row holding this text; the store resolves it.
    Lookup(String),
}

impl Assign {
    /// The value a freshly inserted row gets.
    pub fn insert_value(&self) -> HostValue {
        match self {
            Assign::Value(v) => v.clone(),
            Assign::Bits { mask, on } => HostValue::Int(if *on { *mask } else { 0 }),
            // Resolved by the store before any write; never bound unresolved.
            Assign::Lookup(_) => HostValue::Null(super::host::ColumnKind::Text),
        }
    }
}

pub type Row = Vec<(String, Assign)>;

/// One value of a multi-valued attribute as a child row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildItem {
    /// Columns written on insert and update.
    pub row: Vec<(String, HostValue)>,
    /// Columns written only when the row is inserted (`on = "insert"`).
    pub insert_only: Vec<(String, HostValue)>,
    pub primary: bool,
    /// The `value`, folded, to match it with an existing row.
    pub value: String,
}

/// Everything a write puts into host tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowPlan {
    /// Indexed like [`Rule::at`]: the main row, then each joined table.
    pub tables: Vec<Row>,
    /// Per joined table: the full row to insert when the user has none yet.
    pub joined_insert: Vec<Option<Row>>,
    /// Per child table: the values wanted, or `None` to leave the rows alone.
    pub children: Vec<Option<Vec<ChildItem>>>,
}

impl RowPlan {
    pub fn main(&self) -> &Row {
        &self.tables[0]
    }
    /// Main-row values (tests and previews): bit changes shown as their inserted value.
    pub fn main_values(&self) -> Vec<(String, HostValue)> {
        self.tables[0]
            .iter()
            .map(|(c, a)| (c.clone(), a.insert_value()))
            .collect()
    }
}

/// A template's text from the resource; `None` when none of its attributes is present.
fn render_template(parts: &[TemplatePart], resource: &Value) -> Option<Value> {
    let mut out = String::new();
    let mut any = false;
    let mut pending = String::new();
    for p in parts {
        match p {
            TemplatePart::Text(t) => pending.push_str(t),
            TemplatePart::Attr(a) => {
                if let Some(v) = a
                    .get(resource)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    // A separator only between present values: "Ann" not "Ann ".
                    if any {
                        out.push_str(&pending);
                    }
                    out.push_str(v);
                    any = true;
                }
                pending.clear();
            }
        }
    }
    any.then(|| Value::String(out))
}

/// Splits a host value along a template: the literal between two attributes separates them
/// (the first occurrence); a value without the separator goes to the first attribute.
fn split_template(parts: &[TemplatePart], host: &str) -> Vec<(AttrTarget, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = host;
    let mut i = 0;
    // Leading literal.
    if let Some(TemplatePart::Text(t)) = parts.first() {
        rest = rest.strip_prefix(t.as_str()).unwrap_or(rest);
        i = 1;
    }
    while i < parts.len() {
        let TemplatePart::Attr(a) = &parts[i] else {
            i += 1;
            continue;
        };
        let sep = match parts.get(i + 1) {
            Some(TemplatePart::Text(t)) if i + 2 < parts.len() => Some(t.as_str()),
            Some(TemplatePart::Text(t)) => {
                rest = rest.strip_suffix(t.as_str()).unwrap_or(rest);
                None
            }
            _ => None,
        };
        match sep {
            Some(sep) => match rest.find(sep) {
                Some(pos) => {
                    out.push((a.clone(), Some(rest[..pos].to_string())));
                    rest = &rest[pos + sep.len()..];
                }
                None => {
                    out.push((a.clone(), Some(rest.to_string())));
                    rest = "";
                }
            },
            None => out.push((a.clone(), Some(rest.to_string()))),
        }
        i += if sep.is_some() { 2 } else { 1 };
    }
    for (_, v) in &mut out {
        if v.as_deref().is_some_and(str::is_empty) {
            *v = None;
        }
    }
    out
}

/// A child row as read: its key, the values of [`Child::read_columns`], and whether it is
/// the primary value.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRow {
    pub key: String,
    pub values: Vec<HostValue>,
    pub primary: bool,
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
            Source::Now => match self.kind {
                super::host::ColumnKind::Text => {
                    HostValue::Text(now.format("%Y-%m-%d %H:%M:%S").to_string())
                }
                _ => HostValue::Timestamp(now),
            },
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
                            return Ok(Some(Assign::Lookup(s)))
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
        Ok(Some(Assign::Value(h)))
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
    /// The child rows `resource` asks for; `None` when the write leaves them alone (the
    /// attribute is absent and was not removed).
    fn items(
        &self,
        resource: &Value,
        previous: Option<&Value>,
        mode: WriteMode,
        now: chrono::NaiveDateTime,
    ) -> Result<Option<Vec<ChildItem>>, ScimError> {
        let values = resource.get(&self.attr).and_then(Value::as_array);
        let was_there = previous.and_then(|p| p.get(&self.attr)).is_some();
        let Some(values) = values else {
            return Ok((mode == WriteMode::Insert || was_there).then(Vec::new));
        };
        let primary_at = values
            .iter()
            .position(|v| v.get("primary") == Some(&Value::Bool(true)))
            .unwrap_or(0);
        let mut out: Vec<ChildItem> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut row = Vec::new();
            let mut insert_only = Vec::new();
            for r in self.rules.iter().filter(|r| r.writes()) {
                if let Some(a) = r.assign(v, WriteMode::Insert, None, now)? {
                    let to = if r.on == When::Insert {
                        &mut insert_only
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
            let value = match hv {
                HostValue::Text(s) => s.trim().to_lowercase(),
                other => other.display(),
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
        Ok(Some(out))
    }

    /// The SCIM values of this attribute from its rows, keeping the IdP's spelling where the
    /// host holds the same value.
    fn to_values(&self, rows: &[ChildRow], shadow: Option<&Value>) -> Vec<Value> {
        let shadow_items: Vec<&Value> = shadow
            .and_then(|s| s.get(&self.attr))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for row in rows {
            let mut item = Value::Object(Map::new());
            for r in self.rules.iter().filter(|r| r.reads()) {
                let Some(t) = r.attr() else { continue };
                let Some(i) = self.read_columns.iter().position(|c| c == &r.column) else {
                    continue;
                };
                let h = &row.values[i];
                let from_shadow = shadow_items.iter().find_map(|si| {
                    let sv = t.get(si)?;
                    r.to_host(Some(sv))
                        .ok()
                        .filter(|hv| hv.loosely_equals(h))
                        .map(|_| sv.clone())
                });
                let v = from_shadow.unwrap_or_else(|| r.from_host(h));
                if !v.is_null() && v.as_str() != Some("") {
                    t.set(&mut item, v);
                }
            }
            if item.get("value").is_none() {
                continue;
            }
            if row.primary {
                item["primary"] = Value::Bool(true);
            }
            out.push(item);
        }
        out
    }
}

impl UserMapping {
    /// What writing `resource` puts into the host tables.
    ///
    /// On insert, an absent attribute whose column is NOT NULL without a default is refused;
    /// on update it leaves the column as it is (a PUT cannot empty a required column).
    /// `previous` (PATCH, PUT) is the resource before the change: explicitly removing an
    /// attribute whose column needs a value is then refused instead of silently kept.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute.
    pub fn to_row(
        &self,
        resource: &Value,
        mode: WriteMode,
        previous: Option<&Value>,
    ) -> Result<RowPlan, ScimError> {
        let now = Utc::now().naive_utc();
        let mut plan = RowPlan {
            tables: vec![Vec::new(); self.joined.len() + 1],
            joined_insert: vec![None; self.joined.len()],
            children: Vec::new(),
        };
        for r in self.rules.iter().filter(|r| r.writes()) {
            if r.on == When::Insert && mode == WriteMode::Update {
                continue;
            }
            if let Some(a) = r.assign(resource, mode, previous, now)? {
                plan.tables[r.at].push((r.column.clone(), a));
            }
        }
        if mode == WriteMode::Insert {
            for c in self.scope.iter().filter(|c| !c.negate) {
                if let [v] = c.values.as_slice() {
                    if !plan.tables[0].iter().any(|(x, _)| x == &c.column) {
                        plan.tables[0].push((c.column.clone(), Assign::Value(v.clone())));
                    }
                }
            }
            for c in &self.children {
                if let PrimaryMark::Pointer { column, kind } = &c.primary {
                    if !plan.tables[0].iter().any(|(x, _)| x == column) {
                        // Filled in once the child rows exist (osTicket's default_email_id).
                        let placeholder = match kind {
                            super::host::ColumnKind::Int => HostValue::Int(0),
                            _ => HostValue::Text(String::new()),
                        };
                        plan.tables[0].push((column.clone(), Assign::Value(placeholder)));
                    }
                }
            }
        }
        // A joined row missing on update is created with everything an insert would write.
        for (i, _) in self.joined.iter().enumerate() {
            let mut row: Row = Vec::new();
            for r in self.rules.iter().filter(|r| r.writes() && r.at == i + 1) {
                if let Ok(Some(a)) = r.assign(resource, WriteMode::Insert, None, now) {
                    row.push((r.column.clone(), a));
                }
            }
            plan.joined_insert[i] = Some(row);
        }
        for c in &self.children {
            plan.children.push(c.items(resource, previous, mode, now)?);
        }
        Ok(plan)
    }

    /// Builds the SCIM view of a user. `values` are the host values of
    /// [`UserMapping::read_columns`]; `children` the rows of each child table; `shadow` the
    /// last resource the IdP sent, if any.
    ///
    /// The host is the truth for mapped attributes. Where a lossy transform (lowercase, trim)
    /// makes the host value differ from what the IdP sent only by that transform, the IdP's
    /// spelling is kept, so the IdP sees no drift and does not loop updates.
    pub fn to_resource(
        &self,
        values: &[HostValue],
        children: &[Vec<ChildRow>],
        shadow: Option<&Value>,
    ) -> Value {
        let rt = &self.resource_type;
        let mut res = shadow
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        let mut done: Vec<&str> = Vec::new();
        for r in self.rules.iter().filter(|r| r.reads()) {
            let Some(i) = self
                .read_columns
                .iter()
                .position(|(at, c)| *at == r.at && c == &r.column)
            else {
                continue;
            };
            let h = &values[i];
            if let Source::Template(parts) = &r.source {
                let attrs = r.attrs();
                if attrs.iter().any(|t| done.contains(&t.text.as_str())) {
                    continue;
                }
                done.extend(attrs.iter().map(|t| t.text.as_str()));
                let same = shadow
                    .and_then(|s| render_template(parts, s))
                    .and_then(|v| r.to_host(Some(&v)).ok())
                    .is_some_and(|hv| hv.loosely_equals(h) || hv == *h);
                if same {
                    continue; // the IdP's parts still make this value
                }
                let text = match h {
                    HostValue::Text(s) => s.clone(),
                    _ => String::new(),
                };
                for (t, v) in split_template(parts, &text) {
                    t.set(&mut res, v.map_or(Value::Null, Value::String));
                }
                continue;
            }
            let Some(t) = r.attr() else { continue };
            if done.contains(&t.text.as_str()) {
                continue; // the first readable rule for an attribute wins
            }
            done.push(&t.text);
            let from_shadow = shadow.and_then(|s| t.get(s)).cloned();
            let keep_shadow = match &from_shadow {
                Some(sv) if r.flag.is_none() => r
                    .to_host(Some(sv))
                    .is_ok_and(|hv| hv.loosely_equals(h) || hv == *h),
                _ => false,
            };
            let v = if keep_shadow {
                from_shadow.unwrap_or(Value::Null)
            } else {
                r.from_host(h)
            };
            let v = if v.as_str() == Some("") && t.path.attr != "userName" {
                Value::Null
            } else {
                v
            };
            t.set(&mut res, v);
        }
        if let Some(obj) = res.as_object_mut() {
            for (c, rows) in self.children.iter().zip(children) {
                let vals = c.to_values(rows, shadow);
                if vals.is_empty() {
                    obj.remove(&c.attr);
                } else {
                    obj.insert(c.attr.clone(), Value::Array(vals));
                }
            }
        }
        rt.canonicalize(res)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::super::compile::{compile, parse_str};
    use super::super::host::{ColumnKind, HostColumn, HostTable};
    use super::*;
    use serde_json::json;

    pub(crate) fn col(name: &str, ty: &str, nullable: bool) -> HostColumn {
        HostColumn {
            name: name.into(),
            sql_type: ty.into(),
            kind: test_kind(ty),
            nullable,
            has_default: false,
            generated: name == "id",
            primary_key: name == "id",
            max_len: ty
                .strip_prefix("varchar(")
                .and_then(|s| s.trim_end_matches(')').parse().ok()),
            collation: None,
            ci_index_advice: None,
        }
    }

    /// How SQLite's introspection classifies the declared types these tests use.
    fn test_kind(ty: &str) -> Option<ColumnKind> {
        let t = ty.to_ascii_lowercase();
        if t.contains("int") {
            Some(ColumnKind::Int)
        } else if t.contains("date") || t.contains("time") {
            Some(ColumnKind::Timestamp)
        } else if t.starts_with("bool") {
            Some(ColumnKind::Bool)
        } else {
            Some(ColumnKind::Text)
        }
    }

    pub(crate) fn table() -> HostTable {
        HostTable {
            name: "users".into(),
            columns: vec![
                col("id", "INTEGER", false),
                col("email", "varchar(40)", false),
                col("firstname", "varchar(100)", true),
                col("lastname", "varchar(100)", true),
                col("status", "integer", false),
                col("dept", "text", true),
                col("password", "text", false),
                col("created_at", "datetime", false),
            ],
        }
    }

    const MAPPING: &str = r#"
        [users]
        table = "users"
        key = "id"
        [users.columns]
        email = { attr = "userName", transform = ["trim", "lowercase"] }
        firstname = { attr = "name.givenName" }
        lastname = { attr = "name.familyName" }
        status = { attr = "active", map = { true = 1, false = 2 } }
        dept = { attr = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" }
        password = { value = "!", on = "insert" }
        created_at = { value = "now", on = "insert" }
    "#;

    pub(crate) fn mapping() -> UserMapping {
        let c = compile(
            &parse_str(MAPPING).unwrap(),
            &[("users".to_string(), table())].into_iter().collect(),
            &[],
        );
        assert!(c.problems.iter().all(|p| !p.error), "{:?}", c.problems);
        c.mapping.unwrap()
    }

    fn okta_user() -> Value {
        mapping()
            .resource_type
            .normalize(&json!({"userName": " Alice@Example.COM", "active": true, "password": "x",
                "name": {"givenName": "Alice", "familyName": "Anders"},
                "emails": [{"value": "alice@example.com", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}}))
            .unwrap()
    }

    #[test]
    fn insert_row_has_transforms_maps_and_constants() {
        let row = mapping()
            .to_row(&okta_user(), WriteMode::Insert, None)
            .unwrap()
            .main_values();
        let get = |c: &str| row.iter().find(|(n, _)| n == c).map(|(_, v)| v.clone());
        assert_eq!(
            get("email"),
            Some(HostValue::Text("alice@example.com".into()))
        );
        assert_eq!(get("status"), Some(HostValue::Int(1)));
        assert_eq!(get("dept"), Some(HostValue::Text("Ops".into())));
        assert_eq!(get("password"), Some(HostValue::Text("!".into())));
        assert!(matches!(get("created_at"), Some(HostValue::Timestamp(_))));
        let update = mapping()
            .to_row(&okta_user(), WriteMode::Update, None)
            .unwrap()
            .main_values();
        assert!(update
            .iter()
            .all(|(c, _)| c != "password" && c != "created_at"));
    }

    #[test]
    fn errors_name_attribute_and_column() {
        let m = mapping();
        let mut u = okta_user();
        u["userName"] = json!("x".repeat(41));
        let e = m.to_row(&u, WriteMode::Insert, None).unwrap_err();
        assert!(
            e.detail.contains("at most 40") && e.detail.contains("email"),
            "{}",
            e.detail
        );
        let mut u = okta_user();
        u.as_object_mut().unwrap().remove("active");
        let e = m.to_row(&u, WriteMode::Insert, None).unwrap_err();
        assert!(
            e.detail.contains("active") && e.detail.contains("status"),
            "{}",
            e.detail
        );
        // On update the NOT NULL column is left alone instead.
        assert!(m
            .to_row(&u, WriteMode::Update, None)
            .unwrap()
            .main_values()
            .iter()
            .all(|(c, _)| c != "status"));
        // ...but a PATCH that removes it explicitly is told why it cannot.
        let e = m
            .to_row(&u, WriteMode::Update, Some(&okta_user()))
            .unwrap_err();
        assert!(
            e.detail.contains("cannot be removed") && e.detail.contains("status"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn reads_prefer_idp_spelling_when_equivalent() {
        let m = mapping();
        let shadow = okta_user();
        let vals: Vec<HostValue> = m
            .read_columns
            .iter()
            .map(|(_, c)| match c.as_str() {
                "email" => HostValue::Text("alice@example.com".into()),
                "firstname" => HostValue::Text("Alice".into()),
                "lastname" => HostValue::Text("Anders-Changed".into()),
                "status" => HostValue::Int(2),
                _ => HostValue::Null(ColumnKind::Text),
            })
            .collect();
        let r = m.to_resource(&vals, &[], Some(&shadow));
        assert_eq!(r["userName"], " Alice@Example.COM", "IdP spelling kept");
        assert_eq!(r["name"]["familyName"], "Anders-Changed", "host edits win");
        assert_eq!(r["active"], false);
        assert!(
            r.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                .is_none(),
            "NULL host column clears it"
        );
        assert_eq!(
            r["emails"][0]["value"], "alice@example.com",
            "unmapped attributes round-trip"
        );
        // An untouched row has no shadow: everything comes from the host.
        let r = m.to_resource(&vals, &[], None);
        assert_eq!(r["userName"], "alice@example.com");
        assert_eq!(
            r["schemas"][0],
            "urn:ietf:params:scim:schemas:core:2.0:User"
        );
    }

    #[test]
    fn targets_select_primary_or_typed_values() {
        let m = mapping();
        let rt = &m.resource_type;
        let _ = rt;
        let t = AttrTarget {
            path: crate::scim::path::AttrPath::parse("emails.value").unwrap(),
            ty: crate::scim::schema::AttrType::String,
            case_exact: false,
            multi: true,
            select: Some(("type".into(), "work".into())),
            text: "emails[type eq \"work\"].value".into(),
        };
        let mut r = json!({"emails": [{"value": "h@x", "type": "home", "primary": true}]});
        assert_eq!(t.get(&r), None);
        t.set(&mut r, json!("w@x"));
        assert_eq!(r["emails"][1], json!({"value": "w@x", "type": "work"}));
        assert_eq!(t.get(&r), Some(&json!("w@x")));
        t.set(&mut r, Value::Null);
        assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    }

    /// A three-table layout like osTicket's, for the multi-table constructs.
    fn multi() -> UserMapping {
        let person = HostTable {
            name: "person".into(),
            columns: vec![
                col("id", "INTEGER", false),
                col("name", "varchar(20)", false),
                col("primary_email", "integer", false),
                col("deleted", "integer", true),
            ],
        };
        let account = HostTable {
            name: "account".into(),
            columns: vec![
                col("id", "INTEGER", false),
                col("person_id", "integer", false),
                col("login", "varchar(64)", true),
                col("flags", "integer", true),
            ],
        };
        let email = HostTable {
            name: "email".into(),
            columns: vec![
                col("id", "INTEGER", false),
                col("person_id", "integer", false),
                col("address", "varchar(100)", false),
                col("kind", "integer", true),
                col("origin", "text", true),
            ],
        };
        let tables = [person, account, email]
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let c = compile(
            &parse_str(
                r#"
                [users]
                table = "person"
                key = "id"
                scope = { deleted = { not = 1 } }
                on_delete = "soft_delete"
                soft_delete = { deleted = 1 }
                [users.columns]
                name = { template = "{name.givenName} {name.familyName}", default = { attr = "userName" } }
                [[users.joined]]
                table = "account"
                parent = "person_id"
                columns = { login = { attr = "userName" }, flags = { attr = "active", flag = 4, transform = "not", default = true } }
                [[users.children]]
                table = "email"
                key = "id"
                parent = "person_id"
                attr = "emails"
                primary = { pointer = "primary_email" }
                columns = { address = { attr = "value", transform = "lowercase" }, kind = { attr = "type", map = { work = 1, home = 2 } }, origin = { value = "scim", on = "insert" } }
                "#,
            )
            .unwrap(),
            &tables,
            &[],
        );
        assert!(c.problems.iter().all(|p| !p.error), "{:?}", c.problems);
        c.mapping.unwrap()
    }

    #[test]
    fn multi_table_rows_flags_templates_and_children() {
        let m = multi();
        let u = json!({"userName": "ann", "active": false, "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "A@x", "type": "home"}, {"value": "b@x", "type": "work", "primary": true}, {"value": "a@X"}]});
        let plan = m.to_row(&u, WriteMode::Insert, None).unwrap();
        let main = plan.main_values();
        assert!(main.contains(&("name".into(), HostValue::Text("Ann Lee".into()))));
        assert!(
            main.contains(&("primary_email".into(), HostValue::Int(0))),
            "pointer placeholder until the child rows exist: {main:?}"
        );
        assert!(plan.tables[1].contains(&("flags".into(), Assign::Bits { mask: 4, on: true })));
        let items = plan.children[0].as_ref().unwrap();
        assert_eq!(
            items.len(),
            2,
            "the same address twice is one row: {items:?}"
        );
        assert_eq!(items[0].value, "a@x");
        assert!(!items[0].primary && items[1].primary);
        assert!(items[1].row.contains(&("kind".into(), HostValue::Int(1))));
        assert!(items[1]
            .insert_only
            .contains(&("origin".into(), HostValue::Text("scim".into()))));
        // No name: the template falls back to the userName.
        let plan = m
            .to_row(&json!({"userName": "solo"}), WriteMode::Insert, None)
            .unwrap();
        assert!(plan
            .main_values()
            .contains(&("name".into(), HostValue::Text("solo".into()))));
        // A PATCH that leaves emails alone leaves the rows alone; one that removes them empties.
        let plan = m
            .to_row(
                &json!({"userName": "x"}),
                WriteMode::Update,
                Some(&json!({"userName": "x"})),
            )
            .unwrap();
        assert_eq!(plan.children[0], None);
        let plan = m
            .to_row(
                &json!({"userName": "x"}),
                WriteMode::Update,
                Some(&json!({"userName": "x", "emails": [{"value": "q@x"}]})),
            )
            .unwrap();
        assert_eq!(plan.children[0], Some(vec![]));
    }

    #[test]
    fn multi_table_reads_split_templates_and_mark_primaries() {
        let m = multi();
        let vals: Vec<HostValue> = m
            .read_columns
            .iter()
            .map(|(at, c)| match (*at, c.as_str()) {
                (0, "name") => HostValue::Text("Mary Ann Smith".into()),
                (0, "primary_email") => HostValue::Int(9),
                (1, "login") => HostValue::Text("mary".into()),
                (1, "flags") => HostValue::Int(4 | 1),
                _ => HostValue::Null(ColumnKind::Text),
            })
            .collect();
        let rows = vec![vec![ChildRow {
            key: "9".into(),
            values: vec![HostValue::Text("m@x".into()), HostValue::Int(2)],
            primary: true,
        }]];
        let r = m.to_resource(&vals, &rows, None);
        assert_eq!(r["name"]["givenName"], "Mary");
        assert_eq!(r["name"]["familyName"], "Ann Smith");
        assert_eq!(r["active"], false, "bit 4 set means locked");
        assert_eq!(
            r["emails"],
            json!([{"value": "m@x", "type": "home", "primary": true}])
        );
        // The IdP's split is kept while it still renders the same host value.
        let shadow = json!({"userName": "mary", "name": {"givenName": "Mary Ann", "familyName": "Smith"},
            "emails": [{"value": "M@x", "type": "home"}]});
        let r = m.to_resource(&vals, &rows, Some(&shadow));
        assert_eq!(r["name"]["givenName"], "Mary Ann");
        assert_eq!(
            r["emails"][0]["value"], "M@x",
            "IdP spelling of an equal address"
        );
    }

    #[test]
    fn multi_table_filters_and_refusals() {
        use crate::mapping::predicate::{Pred, Target};
        use crate::scim::filter::Filter;
        let m = multi();
        let p = m
            .predicate(&Filter::parse(r#"emails.value eq "A@x""#).unwrap())
            .unwrap();
        assert!(
            matches!(&p, Pred::Cmp { target: Target::Child(0, c), value: HostValue::Text(v), .. } if c == "address" && v == "a@x"),
            "{p:?}"
        );
        let p = m
            .predicate(&Filter::parse(r#"userName eq "mary""#).unwrap())
            .unwrap();
        assert!(matches!(&p, Pred::Cmp { target: Target::Joined(0, c), .. } if c == "login"));
        for f in [r#"active eq true"#, r#"name.givenName eq "Ann""#] {
            let e = m.predicate(&Filter::parse(f).unwrap()).unwrap_err();
            assert!(e.detail.contains("encoded"), "{f}: {}", e.detail);
        }
        assert_eq!(m.scope.len(), 1);
        assert!(m.scope[0].negate);
    }

    #[test]
    fn compile_refuses_constructs_that_cannot_work() {
        let bad = [
            (r#"status = { attr = "active", flag = 3 }"#, "single bit"),
            (r#"email = { attr = "userName", flag = 2 }"#, "boolean"),
            (
                r#"status = { template = "{name.givenName}" }"#,
                "text column",
            ),
            (r#"email = { template = "plain" }"#, "names no attribute"),
        ];
        for (rule, want) in bad {
            let text = format!(
                "[users]\ntable = \"users\"\nkey = \"id\"\non_delete = \"ignore\"\n[users.columns]\n{rule}\n"
            );
            let c = compile(
                &parse_str(&text).unwrap(),
                &[("users".to_string(), table())].into_iter().collect(),
                &[],
            );
            assert!(
                c.problems
                    .iter()
                    .any(|p| p.error && p.message.contains(want)),
                "{rule}: {:?}",
                c.problems
            );
        }
    }
}
