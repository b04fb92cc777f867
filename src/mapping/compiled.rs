//! The validated mapping the server runs with: every rule resolved against the live schema
//! and the SCIM schema, so the request path never re-checks a name or a type.

use serde_json::Value;

use super::host::{ColumnKind, Storage};
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
    /// How the column stores values beyond its kind: a date, an enum's labels (and the type
    /// writes cast to), bytes holding text.
    pub storage: Storage,
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
    /// `value = { own_key = true }`: the column holds its own row's key, written just after
    /// the row is inserted (the insert writes a placeholder, `source`).
    pub own_key: bool,
    /// `value = { key_of = "principals" }`: the column holds the key of the user's row of
    /// that joined table (one the user's row points at, inserted first); written when this
    /// row is inserted.
    pub key_of: Option<String>,
    /// The value is one key of a JSON object column; `kind` is then the value's kind inside
    /// the object, and the column itself holds text.
    pub json: Option<JsonKey>,
}

/// One key of a JSON object column (`json_path`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonKey {
    pub key: String,
    /// The column's JSON type, which writes are cast to (PostgreSQL `jsonb`, `json`).
    pub cast: Option<super::host::TypeName>,
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
    /// The other columns of a row the lookup creates (`set`), as rules of the lookup table:
    /// evaluated against the request only when a row is created, never read back.
    pub set: Vec<Rule>,
}

