//! Resource types and the normalisation of incoming resource JSON.
//!
//! Clients spell attribute names in any case (Microsoft's suites send `UserName`), send
//! booleans as strings (`"False"`), single objects where arrays belong, and echo read-only
//! attributes back (Okta's PUT carries `id`, `meta`, `groups`). Normalising once, against the
//! schema table, lets every later step work on one canonical shape.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::path::AttrPath;
use super::schema::{self, AttrDef, AttrType, Mutability, SchemaDef};

/// A resource type the bridge serves (RFC 7643 §6), with its schema and extensions.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: SchemaDef,
    pub extensions: Vec<SchemaDef>,
    /// URNs accepted in `schemas` and otherwise ignored.
    pub tolerated: &'static [&'static str],
}

/// Where an attribute path leads, resolved against a resource type.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The extension URN, or `None` for the core schema.
    pub urn: Option<&'a str>,
    pub attr: &'a AttrDef,
    pub sub: Option<&'a AttrDef>,
}

impl ResourceType {
    /// The User resource type with the enterprise extension and any custom extensions the
    /// mapping declares (`urn → attribute names`).
    pub fn user(custom: &[(String, Vec<String>)]) -> Self {
        let mut extensions = vec![SchemaDef {
            id: schema::ENTERPRISE_USER_SCHEMA.to_string(),
            name: "EnterpriseUser".to_string(),
            description: "Enterprise User".to_string(),
            attrs: schema::ENTERPRISE_USER_ATTRS.to_vec(),
        }];
        for (urn, attrs) in custom {
            if urn.eq_ignore_ascii_case(schema::ENTERPRISE_USER_SCHEMA) {
                continue;
            }
            extensions.push(SchemaDef {
                id: urn.clone(),
                name: urn.rsplit(':').next().unwrap_or(urn).to_string(),
                description: "Custom extension declared by the active mapping".to_string(),
                attrs: attrs
                    .iter()
                    .map(|a| schema::custom_string_attr(a))
                    .collect(),
            });
        }
        ResourceType {
            name: "User",
            endpoint: "/Users",
            description: "User Account",
            schema: SchemaDef {
                id: schema::USER_SCHEMA.to_string(),
                name: "User".to_string(),
                description: "User Account".to_string(),
                attrs: schema::USER_ATTRS.to_vec(),
            },
            extensions,
            tolerated: &[],
        }
    }

