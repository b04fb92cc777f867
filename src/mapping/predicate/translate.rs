//! A SCIM filter translated into a predicate: attribute paths to targets, operands through
//! the rules' encodings.

use serde_json::Value;

use super::slots::present_of;
use super::*;
use crate::mapping::compile::{Rule, Source, UserMapping};
use crate::mapping::host::ColumnKind;
use crate::mapping::transform::Transform;
use crate::mapping::value::HostValue;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::ScimError;

impl UserMapping {
    /// Translates a filter into a host predicate.
    ///
    /// # Errors
    /// `invalidFilter` naming the attribute when it is not stored in a host column or the
    /// comparison cannot be expressed exactly.
    pub fn predicate(&self, f: &Filter) -> Result<Pred, ScimError> {
        if let Some(fb) = self.fallback_of(f) {
            let own = self.own_predicate(f)?;
            return self.fallback_predicate(fb, own, f);
        }
        self.own_predicate(f)
    }

    /// [`UserMapping::predicate`] on the attributes' own columns, `read_fallback` aside.
    pub(super) fn own_predicate(&self, f: &Filter) -> Result<Pred, ScimError> {
        Ok(match f {
            Filter::And(a, b) => Pred::And(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Or(a, b) => Pred::Or(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Not(a) => Pred::Not(Box::new(self.predicate(a)?)),
            Filter::Present(p) => match self.plural(p)? {
                // `emails pr`, `emails.value pr`: some value is there.
                Some((pl, sub)) => self.value_path_of(p, pl, present_of(pl.def, sub).as_ref())?,
                None => Pred::Present(self.target_for(p)?.0),
            },
            Filter::Compare(p, op, v) => match (self.plural(p)?, op, v) {
                // `emails.value eq null`: no value at all, not "a value without one".
                (Some((pl, sub)), CompareOp::Eq | CompareOp::Ne, CompValue::Null) => {
                    let some = self.value_path_of(p, pl, present_of(pl.def, sub).as_ref())?;
                    if *op == CompareOp::Eq {
                        not(some)
                    } else {
                        some
                    }
                }
                (Some((pl, sub)), _, _) => {
                    let rel = AttrPath::simple(sub.unwrap_or("value"));
                    self.value_path_of(p, pl, Some(&Filter::Compare(rel, *op, v.clone())))?
                }
                (None, _, _) => self.compare(p, *op, v)?,
            },
            Filter::ValuePath(attr, inner) => match self.plural(attr)? {
                Some((pl, None)) => self.value_path_of(attr, pl, Some(inner))?,
                _ => self.value_path(attr, inner)?,
            },
        })
    }

    /// A comparison or presence test on a column target.
    pub(super) fn leaf(
        &self,
        p: &AttrPath,
        target: Target,
        rule: Option<&Rule>,
        f: &Filter,
    ) -> Result<Pred, ScimError> {
        match f {
            Filter::Present(_) => Ok(Pred::Present(target)),
            Filter::Compare(_, op, v) => self.compare_target(p, target, rule, *op, v),
            _ => Err(ScimError::invalid_filter(format!(
                "filtering on \"{p}\" is not supported"
            ))),
        }
    }

    /// What the error for an unstored attribute lists as filterable.
    pub(super) fn filterable(&self) -> String {
        let mapped: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.reads() && r.flag.is_none() && r.lookup.is_none() && r.json.is_none())
            .filter_map(|r| r.attr().map(|t| t.text.as_str()))
            .collect();
        format!(
            "filterable attributes are id, externalId, {}",
            mapped.join(", ")
        )
    }

    pub(super) fn target_for(&self, p: &AttrPath) -> Result<(Target, Option<&Rule>), ScimError> {
        if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("id") {
            return Ok((Target::Key, None));
        }
        if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("externalId") {
            return Ok((Target::ExternalId, None));
        }
        let resolved = self
            .resource_type
            .resolve(p)
            .map_err(|e| ScimError::invalid_filter(e.detail))?;
        let canon_attr = resolved.attr.name;
        let canon_sub = resolved.sub.map(|s| s.name);
        let urn = resolved.urn;
        let rule = self.rules.iter().filter(|r| r.reads()).find(|r| {
            r.attrs().iter().any(|t| {
                t.path.attr == canon_attr
                    && t.path.sub.as_deref() == canon_sub
                    && t.path.urn.as_deref() == urn
            })
        });
        match rule {
            Some(r) => Ok((column_target(p, r)?, Some(r))),
            None => Err(ScimError::invalid_filter(format!(
                "filtering on \"{p}\" is not supported: it is not stored in a column of the application; {}",
                self.filterable()
            ))),
        }
    }

    pub(super) fn compare(
        &self,
        p: &AttrPath,
        op: CompareOp,
        v: &CompValue,
    ) -> Result<Pred, ScimError> {
        let (target, rule) = self.target_for(p)?;
        self.compare_target(p, target, rule, op, v)
    }

    pub(super) fn compare_target(
        &self,
        p: &AttrPath,
        target: Target,
        rule: Option<&Rule>,
        op: CompareOp,
        v: &CompValue,
    ) -> Result<Pred, ScimError> {
        if *v == CompValue::Null {
            return match op {
                CompareOp::Eq => Ok(Pred::Not(Box::new(Pred::Present(target)))),
                CompareOp::Ne => Ok(Pred::Present(target)),
                _ => Err(ScimError::invalid_filter(format!(
                    "\"{p}\": null can only be compared with eq or ne"
                ))),
            };
        }
        let json = match v {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::Num(n) => Value::Number(n.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Null => Value::Null,
        };
        match target {
            Target::Member => Err(ScimError::invalid_filter("users have no members")),
            Target::Key => self.compare_key(op, &json),
            Target::ExternalId => compare_external_id(op, json),
            Target::Column(_) | Target::Joined(..) | Target::Child(..) => {
                compare_column(p, target, rule, op, &json)
            }
        }
    }

    /// `id`: typed like the key column; a non-integer never equals an integer key.
    pub(super) fn compare_key(&self, op: CompareOp, json: &Value) -> Result<Pred, ScimError> {
        let text = match json {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
            && self.key.kind != ColumnKind::Text
        {
            return Err(ScimError::invalid_filter(format!(
                "\"id\" is numeric here: use eq, ne, gt, ge, lt or le, not {}",
                op.as_str()
            )));
        }
        let value = match self.key.kind {
            ColumnKind::Int => match text.trim().parse::<i64>() {
                Ok(n) => HostValue::Int(n),
                // No id of this form exists: eq matches nothing, ne everything.
                Err(_) if op == CompareOp::Eq => return Ok(Pred::False),
                Err(_) if op == CompareOp::Ne => return Ok(Pred::True),
                Err(_) => {
                    return Err(ScimError::invalid_filter(format!(
                        "\"id\" values are integers here, not {text:?}"
                    )))
                }
            },
            _ => HostValue::Text(text),
        };
        Ok(Pred::Cmp {
            target: Target::Key,
            op,
            value,
            fold_case: false,
        })
    }
}

/// The target of a rule's column; refused when the column holds the value encoded.
pub(super) fn column_target(p: &AttrPath, r: &Rule) -> Result<Target, ScimError> {
    if r.flag.is_some() || r.lookup.is_some() || matches!(r.source, Source::Template(_)) {
        return Err(encoded(p, r));
    }
    if let Some(j) = &r.json {
        return Err(ScimError::invalid_filter(format!(
            "filtering on \"{p}\" is not supported: the application keeps it as key \"{}\" of the JSON column \"{}\", which filters do not read",
            j.key, r.column
        )));
    }
    Ok(if r.at == 0 {
        Target::Column(r.column.clone())
    } else {
        Target::Joined(r.at - 1, r.column.clone())
    })
}

pub(super) fn encoded(p: &AttrPath, r: &Rule) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on \"{p}\" is not supported: the application stores it encoded (combined with other data, as one bit, or as a key of another table) in column \"{}\"",
        r.column
    ))
}

