//! Reaching one value of a SCIM resource: a simple, sub- or extension attribute, or one value
//! of a multi-valued attribute picked by its filter or as the primary one.

use serde_json::{Map, Value};

use crate::mapping::compile::AttrTarget;

impl AttrTarget {
    /// Whether this is the core attribute `name` itself (not a sub-attribute or extension).
    pub fn is_core(&self, name: &str) -> bool {
        self.path.urn.is_none() && self.path.sub.is_none() && self.path.attr == name
    }

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

    /// Marks the value this target (a multi-valued attribute without a selection, such as
    /// `emails.value`) reaches as what the mapping says it is: the primary value, and when
    /// `work`, the work value — wherever the resource does not say otherwise (the identity
    /// provider's own `type` for that address, kept in the bridge's record, stays).
    ///
    /// Why the view says it rather than PATCH (or [`AttrTarget::pick`]) taking a typed
    /// selector to mean the primary value: reads, filters and PATCH must all see the same
    /// value. Entra ID's `emails[type eq "work"].value` replace is applied to this view; on a
    /// row the identity provider never wrote, the bare `{"value": …}` matched no
    /// `type eq "work"` and a second, unstored email was created instead (answered 200,
    /// nothing written). Teaching only the write side that "work" means the primary would
    /// have left `GET` showing an untyped address and filters answering from a rule of their
    /// own; with the declaration in the view, the PATCH engine needs no special case, the
    /// change is diffed like any other (only the email column is written), filters answer
    /// `emails[type eq "work"]` from the same column by the same declaration (see
    /// [`crate::mapping::predicate`]), and Okta, which sends the primary address as type
    /// work, reads back exactly what it sent.
    pub(crate) fn declare_primary(&self, resource: &mut Value, work: bool) {
        if !self.multi || self.select.is_some() {
            return;
        }
        let container = match &self.path.urn {
            Some(urn) => resource.get_mut(urn),
            None => Some(resource),
        };
        let Some(items) = container
            .and_then(|c| c.get_mut(&self.path.attr))
            .and_then(Value::as_array_mut)
        else {
            return;
        };
        let Some(i) = self.pick(items) else { return };
        let Some(item) = items[i].as_object_mut() else {
            return;
        };
        if item.get("primary").is_none_or(Value::is_null) {
            item.insert("primary".into(), Value::Bool(true));
        }
        let untyped = item
            .get("type")
            .is_none_or(|t| t.is_null() || t.as_str() == Some(""));
        if work && untyped {
            item.insert("type".into(), Value::String("work".into()));
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
            let Some(items) = arr.as_array_mut() else {
                return;
            };
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