    /// The Group resource type.
    pub fn group() -> Self {
        ResourceType {
            name: "Group",
            endpoint: "/Groups",
            description: "Group",
            schema: SchemaDef {
                id: schema::GROUP_SCHEMA.to_string(),
                name: "Group".to_string(),
                description: "Group".to_string(),
                attrs: schema::GROUP_ATTRS.to_vec(),
            },
            extensions: vec![],
            tolerated: &[schema::ENTRA_GROUP_SCHEMA],
        }
    }

    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        self.extensions
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves a path to its definition, case-insensitively.
    ///
    /// # Errors
    /// `invalidPath` naming the attribute when the path leads nowhere.
    pub fn resolve(&self, path: &AttrPath) -> Result<Resolved<'_>, ScimError> {
        let (urn, attr) = match &path.urn {
            Some(u) if u.eq_ignore_ascii_case(&self.schema.id) => (
                None,
                schema::find_attr(&self.schema.attrs, &path.attr)
                    .or_else(|| schema::common_attr(&path.attr)),
            ),
            Some(u) => match self.extension(u) {
                Some(ext) => (
                    Some(ext.id.as_str()),
                    schema::find_attr(&ext.attrs, &path.attr),
                ),
                None => {
                    return Err(ScimError::invalid_path(format!(
                        "\"{u}\" is not a schema of the {} resource",
                        self.name
                    )))
                }
            },
            None => (
                None,
                schema::find_attr(&self.schema.attrs, &path.attr)
                    .or_else(|| schema::common_attr(&path.attr)),
            ),
        };
        let attr = attr.ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{path}\" is not an attribute of the {} resource",
                self.name
            ))
        })?;
        let sub = match &path.sub {
            None => None,
            Some(s) => Some(attr.sub_attr(s).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "\"{path}\": {} has no sub-attribute \"{s}\"",
                    attr.name
                ))
            })?),
        };
        Ok(Resolved { urn, attr, sub })
    }

    /// Whether string comparisons on `path` are case-exact (unknown paths fold case).
    pub fn case_exact(&self, path: &AttrPath) -> bool {
        match self.resolve(path) {
            Ok(r) => r.sub.map_or(r.attr.case_exact, |s| s.case_exact),
            Err(_) => false,
        }
    }

    /// Normalises a resource body sent by a client (POST or PUT): canonical attribute names,
    /// coerced values, read-only and write-only attributes dropped, unknown ones refused.
    ///
    /// # Errors
    /// `invalidSyntax` for a non-object body or an unknown attribute, `invalidValue` for a
    /// value of the wrong type or an unknown schema URN.
    pub fn normalize(&self, body: &Value) -> Result<Value, ScimError> {
        let obj = body.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "the body must be a JSON object holding a {} resource",
                self.name
            ))
        })?;
        let mut core = Map::new();
        let mut exts: Vec<(String, Map<String, Value>)> = Vec::new();
        for (key, value) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                self.check_schemas(value)?;
                continue;
            }
            if super::path::is_urn(key) {
                if key.eq_ignore_ascii_case(&self.schema.id) {
                    // Some clients nest core attributes under the core URN; fold them in.
                    let inner = self.normalize(&Value::Object(
                        value.as_object().cloned().unwrap_or_default(),
                    ))?;
                    if let Value::Object(m) = inner {
                        core.extend(m.into_iter().filter(|(k, _)| k != "schemas"));
                    }
                    continue;
                }
                if let Some(ext) = self.extension(key) {
                    let Value::Object(fields) = value else {
                        if value.is_null() {
                            continue;
                        }
                        return Err(ScimError::invalid_syntax(format!(
                            "\"{key}\" must be an object of extension attributes"
                        )));
                    };
                    let mut out = Map::new();
                    for (k, v) in fields {
                        let def = schema::find_attr(&ext.attrs, k).ok_or_else(|| {
                            ScimError::invalid_syntax(format!(
                                "\"{k}\" is not an attribute of schema {}",
                                ext.id
                            ))
                        })?;
                        if let Some(v) =
                            normalize_value(def, v, &format!("{}:{}", ext.id, def.name))?
                        {
                            out.insert(def.name.to_string(), v);
                        }
                    }
                    if !out.is_empty() {
                        exts.push((ext.id.clone(), out));
                    }
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "\"{key}\" is not a schema this bridge serves for {}; add its attributes to the mapping or remove them from the identity provider's attribute mapping",
                    self.name
                )));
            }
            let def = schema::find_attr(&self.schema.attrs, key)
                .or_else(|| schema::common_attr(key))
                .ok_or_else(|| {
                    ScimError::invalid_syntax(format!(
                        "\"{key}\" is not an attribute of the {} resource",
                        self.name
                    ))
                })?;
            if let Some(v) = normalize_value(def, value, def.name)? {
                core.insert(def.name.to_string(), v);
            }
        }
        Ok(self.assemble(core, exts))
    }

    fn check_schemas(&self, value: &Value) -> Result<(), ScimError> {
        let list = value.as_array().ok_or_else(|| {
            ScimError::invalid_syntax("\"schemas\" must be an array of schema URNs")
        })?;
        for u in list {
            let u = u.as_str().ok_or_else(|| {
                ScimError::invalid_syntax("\"schemas\" must be an array of strings")
            })?;
            if !u.eq_ignore_ascii_case(&self.schema.id)
                && self.extension(u).is_none()
                && !self.tolerated.iter().any(|t| t.eq_ignore_ascii_case(u))
            {
                return Err(ScimError::invalid_value(format!(
                    "schema \"{u}\" is not served for {} resources",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// Builds the canonical object: `schemas`, `id`, `externalId`, core attributes in schema
    /// order, extensions, `meta`.
    fn assemble(
        &self,
        mut core: Map<String, Value>,
        exts: Vec<(String, Map<String, Value>)>,
    ) -> Value {
        let mut out = Map::new();
        let mut schemas = vec![Value::String(self.schema.id.clone())];
        schemas.extend(exts.iter().map(|(u, _)| Value::String(u.clone())));
        out.insert("schemas".into(), Value::Array(schemas));
        for name in ["id", "externalId"] {
            if let Some(v) = core.remove(name) {
                out.insert(name.into(), v);
            }
        }
        for def in &self.schema.attrs {
            if let Some(v) = core.remove(def.name) {
                out.insert(def.name.into(), v);
            }
        }
        for (urn, m) in exts {
            out.insert(urn, Value::Object(m));
        }
        if let Some(v) = core.remove("meta") {
            out.insert("meta".into(), v);
        }
        Value::Object(out)
    }

    /// Re-orders an already-normal resource (after a PATCH) and recomputes `schemas`.
    pub fn canonicalize(&self, resource: Value) -> Value {
        let Value::Object(mut m) = resource else {
            return resource;
        };
        m.remove("schemas");
        let mut exts = Vec::new();
        for ext in &self.extensions {
            if let Some(Value::Object(e)) = m.remove(&ext.id) {
                let e: Map<String, Value> =
                    e.into_iter().filter(|(_, v)| !is_unassigned(v)).collect();
                if !e.is_empty() {
                    exts.push((ext.id.clone(), e));
                }
            }
        }
        let core: Map<String, Value> = m.into_iter().filter(|(_, v)| !is_unassigned(v)).collect();
        self.assemble(core, exts)
    }
}

/// RFC 7644 §3.5.1: null and the empty array mean "unassigned".
pub fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Normalises one attribute value; `Ok(None)` means "drop it" (unassigned, read-only, or a
/// password the bridge never keeps).
pub fn normalize_value(def: &AttrDef, v: &Value, shown: &str) -> Result<Option<Value>, ScimError> {
    if def.mutability == Mutability::ReadOnly
        || def.mutability == Mutability::WriteOnly
        || v.is_null()
    {
        return Ok(None);
    }
    if def.multi {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen_primary = false;
        for item in items {
            if let Some(mut n) = normalize_single(def, item, shown)? {
                // RFC 7643 §2.4: "primary" true at most once; keep the first.
                if let Some(o) = n.as_object_mut() {
                    if o.get("primary") == Some(&Value::Bool(true)) {
                        if seen_primary {
                            o.remove("primary");
                        }
                        seen_primary = true;
                    }
                }
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        return Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Array(out))
        });
    }
    normalize_single(def, v, shown)
}

fn normalize_single(def: &AttrDef, v: &Value, shown: &str) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if def.ty == AttrType::Complex {
        let obj = match v {
            Value::Object(o) => o.clone(),
            // Entra and OneLogin send `manager` as a bare id.
            Value::String(_) | Value::Number(_) if def.sub_attr("value").is_some() => {
                let mut m = Map::new();
                m.insert("value".into(), v.clone());
                m
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "\"{shown}\" must be an object"
                )))
            }
        };
        let mut out = Map::new();
        for (k, sv) in &obj {
            let Some(sd) = def.sub_attr(k) else {
                return Err(ScimError::invalid_syntax(format!(
                    "\"{shown}\" has no sub-attribute \"{k}\""
                )));
            };
            if let Some(n) = normalize_single(sd, sv, &format!("{shown}.{}", sd.name))? {
                if sd.mutability != Mutability::ReadOnly {
                    out.insert(sd.name.to_string(), n);
                }
            }
        }
        return Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Object(out))
        });
    }
    coerce_simple(def.ty, v, shown).map(Some)
}

