//! Writing the TOML: keys and strings quoted as TOML wants them, comments wrapped, and the
//! `DECIDE:` lines recorded as [`Decision`]s with their line numbers.

use super::Decision;
use crate::mapping::host::HostColumn;

/// A TOML key: bare when it can be.
pub(super) fn key(name: &str) -> String {
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

pub(super) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The text being written, with its decisions.
#[derive(Default)]
pub(super) struct Out {
    pub(super) lines: Vec<String>,
    pub(super) decisions: Vec<Decision>,
}

impl Out {
    pub(super) fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    /// `# text`, wrapped at about 96 characters.
    pub(super) fn comment(&mut self, text: &str) {
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
    pub(super) fn rule(&mut self, column: &str, body: &str, why: &str, decide: Option<&str>) {
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
    pub(super) fn decide_setting(&mut self, setting: &str, what: &str) {
        self.comment(&format!("DECIDE: {what}"));
        self.line(setting);
        self.decisions.push(Decision {
            line: self.lines.len(),
            what: what.to_string(),
        });
    }
}

/// A length note for `varchar(n)` columns.
pub(super) fn limit(c: &HostColumn) -> String {
    c.max_len
        .map(|n| format!(" (at most {n} characters: a longer value is refused with 400)"))
        .unwrap_or_default()
}
