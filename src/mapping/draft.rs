//! Drafts a mapping file from a live schema (`scim-bridge init --database URL`): the user table
//! chosen by its columns, each SCIM attribute placed on the column whose name and type fit it,
//! NOT NULL columns given fillers, and every guess commented with why. Pure: the host tables
//! in, TOML text out; the command reads the schema and runs `check` on the result.
//!
//! Guesses the draft cannot make well (which integer code means "active", a table without
//! any column for the active state) are marked `DECIDE:` and listed in [`Draft::decisions`],
//! so the operator knows the lines to look at.

use std::collections::HashSet;

use super::host::{ColumnKind, HostColumn, HostTable};

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

/// Column names compared without case, `_`, `-` or spaces: `first_name`, `firstName`,
/// `First Name`.
fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

const LOGIN: &[&str] = &[
    "login",
    "username",
    "userlogin",
    "loginname",
    "accountname",
    "uid",
    "samaccountname",
];
const EMAIL: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "useremail",
    "primaryemail",
    "emailaddr",
];
const FIRST: &[&str] = &["firstname", "givenname", "fname", "forename"];
const LAST: &[&str] = &["lastname", "familyname", "surname", "lname", "sn"];
const FULL: &[&str] = &["fullname", "name", "realname", "displayname", "commonname"];
const PASSWORD: &[&str] = &[
    "password",
    "passwd",
    "passwordhash",
    "encryptedpassword",
    "hashedpassword",
    "passworddigest",
    "pwd",
    "pass",
];
const ACTIVE: &[&str] = &[
    "active",
    "isactive",
    "enabled",
    "isenabled",
    "activated",
    "isactivated",
];
const INACTIVE: &[&str] = &[
    "disabled",
    "isdisabled",
    "blocked",
    "isblocked",
    "suspended",
    "issuspended",
    "inactive",
    "isinactive",
    "banned",
    "isbanned",
];
const STATUS: &[&str] = &["status", "state", "accountstatus", "userstatus"];
const LOCKED: &[&str] = &["locked", "islocked"];
const DELETED: &[&str] = &["deleted", "isdeleted", "trashed", "istrashed"];
const DELETED_AT: &[&str] = &["deletedat", "deletedon", "deletiondate", "datedeleted"];
const CREATED: &[&str] = &[
    "createdat",
    "created",
    "datecreation",
    "creationdate",
    "createdon",
    "insertedat",
    "datecreated",
    "createtime",
    "createdate",
];
const UPDATED: &[&str] = &[
    "updatedat",
    "updated",
    "datemod",
    "modified",
    "modifiedat",
    "updatedon",
    "lastmodified",
    "datemodified",
    "updatetime",
    "changedat",
];
/// Columns naming who wrote a row (`created_by_id`): Zammad-style bookkeeping.
const AUTHOR: &[&str] = &[
    "createdbyid",
    "updatedbyid",
    "createdby",
    "updatedby",
    "modifiedby",
    "modifiedbyid",
];

/// Optional string attributes and the column names they go to. `free` ones may be stored as ""
/// when absent (a NOT NULL column then gets `default = ""`); the others are left alone on a
/// NOT NULL column, where "" would mean something wrong.
struct Optional {
    attr: &'static str,
    names: &'static [&'static str],
    free: bool,
    why: &'static str,
}

const OPTIONAL: &[Optional] = &[
    Optional {
        attr: "phoneNumbers[type eq \"work\"].value",
        names: &[
            "phone",
            "phonenumber",
            "telephone",
            "workphone",
            "businessphone",
            "officephone",
            "tel",
        ],
        free: true,
        why: "a phone column: the work number",
    },
    Optional {
        attr: "phoneNumbers[type eq \"mobile\"].value",
        names: &["mobile", "mobilephone", "cellphone", "cell", "mobilenumber"],
        free: true,
        why: "a mobile column: the mobile number",
    },
    Optional {
        attr: "title",
        names: &["title", "jobtitle", "designation", "position"],
        free: true,
        why: "the person's job title",
    },
    Optional {
        attr: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        names: &["department", "dept", "departmentname"],
        free: true,
        why: "the enterprise extension's department",
    },
    Optional {
        attr: "nickName",
        names: &["nickname", "nick"],
        free: true,
        why: "a nickname column",
    },
    Optional {
        attr: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        names: &[
            "employeenumber",
            "employeeid",
            "employeeno",
            "personnelnumber",
            "registrationnumber",
        ],
        free: true,
        why: "an employee number column",
    },
    Optional {
        attr: "timezone",
        names: &["timezone", "tz", "timezonename"],
        free: false,
        why: "the time zone (an IANA name such as Europe/Paris)",
    },
    Optional {
        attr: "locale",
        names: &["locale"],
        free: false,
        why: "the locale (such as en-US)",
    },
    Optional {
        attr: "preferredLanguage",
        names: &["language", "lang", "preferredlanguage"],
        free: false,
        why: "the preferred language (such as en)",
    },
];

fn is_in(c: &HostColumn, names: &[&str]) -> bool {
    names.contains(&norm(&c.name).as_str())
}

fn is_text(c: &HostColumn) -> bool {
    c.kind == Some(ColumnKind::Text)
}

fn is_time(c: &HostColumn) -> bool {
    matches!(
        c.kind,
        Some(ColumnKind::Timestamp | ColumnKind::TimestampTz)
    )
}

