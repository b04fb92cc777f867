//! The mapping file as written by the operator (TOML), before validation.
//! `deny_unknown_fields` everywhere: a typo is an error that names the key, not a rule that
//! silently does nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    pub users: UsersSection,
    /// Host groups written by Okta Push Groups; without it groups live only in the bridge.
    #[serde(default)]
    pub groups: Option<GroupsSection>,
    /// Custom schema extensions of the User resource: URN → attribute → type. Attributes no
    /// column maps are kept in the bridge's record of what the identity provider sent.
    #[serde(default)]
    pub extensions: BTreeMap<String, BTreeMap<String, ExtensionAttr>>,
}

/// One declared extension attribute: its type (`"string"`, `"boolean"`, `"integer"`,
/// `"decimal"`, `"dateTime"`, `"reference"`), or `{ type = "string", multi = true }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ExtensionAttr {
    Type(String),
    Full(ExtensionAttrFull),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionAttrFull {
    #[serde(rename = "type")]
    pub ty: String,
    /// Multi-valued: an array of values of the type.
    #[serde(default)]
    pub multi: bool,
}

impl ExtensionAttr {
    /// (type as written, multi-valued).
    pub fn parts(&self) -> (&str, bool) {
        match self {
            ExtensionAttr::Type(t) => (t, false),
            ExtensionAttr::Full(f) => (&f.ty, f.multi),
        }
    }
}

/// Equality conditions on a table's columns: `{ authtype = 4, is_deleted = 0 }`; a list
/// means any of its values.
pub type Conditions = BTreeMap<String, toml::Value>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersSection {
    /// Host table holding one row per user.
    pub table: String,
    /// Primary-key column; its value is the SCIM `id`.
    pub key: String,
    /// How to make a key when the database does not: `"uuid"`.
    #[serde(default)]
    pub key_generate: Option<KeyGenerate>,
    /// Columns compared (trimmed, case-insensitively) with an incoming `userName` to adopt an
    /// existing row instead of inserting a duplicate. Defaults to the `userName` column.
    #[serde(default, rename = "match")]
    pub match_columns: Option<Vec<String>>,
    /// Adopt a matching existing row on `POST /Users` (default true); false answers 409.
    #[serde(default = "yes")]
    pub adopt: bool,
    /// What adopting an existing row does with its state (`active`): `keep` (default) leaves
    /// an account the application locked or disabled as it is; `idp` writes the request's.
    #[serde(default)]
    pub adopt_state: AdoptState,
    /// Adoption writes the whole resource, clearing what the request does not carry and
    /// replacing child rows, as if the identity provider had always owned the row. Off by
    /// default: adoption merges, so a pre-existing user loses nothing.
    #[serde(default)]
    pub adopt_overwrite: bool,
    /// What `DELETE /Users/{id}` does to the host row.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// Column values that mark a row deleted, for `on_delete = "soft_delete"`.
    #[serde(default)]
    pub soft_delete: Option<Conditions>,
    /// Which host rows belong to SCIM: conditions every read, filter, match and write obeys;
    /// written into new rows.
    #[serde(default)]
    pub scope: Option<Conditions>,
    /// Attributes served from another attribute when their own column is empty:
    /// `{ userName = "emails.value" }` or a list, the first non-empty one wins. Reads (and
    /// filters) only; writes still go to the attribute's own column.
    #[serde(default)]
    pub read_fallback: BTreeMap<String, OneOrMany>,
    pub columns: BTreeMap<String, ColumnRule>,
    /// Rows SCIM must never take over or change (the application's administrators): any
    /// entry that matches protects the row.
    #[serde(default)]
    pub protect: Vec<ProtectSection>,
    /// One row per user in another table (an account row, a role row), keyed by `parent`.
    #[serde(default)]
    pub joined: Vec<JoinedSection>,
    /// Rows holding a multi-valued attribute (emails, phone numbers), one per value.
    #[serde(default)]
    pub children: Vec<ChildSection>,
    /// What membership of a pushed group gives a user (a role column, a role row), and takes
    /// back when the user leaves the group, is deactivated or deleted.
    #[serde(default)]
    pub grants: Vec<GrantSection>,
    /// What deactivating a user does besides its `active` column: columns set and rows
    /// deleted, in the same transaction.
    #[serde(default)]
    pub on_deactivate: Option<ActionsSection>,
    /// What reactivating a user does (undoing part of `on_deactivate`).
    #[serde(default)]
    pub on_reactivate: Option<ActionsSection>,
}