pub(super) fn not_stored(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!(
        "filtering on \"{p}\" is not supported: \"{}\" of {} is not stored by the application",
        p.sub.as_deref().unwrap_or("value"),
        p.attr
    ))
}

/// `externalId`, kept in the bridge's link table.
pub(super) fn compare_external_id(op: CompareOp, json: Value) -> Result<Pred, ScimError> {
    let Value::String(s) = json else {
        return Err(ScimError::invalid_filter(
            "\"externalId\" is a string: compare it with a quoted value",
        ));
    };
    Ok(Pred::Cmp {
        target: Target::ExternalId,
        op,
        value: HostValue::Text(s),
        fold_case: false,
    })
}

/// A mapped column: the operand goes through the rule's encodings, as a write would store it.
pub(super) fn compare_column(
    p: &AttrPath,
    target: Target,
    rule: Option<&Rule>,
    op: CompareOp,
    json: &Value,
) -> Result<Pred, ScimError> {
    // target_for returns a rule with an attribute for every column target.
    let Some((r, t)) = rule.and_then(|r| r.attr().map(|t| (r, t))) else {
        return Err(ScimError::invalid_filter(format!(
            "filtering on \"{p}\" is not supported"
        )));
    };
    if r.map.is_some() || r.transforms.contains(&Transform::Not) {
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err(ScimError::invalid_filter(format!(
                "\"{p}\" is stored as a coded value: only eq, ne and pr apply"
            )));
        }
        let value = r
            .to_host(Some(json))
            .map_err(|e| ScimError::invalid_filter(e.detail))?;
        return Ok(Pred::Cmp {
            target,
            op,
            value,
            fold_case: false,
        });
    }
    if t.ty == crate::scim::schema::AttrType::Boolean && op.is_ordering() {
        return Err(ScimError::invalid_filter(format!(
            "\"{p}\" is a boolean: only eq, ne and pr apply"
        )));
    }
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if substring && r.kind != ColumnKind::Text {
        return Err(ScimError::invalid_filter(format!(
            "\"{p}\": {} applies to strings only",
            op.as_str()
        )));
    }
    let value = if substring {
        // Substring operands keep their spaces; only case transforms apply.
        let mut v = json.clone();
        for tr in r
            .transforms
            .iter()
            .filter(|t| matches!(t, Transform::Lowercase | Transform::Uppercase))
        {
            v = tr.apply(v).map_err(ScimError::invalid_filter)?;
        }
        HostValue::from_json(r.kind, &v)
    } else {
        let mut v = json.clone();
        for tr in &r.transforms {
            v = tr.apply(v).map_err(ScimError::invalid_filter)?;
        }
        HostValue::from_json(r.kind, &v)
    };
    let Some(value) = value else {
        return Err(ScimError::invalid_filter(format!(
            "{json} is not a valid value for \"{p}\""
        )));
    };
    let fold_case = r.kind == ColumnKind::Text && !t.case_exact;
    Ok(Pred::Cmp {
        target,
        op,
        value,
        fold_case,
    })
}
