//! Which columns a write may touch. A write into someone else's database changes only what
//! the identity provider changed: the columns of attributes whose value differs between the
//! user as stored (its SCIM view) and the new resource. The store then drops, inside the
//! transaction, every column whose stored value already equals the one planned.

use serde_json::{Map, Value};

use super::WriteMode;
use crate::mapping::compile::{AttrTarget, Child, Rule, Source};
use crate::scim::Folded;

/// What a write starts from.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new row: every rule writes; absent attributes fall back to their defaults.
    Insert,
    /// A stored user (PUT, PATCH): `before` is its SCIM view. `strict` (PATCH): removing an
    /// attribute whose column needs a value is refused rather than ignored. `sent`: what the
    /// identity provider sent last, if the bridge has a record of it.
    Update {
        before: &'a Value,
        strict: bool,
        sent: Option<&'a Value>,
    },
    /// `POST` adopting an existing row: as `Update`, but child rows the request does not
    /// name are kept, and the account's state (`active`) is the application's unless
    /// `state_from_idp`.
    Adopt {
        before: &'a Value,
        state_from_idp: bool,
        /// `adopt_overwrite`: child rows become exactly the request's.
        overwrite: bool,
    },
}

/// What a rule does in a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    Write,
    Skip,
    /// A constant or a timestamp (`updated_at`) with `on = "always"`: written only when the
    /// user changes otherwise.
    Bookkeeping,
}

impl Change<'_> {
    pub(super) fn mode(&self) -> WriteMode {
        match self {
            Change::Insert => WriteMode::Insert,
            _ => WriteMode::Update,
        }
    }

    /// The resource before the change, when removals must be checked against it.
    pub(super) fn previous(&self) -> Option<&Value> {
        match self {
            Change::Update {
                before,
                strict: true,
                ..
            } => Some(before),
            _ => None,
        }
    }

    fn before(&self) -> Option<&Value> {
        match self {
            Change::Insert => None,
            Change::Update { before, .. } | Change::Adopt { before, .. } => Some(before),
        }
    }

    /// `identifier`: the rule writes the userName column or a `match` column; a write leaves
    /// such a column alone when it already holds the same identifier in another spelling
    /// (rewriting `alice` as `ALICE` locks people out of applications whose logins are
    /// case-sensitive).
    ///
    /// The account's state (`active`) is written when the identity provider changes it —
    /// when it differs from what the provider sent last — not when the provider merely sends
    /// again what it sent before: an account the application locked (or unlocked) itself
    /// stays so through the provider's routine re-pushes.
    pub(super) fn gate(&self, r: &Rule, after: &Value, identifier: bool) -> Gate {
        let Some(before) = self.before() else {
            return Gate::Write;
        };
        if r.on == crate::mapping::model::When::Insert {
            return Gate::Skip;
        }
        if matches!(r.source, Source::Const(_) | Source::Now) {
            return Gate::Bookkeeping;
        }
        let keep_state = matches!(
            self,
            Change::Adopt {
                state_from_idp: false,
                ..
            }
        );
        let state = r.attrs().iter().any(|t| t.is_core("active"));
        if keep_state && state {
            return Gate::Skip;
        }
        if let (
            true,
            Change::Update {
                sent: Some(sent), ..
            },
        ) = (state, self)
        {
            let unchanged = r
                .attrs()
                .iter()
                .all(|t| t.get(sent).is_some() && t.get(sent) == t.get(after));
            if unchanged {
                return Gate::Skip;
            }
        }
        // userName is an identifier wherever it is written (a template `scim:{userName}`
        // too): another spelling of the same login is no change.
        let differs = |t: &&AttrTarget| match (t.get(before), t.get(after)) {
            (Some(Value::String(b)), Some(Value::String(a)))
                if identifier || t.is_core("userName") =>
            {
                !Folded::same(b, a)
            }
            (b, a) => b != a,
        };
        if r.attrs().iter().any(differs) {
            Gate::Write
        } else {
            Gate::Skip
        }
    }

    /// Whether child rows of `c` are written at all: on insert, and when the attribute's
    /// values differ.
    pub(super) fn touches_child(&self, c: &Child, after: &Value) -> bool {
        match self.before() {
            None => true,
            Some(before) => before.get(&c.attr) != after.get(&c.attr),
        }
    }

    /// Adoption merges child rows: the request's values are added or updated, the host's
    /// others kept.
    pub(super) fn merges_children(&self) -> bool {
        matches!(
            self,
            Change::Adopt {
                overwrite: false,
                ..
            }
        )
    }
}

/// What an adopting `POST` means for a row the application already has: the request's
/// attributes over the stored view, so every attribute the request does not carry keeps the
/// application's value (and its column is not written). Objects (`name`, extensions) merge
/// one level deep; in a multi-valued attribute the request's values come first and the
/// application's other values stay (a work phone does not clear the mobile number).
pub fn overlay(before: &Value, request: &Value) -> Value {
    merge(before, request, &|_| true, &|_, _| true)
}

