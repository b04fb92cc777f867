//! The mapping file as written by the operator (TOML), before validation.
//! `deny_unknown_fields` everywhere: a typo is an error that names the key, not a rule that
//! silently does nothing.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    pub users: UsersSection,
}

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
    /// What `DELETE /Users/{id}` does to the host row.
    #[serde(default)]
    pub on_delete: OnDelete,
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
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// Write the mapped `active` column (Okta and Entra deactivate this way too).
    #[default]
    Deactivate,
    /// Delete the host row. Only when the mapping says so: tickets usually reference users.
    Delete,
    /// Answer 204 and change nothing in the host table; the bridge forgets its link.
    Ignore,
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

/// How one host column is fed. Exactly one of `attr` and `value`.
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
    /// Used when the attribute is absent.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// SCIM value (as text) → host value, e.g. `{ true = 1, false = 2 }`; reversed on reads.
    #[serde(default)]
    pub map: Option<BTreeMap<String, toml::Value>>,
    /// SCIM value reported when the host value matches nothing in `map`.
    #[serde(default)]
    pub read_default: Option<toml::Value>,
}
