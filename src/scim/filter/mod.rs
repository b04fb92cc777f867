//! The SCIM filter language (RFC 7644 §3.4.2.2): the AST and its printing here, the parser in
//! `parse.rs`, the in-memory evaluator in `eval.rs`.
//!
//! The parser is a small recursive-descent one over a hand-written lexer: the grammar is tiny
//! and error messages matter more than generality. Cost is bounded before anything is
//! evaluated: length, number of terms and nesting depth are capped, so a pathological filter
//! is refused in microseconds.

use std::fmt;

use serde_json::Value;

use super::path::AttrPath;

mod eval;
mod parse;

pub use eval::{compare_str, get_ci};

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
