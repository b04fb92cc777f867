//! Resource types and the normalisation of incoming resource JSON.
//!
//! Clients spell attribute names in any case (Microsoft's suites send `UserName`), send
//! booleans as strings (`"False"`), and echo read-only attributes back (Okta's PUT carries
//! `id`, `meta`, `groups`). Normalising once, against the schema table, lets every later step
//! work on one canonical shape. Every value's JSON type is checked against its attribute's
//! type by [`super::types`], which states the few leniencies kept.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::path::AttrPath;
use super::schema::{self, AttrDef, Legacy, SchemaDef};

pub use super::types::{is_unassigned, normalize_value};

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
    /// mapping declares (`urn → attribute definitions`).
    pub fn user(custom: &[schema::CustomSchema]) -> Self {
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
                attrs: attrs.clone(),
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

    /// The extension `urn` names, a legacy alias included (`urn:scim:schemas:extension:
    /// enterprise:2.0` is the enterprise User extension).
    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        let urn = match schema::legacy(urn) {
            Some(Legacy::Enterprise) => schema::ENTERPRISE_USER_SCHEMA,
            _ => urn,
        };
        self.extensions
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` names this resource type's core schema: its RFC URN, or a legacy alias
    /// of the core schema (`urn:scim:schemas:core:2.0`, `…:1.0`).
    pub fn is_core_schema(&self, urn: &str) -> bool {
        urn.eq_ignore_ascii_case(&self.schema.id) || schema::legacy(urn) == Some(Legacy::Core)
    }

    /// Resolves a path to its definition, case-insensitively.
    ///
    /// # Errors
    /// `invalidPath` naming the attribute when the path leads nowhere.
    pub fn resolve(&self, path: &AttrPath) -> Result<Resolved<'_>, ScimError> {
        let (urn, attr) = match &path.urn {
            Some(u) if self.is_core_schema(u) => (
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
    /// values checked against their types (see [`super::types`]), read-only and write-only
    /// attributes dropped, unknown ones refused.
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
            if !super::path::is_urn(key) {
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
            } else if self.is_core_schema(key) {
                // Some clients nest core attributes under the core URN; fold them in.
                if let Some(inner) = schema_object(key, value)? {
                    if let Value::Object(m) = self.normalize(inner)? {
                        core.extend(m.into_iter().filter(|(k, _)| k != "schemas"));
                    }
                }
            } else if let Some(ext) = self.extension(key) {
                if let Some(fields) = schema_object(key, value)? {
                    let out = normalize_extension(ext, fields)?;
                    // The RFC key and a legacy alias of it may both be present: one extension.
                    match exts.iter_mut().find(|(id, _)| *id == ext.id) {
                        Some((_, m)) => m.extend(out),
                        None if !out.is_empty() => exts.push((ext.id.clone(), out)),
                        None => {}
                    }
                }
            } else {
                return Err(ScimError::invalid_value(format!(
                    "\"{key}\" is not a schema this bridge serves for {}; add its attributes to the mapping or remove them from the identity provider's attribute mapping",
                    self.name
                )));
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
            if !self.is_core_schema(u)
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

/// The value under a schema URN key: an object of that schema's attributes (`null`: none).
fn schema_object<'a>(key: &str, value: &'a Value) -> Result<Option<&'a Value>, ScimError> {
    match value {
        Value::Object(_) => Ok(Some(value)),
        Value::Null => Ok(None),
        other => Err(ScimError::invalid_value(format!(
            "\"{key}\" must be an object of the schema's attributes, got {}",
            super::types::kind_of(other)
        ))),
    }
}

/// The attributes of one extension, each checked against its definition.
fn normalize_extension(ext: &SchemaDef, value: &Value) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    let Value::Object(fields) = value else {
        return Ok(out);
    };
    for (k, v) in fields {
        let def = schema::find_attr(&ext.attrs, k).ok_or_else(|| {
            ScimError::invalid_syntax(format!("\"{k}\" is not an attribute of schema {}", ext.id))
        })?;
        if let Some(v) = normalize_value(def, v, &format!("{}:{}", ext.id, def.name))? {
            out.insert(def.name.to_string(), v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    fn users() -> ResourceType {
        ResourceType::user(&[(
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User".into(),
            vec![schema::custom_string_attr("badge")],
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
                "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": "12"},
                "emails": [{"value": "x@y", "primary": true}]}))
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

    #[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
    fn refused(body: Value) -> ScimError {
        let e = users().normalize(&body).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}: {e:?}");
        e
    }

    #[test]
    fn wrong_json_types_are_refused_naming_the_attribute() {
        let e = refused(json!({"userName": 12345}));
        assert_eq!(e.detail, "\"userName\" must be a string, got a number");
        let e = refused(json!({"userName": "x", "emails": "a@b.example"}));
        assert_eq!(
            e.detail,
            "\"emails\" is multi-valued and must be an array, got a string"
        );
        // A single object where the array belongs is refused in a resource (RFC 7643 §2.4).
        let e = refused(json!({"userName": "x", "emails": {"value": "x@y"}}));
        assert!(
            e.detail.starts_with("\"emails\" is multi-valued"),
            "{}",
            e.detail
        );
        let e = refused(json!({"userName": "x", "name": "Ada Lovelace"}));
        assert_eq!(e.detail, "\"name\" must be an object, got a string");
        let e = refused(json!({"userName": "x", "name": {"givenName": ["Ada"]}}));
        assert_eq!(
            e.detail,
            "\"name.givenName\" must be a string, got an array"
        );
        let e = refused(json!({"userName": "x", "active": 1}));
        assert!(
            e.detail.starts_with("\"active\" must be a boolean"),
            "{}",
            e.detail
        );
        let e = refused(json!({"userName": "x", "emails": [{"value": "a", "primary": "yes"}]}));
        assert!(e.detail.starts_with("\"emails.primary\" must be a boolean"));
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let e = refused(json!({"userName": "x", ent: {"employeeNumber": 701}}));
        assert_eq!(
            e.detail,
            format!("\"{ent}:employeeNumber\" must be a string, got a number")
        );
        let e = refused(json!({"userName": "x", ent: {"manager": 7}}));
        assert!(e
            .detail
            .contains("manager\" must be an object (or a string id)"));
        let e = refused(
            json!({"userName": "x", "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"badge": 12}}),
        );
        assert!(e.detail.contains("badge\" must be a string, got a number"));
        // The container of an extension's (or the core schema's) attributes is an object.
        let e = refused(json!({"userName": "x", ent: "Ops"}));
        assert!(e
            .detail
            .contains("must be an object of the schema's attributes"));
        refused(json!({"urn:ietf:params:scim:schemas:core:2.0:User": ["x"]}));
        let e = refused(json!({"urn:ietf:params:scim:schemas:core:2.0:User": {"userName": 1}}));
        assert!(e.detail.starts_with("\"userName\""));
    }

    #[test]
    fn leniencies_real_clients_need_are_kept() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        // Entra/OneLogin string booleans; nulls for absent values; Okta's read-only echoes in
        // any shape; Entra's bare manager id.
        let n = users()
            .normalize(&json!({"userName": "x", "active": "TRUE", "title": null,
                "id": null, "meta": "whatever", "groups": [1, 2], "password": 5,
                "emails": [{"value": "a", "primary": "False", "display": null}],
                "name": {"givenName": null}, ent: {"manager": "9", "department": null},
                "urn:ietf:params:scim:schemas:core:2.0:User": null}))
            .unwrap();
        assert_eq!(
            n,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
                "userName": "x", "active": true,
                "emails": [{"value": "a", "primary": false}],
                ent: {"manager": {"value": "9"}}})
        );
        let g = ResourceType::group()
            .normalize(&json!({"displayName": "G", "members": [{"value": "1", "$ref": null, "display": 7}]}))
            .unwrap();
        assert_eq!(
            g["members"],
            json!([{"value": "1"}]),
            "read-only display is dropped unchecked"
        );
    }

    /// OneLogin's "SCIM v2 Enterprise" template: legacy URNs in `schemas` and as the
    /// extension's key, `active` rendered as a string.
    #[test]
    fn legacy_schema_urns_are_aliases() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let n = users()
            .normalize(&json!({
                "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
                "userName": "ol@example.com", "active": "false",
                "urn:scim:schemas:extension:enterprise:2.0": {"department": "Ops", "manager": {"value": "7", "displayName": "Boss"}}}))
            .unwrap();
        assert_eq!(
            n,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
                "userName": "ol@example.com", "active": false,
                ent: {"department": "Ops", "manager": {"value": "7"}}}),
            "responses carry the RFC URNs only"
        );
        // The 1.0 spellings, any case; core attributes nested under the legacy core URN.
        let n = users()
            .normalize(&json!({
                "schemas": ["URN:SCIM:SCHEMAS:CORE:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
                "urn:scim:schemas:core:1.0": {"userName": "x"},
                "urn:scim:schemas:extension:enterprise:1.0": {"division": "EU"},
                ent: {"department": "Ops"}}))
            .unwrap();
        assert_eq!(n["userName"], "x");
        assert_eq!(n[ent], json!({"division": "EU", "department": "Ops"}));
        assert_eq!(n["schemas"].as_array().unwrap().len(), 2, "{n}");
        // Groups take the legacy core URN too; the enterprise extension is still the User's.
        let g = ResourceType::group()
            .normalize(&json!({"schemas": ["urn:scim:schemas:core:2.0"], "displayName": "G"}))
            .unwrap();
        assert_eq!(
            g["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
        );
        let e = ResourceType::group()
            .normalize(&json!({"schemas": ["urn:scim:schemas:extension:enterprise:2.0"], "displayName": "G"}))
            .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        // Resolution: legacy prefixes lead where the RFC ones do.
        let u = users();
        let r = u
            .resolve(
                &AttrPath::parse("urn:scim:schemas:extension:enterprise:2.0:department").unwrap(),
            )
            .unwrap();
        assert_eq!((r.urn, r.attr.name), (Some(ent), "department"));
        let r = u
            .resolve(&AttrPath {
                urn: Some("urn:scim:schemas:core:2.0".into()),
                attr: "active".into(),
                sub: None,
            })
            .unwrap();
        assert_eq!((r.urn, r.attr.name), (None, "active"));
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
