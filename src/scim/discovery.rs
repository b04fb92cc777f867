//! Discovery documents (RFC 7644 §4): generated from the same schema table and settings the
//! server uses, so they describe what the bridge really does.

use serde_json::{json, Map, Value};

use super::list::MAX_PAGE;
use super::resource::ResourceType;
use super::schema::{AttrDef, SchemaDef};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// `/ServiceProviderConfig`. `base` is the public base URL, e.g. `https://h/scim/v2`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/scim-bridge/scim-bridge#readme",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token created with `scim-bridge token create`, sent as `Authorization: Bearer <token>`.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

pub fn resource_type(rt: &ResourceType, base: &str) -> Value {
    let exts: Vec<Value> = rt
        .extensions
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    json!({
        "schemas": [RT_SCHEMA],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
        "schemaExtensions": exts,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name)},
    })
}

pub fn schema_doc(s: &SchemaDef, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attrs.iter().map(attr_doc).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id)},
    })
}

fn attr_doc(a: &AttrDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    m.insert("type".into(), json!(a.ty.as_str()));
    m.insert("multiValued".into(), json!(a.multi));
    m.insert("description".into(), json!(a.description));
    m.insert("required".into(), json!(a.required));
    if !a.sub.is_empty() {
        m.insert(
            "subAttributes".into(),
            Value::Array(a.sub.iter().map(attr_doc).collect()),
        );
    } else {
        m.insert("caseExact".into(), json!(a.case_exact));
    }
    if !a.canonical.is_empty() {
        m.insert("canonicalValues".into(), json!(a.canonical));
    }
    m.insert("mutability".into(), json!(a.mutability.as_str()));
    m.insert("returned".into(), json!(a.returned.as_str()));
    m.insert(
        "uniqueness".into(),
        json!(if a.unique { "server" } else { "none" }),
    );
    if a.ty == super::schema::AttrType::Reference {
        m.insert("referenceTypes".into(), json!(["external", "uri"]));
    }
    Value::Object(m)
}

/// Every schema of every resource type, core first.
pub fn all_schemas<'a>(types: &'a [&'a ResourceType]) -> Vec<&'a SchemaDef> {
    let mut out: Vec<&SchemaDef> = Vec::new();
    for rt in types {
        for s in std::iter::once(&rt.schema).chain(rt.extensions.iter()) {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_describe_the_mapping_extensions() {
        let rt = ResourceType::user(&[(
            "urn:ietf:params:scim:schemas:extension:acme:2.0:User".into(),
            vec![crate::scim::schema::custom_string_attr("badge")],
        )]);
        let doc = resource_type(&rt, "http://h/scim/v2");
        assert_eq!(doc["endpoint"], "/Users");
        assert_eq!(doc["schemaExtensions"].as_array().unwrap().len(), 2);
        let types = [&rt];
        let schemas = all_schemas(&types);
        assert_eq!(schemas.len(), 3);
        let custom = schema_doc(schemas[2], "http://h/scim/v2");
        assert_eq!(custom["attributes"][0]["name"], "badge");
        let core = schema_doc(schemas[0], "http://h/scim/v2");
        let user_name = &core["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let spc = service_provider_config("http://h/scim/v2");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["changePassword"]["supported"], false);
    }
}