impl Rule {
    /// The kind of what the column stores: text for a JSON key's column.
    pub fn column_kind(&self) -> ColumnKind {
        if self.json.is_some() {
            ColumnKind::Text
        } else {
            self.kind
        }
    }
    pub fn writes(&self) -> bool {
        self.direction != Direction::FromHost
    }
    /// Whether reads take an attribute from this column: an attribute's, or a template's
    /// that names attributes (a random fill is never read back).
    pub fn reads(&self) -> bool {
        self.direction != Direction::ToHost && !self.attrs().is_empty()
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
                    TemplatePart::Text(_) | TemplatePart::Random(_) => None,
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
    /// The time of the write, in the column's form (see [`HostValue::now`]).
    Now,
    /// Text made from parts on every write that writes the column. `value = { random = N }`
    /// is a template of one [`TemplatePart::Random`] part: made anew for each row inserted,
    /// never read back.
    Template(Vec<TemplatePart>),
}

impl Source {
    /// What feeds the column, in the mapping file's words (for listings such as `check`'s).
    pub fn describe(&self) -> String {
        match self {
            Source::Attr(a) => a.text.clone(),
            Source::Const(v) => format!("constant {}", v.display()),
            Source::Now => "now".into(),
            Source::Template(parts) => match parts.as_slice() {
                [TemplatePart::Random(r)] => r.describe(),
                parts => format!(
                    "template \"{}\"",
                    parts.iter().map(TemplatePart::describe).collect::<String>()
                ),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Attr(AttrTarget),
    /// A fresh secret of `len` characters drawn from `alphabet` by the operating system's
    /// random source, for each row inserted.
    Random(RandomFill),
}

impl TemplatePart {
    /// The part as a template writes it: text, `{attribute}`.
    pub fn describe(&self) -> String {
        match self {
            TemplatePart::Text(t) => t.clone(),
            TemplatePart::Attr(a) => format!("{{{}}}", a.text),
            TemplatePart::Random(r) => format!("{{{}}}", r.describe()),
        }
    }
}

/// `value = { random = 32, alphabet = "hex" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomFill {
    pub len: usize,
    pub alphabet: Alphabet,
}

impl RandomFill {
    pub fn describe(&self) -> String {
        format!(
            "random {} characters ({}), new for each row inserted",
            self.len,
            self.alphabet.name()
        )
    }

    /// The secret's strength: bits of entropy.
    pub fn bits(&self) -> f64 {
        self.len as f64 * (self.alphabet.chars().len() as f64).log2()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `A-Z a-z 0-9`
    Alphanumeric,
    /// `0-9 a-f`
    Hex,
    /// `A-Z a-z 0-9 - _` (URL- and cookie-safe)
    Base64Url,
    /// `0-9`
    Digits,
}

impl Alphabet {
    pub const NAMES: &'static str =
        "\"alphanumeric\" (default), \"hex\", \"base64url\", \"digits\"";

    pub fn parse(name: &str) -> Option<Alphabet> {
        Some(match name {
            "alphanumeric" => Alphabet::Alphanumeric,
            "hex" => Alphabet::Hex,
            "base64url" => Alphabet::Base64Url,
            "digits" => Alphabet::Digits,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Alphabet::Alphanumeric => "alphanumeric",
            Alphabet::Hex => "hex",
            Alphabet::Base64Url => "base64url",
            Alphabet::Digits => "digits",
        }
    }

    pub fn chars(self) -> &'static [u8] {
        match self {
            Alphabet::Alphanumeric => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            }
            Alphabet::Hex => b"0123456789abcdef",
            Alphabet::Base64Url => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            }
            Alphabet::Digits => b"0123456789",
        }
    }
}

/// A value a write puts into a column that is not a SCIM attribute's: a constant, or the
/// time of the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Value(HostValue),
    /// The current time in the column's form (see [`HostValue::now`]).
    Now {
        kind: ColumnKind,
        storage: Storage,
    },
    /// A fresh secret for each write (`{ random = 40 }`: a password scrambled on deactivation).
    Random(RandomFill),
}

/// Column values a deletion writes (`soft_delete = { is_deleted = 1, deleted_at = "now" }`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignments(pub Vec<(String, Fill)>);

impl Assignments {
    /// The columns and the values to write now: each `"now"` is the current time, taken
    /// when this is called.
    pub fn iter(&self) -> std::vec::IntoIter<(String, HostValue)> {
        let now = chrono::Utc::now().naive_utc();
        self.0
            .iter()
            .map(|(c, f)| {
                let v = match f {
                    Fill::Value(v) => v.clone(),
                    Fill::Now { kind, storage } => HostValue::now(*kind, storage, now),
                    Fill::Random(r) => HostValue::Text(crate::mapping::convert::fresh_secret(r)),
                };
                (c.clone(), v)
            })
            .collect::<Vec<_>>()
            .into_iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `[users.on_deactivate]` or `[users.on_reactivate]`: what a change of `active` does
/// besides the `active` column, in the same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actions {
    /// Columns of the user's row.
    pub set: Assignments,
    /// Rows of other tables keyed by the user.
    pub delete: Vec<DeleteRows>,
    /// `record_only = true`: nothing to write, on purpose.
    pub record_only: bool,
}

impl Actions {
    /// Whether the actions write nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    /// Whether the mapping says what a deactivation does (writes, or `record_only`).
    pub fn declared(&self) -> bool {
        self.record_only || !self.is_empty()
    }

    /// The actions as `check` lists them, one line each.
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .set
            .0
            .iter()
            .map(|(c, f)| {
                let what = match f {
                    Fill::Value(v) if v.is_null() => "NULL".to_string(),
                    Fill::Value(v) => format!("constant {}", v.display()),
                    Fill::Now { .. } => "now".into(),
                    Fill::Random(r) => format!(
                        "random {} characters ({}), new each time",
                        r.len,
                        r.alphabet.name()
                    ),
                };
                format!("set {c} ← {what}")
            })
            .collect();
        for d in &self.delete {
            let mut line = format!("delete rows of {} where {} = user key", d.table, d.parent);
            for (c, v) in &d.conditions {
                line.push_str(&format!(" and {c} = {}", v.display()));
            }
            out.push(line);
        }
        if self.record_only {
            out.push(
                "nothing in the application (record_only: kept in the bridge's record)".into(),
            );
        }
        out
    }
}

/// A change of a user's `active` by the identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChange {
    Deactivate,
    Reactivate,
}

