//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and `sortBy` / `sortOrder`
//! (§3.4.2.3): which attributes a response carries and in what order lists come.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::path::AttrPath;
use super::resource::ResourceType;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

fn parse_list(v: &str, name: &str) -> Result<Vec<AttrPath>, ScimError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            AttrPath::parse(s)
                .map_err(|e| ScimError::invalid_value(format!("{name}: {}", e.detail)))
        })
        .collect()
}

impl Projection {
    /// # Errors
    /// `invalidValue` for a malformed attribute list.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        Ok(Projection {
            attributes: attributes
                .map(|a| parse_list(a, "attributes"))
                .transpose()?
                .unwrap_or_default(),
            excluded: excluded
                .map(|e| parse_list(e, "excludedAttributes"))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether the top-level attribute `name` (core schema) will be in the response — lets the
    /// store skip loading what nobody asked for, such as a large group's members.
    pub fn wants(&self, name: &str) -> bool {
        let hit = |p: &AttrPath| p.urn.is_none() && p.attr.eq_ignore_ascii_case(name);
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(hit);
        }
        !self.excluded.iter().any(|p| hit(p) && p.sub.is_none())
    }

    /// Applies the projection to a rendered resource. `schemas` and `id` (returned "always")
    /// are kept whatever is asked.
    pub fn apply(&self, rt: &ResourceType, resource: Value) -> Value {
        if self.is_empty() {
            return resource;
        }
        let Value::Object(src) = resource else {
            return resource;
        };
        Value::Object(if self.attributes.is_empty() {
            self.exclude(rt, src)
        } else {
            self.include(rt, &src)
        })
    }

    /// `attributes`: `schemas`, `id` and the attributes asked for, nothing else.
    fn include(&self, rt: &ResourceType, src: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = src.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        for p in &self.attributes {
            if let Some(canon) = canonical(rt, p) {
                include_one(src, &mut out, canon);
            }
        }
        out.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
        out
    }

    /// `excludedAttributes`: everything but the attributes named (never `schemas` or `id`).
    fn exclude(&self, rt: &ResourceType, mut out: Map<String, Value>) -> Map<String, Value> {
        for p in &self.excluded {
            if let Some(canon) = canonical(rt, p) {
                exclude_one(&mut out, canon);
            }
        }
        out
    }
}

/// A path as the resource spells it: the extension's URN (for an extension attribute), the
/// attribute's name (empty for a whole extension) and the sub-attribute's.
type Canon = (Option<String>, String, Option<String>);

/// `p` resolved against the resource type; `None` for an attribute it does not have.
fn canonical(rt: &ResourceType, p: &AttrPath) -> Option<Canon> {
    if let Some(ext) = rt.extension(&p.to_string()) {
        return Some((Some(ext.id.clone()), String::new(), None));
    }
    let r = rt.resolve(p).ok()?;
    Some((
        r.urn.map(str::to_string),
        r.attr.name.to_string(),
        r.sub.map(|s| s.name.to_string()),
    ))
}

/// Copies one requested attribute (or sub-attribute, or whole extension) from `src` to `out`.
fn include_one(src: &Map<String, Value>, out: &mut Map<String, Value>, canon: Canon) {
    let (urn, attr, sub) = canon;
    let (from, to) = match &urn {
        None => (Some(src), out),
        Some(u) => {
            let from = src.get(u).and_then(Value::as_object);
            let to = out
                .entry(u.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(to) = to.as_object_mut() else {
                return;
            };
            if attr.is_empty() {
                if let Some(f) = from {
                    to.extend(f.clone());
                }
                return;
            }
            (from, to)
        }
    };
    let Some(v) = from.and_then(|f| f.get(&attr)) else {
        return;
    };
    match sub {
        None => {
            to.insert(attr, v.clone());
        }
        Some(sub) => {
            let pick = |x: &Value| {
                x.get(&sub)
                    .map(|sv| Value::Object(Map::from_iter([(sub.clone(), sv.clone())])))
            };
            let picked = match v {
                Value::Array(items) => Value::Array(items.iter().filter_map(pick).collect()),
                other => pick(other).unwrap_or(Value::Null),
            };
            merge(to, attr, picked);
        }
    }
}

/// Removes one excluded attribute (or sub-attribute, or whole extension) from `out`.
fn exclude_one(out: &mut Map<String, Value>, canon: Canon) {
    let (urn, attr, sub) = canon;
    if urn.is_none() && (attr == "id" || attr == "schemas") {
        return;
    }
    let container = match &urn {
        None => Some(out),
        Some(u) if attr.is_empty() => {
            out.remove(u);
            return;
        }
        Some(u) => out.get_mut(u).and_then(Value::as_object_mut),
    };
    let Some(c) = container else { return };
    match sub {
        None => {
            c.remove(&attr);
        }
        Some(sub) => match c.get_mut(&attr) {
            Some(Value::Array(items)) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(|o| {
                    o.remove(&sub);
                }),
            Some(Value::Object(o)) => {
                o.remove(&sub);
            }
            _ => {}
        },
    }
}

fn merge(to: &mut Map<String, Value>, attr: String, picked: Value) {
    match (to.get_mut(&attr), picked) {
        (Some(Value::Object(existing)), Value::Object(p)) => existing.extend(p),
        (Some(Value::Array(existing)), Value::Array(p)) => {
            for (e, n) in existing.iter_mut().zip(p) {
                if let (Value::Object(e), Value::Object(n)) = (e, n) {
                    e.extend(n);
                }
            }
        }
        (_, p) if !p.is_null() => {
            to.insert(attr, p);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "7", "userName": "a",
            "name": {"givenName": "A", "familyName": "B"}, "emails": [{"value": "a@x", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"},
            "meta": {"resourceType": "User"}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id() {
        let rt = ResourceType::user(&[]);
        let p = Projection::parse(Some("userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).unwrap();
        let out = p.apply(&rt, user());
        assert_eq!(
            out,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "7", "userName": "a",
            "name": {"givenName": "A"}, "emails": [{"value": "a@x"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}})
        );
        assert!(!p.wants("members"));
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_id() {
        let rt = ResourceType::user(&[]);
        let p = Projection::parse(
            None,
            Some("name,emails.type,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
        )
        .unwrap();
        let out = p.apply(&rt, user());
        assert!(out.get("name").is_none());
        assert_eq!(out["emails"], json!([{"value": "a@x"}]));
        assert_eq!(out["id"], "7");
        assert!(out
            .get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .is_none());
        let g = Projection::parse(None, Some("members")).unwrap();
        assert!(!g.wants("members") && g.wants("displayName"));
        assert!(Projection::default().wants("members"));
    }
}
