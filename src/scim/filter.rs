//! The SCIM filter language (RFC 7644 §3.4.2.2): parser, AST and an in-memory evaluator.
//!
//! The parser is a small recursive-descent one over a hand-written lexer: the grammar is tiny
//! and error messages matter more than generality. Cost is bounded before anything is
//! evaluated: length, number of terms and nesting depth are capped, so a pathological filter
//! is refused in microseconds.

use std::fmt;

use serde_json::Value;

use super::error::ScimError;
use super::path::AttrPath;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;
/// Most comparison terms in one filter.
pub const MAX_TERMS: usize = 100;
/// Deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A comparison value: `false / null / true / number / string`.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => write!(f, "{}", Value::String(s.clone())),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => write!(f, "null"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose paths are
    /// relative to that value.
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    /// Prints with parentheses only where precedence needs them (`or` below `and`), so the
    /// printed filter parses back to an equivalent one and is never nested deeper than the
    /// original.
    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        match self {
            Filter::Or(a, b) => {
                if min > 1 {
                    f.write_str("(")?;
                }
                a.fmt_prec(f, 1)?;
                f.write_str(" or ")?;
                b.fmt_prec(f, 1)?;
                if min > 1 {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::And(a, b) => {
                a.fmt_prec(f, 2)?;
                f.write_str(" and ")?;
                b.fmt_prec(f, 2)
            }
            Filter::Not(a) => {
                f.write_str("not (")?;
                a.fmt_prec(f, 0)?;
                f.write_str(")")
            }
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str()),
            Filter::ValuePath(p, inner) => {
                write!(f, "{p}[")?;
                inner.fmt_prec(f, 0)?;
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `.sub` directly after `]` (Entra writes `emails[type eq "work"].value eq "…"`).
    SubAttr(String),
    Word(String),
    Str(String),
    Num(serde_json::Number),
}

fn lex(input: &str) -> Result<Vec<Tok>, ScimError> {
    let bytes = input.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                toks.push(Tok::LParen);
                i += 1
            }
            b')' => {
                toks.push(Tok::RParen);
                i += 1
            }
            b'[' => {
                toks.push(Tok::LBracket);
                i += 1
            }
            b']' => {
                toks.push(Tok::RBracket);
                i += 1;
                if bytes.get(i) == Some(&b'.') {
                    let start = i + 1;
                    let mut j = start;
                    while j < bytes.len() && is_word_byte(bytes[j]) {
                        j += 1;
                    }
                    toks.push(Tok::SubAttr(input[start..j].to_string()));
                    i = j;
                }
            }
            b'"' => {
                // A JSON string literal, escapes included; serde_json does the decoding.
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(ScimError::invalid_filter(
                                "a string in the filter is not closed with \"",
                            ))
                        }
                        Some(b'\\') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                let raw = &input[start..i.min(input.len())];
                let s: String = serde_json::from_str(raw).map_err(|_| {
                    ScimError::invalid_filter(format!("{raw} is not a valid JSON string"))
                })?;
                toks.push(Tok::Str(s));
            }
            _ if is_word_byte(c) => {
                let start = i;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                let w = &input[start..i];
                let first = w.as_bytes()[0];
                if first == b'-' || first.is_ascii_digit() {
                    match serde_json::from_str::<serde_json::Number>(w) {
                        Ok(n) => toks.push(Tok::Num(n)),
                        Err(_) => toks.push(Tok::Word(w.to_string())),
                    }
                } else {
                    toks.push(Tok::Word(w.to_string()));
                }
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(ScimError::invalid_filter(format!(
                    "unexpected character '{ch}' at position {i}; string values must be in double quotes"
                )));
            }
        }
    }
    Ok(toks)
}