/// The single-column primary key, if the table has exactly one.
fn single_key(t: &HostTable) -> Option<&HostColumn> {
    let mut keys = t.columns.iter().filter(|c| c.primary_key);
    match (keys.next(), keys.next()) {
        (Some(k), None) if matches!(k.kind, Some(ColumnKind::Int | ColumnKind::Text)) => Some(k),
        _ => None,
    }
}

/// Whether the key is filled by the database or can be generated by the bridge.
fn usable_key(k: &HostColumn) -> bool {
    k.generated || k.kind == Some(ColumnKind::Text)
}

/// How likely `t` holds one row per person; `None` when it cannot be a user table at all.
fn score(t: &HostTable) -> Option<Candidate> {
    if t.name.starts_with("scim_") {
        return None;
    }
    let key = single_key(t).filter(|k| usable_key(k))?;
    let cols = || t.columns.iter().filter(|c| c.name != key.name);
    let mut score = 0;
    let mut reasons = Vec::new();
    let mut add = |points: i32, why: String| {
        score += points;
        reasons.push(why);
    };
    if let Some(c) = cols().find(|c| is_text(c) && is_in(c, LOGIN)) {
        add(5, format!("login column {}", c.name));
    }
    if let Some(c) = cols().find(|c| is_text(c) && is_in(c, EMAIL)) {
        add(4, format!("email column {}", c.name));
    }
    let first = cols().find(|c| is_text(c) && is_in(c, FIRST));
    let last = cols().find(|c| is_text(c) && (is_in(c, LAST) || norm(&c.name) == "realname"));
    match (first, last) {
        (Some(f), Some(l)) => add(4, format!("name columns {} and {}", f.name, l.name)),
        (Some(c), None) | (None, Some(c)) => add(2, format!("name column {}", c.name)),
        (None, None) => {
            if let Some(c) = cols().find(|c| is_text(c) && is_in(c, FULL)) {
                add(1, format!("name column {}", c.name));
            }
        }
    }
    if let Some(c) = cols().find(|c| is_in(c, PASSWORD)) {
        add(2, format!("password column {}", c.name));
    }
    if let Some(c) = cols()
        .find(|c| is_in(c, ACTIVE) || is_in(c, INACTIVE) || is_in(c, STATUS) || is_in(c, LOCKED))
    {
        add(2, format!("state column {}", c.name));
    }
    let n = t.name.to_ascii_lowercase();
    let base = n.rsplit('_').next().unwrap_or(&n);
    if [
        "user",
        "users",
        "account",
        "accounts",
        "person",
        "people",
        "member",
        "members",
        "staff",
        "agent",
        "agents",
        "employee",
        "employees",
        "customer",
        "customers",
        "contact",
        "contacts",
    ]
    .contains(&base)
    {
        add(3, format!("table name {}", t.name));
    } else if ["user", "account", "person", "people", "staff", "member"]
        .iter()
        .any(|w| n.contains(w))
    {
        add(1, format!("table name {}", t.name));
    }
    // One of these alone (a join table's user_id, a name column) is not a user table.
    let identifies = reasons
        .iter()
        .any(|r| r.starts_with("login") || r.starts_with("email") || r.starts_with("name"));
    (identifies && score >= 4).then(|| Candidate {
        table: t.name.clone(),
        score,
        reasons,
    })
}

/// Tables that could hold users, best first.
pub fn candidates(tables: &[HostTable]) -> Vec<Candidate> {
    let mut v: Vec<Candidate> = tables.iter().filter_map(score).collect();
    v.sort_by(|a, b| b.score.cmp(&a.score).then(a.table.cmp(&b.table)));
    v
}

/// A TOML key: bare when it can be.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml_str(name)
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The text being written, with its decisions.
#[derive(Default)]
struct Out {
    lines: Vec<String>,
    decisions: Vec<Decision>,
}

impl Out {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    /// `# text`, wrapped at about 96 characters.
    fn comment(&mut self, text: &str) {
        let mut cur = String::from("#");
        for word in text.split(' ') {
            if cur.len() + word.len() + 1 > 96 && cur.len() > 1 {
                self.lines
                    .push(std::mem::replace(&mut cur, String::from("#")));
            }
            cur.push(' ');
            cur.push_str(word);
        }
        self.lines.push(cur);
    }

    /// A rule with the reason above it; `decide` marks it for the operator.
    fn rule(&mut self, column: &str, body: &str, why: &str, decide: Option<&str>) {
        if let Some(d) = decide {
            self.comment(&format!("DECIDE: {d}"));
        }
        self.comment(why);
        self.line(format!("{} = {{ {body} }}", key(column)));
        if let Some(d) = decide {
            self.decisions.push(Decision {
                line: self.lines.len(),
                what: format!("{column}: {d}"),
            });
        }
    }

    /// A `key = value` setting with a decision attached.
    fn decide_setting(&mut self, setting: &str, what: &str) {
        self.comment(&format!("DECIDE: {what}"));
        self.line(setting);
        self.decisions.push(Decision {
            line: self.lines.len(),
            what: what.to_string(),
        });
    }
}

/// A length note for `varchar(n)` columns.
fn limit(c: &HostColumn) -> String {
    c.max_len
        .map(|n| format!(" (at most {n} characters: a longer value is refused with 400)"))
        .unwrap_or_default()
}

