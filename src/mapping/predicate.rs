//! SCIM filters translated into predicates over host columns — data the store renders as
//! SQL with bound parameters. A filter that cannot be answered exactly in the database is
//! refused with `invalidFilter`; it is never approximated.

use serde_json::Value;

use super::compile::{Rule, Source, UserMapping};
use super::host::ColumnKind;
use super::transform::Transform;
use super::value::HostValue;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A column of the main table (name as in the mapping, checked against the live schema).
    Column(String),
    /// A column of joined table `n` (`joined[n]`).
    Joined(usize, String),
    /// A column of child table `n`: true when any of the user's rows matches.
    Child(usize, String),
    /// The key column.
    Key,
    /// `externalId`, kept in the bridge's link table.
    ExternalId,
    /// Groups: a member's id (`members.value`), in the membership table.
    Member,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    True,
    False,
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// NULL never matches (SCIM: an absent attribute equals nothing).
    Cmp {
        target: Target,
        op: CompareOp,
        value: HostValue,
        fold_case: bool,
    },
    Present(Target),
    /// A row of another table refers to the user: `table.parent` holds the user's key and
    /// the row meets `conditions`.
    Exists {
        table: String,
        parent: String,
        conditions: Vec<(String, HostValue)>,
    },
}

impl Pred {
    /// `column = one of values` for every condition (or none of them, negated).
    pub fn conditions(conds: &[crate::mapping::compiled::Condition]) -> Option<Pred> {
        let mut parts: Vec<Pred> = conds
            .iter()
            .map(|c| {
                let any = Pred::Or(
                    c.values
                        .iter()
                        .map(|v| Pred::Cmp {
                            target: Target::Column(c.column.clone()),
                            op: CompareOp::Eq,
                            value: v.clone(),
                            fold_case: false,
                        })
                        .collect(),
                );
                if c.negate {
                    Pred::Not(Box::new(any))
                } else {
                    any
                }
            })
            .collect();
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Pred::And(parts)),
        }
    }
}

impl UserMapping {
    /// Translates a filter into a host predicate.
    ///
    /// # Errors
    /// `invalidFilter` naming the attribute when it is not stored in a host column or the
    /// comparison cannot be expressed exactly.
    pub fn predicate(&self, f: &Filter) -> Result<Pred, ScimError> {
        Ok(match f {
            Filter::And(a, b) => Pred::And(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Or(a, b) => Pred::Or(vec![self.predicate(a)?, self.predicate(b)?]),
            Filter::Not(a) => Pred::Not(Box::new(self.predicate(a)?)),
            Filter::Present(p) => Pred::Present(self.target_for(p, None)?.0),
            Filter::Compare(p, op, v) => self.compare(p, None, *op, v)?,
            Filter::ValuePath(attr, inner) => self.value_path(attr, inner)?,
        })
    }

    fn value_path(&self, attr: &AttrPath, inner: &Filter) -> Result<Pred, ScimError> {
        Ok(match inner {
            Filter::And(a, b) => {
                Pred::And(vec![self.value_path(attr, a)?, self.value_path(attr, b)?])
            }
            Filter::Or(a, b) => {
                Pred::Or(vec![self.value_path(attr, a)?, self.value_path(attr, b)?])
            }
            Filter::Not(a) => Pred::Not(Box::new(self.value_path(attr, a)?)),
            Filter::Compare(rel, op, v) => {
                let full = attr.with_sub(Some(&rel.attr));
                // `type eq "work"` inside emails[…] is satisfied by a rule that selects it.
                if let (CompareOp::Eq, CompValue::Str(want)) = (op, v) {
                    if let Some(sel) = self.selected(&full) {
                        return Ok(if sel.eq_ignore_ascii_case(want) {
                            Pred::True
                        } else {
                            Pred::False
                        });
                    }
                }
                self.compare(&full, Some(attr), *op, v)?
            }
            Filter::Present(rel) => Pred::Present(
                self.target_for(&attr.with_sub(Some(&rel.attr)), Some(attr))?
                    .0,
            ),
            Filter::ValuePath(..) => {
                return Err(ScimError::invalid_filter("value filters cannot be nested"))
            }
        })
    }

    /// For `emails.type`, the type value the mapped email rule selects, if any.
    fn selected(&self, path: &AttrPath) -> Option<&str> {
        let sub = path.sub.as_deref()?;
        self.rules.iter().filter(|r| r.reads()).find_map(|r| {
            let t = r.attr()?;
            let (f, v) = t.select.as_ref()?;
            (t.path.attr.eq_ignore_ascii_case(&path.attr) && f.eq_ignore_ascii_case(sub))
                .then_some(v.as_str())
        })
    }

    fn target_for(
        &self,
        p: &AttrPath,
        _value_path: Option<&AttrPath>,
    ) -> Result<(Target, Option<&Rule>), ScimError> {
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
        if urn.is_none() {
            if let Some((i, c)) = self
                .children
                .iter()
                .enumerate()
                .find(|(_, c)| c.attr == canon_attr)
            {
                let sub = canon_sub.unwrap_or("value");
                return match c
                    .rules
                    .iter()
                    .filter(|r| r.reads())
                    .find(|r| r.attr().is_some_and(|t| t.path.attr == sub))
                {
                    Some(r) => Ok((Target::Child(i, r.column.clone()), Some(r))),
                    None => Err(ScimError::invalid_filter(format!(
                        "filtering on \"{p}\" is not supported: \"{sub}\" of {canon_attr} is not stored by the application"
                    ))),
                };
            }
        }
        let rule = self.rules.iter().filter(|r| r.reads()).find(|r| {
            r.attrs().iter().any(|t| {
                t.path.attr == canon_attr
                    && t.path.sub.as_deref() == canon_sub
                    && t.path.urn.as_deref() == urn
            })
        });
        match rule {
            Some(r)
                if r.flag.is_some()
                    || r.lookup.is_some()
                    || matches!(r.source, Source::Template(_)) =>
            {
                Err(ScimError::invalid_filter(format!(
                    "filtering on \"{p}\" is not supported: the application stores it encoded (combined with other data, as one bit, or as a key of another table) in column \"{}\"",
                    r.column
                )))
            }
            Some(r) if r.at == 0 => Ok((Target::Column(r.column.clone()), Some(r))),
            Some(r) => Ok((
                Target::Joined(r.at - 1, r.column.clone()),
                Some(r),
            )),
            None => {
                let mapped: Vec<&str> = self
                    .rules
                    .iter()
                    .filter(|r| r.reads() && r.flag.is_none() && r.lookup.is_none())
                    .filter_map(|r| r.attr().map(|t| t.text.as_str()))
                    .collect();
                Err(ScimError::invalid_filter(format!(
                    "filtering on \"{p}\" is not supported: it is not stored in a column of the application; filterable attributes are id, externalId, {}",
                    mapped.join(", ")
                )))
            }
        }
    }

    fn compare(
        &self,
        p: &AttrPath,
        value_path: Option<&AttrPath>,
        op: CompareOp,
        v: &CompValue,
    ) -> Result<Pred, ScimError> {
        let (target, rule) = self.target_for(p, value_path)?;
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
            Target::Key => self.compare_key(op, json),
            Target::ExternalId => compare_external_id(op, json),
            Target::Column(_) | Target::Joined(..) | Target::Child(..) => {
                compare_column(p, target, rule, op, json)
            }
        }
    }

