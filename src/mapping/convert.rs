//! SCIM resource ⇄ host row, both directions, pure.

use chrono::Utc;
use serde_json::{Map, Value};

use super::compile::{AttrTarget, Rule, Source, UserMapping};
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

impl UserMapping {
    /// The host columns and values for writing `resource`.
    ///
    /// On insert, an absent attribute whose column is NOT NULL without a default is refused;
    /// on update it leaves the column as it is (a PUT cannot empty a required column).
    ///
    /// # Errors
    /// `invalidValue` naming the attribute.
    ///
    /// `previous` (PATCH) is the resource before the change: explicitly removing an attribute
    /// whose column needs a value is then refused instead of silently kept.
    pub fn to_row(
        &self,
        resource: &Value,
        mode: WriteMode,
        previous: Option<&Value>,
    ) -> Result<Vec<(String, HostValue)>, ScimError> {
        let mut out: Vec<(String, HostValue)> = Vec::new();
        let now = Utc::now().naive_utc();
        for r in self.rules.iter().filter(|r| r.writes()) {
            if r.on == When::Insert && mode == WriteMode::Update {
                continue;
            }
            let h = match &r.source {
                Source::Const(h) => h.clone(),
                Source::Now => match r.kind {
                    super::host::ColumnKind::Text => {
                        HostValue::Text(now.format("%Y-%m-%d %H:%M:%S").to_string())
                    }
                    _ => HostValue::Timestamp(now),
                },
                Source::Attr(t) => r.to_host(
                    t.get(resource)
                        .or_else(|| r.default_attr.as_ref().and_then(|d| d.get(resource))),
                )?,
            };
            if h.is_null() && !r.nullable {
                let removed = matches!((&r.source, previous), (Source::Attr(t), Some(p)) if t.get(p).is_some());
                if removed && r.default.is_none() {
                    let what = r.attr().map(|t| t.text.clone()).unwrap_or_default();
                    return Err(ScimError::mutability(format!(
                        "\"{what}\" cannot be removed: the application's column \"{}\" requires a value",
                        r.column
                    )));
                }
                if mode == WriteMode::Update || r.has_default {
                    continue;
                }
                let what = r.attr().map(|t| t.text.clone()).unwrap_or_default();
                return Err(ScimError::invalid_value(format!(
                    "\"{what}\" is required: the application's column \"{}\" cannot be empty",
                    r.column
                )));
            }
            out.push((r.column.clone(), h));
        }
        Ok(out)
    }

    /// Builds the SCIM view of a host row. `values` are the host values of
    /// [`UserMapping::read_columns`]; `shadow` is the last resource the IdP sent, if any.
    ///
    /// The host is the truth for mapped attributes. Where a lossy transform (lowercase, trim)
    /// makes the host value differ from what the IdP sent only by that transform, the IdP's
    /// spelling is kept, so the IdP sees no drift and does not loop updates.
    pub fn to_resource(&self, values: &[HostValue], shadow: Option<&Value>) -> Value {
        let rt = &self.resource_type;
        let mut res = shadow
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        let mut done: Vec<&str> = Vec::new();
        for r in self.rules.iter().filter(|r| r.reads()) {
            let Some(t) = r.attr() else { continue };
            if done.contains(&t.text.as_str()) {
                continue; // the first readable rule for an attribute wins
            }
            done.push(&t.text);
            let Some(i) = self.read_columns.iter().position(|c| c == &r.column) else {
                continue;
            };
            let h = &values[i];
            let from_shadow = shadow.and_then(|s| t.get(s)).cloned();
            let keep_shadow = match &from_shadow {
                Some(sv) => r
                    .to_host(Some(sv))
                    .is_ok_and(|hv| hv.loosely_equals(h) || hv == *h),
                None => false,
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
        rt.canonicalize(res)
    }

    pub fn user_name_rule(&self) -> &Rule {
        &self.rules[self.user_name]
    }

    /// The value written for `active = false` (on delete with `on_delete = "deactivate"`).
    pub fn deactivate_row(&self) -> Result<Option<(String, HostValue)>, ScimError> {
        let Some(i) = self.active else {
            return Ok(None);
        };
        let r = &self.rules[i];
        Ok(Some((
            r.column.clone(),
            r.to_host(Some(&Value::Bool(false)))?,
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::compile::{compile, parse_str};
    use super::super::host::{ColumnKind, Dialect, HostColumn, HostIndex, HostTable};
    use super::*;
    use serde_json::json;

    pub(crate) fn col(name: &str, ty: &str, nullable: bool) -> HostColumn {
        HostColumn {
            name: name.into(),
            sql_type: ty.into(),
            kind: ColumnKind::from_sql_type(Dialect::Sqlite, ty),
            nullable,
            has_default: false,
            generated: name == "id",
            primary_key: name == "id",
            max_len: ty
                .strip_prefix("varchar(")
                .and_then(|s| s.trim_end_matches(')').parse().ok()),
            collation: None,
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
            indexes: vec![HostIndex {
                name: "ue".into(),
                leading: "email".into(),
                nocase: true,
                unique: true,
            }],
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
            Some(&table()),
            Dialect::Sqlite,
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
            .unwrap();
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
            .unwrap();
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
            .map(|c| match c.as_str() {
                "email" => HostValue::Text("alice@example.com".into()),
                "firstname" => HostValue::Text("Alice".into()),
                "lastname" => HostValue::Text("Anders-Changed".into()),
                "status" => HostValue::Int(2),
                _ => HostValue::Null(ColumnKind::Text),
            })
            .collect();
        let r = m.to_resource(&vals, Some(&shadow));
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
        let r = m.to_resource(&vals, None);
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
}