/// The filler a NOT NULL column without a default gets, with why; `None` when the draft
/// cannot say (a type the bridge does not bind).
fn filler(c: &HostColumn, decide: &mut Option<String>) -> Option<(String, String)> {
    let n = norm(&c.name);
    Some(match c.kind? {
        ColumnKind::Text if is_in(c, PASSWORD) => (
            "value = \"!\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; identity-provider users sign in through SSO and have no local password, and \"!\" matches no password hash", c.name),
        ),
        ColumnKind::Text => (
            "value = \"\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get an empty string (set what the application expects)", c.name),
        ),
        ColumnKind::Int if is_in(c, AUTHOR) => (
            "value = 1, on = \"insert\"".into(),
            format!("{}: NOT NULL without a default, naming who wrote the row; 1 is usually the installation's first (system or admin) user, as the application's own importers record", c.name),
        ),
        ColumnKind::Int => {
            if n.ends_with("id") {
                *decide = Some(format!("{} is NOT NULL without a default and looks like a reference to another table; 0 is written into new rows, which a foreign key would refuse: name a row that exists", c.name));
            }
            (
                "value = 0, on = \"insert\"".into(),
                format!("{}: NOT NULL without a default; new rows get 0", c.name),
            )
        }
        ColumnKind::Bool => (
            "value = false, on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get false", c.name),
        ),
        ColumnKind::Timestamp | ColumnKind::TimestampTz => (
            "value = \"now\", on = \"insert\"".into(),
            format!("{}: NOT NULL without a default; new rows get the time of creation", c.name),
        ),
    })
}

/// The email child table of `user`: another table pointing at it by a parent column and holding
/// an address column, with a key the database fills.
struct EmailChild<'t> {
    table: &'t HostTable,
    key: &'t HostColumn,
    parent: &'t HostColumn,
    address: &'t HostColumn,
    flag: Option<&'t HostColumn>,
}

/// Column names by which another table points at a row of `user`: named after the table
/// (`ost_staff` → `staff_id`, `ost_staff_id`; `glpi_users` → `users_id`, `user_id`).
fn parent_names(user: &HostTable) -> Vec<String> {
    let n = user.name.to_ascii_lowercase();
    let base = n.rsplit('_').next().unwrap_or(&n).to_string();
    let mut v = Vec::new();
    for b in [n.clone(), base.clone()] {
        v.push(norm(&format!("{b}_id")));
        if let Some(s) = b.strip_suffix('s') {
            v.push(norm(&format!("{s}_id")));
        }
    }
    v
}

fn parent_column<'t>(t: &'t HostTable, user: &HostTable) -> Option<&'t HostColumn> {
    let names = parent_names(user);
    let key_kind = single_key(user).and_then(|k| k.kind);
    t.columns
        .iter()
        .find(|c| !c.primary_key && names.contains(&norm(&c.name)) && c.kind == key_kind)
}

fn email_child<'t>(tables: &'t [HostTable], user: &HostTable) -> Option<EmailChild<'t>> {
    tables.iter().find_map(|t| {
        if t.name == user.name || t.name.starts_with("scim_") {
            return None;
        }
        let key = single_key(t).filter(|k| k.generated)?;
        let parent = parent_column(t, user)?;
        let address = t.columns.iter().find(|c| {
            is_text(c) && (is_in(c, EMAIL) || norm(&c.name) == "address") && c.name != key.name
        })?;
        let flag = t.columns.iter().find(|c| {
            matches!(c.kind, Some(ColumnKind::Bool | ColumnKind::Int))
                && [
                    "isdefault",
                    "isprimary",
                    "primary",
                    "default",
                    "main",
                    "ismain",
                ]
                .contains(&norm(&c.name).as_str())
        });
        Some(EmailChild {
            table: t,
            key,
            parent,
            address,
            flag,
        })
    })
}