    /// `id`: typed like the key column; a non-integer never equals an integer key.
    fn compare_key(&self, op: CompareOp, json: Value) -> Result<Pred, ScimError> {
        let text = match &json {
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

/// `externalId`, kept in the bridge's link table.
fn compare_external_id(op: CompareOp, json: Value) -> Result<Pred, ScimError> {
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
fn compare_column(
    p: &AttrPath,
    target: Target,
    rule: Option<&Rule>,
    op: CompareOp,
    json: Value,
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
            .to_host(Some(&json))
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

#[cfg(test)]
mod tests {
    use super::super::convert::tests::mapping;
    use super::*;

    fn pred(s: &str) -> Result<Pred, ScimError> {
        mapping().predicate(&Filter::parse(s).unwrap())
    }

    #[test]
    fn okta_and_entra_lookups() {
        assert_eq!(
            pred(r#"userName eq "  Alice@Example.com""#).unwrap(),
            Pred::Cmp {
                target: Target::Column("email".into()),
                op: CompareOp::Eq,
                value: HostValue::Text("alice@example.com".into()),
                fold_case: true
            }
        );
        assert_eq!(
            pred(r#"externalId eq "00u1""#).unwrap(),
            Pred::Cmp {
                target: Target::ExternalId,
                op: CompareOp::Eq,
                value: HostValue::Text("00u1".into()),
                fold_case: false
            }
        );
        assert_eq!(
            pred(r#"id eq "17""#).unwrap(),
            Pred::Cmp {
                target: Target::Key,
                op: CompareOp::Eq,
                value: HostValue::Int(17),
                fold_case: false
            }
        );
        assert_eq!(pred(r#"id eq "not-a-number""#).unwrap(), Pred::False);
    }

    #[test]
    fn coded_values_and_logic() {
        let p =
            pred(r#"active eq false and (name.givenName sw "Al" or name.familyName pr)"#).unwrap();
        let Pred::And(parts) = p else { panic!() };
        assert_eq!(
            parts[0],
            Pred::Cmp {
                target: Target::Column("status".into()),
                op: CompareOp::Eq,
                value: HostValue::Int(2),
                fold_case: false
            }
        );
        assert!(matches!(&parts[1], Pred::Or(v) if v.len() == 2));
        assert!(pred("active gt true").is_err());
    }

    #[test]
    fn unmapped_attributes_are_refused_not_approximated() {
        let e = pred(r#"title eq "Boss""#).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::scim::ScimType::InvalidFilter));
        assert!(
            e.detail.contains("title") && e.detail.contains("userName"),
            "{}",
            e.detail
        );
        assert!(
            pred(r#"emails.value eq "a@b""#).is_err(),
            "this mapping stores no email column"
        );
        assert!(pred(r#"nonsense eq "a""#).is_err());
    }
}