fn is_word_byte(b: u8) -> bool {
    // Attribute paths (with URNs), keywords, numbers and lenient bare values.
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'$' | b'-' | b'_' | b'+' | b'@')
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(depth)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "the filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        if self.peek_keyword("not") && matches!(self.toks.get(self.pos + 1), Some(Tok::LParen)) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group(depth + 1)?)));
        }
        if matches!(self.peek(), Some(Tok::LParen)) {
            return self.group(depth + 1);
        }
        self.attr_expr(depth)
    }

    fn group(&mut self, depth: usize) -> Result<Filter, ScimError> {
        self.expect(Tok::LParen, "(")?;
        let inner = self.or_expr(depth)?;
        self.expect(Tok::RParen, ")")?;
        Ok(inner)
    }

    fn expect(&mut self, tok: Tok, shown: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            Some(t) => Err(ScimError::invalid_filter(format!(
                "expected '{shown}' but found {}",
                describe(&t)
            ))),
            None => Err(ScimError::invalid_filter(format!(
                "the filter ends where '{shown}' was expected"
            ))),
        }
    }

    fn attr_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let path = match self.next() {
            Some(Tok::Word(w)) => {
                AttrPath::parse(&w).map_err(|e| ScimError::invalid_filter(e.detail))?
            }
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an attribute name but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(
                    "the filter ends where an attribute name was expected",
                ))
            }
        };
        if matches!(self.peek(), Some(Tok::LBracket)) {
            if path.sub.is_some() {
                return Err(ScimError::invalid_filter(format!("\"{path}\": a value filter applies to a multi-valued attribute, not a sub-attribute")));
            }
            self.pos += 1;
            let inner = self.or_expr(depth + 1)?;
            self.expect(Tok::RBracket, "]")?;
            if let Some(Tok::SubAttr(sub)) = self.peek().cloned() {
                // attr[f].sub op value  ==  attr[f and sub op value]
                self.pos += 1;
                let rel = self.comparison(
                    AttrPath::parse(&sub).map_err(|e| ScimError::invalid_filter(e.detail))?,
                )?;
                return Ok(Filter::ValuePath(
                    path,
                    Box::new(Filter::And(Box::new(inner), Box::new(rel))),
                ));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(ScimError::invalid_filter(format!(
                "the filter has more than {MAX_TERMS} terms"
            )));
        }
        let op_word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after \"{path}\" but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" needs an operator such as eq, co or pr"
                )))
            }
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op_word).ok_or_else(|| {
            ScimError::invalid_filter(format!(
                "\"{op_word}\" is not a filter operator; use one of eq ne co sw ew gt ge lt le pr"
            ))
        })?;
        let value = match self.next() {
            Some(Tok::Str(s)) => CompValue::Str(s),
            Some(Tok::Num(n)) => CompValue::Num(n),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                // Entra's documentation shows `externalId eq jyoung`: accept a bare word as a string.
                _ => CompValue::Str(w),
            },
            Some(t) => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a value after \"{path} {op_word}\" but found {}",
                    describe(&t)
                )))
            }
            None => {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path} {op_word}\" needs a value"
                )))
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::SubAttr(s) => format!("'.{s}'"),
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => Value::String(s.clone()).to_string(),
        Tok::Num(n) => n.to_string(),
    }
}

impl Filter {
    /// Parses a filter expression.
    ///
    /// # Errors
    /// `invalidFilter` with a message naming what was wrong and where.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(ScimError::invalid_filter(format!(
                "the filter is longer than {MAX_FILTER_LEN} bytes"
            )));
        }
        if input.trim().is_empty() {
            return Err(ScimError::invalid_filter("the filter is empty"));
        }
        let toks = lex(input)?;
        let mut p = Parser {
            toks,
            pos: 0,
            terms: 0,
        };
        let f = p.or_expr(0)?;
        if let Some(t) = p.peek() {
            return Err(ScimError::invalid_filter(format!(
                "unexpected {} after a complete expression; join expressions with 'and' or 'or'",
                describe(t)
            )));
        }
        Ok(f)
    }

    /// Evaluates the filter against a JSON object (a resource, or one value of a multi-valued
    /// attribute for value-path filters). `case_exact` says whether a path compares case-exactly.
    ///
    /// # Errors
    /// `invalidFilter` for comparisons the RFC forbids, such as `gt` on a boolean.
    pub fn matches(
        &self,
        obj: &Value,
        case_exact: &dyn Fn(&AttrPath) -> bool,
    ) -> Result<bool, ScimError> {
        Ok(match self {
            Filter::And(a, b) => a.matches(obj, case_exact)? && b.matches(obj, case_exact)?,
            Filter::Or(a, b) => a.matches(obj, case_exact)? || b.matches(obj, case_exact)?,
            Filter::Not(a) => !a.matches(obj, case_exact)?,
            Filter::Present(p) => resolve(obj, p).iter().any(|v| is_present(v)),
            Filter::Compare(p, op, cv) => {
                let exact = case_exact(p);
                let vals = resolve(obj, p);
                if *cv == CompValue::Null {
                    let present = vals.iter().any(|v| is_present(v));
                    return match op {
                        CompareOp::Eq => Ok(!present),
                        CompareOp::Ne => Ok(present),
                        _ => Err(ScimError::invalid_filter(format!(
                            "\"{p}\": null can only be compared with eq or ne"
                        ))),
                    };
                }
                let mut any = false;
                for v in vals {
                    if compare(v, *op, cv, exact, p)? {
                        any = true;
                        break;
                    }
                }
                if *op == CompareOp::Ne && !any {
                    // `ne` on an absent attribute: nothing equals, so it matches.
                    return Ok(!resolve(obj, p)
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, cv, exact, p).unwrap_or(false)));
                }
                any
            }
            Filter::ValuePath(p, inner) => {
                let rel_exact = |rp: &AttrPath| case_exact(&p.with_sub(Some(&rp.attr)));
                let target = get_ci(obj, p);
                match target {
                    Some(Value::Array(items)) => {
                        let mut any = false;
                        for item in items {
                            if inner.matches(item, &rel_exact)? {
                                any = true;
                                break;
                            }
                        }
                        any
                    }
                    Some(v @ Value::Object(_)) => inner.matches(v, &rel_exact)?,
                    _ => false,
                }
            }
        })
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Looks up a key case-insensitively (RFC 7643 §2.1), URN-qualified paths included.
pub fn get_ci<'a>(obj: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let map = obj.as_object()?;
    let container = match &path.urn {
        Some(urn) => {
            let (_, ext) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(urn))?;
            ext.as_object()?
        }
        None => map,
    };
    container
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&path.attr))
        .map(|(_, v)| v)
}

