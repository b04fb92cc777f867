//! Host rows → the SCIM view of a user, keeping the identity provider's spelling where the
//! host holds the same value.

use super::ChildRow;
use serde_json::{Map, Value};

use crate::mapping::compile::{AttrTarget, Child, Source, TemplatePart, UserMapping};
use crate::mapping::value::HostValue;

use super::to_host::render_template;

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

impl Child {
    /// The SCIM values of this attribute from its rows, keeping the IdP's spelling where the
    /// host holds the same value.
    ///
    /// A table without a `type` column holds no types: a row shows the `type` the identity
    /// provider sent with its address (from `shadow`), and the primary row, when it sent none
    /// (or never wrote the user), is the work value if `work` — as filters answer it (see
    /// [`crate::mapping::predicate`]) and as Entra ID's `emails[type eq "work"].value`
    /// PATCH finds it.
    fn to_values(&self, rows: &[ChildRow], shadow: Option<&Value>, work: bool) -> Vec<Value> {
        let shadow_items: Vec<&Value> = shadow
            .and_then(|s| s.get(&self.attr))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let typed = self.stores_type();
        let value_rule = &self.rules[self.value_rule];
        let mut out = Vec::new();
        for row in rows {
            let mut item = Value::Object(Map::new());
            // The value the identity provider sent for this row, if it did.
            let sent = value_rule.attr().and_then(|t| {
                let i = self
                    .read_columns
                    .iter()
                    .position(|c| c == &value_rule.column)?;
                shadow_items.iter().copied().find(|si| {
                    t.get(si)
                        .and_then(|sv| value_rule.to_host(Some(sv)).ok())
                        .is_some_and(|hv| hv.loosely_equals(&row.values[i]))
                })
            });
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
            if !typed {
                let sent_type = sent
                    .and_then(|si| si.get("type"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty());
                match sent_type {
                    Some(t) => item["type"] = Value::String(t.to_string()),
                    None if row.primary && work => item["type"] = Value::String("work".into()),
                    None => {}
                }
            }
            out.push(item);
        }
        out
    }
}

impl UserMapping {
    /// Builds the SCIM view of a user as the host stores it, without `read_fallback`s (what
    /// adoption compares a request with, so a fallback value is never taken for a stored one).
    /// `values` are the host values of [`UserMapping::read_columns`]; `children` the rows of
    /// each child table; `shadow` the last resource the IdP sent, if any.
    ///
    /// The host is the truth for mapped attributes. Where a lossy transform (lowercase, trim)
    /// makes the host value differ from what the IdP sent only by that transform, the IdP's
    /// spelling is kept, so the IdP sees no drift and does not loop updates.
    pub fn to_stored_resource(
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
        // Unselected multi-valued targets (`emails.value`) that received a value.
        let mut primaries: Vec<&AttrTarget> = Vec::new();
        // An attribute is read from its own column before any template mentioning it:
        // `userName` from the login, never from a column `"scim:{userName}"` fills.
        let own = self
            .rules
            .iter()
            .filter(|r| r.reads() && matches!(r.source, Source::Attr(_)));
        let templates = self
            .rules
            .iter()
            .filter(|r| r.reads() && matches!(r.source, Source::Template(_)));
        for r in own.chain(templates) {
            let Some(i) = self
                .read_columns
                .iter()
                .position(|(at, c)| *at == r.at && c == &r.column)
            else {
                continue;
            };
            let extracted = super::json::extract(r, &values[i]);
            let h = &extracted;
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
            if t.multi && t.select.is_none() && !v.is_null() {
                primaries.push(t);
            }
            t.set(&mut res, v);
        }
        for t in primaries {
            let work = t.path.urn.is_none() && self.untyped_is_work(&t.path.attr);
            t.declare_primary(&mut res, work);
        }
        if let Some(obj) = res.as_object_mut() {
            for (c, rows) in self.children.iter().zip(children) {
                let vals = c.to_values(rows, shadow, self.child_primary_is_work(c));
                if vals.is_empty() {
                    obj.remove(&c.attr);
                } else {
                    obj.insert(c.attr.clone(), Value::Array(vals));
                }
            }
        }
        rt.canonicalize(res)
    }
}

#[cfg(test)]
mod tests;
