//! The insert order `check` derives for a new user, and the order a dry run's statements
//! really insert in — so a test can hold one to the other.

/// The tables of `check`'s "insert order for a new user" list, in its order.
pub fn check_order(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| !l.contains("insert order for a new user"))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .map(|l| table_word(l.split_whitespace().nth(1).unwrap_or_default()))
        .collect()
}

/// The host tables a `preview` inserts into, in the order its statements run (the bridge's
/// own `scim_*` tables left out).
pub fn preview_inserts(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("INSERT INTO "))
        .map(|rest| table_word(rest.split_whitespace().next().unwrap_or_default()))
        .filter(|t| !t.starts_with("scim_"))
        .collect()
}

/// Previews a create of `user` (a SCIM body) under `mapping` and holds its INSERTs to the
/// order `check` printed in `check_out`.
pub fn assert_preview_follows(
    app: &super::TestApp,
    mapping: &str,
    user: &serde_json::Value,
    check_out: &str,
) {
    let path = app.dir.path().join("preview-user.json");
    std::fs::write(&path, user.to_string()).unwrap();
    let (ok, preview) = app.cli_with(
        mapping,
        &["preview", "--operation", "create", path.to_str().unwrap()],
    );
    assert!(ok, "{preview}");
    assert_eq!(
        preview_inserts(&preview),
        check_order(check_out),
        "{preview}"
    );
}

/// A table name without its quotes and trailing punctuation.
fn table_word(w: &str) -> String {
    w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'))
        .to_string()
}