/// Drafts a mapping for the best user table of `tables`, or for `choose`. `source` names the
/// database in the header (never with a password).
///
/// # Errors
/// A message when no table could hold users, or `choose` is not a usable table.
pub fn draft(tables: &[HostTable], choose: Option<&str>, source: &str) -> Result<Draft, String> {
    let candidates = candidates(tables);
    let t = match choose {
        Some(name) => {
            let t = tables.iter().find(|t| t.name == name).ok_or_else(|| {
                format!("table \"{name}\" does not exist; tables: {}", names(tables))
            })?;
            if single_key(t).is_none() {
                return Err(format!("table \"{name}\" has no single-column integer or text primary key, which the bridge needs as the SCIM id"));
            }
            t
        }
        None => {
            let best = candidates.first().ok_or_else(|| {
                format!("no table looks like it holds users (a table with a primary key and a login, email or name column); tables: {}; name one with --table", names(tables))
            })?;
            tables
                .iter()
                .find(|t| t.name == best.table)
                .expect("a candidate is a table")
        }
    };
    let mut out = Out::default();
    let mut used: HashSet<String> = HashSet::new();
    let k = single_key(t).expect("checked above");
    used.insert(k.name.clone());
    let col = |names: &[&str], text_only: bool| {
        t.columns
            .iter()
            .find(|c| c.name != k.name && is_in(c, names) && (!text_only || is_text(c)))
    };

    // Header.
    out.comment(&format!(
        "Mapping drafted by `scim-bridge init` from {source}."
    ));
    out.comment("Every rule says why it was guessed; lines marked DECIDE need your decision. Run `scim-bridge check` after any edit, and `scim-bridge preview` to see the statements a create would run. Reference: README, \"Mapping reference\".");
    let this = candidates.iter().find(|c| c.table == t.name);
    match this {
        Some(c) => out.comment(&format!(
            "User table: {} ({}).",
            t.name,
            c.reasons.join(", ")
        )),
        None => out.comment(&format!("User table: {} (named with --table).", t.name)),
    }
    let others: Vec<String> = candidates
        .iter()
        .filter(|c| c.table != t.name)
        .take(4)
        .map(|c| format!("{} ({})", c.table, c.reasons.join(", ")))
        .collect();
    if !others.is_empty() {
        out.comment(&format!(
            "Other tables that could hold users: {}. Draft for one of them with `scim-bridge init --database URL --table NAME`.",
            others.join("; ")
        ));
    }
    out.line("");
    out.line("[users]");
    out.line(format!("table = {}", toml_str(&t.name)));
    out.line(format!("key = {}", toml_str(&k.name)));
    if !k.generated && k.kind == Some(ColumnKind::Text) {
        out.comment(&format!("{} is a text key the database does not fill: the bridge makes a UUID for each new user.", k.name));
        out.line("key_generate = \"uuid\"");
    }

    // userName: a login column, else an email column, else a name column.
    let login = col(LOGIN, true);
    let email = col(EMAIL, true);
    let has_person_name = col(FIRST, true).is_some() || col(LAST, true).is_some();
    let (user_name, un_body, un_why, un_decide): (
        Option<&HostColumn>,
        &str,
        String,
        Option<String>,
    ) = if let Some(c) = login {
        (Some(c), "attr = \"userName\", transform = \"trim\"", format!("{}: its name says login; Okta, Entra ID and the others identify people by userName", c.name), None)
    } else if let Some(c) = email {
        (Some(c), "attr = \"userName\", transform = [\"trim\", \"lowercase\"]", format!("{}: no login column, so userName is the email address (identity providers default userName to the email); stored in lower case", c.name), None)
    } else if let Some(c) = col(&["name"], true).filter(|_| has_person_name) {
        (Some(c), "attr = \"userName\", transform = \"trim\"", format!("{}: no login or email column; other columns hold the person's name, so this is taken as the login", c.name), None)
    } else if let Some(c) = t.columns.iter().find(|c| c.name != k.name && is_text(c)) {
        (Some(c), "attr = \"userName\", transform = \"trim\"", format!("{}: no login, email or name column; the first text column", c.name), Some(format!("no column looks like a login; {} holds userName, which identity providers use to find people: name the right column", c.name)))
    } else {
        (None, "", String::new(), None)
    };
    let Some(un) = user_name else {
        return Err(format!(
            "table \"{}\" has no text column to hold userName",
            t.name
        ));
    };
    used.insert(un.name.clone());

    let child = if email.is_none() {
        email_child(tables, t)
    } else {
        None
    };
    // Adoption.
    let mut matches = vec![un.name.clone()];
    if let Some(e) = email.filter(|e| e.name != un.name) {
        matches.push(e.name.clone());
    }
    if let Some(ch) = &child {
        matches.push(format!("{}.{}", ch.table.name, ch.address.name));
    }
    out.comment("Okta \"Provision existing users\": a create whose userName equals one of these columns (trimmed, case-insensitively) adopts that row instead of inserting a duplicate.");
    out.line(format!(
        "match = [{}]",
        matches
            .iter()
            .map(|m| toml_str(m))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // Active state.
    enum Active<'c> {
        Plain(&'c HostColumn),
        Inverted(&'c HostColumn),
        Status(&'c HostColumn),
        Deleted(&'c HostColumn),
    }
    let flag_like = |c: &&HostColumn| matches!(c.kind, Some(ColumnKind::Bool | ColumnKind::Int));
    let active = col(ACTIVE, false)
        .filter(flag_like)
        .map(Active::Plain)
        .or_else(|| col(INACTIVE, false).filter(flag_like).map(Active::Inverted))
        .or_else(|| {
            col(STATUS, false)
                .filter(|c| matches!(c.kind, Some(ColumnKind::Int | ColumnKind::Text)))
                .map(Active::Status)
        })
        .or_else(|| col(LOCKED, false).filter(flag_like).map(Active::Inverted))
        .or_else(|| col(DELETED, false).filter(flag_like).map(Active::Deleted));
    let deleted = col(DELETED, false).filter(flag_like);
    let scope_deleted = match (&active, deleted) {
        (Some(Active::Deleted(_)), _) | (_, None) => None,
        (_, Some(d)) => Some(d),
    };
    if active.is_some() {
        out.comment("DELETE /Users/{id} (Entra ID's hard delete, JumpCloud's set-up test) writes active = false; the row and its tickets stay.");
        out.line("on_delete = \"deactivate\"");
    } else {
        out.decide_setting(
            "on_delete = \"ignore\"",
            "no column holds whether a person is active, so deactivation (active = false, what Okta and Entra ID send on unassignment) is kept by the bridge only and the person can still sign in to the application; map a column with attr = \"active\" and set on_delete = \"deactivate\", or use on_delete = \"soft_delete\" / \"delete\"",
        );
    }
    if let Some(d) = scope_deleted {
        let zero = if d.kind == Some(ColumnKind::Bool) {
            "false"
        } else {
            "0"
        };
        out.comment(&format!("{}: rows marked deleted by the application are not SCIM users (they are hidden from lists, filters and adoption).", d.name));
        out.line(format!("scope = {{ {} = {zero} }}", key(&d.name)));
        used.insert(d.name.clone());
    }
    if let Some(c) = col(DELETED_AT, false).filter(|c| is_time(c)) {
        out.comment(&format!("{}: rows the application deleted (a deletion time set) are still listed; a scope cannot test for NULL, so check them with `scim-bridge import`.", c.name));
    }

    out.line("");
    out.line("[users.columns]");
    out.rule(&un.name, un_body, &un_why, un_decide.as_deref());

    if let Some(e) = email.filter(|e| e.name != un.name) {
        let default = if e.nullable {
            ""
        } else {
            ", default = { attr = \"userName\" }"
        };
        out.rule(
            &e.name,
            &format!("attr = \"emails.value\", transform = [\"trim\", \"lowercase\"]{default}"),
            &format!("{}: the primary email (the first one when none is marked primary), stored in lower case{}{}", e.name, if e.nullable { "" } else { "; NOT NULL, so the userName when no email is sent" }, limit(e)),
            None,
        );
        used.insert(e.name.clone());
    }

    // Names.
    let first = col(FIRST, true);
    let last = col(LAST, true).or_else(|| col(&["realname"], true).filter(|_| first.is_some()));
    for (c, attr, what) in [
        (first, "name.givenName", "the given name"),
        (last, "name.familyName", "the family name"),
    ] {
        if let Some(c) = c.filter(|c| !used.contains(&c.name)) {
            let default = if c.nullable { "" } else { ", default = \"\"" };
            out.rule(
                &c.name,
                &format!("attr = \"{attr}\"{default}"),
                &format!(
                    "{}: {what}{}{}",
                    c.name,
                    if c.nullable {
                        ""
                    } else {
                        "; NOT NULL, so \"\" when none is sent"
                    },
                    limit(c)
                ),
                None,
            );
            used.insert(c.name.clone());
        }
    }
    if first.is_none() && last.is_none() {
        if let Some(c) = col(&["displayname"], true).filter(|c| !used.contains(&c.name)) {
            let default = if c.nullable {
                ""
            } else {
                ", default = { attr = \"userName\" }"
            };
            out.rule(
                &c.name,
                &format!("attr = \"displayName\"{default}"),
                &format!("{}: the display name{}", c.name, limit(c)),
                None,
            );
            used.insert(c.name.clone());
        } else if let Some(c) = col(FULL, true).filter(|c| !used.contains(&c.name)) {
            out.rule(
                &c.name,
                "template = \"{name.givenName} {name.familyName}\", default = { attr = \"userName\" }",
                &format!("{}: one column for the whole name: given and family name joined by a space (split back at the space on reads), the userName when no name is sent{}", c.name, limit(c)),
                None,
            );
            used.insert(c.name.clone());
        }
    }

    // Active.
    match &active {
        Some(Active::Plain(c)) => {
            let body = if c.kind == Some(ColumnKind::Bool) {
                "attr = \"active\", default = true".to_string()
            } else {
                "attr = \"active\", map = { true = 1, false = 0 }, default = true".to_string()
            };
            out.rule(
                &c.name,
                &body,
                &format!(
                    "{}: whether the person may sign in; deactivation (active = false) writes it{}",
                    c.name,
                    if c.kind == Some(ColumnKind::Bool) {
                        ""
                    } else {
                        " as 0, activation as 1"
                    }
                ),
                None,
            );
            used.insert(c.name.clone());
        }
        Some(Active::Inverted(c)) => {
            let body = if c.kind == Some(ColumnKind::Bool) {
                "attr = \"active\", transform = \"not\", default = true".to_string()
            } else {
                "attr = \"active\", map = { true = 0, false = 1 }, default = true".to_string()
            };
            out.rule(
                &c.name,
                &body,
                &format!(
                    "{}: the opposite of active; deactivation sets it, activation clears it",
                    c.name
                ),
                None,
            );
            used.insert(c.name.clone());
        }
        Some(Active::Status(c)) => {
            let body = if c.kind == Some(ColumnKind::Int) {
                "attr = \"active\", map = { true = 1, false = 0 }, read_default = false, default = true"
            } else {
                "attr = \"active\", map = { true = \"active\", false = \"inactive\" }, read_default = false, default = true"
            };
            out.rule(
                &c.name,
                body,
                &format!("{}: the account's state; any other value reads as inactive", c.name),
                Some(&format!("{} is a status code, and which codes mean active and inactive is the application's choice: the draft guesses {}; put the application's codes in map", c.name, if c.kind == Some(ColumnKind::Int) { "1 and 0" } else { "\"active\" and \"inactive\"" })),
            );
            used.insert(c.name.clone());
        }
        Some(Active::Deleted(c)) => {
            let body = if c.kind == Some(ColumnKind::Bool) {
                "attr = \"active\", transform = \"not\", default = true".to_string()
            } else {
                "attr = \"active\", map = { true = 0, false = 1 }, default = true".to_string()
            };
            out.rule(
                &c.name,
                &body,
                &format!("{}: the only state column; deactivation marks the row deleted", c.name),
                Some(&format!("no active or disabled column: deactivation marks {} instead; check that the application treats such rows as unable to sign in", c.name)),
            );
            used.insert(c.name.clone());
        }
        None => {}
    }

    // Optional attributes.
    for o in OPTIONAL {
        let Some(c) = col(o.names, true).filter(|c| !used.contains(&c.name)) else {
            continue;
        };
        used.insert(c.name.clone());
        if c.nullable {
            out.rule(
                &c.name,
                &format!("attr = {}", toml_str(o.attr)),
                &format!("{}: {}{}", c.name, o.why, limit(c)),
                None,
            );
        } else if o.free {
            out.rule(
                &c.name,
                &format!("attr = {}, default = \"\"", toml_str(o.attr)),
                &format!(
                    "{}: {}; NOT NULL, so \"\" when none is sent{}",
                    c.name,
                    o.why,
                    limit(c)
                ),
                None,
            );
        } else {
            out.comment(&format!("{}: {} would fit, but the column is NOT NULL and an absent value has no good filler; left to the application.", c.name, o.why));
        }
    }

    // Timestamps.
    for c in &t.columns {
        if !is_time(c) || used.contains(&c.name) {
            continue;
        }
        if is_in(c, CREATED) {
            out.rule(
                &c.name,
                "value = \"now\", on = \"insert\"",
                &format!("{}: when the row was created (UTC)", c.name),
                None,
            );
            used.insert(c.name.clone());
        } else if is_in(c, UPDATED) {
            out.rule(
                &c.name,
                "value = \"now\"",
                &format!(
                    "{}: when the row last changed (UTC), on every write",
                    c.name
                ),
                None,
            );
            used.insert(c.name.clone());
        }
    }

    // The pointer to the primary email, if the child table has none of its own.
    let pointer = child.as_ref().filter(|ch| ch.flag.is_none()).and_then(|_| {
        t.columns.iter().find(|c| {
            !used.contains(&c.name)
                && c.kind == Some(ColumnKind::Int)
                && [
                    "defaultemailid",
                    "primaryemailid",
                    "emailid",
                    "defaultemail",
                    "mainemailid",
                ]
                .contains(&norm(&c.name).as_str())
        })
    });
    if let Some(p) = pointer {
        used.insert(p.name.clone());
    }

    // Fillers for NOT NULL columns nothing else fills.
    for c in &t.columns {
        if c.nullable || c.has_default || c.generated || used.contains(&c.name) {
            continue;
        }
        let mut decide = None;
        match filler(c, &mut decide) {
            Some((body, why)) => out.rule(&c.name, &body, &why, decide.as_deref()),
            None => {
                let what = format!("{} ({}) is NOT NULL without a default and its type is not one the bridge writes; `check` reports it until a rule fills it", c.name, c.sql_type);
                out.comment(&format!("DECIDE: {what}"));
                out.line(format!(
                    "# {} = {{ value = …, on = \"insert\" }}",
                    key(&c.name)
                ));
                out.decisions.push(Decision {
                    line: out.lines.len(),
                    what,
                });
            }
        }
        used.insert(c.name.clone());
    }

    // The email child table.
    if let Some(ch) = &child {
        out.line("");
        out.comment(&format!(
            "Emails: {} holds one row per address ({} points at the user); every write makes the rows match the addresses sent, keeping the keys of addresses still sent.",
            ch.table.name, ch.parent.name
        ));
        out.line("[[users.children]]");
        out.line(format!("table = {}", toml_str(&ch.table.name)));
        out.line(format!("key = {}", toml_str(&ch.key.name)));
        out.line(format!("parent = {}", toml_str(&ch.parent.name)));
        out.line("attr = \"emails\"");
        match (ch.flag, pointer) {
            (Some(f), _) => {
                out.comment(&format!("{} marks the primary address.", f.name));
                out.line(format!("primary = {{ flag = {} }}", toml_str(&f.name)));
            }
            (None, Some(p)) => {
                out.comment(&format!(
                    "{}.{} points at the primary address's row.",
                    t.name, p.name
                ));
                out.line(format!("primary = {{ pointer = {} }}", toml_str(&p.name)));
            }
            (None, None) => out.comment(
                "No column marks the primary address: the lowest key is reported as primary.",
            ),
        }
        let mut cols = vec![format!(
            "{} = {{ attr = \"value\", transform = [\"trim\", \"lowercase\"] }}",
            key(&ch.address.name)
        )];
        let mut notes = Vec::new();
        for c in &ch.table.columns {
            if c.nullable
                || c.has_default
                || c.generated
                || c.name == ch.key.name
                || c.name == ch.parent.name
                || c.name == ch.address.name
            {
                continue;
            }
            let mut decide = None;
            if let Some((body, why)) = filler(c, &mut decide) {
                cols.push(format!("{} = {{ {body} }}", key(&c.name)));
                notes.push(why);
            }
        }
        for n in notes {
            out.comment(&n);
        }
        out.line(format!("columns = {{ {} }}", cols.join(", ")));
    }

    // Tables pointing at users that the draft leaves alone.
    let related: Vec<String> = tables
        .iter()
        .filter(|o| o.name != t.name && child.as_ref().is_none_or(|ch| ch.table.name != o.name))
        .filter_map(|o| parent_column(o, t).map(|p| format!("{}.{}", o.name, p.name)))
        .collect();
    if !related.is_empty() {
        out.line("");
        out.comment(&format!(
            "Not mapped: tables that point at {} ({}). If the application needs a row there for every user (a role, an account), add a [[users.joined]] section (README, \"Users spread over several tables\").",
            t.name,
            related.join(", ")
        ));
    }

    let mut text = out.lines.join("\n");
    text.push('\n');
    Ok(Draft {
        table: t.name.clone(),
        text,
        decisions: out.decisions,
        candidates,
    })
}

fn names(tables: &[HostTable]) -> String {
    if tables.is_empty() {
        return "none".into();
    }
    tables
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::model::MappingFile;
    use std::collections::HashMap;

    /// `name type [flags]` (`+` in a name stands for a space): flags `pk` (generated key), `key` (key the database does not
    /// fill), `nn` (NOT NULL without default), `nd` (NOT NULL with a default).
    fn table(name: &str, spec: &[&str]) -> HostTable {
        let columns = spec
            .iter()
            .map(|s| {
                let parts: Vec<&str> = s.split_whitespace().collect();
                let kind = match parts[1] {
                    "text" => ColumnKind::Text,
                    "int" => ColumnKind::Int,
                    "bool" => ColumnKind::Bool,
                    "ts" => ColumnKind::Timestamp,
                    _ => panic!("{s}"),
                };
                let has = |f: &str| parts[2..].contains(&f);
                HostColumn {
                    name: parts[0].replace('+', " "),
                    sql_type: parts[1].to_string(),
                    kind: Some(kind),
                    nullable: !(has("nn") || has("nd") || has("pk") || has("key")),
                    has_default: has("nd"),
                    generated: has("pk"),
                    primary_key: has("pk") || has("key"),
                    max_len: None,
                    int_range: None,
                    collation: None,
                    ci_index_advice: None,
                }
            })
            .collect();
        HostTable {
            name: name.to_string(),
            columns,
        }
    }

    /// Drafts, then validates the draft exactly as `check` does; returns the draft and the
    /// errors.
    fn draft_and_check(tables: &[HostTable], choose: Option<&str>) -> (Draft, Vec<String>) {
        let d = draft(tables, choose, "a test schema").unwrap();
        let file: MappingFile =
            toml::from_str(&d.text).unwrap_or_else(|e| panic!("{e}\n{}", d.text));
        let map: HashMap<String, HostTable> =
            tables.iter().map(|t| (t.name.clone(), t.clone())).collect();
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        let compiled = crate::mapping::compile(&file, &map, &names);
        let errors = compiled
            .problems
            .iter()
            .filter(|p| p.error)
            .map(|p| p.to_string())
            .collect();
        (d, errors)
    }

    fn line_of<'a>(text: &'a str, start: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in\n{text}"))
    }

    #[test]
    fn a_plain_users_table_is_mapped_by_name_and_type() {
        let tables = [
            table(
                "users",
                &[
                    "id int pk",
                    "login text nn",
                    "email text nn",
                    "firstname text",
                    "lastname text",
                    "department text",
                    "phone text",
                    "active bool nd",
                    "role text nn",
                    "password text nn",
                    "created_at ts nn",
                    "updated_at ts nn",
                ],
            ),
            table("roles_users", &["user_id int", "role_id int"]),
            table(
                "tickets",
                &["id int pk", "subject text nn", "user_id int nn"],
            ),
        ];
        let (d, errors) = draft_and_check(&tables, None);
        assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
        assert_eq!(d.table, "users");
        assert!(d.decisions.is_empty(), "{:?}", d.decisions);
        let t = &d.text;
        assert_eq!(
            line_of(t, "login ="),
            "login = { attr = \"userName\", transform = \"trim\" }"
        );
        assert!(
            line_of(t, "email =").contains("\"emails.value\"")
                && line_of(t, "email =").contains("default = { attr = \"userName\" }")
        );
        assert_eq!(
            line_of(t, "firstname ="),
            "firstname = { attr = \"name.givenName\" }"
        );
        assert_eq!(
            line_of(t, "lastname ="),
            "lastname = { attr = \"name.familyName\" }"
        );
        assert!(line_of(t, "department =").contains("enterprise:2.0:User:department"));
        assert!(line_of(t, "phone =").contains(r#"phoneNumbers[type eq "work"].value"#));
        assert_eq!(
            line_of(t, "active ="),
            "active = { attr = \"active\", default = true }"
        );
        assert_eq!(
            line_of(t, "password ="),
            "password = { value = \"!\", on = \"insert\" }"
        );
        assert_eq!(
            line_of(t, "role ="),
            "role = { value = \"\", on = \"insert\" }"
        );
        assert_eq!(
            line_of(t, "created_at ="),
            "created_at = { value = \"now\", on = \"insert\" }"
        );
        assert_eq!(
            line_of(t, "updated_at ="),
            "updated_at = { value = \"now\" }"
        );
        assert_eq!(line_of(t, "match ="), "match = [\"login\", \"email\"]");
        assert_eq!(line_of(t, "on_delete ="), "on_delete = \"deactivate\"");
        // Every rule has its reason above it.
        let lines: Vec<&str> = t.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.contains(" = { ") && !l.starts_with('#') && !l.starts_with("columns") {
                assert!(lines[i - 1].starts_with("# "), "no reason above {l:?}");
            }
        }
        // Tables pointing at users are named, not mapped.
        assert!(
            t.contains("roles_users.user_id") && t.contains("tickets.user_id"),
            "{t}"
        );
        // Join tables and tables without identity columns are not candidates.
        assert_eq!(d.candidates.len(), 1, "{:?}", d.candidates);
    }

    #[test]
    fn a_status_code_is_the_one_line_to_decide() {
        // FreeScout's agents: no login column, an integer status, NOT NULL names and password.
        let tables = [
            table(
                "users",
                &[
                    "id int pk",
                    "first_name text nn",
                    "last_name text nn",
                    "email text nn",
                    "password text nn",
                    "timezone text nd",
                    "status int nd",
                    "locked bool nd",
                    "created_at ts",
                    "updated_at ts",
                ],
            ),
            table(
                "customers",
                &["id int pk", "first_name text", "last_name text"],
            ),
        ];
        let (d, errors) = draft_and_check(&tables, None);
        assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
        assert_eq!(d.table, "users");
        let t = &d.text;
        assert_eq!(
            line_of(t, "email ="),
            "email = { attr = \"userName\", transform = [\"trim\", \"lowercase\"] }"
        );
        assert_eq!(
            line_of(t, "first_name ="),
            "first_name = { attr = \"name.givenName\", default = \"\" }"
        );
        assert!(line_of(t, "status =").contains("map = { true = 1, false = 0 }"));
        assert!(
            !t.contains("\nlocked ="),
            "one state column, the status: {t}"
        );
        assert!(
            !t.contains("\ntimezone ="),
            "NOT NULL with a meaningful default: left alone\n{t}"
        );
        assert_eq!(d.decisions.len(), 1, "{:?}", d.decisions);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[d.decisions[0].line - 1].starts_with("status = "),
            "{:?}",
            d.decisions
        );
        assert!(d.decisions[0].what.contains("status"));
    }

    #[test]
    fn emails_in_a_child_table_with_a_flag_or_a_pointer() {
        // GLPI: login in `name`, emails in glpi_useremails flagged by is_default, a trash flag.
        let glpi = [
            table(
                "glpi_users",
                &[
                    "id int pk",
                    "name text",
                    "realname text",
                    "firstname text",
                    "is_active int nd",
                    "is_deleted int nd",
                    "date_creation ts",
                    "date_mod ts",
                ],
            ),
            table(
                "glpi_useremails",
                &[
                    "id int pk",
                    "users_id int nd",
                    "is_default int nd",
                    "email text",
                ],
            ),
        ];
        let (d, errors) = draft_and_check(&glpi, None);
        assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
        let t = &d.text;
        assert_eq!(
            line_of(t, "name ="),
            "name = { attr = \"userName\", transform = \"trim\" }"
        );
        assert_eq!(
            line_of(t, "realname ="),
            "realname = { attr = \"name.familyName\" }"
        );
        assert_eq!(line_of(t, "scope ="), "scope = { is_deleted = 0 }");
        assert_eq!(
            line_of(t, "match ="),
            "match = [\"name\", \"glpi_useremails.email\"]"
        );
        assert_eq!(
            line_of(t, "primary ="),
            "primary = { flag = \"is_default\" }"
        );
        assert!(d.decisions.is_empty(), "{:?}", d.decisions);

        // osTicket's clients (chosen with --table): the primary address is a pointer column.
        let ost = [
            table(
                "ost_user",
                &[
                    "id int pk",
                    "org_id int nn",
                    "default_email_id int nn",
                    "name text nn",
                    "created ts nn",
                    "updated ts nn",
                ],
            ),
            table(
                "ost_user_email",
                &[
                    "id int pk",
                    "user_id int nn",
                    "flags int nd",
                    "address text nn",
                ],
            ),
        ];
        let (d, errors) = draft_and_check(&ost, Some("ost_user"));
        assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
        let t = &d.text;
        assert_eq!(
            line_of(t, "primary ="),
            "primary = { pointer = \"default_email_id\" }"
        );
        assert_eq!(
            line_of(t, "match ="),
            "match = [\"name\", \"ost_user_email.address\"]"
        );
        // org_id: a NOT NULL reference filled with 0, and said so; no active column, said so.
        assert_eq!(
            line_of(t, "org_id ="),
            "org_id = { value = 0, on = \"insert\" }"
        );
        let decided: Vec<&str> = d.decisions.iter().map(|x| x.what.as_str()).collect();
        assert!(
            decided.iter().any(|w| w.starts_with("org_id")),
            "{decided:?}"
        );
        assert!(
            decided
                .iter()
                .any(|w| w.contains("no column holds whether")),
            "{decided:?}"
        );
    }

    #[test]
    fn text_keys_get_uuids_and_odd_names_are_quoted() {
        let tables = [table(
            "people",
            &[
                "uuid text key",
                "E-Mail text nn",
                "Display+Name text",
                "isDisabled bool nd",
            ],
        )];
        let (d, errors) = draft_and_check(&tables, None);
        assert!(errors.is_empty(), "{errors:?}\n{}", d.text);
        let t = &d.text;
        assert!(t.contains("key_generate = \"uuid\""), "{t}");
        assert!(line_of(t, "E-Mail =").contains("\"userName\""));
        assert!(line_of(t, "\"Display Name\" =").contains("\"displayName\""));
        assert_eq!(
            line_of(t, "isDisabled ="),
            "isDisabled = { attr = \"active\", transform = \"not\", default = true }"
        );
    }

    #[test]
    fn no_user_table_is_an_error_naming_the_tables() {
        let tables = [table("roles_users", &["user_id int", "role_id int"])];
        let e = draft(&tables, None, "x").unwrap_err();
        assert!(e.contains("roles_users") && e.contains("--table"), "{e}");
        let e = draft(&tables, Some("nope"), "x").unwrap_err();
        assert!(e.contains("\"nope\" does not exist"), "{e}");
        let e = draft(&tables, Some("roles_users"), "x").unwrap_err();
        assert!(e.contains("primary key"), "{e}");
    }
}
