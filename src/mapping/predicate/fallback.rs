//! Filters on an attribute with a `read_fallback`: the attribute is served from its own
//! column when that is non-empty, else from the first non-empty fallback, so a filter on it
//! must ask the same of the database — otherwise `userName eq "guest@x"` would miss the guest
//! listed with that userName, and Okta's import would create a duplicate.
//!
//! `a op v` becomes `(a present and a op v) or (a absent and f1 present and f1 op v) or …`,
//! exact for every operator (a comparison never matches an absent value, and "present" is
//! what reads call non-empty). `a pr` / `a eq null` ask whether any of them is present. A
//! multi-valued fallback (`emails.value`) is served from the primary value, so it is compared
//! as `emails[primary eq true].value` — another address of the user would not do.

use super::*;
use crate::mapping::compile::{AttrTarget, Fallback, UserMapping};
use crate::scim::filter::{CompValue, Filter};
use crate::scim::path::AttrPath;
use crate::scim::ScimError;

impl UserMapping {
    /// The fallback serving the attribute a leaf filter names, if any.
    pub(super) fn fallback_of(&self, f: &Filter) -> Option<&Fallback> {
        let (Filter::Present(p) | Filter::Compare(p, _, _)) = f else {
            return None;
        };
        let r = self.resource_type.resolve(p).ok()?;
        self.fallbacks.iter().find(|fb| {
            fb.attr.path.attr == r.attr.name
                && fb.attr.path.sub.as_deref() == r.sub.map(|s| s.name)
                && fb.attr.path.urn.as_deref() == r.urn
        })
    }

    /// `f` (a presence test or comparison on `fb.attr`) over the value as served.
    pub(super) fn fallback_predicate(
        &self,
        fb: &Fallback,
        own: Pred,
        f: &Filter,
    ) -> Result<Pred, ScimError> {
        let own_present = self.own_predicate(&Filter::Present(path_of(&fb.attr)))?;
        let mut present = vec![own_present.clone()];
        for t in &fb.from {
            present.push(self.predicate(&leaf(t, &Filter::Present(path_of(t))))?);
        }
        match f {
            Filter::Present(_) => return Ok(or(present)),
            Filter::Compare(_, op, CompValue::Null) => {
                return Ok(match op {
                    crate::scim::filter::CompareOp::Eq => not(or(present)),
                    _ => or(present),
                })
            }
            _ => {}
        }
        let Filter::Compare(_, op, v) = f else {
            return Ok(own);
        };
        let mut parts = vec![and(vec![own_present, own])];
        for (i, t) in fb.from.iter().enumerate() {
            let cmp = self.predicate(&leaf(t, &Filter::Compare(path_of(t), *op, v.clone())))?;
            let mut all: Vec<Pred> = present[..=i].iter().cloned().map(not).collect();
            all.push(present[i + 1].clone());
            all.push(cmp);
            parts.push(and(all));
        }
        Ok(or(parts))
    }
}

/// The plain path of a target (`emails.value`, `name.givenName`).
fn path_of(t: &AttrTarget) -> AttrPath {
    t.path.clone()
}

/// `inner` (on `t`'s own path) as the value served: a multi-valued target's selected value,
/// else its primary one — `emails[primary eq true and value eq "…"]`.
fn leaf(t: &AttrTarget, inner: &Filter) -> Filter {
    if !t.multi {
        return inner.clone();
    }
    let sub = AttrPath::simple(t.path.sub.as_deref().unwrap_or("value"));
    let on_sub = match inner {
        Filter::Present(_) => Filter::Present(sub),
        Filter::Compare(_, op, v) => Filter::Compare(sub, *op, v.clone()),
        other => other.clone(),
    };
    let pick = match &t.select {
        Some((field, want)) => Filter::Compare(
            AttrPath::simple(field),
            crate::scim::filter::CompareOp::Eq,
            CompValue::Str(want.clone()),
        ),
        None => Filter::Compare(
            AttrPath::simple("primary"),
            crate::scim::filter::CompareOp::Eq,
            CompValue::Bool(true),
        ),
    };
    Filter::ValuePath(
        AttrPath {
            urn: t.path.urn.clone(),
            attr: t.path.attr.clone(),
            sub: None,
        },
        Box::new(Filter::And(Box::new(pick), Box::new(on_sub))),
    )
}
