//! The validated mapping the server runs with: every rule resolved against the live schema
//! and the SCIM schema, so the request path never re-checks a name or a type.

use serde_json::Value;

use super::host::ColumnKind;
use super::model::{AdoptState, Direction, KeyGenerate, OnDelete, When};
use super::transform::Transform;
use super::value::HostValue;
use crate::scim::path::AttrPath;
use crate::scim::resource::ResourceType;
use crate::scim::schema::AttrType;

/// A compiled column rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which table: 0 is the user's main row, `n` is `joined[n - 1]`.
    pub at: usize,
    pub column: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub has_default: bool,
    pub max_len: Option<u32>,
    pub int_range: Option<(i64, i64)>,
    pub source: Source,
    pub on: When,
    pub direction: Direction,
    pub transforms: Vec<Transform>,
    pub default: Option<Value>,
    /// `default = { attr = "userName" }`: another attribute used when this one is absent.
    pub default_attr: Option<AttrTarget>,
    /// (SCIM value, host value) pairs.
    pub map: Option<Vec<(Value, HostValue)>>,
    pub read_default: Option<Value>,
    /// The bit this boolean sets or clears in an integer flags column.
    pub flag: Option<i64>,
    /// The column holds the key of a row of another table.
    pub lookup: Option<Lookup>,
}

/// A lookup table: `key` of the row whose `column` equals the value.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub table: String,
    pub key: KeyColumn,
    pub column: String,
    pub create: bool,
    /// The host value meaning "none".
    pub none: Option<HostValue>,
}

impl Rule {
    pub fn writes(&self) -> bool {
        self.direction != Direction::FromHost
    }
    pub fn reads(&self) -> bool {
        self.direction != Direction::ToHost
            && matches!(self.source, Source::Attr(_) | Source::Template(_))
    }
    pub fn attr(&self) -> Option<&AttrTarget> {
        match &self.source {
            Source::Attr(t) => Some(t),
            _ => None,
        }
    }
    /// Every attribute the rule reads or writes (one, or a template's several).
    pub fn attrs(&self) -> Vec<&AttrTarget> {
        match &self.source {
            Source::Attr(t) => vec![t],
            Source::Template(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    TemplatePart::Attr(t) => Some(t),
                    TemplatePart::Text(_) => None,
                })
                .collect(),
            _ => vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    Attr(AttrTarget),
    Const(HostValue),
    Now,
    Template(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Attr(AttrTarget),
}

/// Where in a SCIM resource a rule reads and writes, with canonical names.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrTarget {
    /// `urn` is set only for extension attributes.
    pub path: AttrPath,
    pub ty: AttrType,
    pub case_exact: bool,
    /// The attribute is multi-valued: a value is chosen by `select`, or the primary one.
    pub multi: bool,
    /// `emails[type eq "work"].value` → `("type", "work")`.
    pub select: Option<(String, String)>,
    /// As written in the mapping.
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct KeyColumn {
    pub name: String,
    pub kind: ColumnKind,
    /// The database fills it (serial, identity, AUTO_INCREMENT, rowid).
    pub generated: bool,
    pub generate: Option<KeyGenerate>,
}

/// A table holding at most one row per user, joined on `parent = user key`.
#[derive(Debug, Clone)]
pub struct Joined {
    pub table: String,
    pub parent: String,
    pub conditions: Vec<(String, HostValue)>,
}

/// `column = one of values` (or, negated, none of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub values: Vec<HostValue>,
    pub negate: bool,
}

/// How a child table marks the primary value.
#[derive(Debug, Clone, PartialEq)]
pub enum PrimaryMark {
    /// A main-table column holding the primary child's key.
    Pointer { column: String, kind: ColumnKind },
    /// A child column: `on` for the primary row, `off` for the others.
    Flag {
        column: String,
        on: HostValue,
        off: HostValue,
    },
    /// The lowest key is the primary.
    First,
}

/// Rows holding the values of one multi-valued attribute.
#[derive(Debug, Clone)]
pub struct Child {
    pub table: String,
    pub key: KeyColumn,
    pub parent: String,
    /// Canonical attribute name (`emails`).
    pub attr: String,
    pub primary: PrimaryMark,
    pub conditions: Vec<(String, HostValue)>,
    /// Rules over one value; their targets are relative to the value object (`value`, `type`).
    pub rules: Vec<Rule>,
    /// The rule holding `value`: rows are matched to incoming values by it.
    pub value_rule: usize,
    /// Child columns read back, in SELECT order (after the key; the flag column last if any).
    pub read_columns: Vec<String>,
}

/// Where a `match` column lives.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchAt {
    /// 0 main, n joined[n - 1].
    Table(usize),
    Child(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchColumn {
    pub at: MatchAt,
    pub column: String,
}

/// The validated mapping for users.
#[derive(Debug, Clone)]
pub struct UserMapping {
    pub table: String,
    pub key: KeyColumn,
    pub rules: Vec<Rule>,
    /// Index of the rule that holds `userName`.
    pub user_name: usize,
    /// Index of the rule that holds `active`, if any.
    pub active: Option<usize>,
    pub match_columns: Vec<MatchColumn>,
    pub adopt: bool,
    pub adopt_state: AdoptState,
    pub adopt_overwrite: bool,
    pub on_delete: OnDelete,
    /// Which main-table rows are SCIM users.
    pub scope: Vec<Condition>,
    /// Rows SCIM never adopts or changes, each with who they are.
    pub protect: Vec<Protect>,
    pub soft_delete: Vec<(String, HostValue)>,
    pub joined: Vec<Joined>,
    pub children: Vec<Child>,
    pub resource_type: ResourceType,
    /// Columns read back (table index as in [`Rule::at`], column), in SELECT order.
    pub read_columns: Vec<(usize, String)>,
    /// Host groups, when the mapping writes them.
    pub host_groups: Option<GroupMapping>,
}

/// Rows the mapping keeps out of SCIM's reach.
#[derive(Debug, Clone)]
pub struct Protect {
    pub pred: crate::mapping::Pred,
    /// Who these rows are, as the operator wrote it (or a description of the rule).
    pub reason: String,
}

/// Host group table and its membership join table.
#[derive(Debug, Clone)]
pub struct GroupMapping {
    pub table: String,
    pub key: KeyColumn,
    pub match_column: Option<String>,
    pub on_delete: OnDelete,
    pub soft_delete: Vec<(String, HostValue)>,
    /// Rules over the Group resource (`displayName`, constants).
    pub rules: Vec<Rule>,
    pub members: Members,
}

#[derive(Debug, Clone)]
pub struct Members {
    pub table: String,
    pub group: String,
    pub group_kind: ColumnKind,
    pub user: String,
    pub user_kind: ColumnKind,
    /// Constant columns; the `Const` ones also identify the bridge's rows on removal.
    pub rules: Vec<Rule>,
}