/// `[users.on_deactivate]` / `[users.on_reactivate]`: run when the identity provider changes
/// a user's `active`, never on a request that re-sends the state the user is in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsSection {
    /// Columns of the user's row: a constant, `"now"`, `{ null = true }` or
    /// `{ random = N }` (a fresh secret, e.g. to scramble a password).
    #[serde(default)]
    pub set: Option<Conditions>,
    /// Rows of other tables that belong to the user (sessions, role rows), deleted.
    #[serde(default)]
    pub delete: Vec<DeleteRowsSection>,
    /// `record_only = true`: the application's users have no account to lock (FreeScout
    /// customers, contacts who only e-mail), so a deactivation is kept in the bridge's record
    /// and writes nothing — declared, so that it is a decision and not an oversight.
    #[serde(default)]
    pub record_only: bool,
}

/// `{ table = "sessions", parent = "user_id" }`: the rows of `table` whose `parent` holds the
/// user's key (and that meet `where`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRowsSection {
    pub table: String,
    /// Column holding the user's key.
    pub parent: String,
    #[serde(default, rename = "where")]
    pub conditions: Option<Conditions>,
}

/// One `[[users.grants]]` entry: members of the pushed group `group` get `set` (columns of
/// their row) and/or `row` (a row of another table referring to them); leaving the group
/// writes `otherwise` back and deletes the row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantSection {
    /// The pushed group's displayName (compared trimmed, case-insensitively).
    pub group: String,
    /// Columns of the user's row while a member: `{ role = "agent" }`.
    #[serde(default)]
    pub set: Option<Conditions>,
    /// What `set`'s columns hold again once the user leaves: `{ role = "customer" }`.
    #[serde(default)]
    pub otherwise: Option<Conditions>,
    /// A row that exists while the user is a member: `{ table, parent, where }`.
    #[serde(default)]
    pub row: Option<HasRow>,
}

