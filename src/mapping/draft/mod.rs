//! Drafts a mapping file from a live schema (`scim-bridge init --database URL`): the user table
//! chosen by its columns, each SCIM attribute placed on the column whose name and type fit it,
//! NOT NULL columns given fillers, and every guess commented with why. Pure: the host tables
//! in, TOML text out; the command reads the schema and runs `check` on the result.
//!
//! Guesses the draft cannot make well (which integer code means "active", a table without
//! any column for the active state) are marked `DECIDE:` and listed in [`Draft::decisions`],
//! so the operator knows the lines to look at.
//!
//! The rooms: `table` chooses the user table; `identity`, `person`, `state` and `optional`
//! guess the columns of each role (login and email, names, active state, other attributes and
//! timestamps); `children` finds the email child table; `fillers` fills NOT NULL columns;
//! `render` writes the TOML; `vocab` holds the column names each role recognises. [`draft`]
//! calls them in the order of the file it writes.

mod children;
mod fillers;
mod identity;
mod optional;
mod person;
mod render;
mod state;
mod table;
#[cfg(test)]
mod tests;
mod vocab;

use std::collections::HashSet;

use super::host::{HostColumn, HostTable};
use render::Out;
use vocab::{is_in, is_text, EMAIL};

pub use table::candidates;

/// A drafted mapping.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The user table the draft maps.
    pub table: String,
    /// The mapping file, TOML with comments.
    pub text: String,
    /// Lines the operator must decide (1-based line numbers in `text`).
    pub decisions: Vec<Decision>,
    /// Every table that could hold users, best first (the chosen one included).
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub line: usize,
    pub what: String,
}

/// A table that could hold users, with the evidence for it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub table: String,
    pub score: i32,
    pub reasons: Vec<String>,
}

/// The draft being written: the user table and its key, the text so far, and the columns
/// already given a rule (or a scope), which later guesses leave alone.
struct Drafting<'t> {
    table: &'t HostTable,
    key: &'t HostColumn,
    out: Out,
    used: HashSet<String>,
}

impl<'t> Drafting<'t> {
    /// The first column besides the key named one of `names` (and of text type, if
    /// `text_only`), mapped or not.
    fn col(&self, names: &[&str], text_only: bool) -> Option<&'t HostColumn> {
        let k = self.key;
        self.table
            .columns
            .iter()
            .find(|c| c.name != k.name && is_in(c, names) && (!text_only || is_text(c)))
    }
}

/// Drafts a mapping for the best user table of `tables`, or for `choose`. `source` names the
/// database in the header (never with a password).
///
/// # Errors
/// A message when no table could hold users, or `choose` is not a usable table.
pub fn draft(tables: &[HostTable], choose: Option<&str>, source: &str) -> Result<Draft, String> {
    let candidates = candidates(tables);
    let t = table::choose(tables, &candidates, choose)?;
    let k = table::single_key(t).expect("checked above");
    let mut d = Drafting {
        table: t,
        key: k,
        out: Out::default(),
        used: HashSet::from([k.name.clone()]),
    };
    table::header(&mut d, &candidates, source);
    let email = d.col(EMAIL, true);
    let user_name = identity::user_name(&d, email)?;
    d.used.insert(user_name.column.name.clone());
    let child = if email.is_none() {
        children::email_child(tables, t)
    } else {
        None
    };
    identity::adoption(&mut d, &user_name, email, child.as_ref());
    let active = state::settings(&mut d);

    d.out.line("");
    d.out.line("[users.columns]");
    identity::rules(&mut d, &user_name, email);
    person::rules(&mut d);
    state::rule(&mut d, active.as_ref());
    optional::rules(&mut d);
    optional::timestamps(&mut d);
    let pointer = children::primary_pointer(&mut d, child.as_ref());
    fillers::rules(&mut d);
    if let Some(ch) = &child {
        children::section(&mut d.out, t, ch, pointer);
    }
    children::unmapped(&mut d.out, tables, t, child.as_ref());

    let mut text = d.out.lines.join("\n");
    text.push('\n');
    Ok(Draft {
        table: t.name.clone(),
        text,
        decisions: d.out.decisions,
        candidates,
    })
}
