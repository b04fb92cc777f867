//! SCIM filters translated into predicates over host columns — data the store renders as
//! SQL with bound parameters. A filter that cannot be answered exactly in the database is
//! refused with `invalidFilter`; it is never approximated.
//!
//! # Multi-valued attributes: slots
//!
//! A mapping stores the values of a multi-valued attribute (`emails`, `phoneNumbers`,
//! `addresses`, `ims`, `photos`, …) in *slots*, and a filter on the attribute
//! (`emails.value eq "…"`, `emails[type eq "work" and value co "@x"]`, Entra ID's
//! `emails[type eq "work"].value eq "…"`) matches a user when one of its slots holds a value
//! the bracketed filter accepts:
//!
//! - each `attr[type eq "x"].sub` selection in the mapping is a slot holding the value of type
//!   `x` (and nothing says it is the primary one);
//! - the rules without a selection (`emails.value`, `addresses.locality`) are one slot holding
//!   **the primary value**. When the attribute's canonical types include `work` (emails, phone
//!   numbers, addresses) and no rule selects `[type eq "work"]`, that value *is* the work
//!   value: Okta, Entra ID and OneLogin send the primary address as `type: "work"`, and a
//!   single email column is what they match users by. So on the demo mapping
//!   `emails[type eq "work"]`, `emails[primary eq true]` and `emails` all mean the `email`
//!   column, and `emails[type eq "home"]` matches nothing;
//! - a child table is a slot of many rows: its primary row (the flagged row, the row the
//!   pointer names, else the lowest key — as reads mark it) is again the work value when the
//!   table stores no `type` column; other rows have no type (a `type` column, when mapped, is
//!   compared like any other).
//!
//! A slot's `type` and `primary` come from this declaration, not from the host (which holds
//! no type), and reads (see [`UserMapping::to_resource`]) show the same declaration: the
//! primary slot's value as `{"value": …, "type": "work", "primary": true}`. So a filter
//! matches a user exactly when it matches the user's view — with one kind of exception, which
//! the database cannot see: what the identity provider itself sent and the bridge only keeps
//! in its record (a type other than the declared one for a stored address, shown so the
//! provider sees no drift; a primary flag on a typed value; values with no column). A type no
//! slot declares matches nothing — an empty list, never a 400 — while a sub-attribute no slot
//! stores (`emails.display`) and an attribute stored nowhere are refused as before.

use super::value::HostValue;
use crate::scim::filter::CompareOp;

mod fallback;
mod slots;
mod translate;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A column of the main table (name as in the mapping, checked against the live schema).
    Column(String),
    /// A column of joined table `n` (`joined[n]`).
    Joined(usize, String),
    /// A column of child table `n`: on its own, true when any of the user's rows matches;
    /// inside [`Pred::AnyChild`], the column of that one row.
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
    /// Some row of child table `n` satisfies the inner predicate, whose
    /// [`Target::Child`]`(n, _)` leaves and [`Pred::PrimaryRow`] all test that one row:
    /// `emails[type eq "work" and value co "@x"]` needs one address to be both.
    AnyChild(usize, Box<Pred>),
    /// Only inside [`Pred::AnyChild`]: the row is the user's primary value, as reads mark it
    /// (the flagged row, else the row the pointer names, else the lowest key).
    PrimaryRow,
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

/// `p and q`, constants folded.
fn and(parts: Vec<Pred>) -> Pred {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Pred::True => {}
            Pred::False => return Pred::False,
            Pred::And(v) => out.extend(v),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pred::True,
        1 => out.pop().unwrap_or(Pred::True),
        _ => Pred::And(out),
    }
}

/// `p or q`, constants folded.
fn or(parts: Vec<Pred>) -> Pred {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Pred::False => {}
            Pred::True => return Pred::True,
            Pred::Or(v) => out.extend(v),
            p => out.push(p),
        }
    }
    match out.len() {
        0 => Pred::False,
        1 => out.pop().unwrap_or(Pred::False),
        _ => Pred::Or(out),
    }
}

fn not(p: Pred) -> Pred {
    match p {
        Pred::True => Pred::False,
        Pred::False => Pred::True,
        p => Pred::Not(Box::new(p)),
    }
}

#[cfg(test)]
pub(crate) mod value_paths;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::convert::tests::mapping;
    use crate::scim::filter::Filter;
    use crate::scim::ScimError;

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