/// One `[[users.protect]]` entry: conditions on the user's row, a row of another table that
/// refers to the user, or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectSection {
    /// Columns of the user's row: `{ role = "admin" }`, `{ password = { not = "!" } }`.
    #[serde(default, rename = "where")]
    pub conditions: Option<Conditions>,
    /// A row of another table that refers to the user, e.g. an administrator role row.
    #[serde(default)]
    pub has: Option<HasRow>,
    /// Who these rows are, for refusals and listings ("application administrators").
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HasRow {
    pub table: String,
    /// Column holding the user's key.
    pub parent: String,
    #[serde(default, rename = "where")]
    pub conditions: Option<Conditions>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinedSection {
    pub table: String,
    /// Column holding the user's key (or the value of `user_column`).
    pub parent: String,
    /// The column of the user's row that `parent` holds, when it is not the key (a table
    /// keyed by the login). Kept in step: when the column changes, so does `parent`.
    #[serde(default)]
    pub user_column: Option<String>,
    /// Conditions that pick this user's row when the table holds several kinds (e.g. a role
    /// id); written into the row when the bridge creates it.
    #[serde(default, rename = "where")]
    pub conditions: Option<Conditions>,
    /// `"insert"`: the row is created only for users the bridge inserts, never for adopted
    /// ones or on a later update (default `"always"`: whenever a write has something for it).
    #[serde(default)]
    pub on: When,
    /// No row while none of the section's attributes is present; the row is deleted when the
    /// identity provider removes them (a preference row per attribute).
    #[serde(default)]
    pub skip_if_absent: bool,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildSection {
    pub table: String,
    /// The child table's own key column.
    pub key: String,
    #[serde(default)]
    pub key_generate: Option<KeyGenerate>,
    /// Column holding the user's key.
    pub parent: String,
    /// The multi-valued SCIM attribute these rows hold: `emails`, `phoneNumbers`, ….
    pub attr: String,
    /// How the application marks the primary value.
    #[serde(default)]
    pub primary: Option<Primary>,
    #[serde(default, rename = "where")]
    pub conditions: Option<Conditions>,
    /// Child columns; `attr` names a sub-attribute of one value (`value`, `type`).
    pub columns: BTreeMap<String, ColumnRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Primary {
    /// A column of the user's main row holding the primary child's key (osTicket).
    #[serde(default)]
    pub pointer: Option<String>,
    /// A child column set for the primary value and cleared for the others (GLPI).
    #[serde(default)]
    pub flag: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsSection {
    pub table: String,
    pub key: String,
    #[serde(default)]
    pub key_generate: Option<KeyGenerate>,
    /// A column compared case-insensitively with a pushed group's displayName to link an
    /// existing host group instead of creating a second one.
    #[serde(default, rename = "match")]
    pub match_column: Option<String>,
    /// What `DELETE /Groups/{id}` does to the host group: `ignore` (default), `soft_delete`
    /// or `delete`.
    #[serde(default = "group_delete_default")]
    pub on_delete: OnDelete,
    #[serde(default)]
    pub soft_delete: Option<Conditions>,
    /// Which rows of the table are groups, when groups share a table with users (single-table
    /// inheritance: `{ type = "Group" }`): `match` looks only there, and single values are
    /// written into new group rows.
    #[serde(default)]
    pub scope: Option<Conditions>,
    pub columns: BTreeMap<String, ColumnRule>,
    pub members: MembersSection,
}

fn group_delete_default() -> OnDelete {
    OnDelete::Ignore
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersSection {
    pub table: String,
    /// Column holding the group's key.
    pub group: String,
    /// Column holding the user's key.
    pub user: String,
    /// Constant columns of a membership row (`access = "full"`); also part of what identifies
    /// the row the bridge removes.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRule>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyGenerate {
    Uuid,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptState {
    #[default]
    Keep,
    Idp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Write the mapped `active` column (Okta and Entra deactivate this way too).
    #[default]
    Deactivate,
    /// Delete the host row. Only when the mapping says so: tickets usually reference users.
    Delete,
    /// Answer 204 and change nothing in the host table; the bridge forgets its link.
    Ignore,
    /// Write the `soft_delete` column values (`is_deleted = 1`); the row leaves the scope.
    SoftDelete,
}

impl OnDelete {
    /// The word the mapping file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::Deactivate => "deactivate",
            OnDelete::Delete => "delete",
            OnDelete::Ignore => "ignore",
            OnDelete::SoftDelete => "soft_delete",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Both,
    ToHost,
    FromHost,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// On insert and on every update.
    #[default]
    Always,
    /// Only when the bridge inserts the row (e.g. `created_at`, a placeholder password).
    Insert,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// How one host column is fed. Exactly one of `attr`, `template` and `value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    /// SCIM attribute path: `userName`, `name.givenName`, `emails.value` (the primary email),
    /// `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`, a custom URN.
    #[serde(default)]
    pub attr: Option<String>,
    /// A constant, or `"now"` for the current UTC time.
    #[serde(default)]
    pub value: Option<toml::Value>,
    #[serde(default)]
    pub on: When,
    #[serde(default)]
    pub direction: Direction,
    /// Applied in order on the way to the host: trim, lowercase, uppercase, not, null_if_empty.
    #[serde(default)]
    pub transform: Option<OneOrMany>,
    /// Cut text to at most this many characters on the way to the host, instead of refusing
    /// a value longer than the column with 400. Opt-in, because the application then holds
    /// less than the identity provider sent (and serves that back).
    #[serde(default)]
    pub truncate: Option<u32>,
    /// Used when the attribute is absent.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// SCIM value (as text) → host value, e.g. `{ true = 1, false = 2 }`; reversed on reads.
    #[serde(default)]
    pub map: Option<BTreeMap<String, toml::Value>>,
    /// SCIM value reported when the host value matches nothing in `map`.
    #[serde(default)]
    pub read_default: Option<toml::Value>,
    /// Store a boolean as one bit of an integer flags column: the bit is set when the value
    /// (after transforms) is true, and the column's other bits are left as they are.
    #[serde(default)]
    pub flag: Option<i64>,
    /// Several attributes into one column: `"{name.givenName} {name.familyName}"`. Read back
    /// by splitting at the literal between two attributes.
    #[serde(default)]
    pub template: Option<String>,
    /// Store the key of the row of another table whose `column` holds the value (a title id,
    /// a department id) instead of the value itself.
    #[serde(default)]
    pub lookup: Option<LookupSection>,
    /// One key of a JSON object column: `{ attr = "title", json_path = "title" }`; the
    /// object's other keys are kept.
    #[serde(default)]
    pub json_path: Option<String>,
    /// The host column, when the mapping key is not its name: several keys of one JSON column
    /// each need a mapping key of their own (`profile_title = { column = "profile", … }`).
    #[serde(default)]
    pub column: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSection {
    pub table: String,
    pub key: String,
    /// The column holding the SCIM value (compared case-insensitively).
    pub column: String,
    /// Insert a row for a value the table does not hold yet (otherwise: 400).
    #[serde(default)]
    pub create: bool,
    /// The host value meaning "none" (e.g. 0), written when the attribute is absent.
    #[serde(default)]
    pub none: Option<toml::Value>,
    /// Other columns of a row the lookup creates (`create = true`): a constant (`"contact"`,
    /// `true`, `"now"`) or a column rule of the same request's attributes
    /// (`{ attr = "displayName", default = { attr = "userName" } }`). Written only into a row
    /// the bridge inserts; an existing row holding the value is never changed.
    #[serde(default)]
    pub set: Option<BTreeMap<String, toml::Value>>,
}
