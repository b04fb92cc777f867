//! `[extensions]`: custom schema extensions of the User resource. Each declared attribute is
//! typed; a column may map it, and when none does its value lives in the bridge's record of
//! what the identity provider sent (`scim_users.resource`), served on reads and advertised in
//! `/Schemas`. Problems here name the mapping key and the fix.

use super::problems::Problems;
use super::scan::{attr_paths, is_builtin};
use crate::mapping::model::MappingFile;
use crate::scim::schema::AttrType;

/// The types an extension attribute may declare, for messages.
const TYPES: &str =
    "\"string\", \"boolean\", \"integer\", \"decimal\", \"dateTime\", \"reference\"";

/// Checks every declared URN and attribute, and that the columns name only declared
/// attributes of a declared URN.
pub(super) fn check(problems: &mut Problems, file: &MappingFile) {
    let mut seen: Vec<&str> = Vec::new();
    for (urn, attrs) in &file.extensions {
        let key = format!("extensions.\"{urn}\"");
        if let Some(other) = seen.iter().find(|u| u.eq_ignore_ascii_case(urn)) {
            problems.error(&key, format!("declared twice (also as \"{other}\"; schema URNs compare ignoring case); merge the two tables"));
        }
        seen.push(urn);
        if is_builtin(urn) {
            problems.error(&key, "the core User schema and the enterprise extension are built in; remove this table (their attributes need no declaration, and those no column maps are kept in the bridge's record already)");
            continue;
        }
        if !valid_urn(urn) {
            problems.error(&key, "not a schema URN; write it as the identity provider sends it, e.g. \"urn:ietf:params:scim:schemas:extension:acme:2.0:User\"");
        }
        if attrs.is_empty() {
            problems.error(
                &key,
                "declares no attribute; add one, e.g. costCenter = \"string\"",
            );
        }
        let mut names: Vec<&str> = Vec::new();
        for (name, a) in attrs {
            let akey = format!("{key}.{name}");
            if !valid_name(name) {
                problems.error(&akey, "not an attribute name (RFC 7643 §2.1: a letter, then letters, digits, \"_\" or \"-\"); rename it as the identity provider sends it");
            }
            if let Some(other) = names.iter().find(|n| n.eq_ignore_ascii_case(name)) {
                problems.error(&akey, format!("declared twice (also as \"{other}\"; attribute names compare ignoring case); keep one"));
            }
            names.push(name);
            let (ty, multi) = a.parts();
            match AttrType::parse_simple(ty) {
                None => problems.error(
                    &akey,
                    format!("unknown type \"{ty}\"; use one of {TYPES}"),
                ),
                Some(t) if multi && t != AttrType::String => problems.error(
                    &akey,
                    "multi = true is supported for \"string\" attributes only; declare it { type = \"string\", multi = true } or drop multi",
                ),
                Some(_) => {}
            }
        }
    }
    undeclared_in_columns(problems, file);
}

/// A column naming an attribute of a declared URN that the declaration lacks would serve it
/// untyped beside the typed ones: refused, with the line to add.
fn undeclared_in_columns(problems: &mut Problems, file: &MappingFile) {
    for p in attr_paths(file) {
        let Some(urn) = &p.urn else { continue };
        let Some((written, attrs)) = file
            .extensions
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(urn))
        else {
            continue;
        };
        if !attrs.keys().any(|a| a.eq_ignore_ascii_case(&p.attr)) {
            problems.error(
                &format!("extensions.\"{written}\""),
                format!(
                    "a column maps \"{urn}:{}\", which this extension does not declare; add {} = \"string\" (or its type)",
                    p.attr, p.attr
                ),
            );
        }
    }
}

fn valid_urn(urn: &str) -> bool {
    let lower = urn.to_ascii_lowercase();
    lower.starts_with("urn:")
        && urn.split(':').count() >= 3
        && urn.split(':').all(|part| !part.is_empty())
        && !urn.chars().any(|c| c.is_whitespace() || c == '"')
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