/// All values a path reaches: `emails.value` yields each email's value.
fn resolve<'a>(obj: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(top) = get_ci(obj, path) else {
        return vec![];
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => items,
        Some(sub) => items
            .into_iter()
            .filter_map(|it| {
                it.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(sub))
                    .map(|(_, v)| v)
            })
            .collect(),
    }
}

fn compare(
    v: &Value,
    op: CompareOp,
    cv: &CompValue,
    exact: bool,
    p: &AttrPath,
) -> Result<bool, ScimError> {
    match (v, cv) {
        (Value::Bool(a), CompValue::Bool(b)) => match op {
            CompareOp::Eq => Ok(a == b),
            CompareOp::Ne => Ok(a != b),
            _ => Err(ScimError::invalid_filter(format!(
                "\"{p}\" is a boolean: only eq, ne and pr apply"
            ))),
        },
        (Value::Number(a), CompValue::Num(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            Ok(match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Gt => a > b,
                CompareOp::Ge => a >= b,
                CompareOp::Lt => a < b,
                CompareOp::Le => a <= b,
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "\"{p}\" is a number: co, sw and ew do not apply"
                    )))
                }
            })
        }
        (Value::String(a), CompValue::Str(b)) => Ok(compare_str(a, op, b, exact)),
        // Booleans sent as strings ("True"), compared with a boolean literal.
        (Value::String(a), CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let eq = a.eq_ignore_ascii_case(if *b { "true" } else { "false" });
            Ok(if op == CompareOp::Eq { eq } else { !eq })
        }
        _ => Ok(false),
    }
}