/// Coerces a simple value to its declared type, accepting the lenient forms IdPs send.
///
/// # Errors
/// `invalidValue` naming the attribute and the expected type.
pub fn coerce_simple(ty: AttrType, v: &Value, shown: &str) -> Result<Value, ScimError> {
    let bad = || {
        ScimError::invalid_value(format!(
            "\"{shown}\" must be a {}, not {}",
            ty.as_str(),
            kind_of(v)
        ))
    };
    match ty {
        AttrType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        AttrType::Integer | AttrType::Decimal => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|_| bad()),
            _ => Err(bad()),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => match v {
            Value::String(s) => {
                if s.contains('\0') {
                    return Err(ScimError::invalid_value(format!(
                        "\"{shown}\" contains a NUL character"
                    )));
                }
                Ok(v.clone())
            }
            // Employee numbers and the like arrive as JSON numbers from some templates.
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(bad()),
        },
        AttrType::Complex => Err(bad()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn users() -> ResourceType {
        ResourceType::user(&[(
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User".into(),
            vec!["badge".into()],
        )])
    }

    #[test]
    fn okta_put_echo_is_normalised() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "42", "meta": {"resourceType": "User"}, "groups": [], "password": "1mz050nq",
            "UserName": "a@b.c", "Active": "False",
            "name": {"GivenName": "A", "familyName": "B"},
            "emails": [{"primary": true, "value": "a@b.c", "type": "work", "display": "a@b.c"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "Ops", "manager": "7"}
        });
        let n = users().normalize(&body).unwrap();
        assert_eq!(n["userName"], "a@b.c");
        assert_eq!(n["active"], false);
        assert_eq!(n["name"]["givenName"], "A");
        assert!(n.get("id").is_none() && n.get("meta").is_none() && n.get("groups").is_none());
        assert!(n.get("password").is_none(), "passwords are never kept");
        let ent = &n["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
        assert_eq!(ent["department"], "Ops");
        assert_eq!(ent["manager"]["value"], "7");
        assert_eq!(
            n["schemas"][1],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        );
        let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "schemas");
    }

    #[test]
    fn unknown_attributes_and_schemas_are_refused() {
        let e = users()
            .normalize(&json!({"userName": "x", "favouriteColour": "red"}))
            .unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(super::super::error::ScimType::InvalidSyntax)
        );
        let e = users()
            .normalize(&json!({"schemas": ["urn:x:y"], "userName": "x"}))
            .unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(super::super::error::ScimType::InvalidValue)
        );
        let e = users()
            .normalize(&json!({"userName": "x", "active": "maybe"}))
            .unwrap_err();
        assert!(e.detail.contains("active") && e.detail.contains("boolean"));
        assert!(users().normalize(&json!(["x"])).is_err());
        assert!(users().normalize(&json!({"userName": "a\u{0}b"})).is_err());
    }

    #[test]
    fn custom_extension_and_primary_rules() {
        let n = users()
            .normalize(&json!({"userName": "x",
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": 12},
                "emails": {"value": "x@y", "primary": true}}))
            .unwrap();
        assert_eq!(
            n["urn:ietf:params:scim:schemas:extension:acme:2.0:User"]["badge"],
            "12"
        );
        assert_eq!(n["emails"][0]["value"], "x@y");
        let n = users()
            .normalize(&json!({"userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}))
            .unwrap();
        assert_eq!(n["emails"][0]["primary"], true);
        assert!(n["emails"][1].get("primary").is_none());
    }

    #[test]
    fn resolve_and_case_exactness() {
        let u = users();
        let r = u
            .resolve(&AttrPath::parse("name.givenname").unwrap())
            .unwrap();
        assert_eq!(r.sub.unwrap().name, "givenName");
        assert!(u.case_exact(&AttrPath::simple("externalId")));
        assert!(!u.case_exact(&AttrPath::simple("userName")));
        assert!(u.resolve(&AttrPath::simple("nope")).is_err());
        assert!(u.resolve(&AttrPath::parse("urn:x:y:z").unwrap()).is_err());
    }
}