impl StateChange {
    /// The change from the resource `before` to `after`: `None` when `after` does not say
    /// (an attribute not sent) or says what `before` did. A user without `active` is active.
    pub fn between(before: &Value, after: &Value) -> Option<StateChange> {
        let was = before
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        match after.get("active").and_then(Value::as_bool)? {
            false if was => Some(StateChange::Deactivate),
            true if !was => Some(StateChange::Reactivate),
            _ => None,
        }
    }
}

impl UserMapping {
    /// What `change` does besides the `active` column.
    pub fn actions(&self, change: StateChange) -> &Actions {
        match change {
            StateChange::Deactivate => &self.on_deactivate,
            StateChange::Reactivate => &self.on_reactivate,
        }
    }

    /// Whether the mapping can carry out a deactivation: a column holds `active`, or
    /// `[users.on_deactivate]` does something.
    pub fn can_deactivate(&self) -> bool {
        self.active.is_some() || self.on_deactivate.declared()
    }
}

/// The rows of `table` whose `parent` holds the user's key and that meet `conditions`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteRows {
    pub table: String,
    pub parent: String,
    pub conditions: Vec<(String, HostValue)>,
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

/// A table holding at most one row per user, joined on `parent = user column` (the key
/// unless `user_column` says otherwise).
#[derive(Debug, Clone)]
pub struct Joined {
    pub table: String,
    pub parent: String,
    /// The column of the user's row `parent` holds: the key, or another (the login).
    pub user_column: String,
    pub user_column_kind: ColumnKind,
    /// `parent` is this table's generated key and `user_column` a column of the user's row
    /// that points at it (a principal row): the row is inserted before the user's, and its
    /// new key is written into `user_column`.
    pub before_user: bool,
    pub conditions: Vec<(String, HostValue)>,
    /// `Insert`: created only with a user the bridge inserts.
    pub on: When,
    /// The row exists only while one of its attributes is present.
    pub skip_if_absent: bool,
}

/// `column = one of values` (or, negated, none of them). A NULL among the values
/// (`{ null = true }` in the mapping) means `column IS NULL`.
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
    /// What `on_delete = "soft_delete"` writes.
    pub soft_delete: Assignments,
    /// What a change of `active` to false does besides the `active` column.
    pub on_deactivate: Actions,
    /// What a change of `active` to true does.
    pub on_reactivate: Actions,
    pub joined: Vec<Joined>,
    pub children: Vec<Child>,
    pub resource_type: ResourceType,
    /// Columns read back (table index as in [`Rule::at`], column), in SELECT order.
    pub read_columns: Vec<(usize, String)>,
    /// Host groups, when the mapping writes them.
    pub host_groups: Option<GroupMapping>,
    /// What membership of a pushed group gives (`[[users.grants]]`).
    pub grants: Vec<Grant>,
    /// Attributes served from other attributes when their own column is empty
    /// (`read_fallback`).
    pub fallbacks: Vec<Fallback>,
}

/// `read_fallback = { userName = ["emails.value"] }`: when `attr` reads empty (NULL, `""`
/// or no joined row), it is served as the first non-empty of `from`. Why a read-only rule:
/// the application created these rows without the column (osTicket's guests who only
/// e-mailed a ticket have no account row), and a user served without a userName cannot be
/// matched by an identity provider's import; writes still put the attribute in its own
/// column, so the fallback never shadows a value the identity provider sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub attr: AttrTarget,
    pub from: Vec<AttrTarget>,
}

/// A grant: what members of one pushed group get, and what leaving it writes back.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The group's displayName, folded (trimmed, lower-cased) as groups are compared.
    pub group: String,
    /// Columns of the user's main row while a member.
    pub set: Vec<(String, HostValue)>,
    /// The same columns once the user is no member.
    pub otherwise: Vec<(String, HostValue)>,
    pub row: Option<GrantRow>,
}

/// A row of another table that exists while the user is a member.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    pub table: String,
    /// Column holding the user's key.
    pub parent: String,
    /// The row's other columns: what it is written with and what identifies it.
    pub values: Vec<(String, HostValue)>,
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
    pub soft_delete: Assignments,
    /// Which rows of the table are groups (`groups.scope`).
    pub scope: Vec<Condition>,
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