/// String comparison with SCIM's case rules; `caseExact=false` folds case.
pub fn compare_str(a: &str, op: CompareOp, b: &str, exact: bool) -> bool {
    let (a, b) = if exact {
        (a.to_string(), b.to_string())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        CompareOp::Gt => a > b,
        CompareOp::Ge => a >= b,
        CompareOp::Lt => a < b,
        CompareOp::Le => a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }
    fn ci(_: &AttrPath) -> bool {
        false
    }

    #[test]
    fn parses_okta_lookup() {
        assert_eq!(
            p(r#"userName eq "test.user@okta.local""#),
            Filter::Compare(
                AttrPath::simple("userName"),
                CompareOp::Eq,
                CompValue::Str("test.user@okta.local".into())
            )
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = p(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert!(
            matches!(&f, Filter::Or(_, b) if matches!(**b, Filter::And(..))),
            "{f:?}"
        );
        let f = p(r#"(a eq "1" or b eq "2") and c eq "3""#);
        assert!(
            matches!(&f, Filter::And(a, _) if matches!(**a, Filter::Or(..))),
            "{f:?}"
        );
        assert_eq!(f.to_string(), r#"(a eq "1" or b eq "2") and c eq "3""#);
    }

    #[test]
    fn not_pr_literals_and_keywords_case_insensitive() {
        let f = p(r#"NOT (title PR) AnD active Eq TRUE and x eq null and n gt -1.5"#);
        assert_eq!(
            f.to_string(),
            "not (title pr) and active eq true and x eq null and n gt -1.5"
        );
    }

    #[test]
    fn printing_round_trips_without_adding_depth() {
        // Found by the fuzzer: fully parenthesised printing of a long `or` chain exceeded the
        // nesting limit on re-parse.
        let long = vec![r#"emails[type eq "w" or value co "x"]"#; 40].join(" or ");
        let f = p(&long);
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), p(&f.to_string()));
    }

    #[test]
    fn value_paths_and_entra_trailing_sub_attribute() {
        let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
        assert!(matches!(f, Filter::ValuePath(ref a, _) if a.attr == "emails"));
        let f = p(r#"emails[type eq "work"].value eq "a@b.c""#);
        assert_eq!(
            f.to_string(),
            r#"emails[type eq "work" and value eq "a@b.c"]"#
        );
    }

    #[test]
    fn extension_urn_paths() {
        let f = p(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#,
        );
        let Filter::Compare(path, _, _) = f else {
            panic!()
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.attr, "department");
    }

    #[test]
    fn bare_word_value_is_a_string() {
        assert_eq!(
            p("externalId eq jyoung"),
            Filter::Compare(
                AttrPath::simple("externalId"),
                CompareOp::Eq,
                CompValue::Str("jyoung".into())
            )
        );
    }

    #[test]
    fn string_escapes_are_json() {
        assert_eq!(
            p(r#"userName eq "a\"b\\c\u00e9""#),
            Filter::Compare(
                AttrPath::simple("userName"),
                CompareOp::Eq,
                CompValue::Str("a\"b\\cé".into())
            )
        );
    }

    #[test]
    fn errors_are_invalid_filter_with_a_reason() {
        for (bad, needle) in [
            ("", "empty"),
            ("userName", "operator"),
            ("userName eq", "needs a value"),
            ("userName xx \"a\"", "not a filter operator"),
            ("userName eq \"a", "not closed"),
            ("(userName eq \"a\"", "')'"),
            ("userName eq \"a\" userName eq \"b\"", "join expressions"),
            ("userName eq 'a'", "double quotes"),
            ("emails[type eq \"work\"", "']'"),
        ] {
            let e = Filter::parse(bad).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(super::super::error::ScimType::InvalidFilter),
                "{bad}"
            );
            assert!(e.detail.contains(needle), "{bad}: {}", e.detail);
        }
    }

    #[test]
    fn pathological_filters_are_refused_quickly() {
        let many = vec![r#"userName eq "x""#; 500].join(" or ");
        let e = Filter::parse(&many).unwrap_err();
        assert!(
            e.detail.contains("terms") || e.detail.contains("longer"),
            "{}",
            e.detail
        );
        let deep = format!("{}userName eq \"x\"{}", "(".repeat(200), ")".repeat(200));
        assert!(Filter::parse(&deep).unwrap_err().detail.contains("nested"));
        let huge = "a".repeat(MAX_FILTER_LEN + 1);
        assert!(Filter::parse(&huge).unwrap_err().detail.contains("longer"));
    }

    #[test]
    fn evaluates_against_resources() {
        let user = json!({"userName": "Alice@Example.com", "active": true,
            "emails": [{"value": "a@work.example", "type": "work"}, {"value": "a@home.example", "type": "home"}],
            "name": {"givenName": "Alice"}});
        let t = |s: &str| p(s).matches(&user, &ci).unwrap();
        assert!(t(r#"username eq "alice@example.com""#));
        assert!(t(r#"emails.value eq "a@home.example""#));
        assert!(t(r#"emails[type eq "work" and value ew "work.example"]"#));
        assert!(!t(r#"emails[type eq "home" and value ew "work.example"]"#));
        assert!(t("active eq true and name.givenName sw \"al\""));
        assert!(t("not (title pr)"));
        assert!(t("title ne \"x\""));
        assert!(!t("title eq \"x\""));
        assert!(t("title eq null"));
        let exact = |_: &AttrPath| true;
        assert!(!p(r#"userName eq "alice@example.com""#)
            .matches(&user, &exact)
            .unwrap());
        assert!(p("active gt true").matches(&user, &ci).is_err());
    }
}