/// What a `PUT` means for a stored user: RFC 7644 makes it a replacement, but the bridge
/// shares the row with the application, so an attribute — or one value of a multi-valued
/// attribute — is cleared only when the identity provider sent it before (it is in `shadow`,
/// the last resource it sent) and leaves it out now. What it never sent is the application's
/// and keeps its value.
pub fn keep_unsent(before: &Value, request: &Value, shadow: Option<&Value>) -> Value {
    let sent_before = |path: &[&str]| {
        let mut v = match shadow {
            Some(s) => s,
            None => return false,
        };
        for k in path {
            match v.get(*k) {
                Some(x) => v = x,
                None => return false,
            }
        }
        true
    };
    let element_sent = |attr: &str, element: &Value| {
        shadow
            .and_then(|s| s.get(attr))
            .and_then(Value::as_array)
            .is_some_and(|sent| sent.iter().any(|x| same_element(x, element)))
    };
    merge(
        before,
        request,
        &|path| !sent_before(path),
        &|attr, element| !element_sent(attr, element),
    )
}

/// The record of what the identity provider sent, after a PATCH: the old record with the
/// attributes the operations changed. Attributes the PATCH did not touch keep what was
/// recorded, so values that only the application ever held do not enter it (a later PUT
/// would otherwise take them for the identity provider's and clear them).
pub fn shadow_after_patch(shadow: Option<&Value>, before: &Value, after: &Value) -> Value {
    let mut out = shadow
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return after.clone();
    };
    for (k, v) in a {
        if k == "schemas" || b.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            out.remove(k);
        }
    }
    Value::Object(out)
}

/// Whether two values of a multi-valued attribute are the same value: their `value`
/// sub-attributes as identifiers (an address is one address in any case), or the whole value.
fn same_element(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(Value::String(x)), Some(Value::String(y))) => Folded::same(x, y),
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// `request`, with what `before` has that it lacks copied in: attributes where
/// `keep(path)`, values of multi-valued attributes where `keep_element(attribute, value)`.
fn merge(
    before: &Value,
    request: &Value,
    keep: &dyn Fn(&[&str]) -> bool,
    keep_element: &dyn Fn(&str, &Value) -> bool,
) -> Value {
    let (Some(b), Some(r)) = (before.as_object(), request.as_object()) else {
        return request.clone();
    };
    let mut out: Map<String, Value> = r.clone();
    for (k, bv) in b {
        if k == "schemas" || k == "id" || k == "meta" {
            continue;
        }
        match (out.get_mut(k), bv) {
            (None, _) if keep(&[k.as_str()]) => {
                out.insert(k.clone(), bv.clone());
            }
            (Some(Value::Object(ro)), Value::Object(bo)) => {
                for (sk, sv) in bo {
                    if !ro.contains_key(sk) && keep(&[k.as_str(), sk.as_str()]) {
                        ro.insert(sk.clone(), sv.clone());
                    }
                }
            }
            (Some(Value::Array(ra)), Value::Array(ba)) => {
                let kept: Vec<Value> = ba
                    .iter()
                    .filter(|be| !ra.iter().any(|re| same_element(re, be)) && keep_element(k, be))
                    .map(|be| {
                        // The request says which value is primary.
                        let mut be = be.clone();
                        if let Some(o) = be.as_object_mut() {
                            o.remove("primary");
                        }
                        be
                    })
                    .collect();
                ra.extend(kept);
            }
            _ => {}
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overlay_keeps_what_the_request_does_not_carry() {
        let before = json!({"userName": "ann", "phoneNumbers": [{"value": "1", "type": "work"}],
            "name": {"givenName": "Ann", "familyName": "Lee"}, "title": "Boss"});
        let post = json!({"userName": "ANN", "name": {"givenName": "Anne"},
            "emails": [{"value": "a@x"}]});
        let m = overlay(&before, &post);
        assert_eq!(m["userName"], "ANN");
        assert_eq!(m["name"], json!({"givenName": "Anne", "familyName": "Lee"}));
        assert_eq!(m["phoneNumbers"], before["phoneNumbers"]);
        assert_eq!(m["title"], "Boss");
        assert_eq!(m["emails"], post["emails"]);
        // A multi-valued attribute the request carries keeps the application's other values.
        let before = json!({"phoneNumbers": [{"value": "1", "type": "mobile"}, {"value": "2", "type": "work"}]});
        let post = json!({"phoneNumbers": [{"value": "3", "type": "work", "primary": true}]});
        assert_eq!(
            overlay(&before, &post)["phoneNumbers"],
            json!([{"value": "3", "type": "work", "primary": true}, {"value": "1", "type": "mobile"},
                   {"value": "2", "type": "work"}])
        );
    }

    #[test]
    fn the_record_of_what_was_sent_follows_the_patch_only() {
        let shadow = json!({"userName": "ann", "locale": "en"});
        let before = json!({"userName": "ann", "locale": "en", "title": "Boss"});
        let after = json!({"userName": "ann", "title": "Boss", "nickName": "A"});
        let s = shadow_after_patch(Some(&shadow), &before, &after);
        assert_eq!(s, json!({"userName": "ann", "nickName": "A"}));
    }

    #[test]
    fn put_clears_only_what_the_identity_provider_sent_before() {
        let before = json!({"userName": "ann", "title": "Boss", "locale": "en",
            "name": {"givenName": "Ann", "middleName": "Q"}});
        let shadow = json!({"userName": "ann", "locale": "en", "name": {"givenName": "Ann"}});
        let put = json!({"userName": "ann", "name": {"givenName": "Ann"}});
        let m = keep_unsent(&before, &put, Some(&shadow));
        assert_eq!(m.get("locale"), None, "sent before, left out now: cleared");
        assert_eq!(m["title"], "Boss", "never sent: the application's");
        assert_eq!(m["name"]["middleName"], "Q");
        let m = keep_unsent(&before, &put, None);
        assert_eq!(
            m["locale"], "en",
            "no record of what was sent: nothing is cleared"
        );
    }
}
