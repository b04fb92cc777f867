//! Typed host values and the conversions between them and JSON.
//!
//! Host rows are read with every column cast to text (one uniform read path on all three
//! databases) and parsed here by the column's kind; writes bind values of the column's kind,
//! which PostgreSQL insists on.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::host::{ColumnKind, Storage, TypeName};

#[derive(Debug, Clone, PartialEq)]
pub enum HostValue {
    Null(ColumnKind),
    Text(String),
    Int(i64),
    Bool(bool),
    /// UTC.
    Timestamp(NaiveDateTime),
    /// A calendar date (`date` columns), bound as a date: each database stores it in its own
    /// form (SQLite as `YYYY-MM-DD` text).
    Date(NaiveDate),
    /// A value of a type the drivers cannot bind (a PostgreSQL enum): bound as the inner value
    /// inside `CAST(? AS "schema"."type")`. The type comes from introspection.
    Cast(Box<HostValue>, TypeName),
}

impl HostValue {
    /// The value itself, without the cast it is bound with.
    pub fn plain(&self) -> &HostValue {
        match self {
            HostValue::Cast(v, _) => v.plain(),
            v => v,
        }
    }

    /// `value` as `storage` needs it bound: inside a cast to the column's type where the
    /// database names one (a PostgreSQL enum), as it is otherwise.
    pub fn typed(value: HostValue, storage: &Storage) -> HostValue {
        match (storage.cast(), value) {
            (_, v @ HostValue::Cast(..)) => v,
            (Some(ty), v) => HostValue::Cast(Box::new(v), ty.clone()),
            (None, v) => v,
        }
    }

    /// The current time `now` (UTC) in the form a column of `kind` and `storage` holds it: a
    /// timestamp, a date, `YYYY-MM-DD HH:MM:SS` text, or seconds since 1970 (UNIX time) in an
    /// integer column.
    pub fn now(kind: ColumnKind, storage: &Storage, now: NaiveDateTime) -> HostValue {
        match (kind, storage) {
            (_, Storage::Date) => HostValue::Date(now.date()),
            (ColumnKind::Text, _) => HostValue::Text(now.format("%Y-%m-%d %H:%M:%S").to_string()),
            (ColumnKind::Int, _) => HostValue::Int(now.and_utc().timestamp()),
            _ => HostValue::Timestamp(now),
        }
    }

    /// The value as the database's text cast shows it (keys, pointers); `None` for NULL.
    pub fn display_text(&self) -> Option<String> {
        match self {
            HostValue::Null(_) => None,
            HostValue::Text(s) => Some(s.clone()),
            HostValue::Int(n) => Some(n.to_string()),
            HostValue::Bool(b) => Some(i64::from(*b).to_string()),
            HostValue::Timestamp(t) => Some(t.to_string()),
            HostValue::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            HostValue::Cast(v, _) => v.display_text(),
        }
    }

    /// The integer inside, also from text holding one (how some drivers return numbers).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            HostValue::Int(n) => Some(*n),
            HostValue::Bool(b) => Some(i64::from(*b)),
            HostValue::Text(s) => s.trim().parse().ok(),
            HostValue::Cast(v, _) => v.as_int(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.plain(), HostValue::Null(_))
    }

    /// A display form for `preview` and messages (never used to build SQL).
    pub fn display(&self) -> String {
        match self {
            HostValue::Null(_) => "NULL".into(),
            HostValue::Text(s) => format!("{s:?}"),
            HostValue::Int(i) => i.to_string(),
            HostValue::Bool(b) => b.to_string(),
            HostValue::Timestamp(t) => t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            HostValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            HostValue::Cast(v, _) => v.display(),
        }
    }

    /// Converts a JSON scalar into a value of `kind`. `None` when it cannot be represented.
    pub fn from_json(kind: ColumnKind, v: &Value) -> Option<HostValue> {
        Some(match (kind, v) {
            (k, Value::Null) => HostValue::Null(k),
            (ColumnKind::Text, Value::String(s)) => HostValue::Text(s.clone()),
            (ColumnKind::Text, Value::Bool(b)) => HostValue::Text(b.to_string()),
            (ColumnKind::Text, Value::Number(n)) => HostValue::Text(n.to_string()),
            (ColumnKind::Int, Value::Number(n)) => HostValue::Int(n.as_i64()?),
            (ColumnKind::Int, Value::Bool(b)) => HostValue::Int(i64::from(*b)),
            (ColumnKind::Int, Value::String(s)) => HostValue::Int(s.trim().parse().ok()?),
            (ColumnKind::Bool, Value::Bool(b)) => HostValue::Bool(*b),
            (ColumnKind::Bool, Value::Number(n)) => HostValue::Bool(n.as_i64()? != 0),
            (ColumnKind::Bool, Value::String(s)) => HostValue::Bool(parse_bool(s)?),
            (ColumnKind::Timestamp | ColumnKind::TimestampTz, Value::String(s)) => {
                HostValue::Timestamp(parse_timestamp(s)?)
            }
            _ => return None,
        })
    }

    /// Parses the text form a database gave for a column of `kind`.
    pub fn from_db_text(kind: ColumnKind, text: Option<&str>) -> HostValue {
        let Some(t) = text else {
            return HostValue::Null(kind);
        };
        match kind {
            ColumnKind::Text => HostValue::Text(t.to_string()),
            ColumnKind::Int => t
                .trim()
                .parse()
                .map(HostValue::Int)
                .unwrap_or_else(|_| HostValue::Text(t.to_string())),
            ColumnKind::Bool => parse_bool(t)
                .map(HostValue::Bool)
                .unwrap_or_else(|| HostValue::Text(t.to_string())),
            ColumnKind::Timestamp | ColumnKind::TimestampTz => parse_timestamp(t)
                .map(HostValue::Timestamp)
                .unwrap_or_else(|| HostValue::Text(t.to_string())),
        }
    }

    /// The JSON form, for reverse mapping and shadow comparison.
    pub fn to_json(&self) -> Value {
        match self {
            HostValue::Null(_) => Value::Null,
            HostValue::Text(s) => Value::String(s.clone()),
            HostValue::Int(i) => Value::from(*i),
            HostValue::Bool(b) => Value::Bool(*b),
            HostValue::Timestamp(t) => {
                Value::String(t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
            }
            HostValue::Date(d) => {
                HostValue::Timestamp(d.and_time(chrono::NaiveTime::MIN)).to_json()
            }
            HostValue::Cast(v, _) => v.to_json(),
        }
    }

    /// Whether writing `self` into a column that holds `stored` (as read back through a
    /// text cast) would leave it as it is. Strict, unlike [`HostValue::loosely_equals`]:
    /// `"Alice"` and `"alice"` differ, and so do `"a"` and `"a "`.
    pub fn same_as_stored(&self, stored: &HostValue) -> bool {
        match (self.plain(), stored.plain()) {
            (HostValue::Null(_), HostValue::Null(_)) => true,
            (HostValue::Null(_), _) | (_, HostValue::Null(_)) => false,
            (HostValue::Text(a), HostValue::Text(b)) => a == b,
            (HostValue::Int(a), HostValue::Int(b)) => a == b,
            (HostValue::Bool(a), HostValue::Bool(b)) => a == b,
            (HostValue::Bool(b), HostValue::Int(n)) | (HostValue::Int(n), HostValue::Bool(b)) => {
                i64::from(*b) == *n
            }
            (HostValue::Timestamp(a), HostValue::Timestamp(b)) => a == b,
            (HostValue::Date(d), HostValue::Timestamp(t))
            | (HostValue::Timestamp(t), HostValue::Date(d)) => {
                *t == d.and_time(chrono::NaiveTime::MIN)
            }
            (a, b) => a.display_text() == b.display_text(),
        }
    }

    /// Loose equality used when reversing value maps: `1` equals `"1"` and `true`.
    pub fn loosely_equals(&self, other: &HostValue) -> bool {
        fn norm(v: &HostValue) -> String {
            match v.plain() {
                HostValue::Bool(b) => i64::from(*b).to_string(),
                HostValue::Text(s) => match parse_bool(s) {
                    Some(b) if !s.trim().chars().all(|c| c.is_ascii_digit()) => {
                        i64::from(b).to_string()
                    }
                    _ => s.trim().to_string(),
                },
                HostValue::Date(d) => {
                    HostValue::Timestamp(d.and_time(chrono::NaiveTime::MIN)).display()
                }
                other => other.display(),
            }
        }
        norm(self) == norm(other)
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(true),
        "false" | "f" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Accepts RFC 3339 and the `YYYY-MM-DD HH:MM:SS[.f][+tz]` forms databases print.
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    plain_timestamp(s).or_else(|| formatted_timestamp(s))
}

/// `YYYY-MM-DD HH:MM:SS[.fraction]` (or with `T`), no zone: what every backend prints for the
/// bridge's own timestamp columns, read without chrono's format parser. A page reads two per
/// row, and trying formats one by one was 3.5 % of a page's CPU (perf, 100 users a page).
/// Anything else (a zone, a leap second, more than nine fraction digits) is `None`, left to
/// [`formatted_timestamp`].
fn plain_timestamp(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits = |d: &[u8]| -> Option<u32> {
        d.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - u32::try_from(frac.len()).ok()?)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(digits(&b[0..4])?).ok()?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?
    .and_hms_nano_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        nanos,
    )
}

/// The general case of [`parse_timestamp`]: RFC 3339, a zone, or a date alone.
fn formatted_timestamp(s: &str) -> Option<NaiveDateTime> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).naive_utc());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.with_timezone(&Utc).naive_utc());
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fast path reads what chrono's formats read, and leaves everything else to them.
    #[test]
    fn plain_timestamps_read_as_the_formats_read_them() {
        for s in [
            "2026-12-03 19:21:40",
            "2026-12-03T19:21:40",
            "2026-12-03 19:21:40.5",
            "2026-12-03 19:21:40.123456",
            "2026-12-03 19:21:40.123456789",
            "1999-02-28 00:00:00",
            "2024-02-29 23:59:59.000001",
        ] {
            assert_eq!(plain_timestamp(s), formatted_timestamp(s), "{s}");
            assert!(plain_timestamp(s).is_some(), "{s}");
        }
        for s in [
            "2026-12-03 19:21:40+02",
            "2026-12-03T19:21:40Z",
            "2026-12-03 19:21:40.1234567890",
            "2026-12-03 23:59:60",
            "2026-02-30 10:00:00",
            "2026-12-03 19:21:4x",
            "2026-12-03 19:21:40.",
            "2026-12-03",
            "20261203 192140",
            "２０２６-12-03 19:21:40",
        ] {
            assert_eq!(plain_timestamp(s), None, "{s}");
        }
        assert_eq!(
            parse_timestamp("2026-12-03 19:21:40+02"),
            formatted_timestamp("2026-12-03 19:21:40+02")
        );
        assert!(parse_timestamp("2026-12-03 19:21:40+02").is_some());
    }

    #[test]
    fn a_write_that_changes_nothing_is_recognised_strictly() {
        use HostValue::*;
        assert!(Text("Alice".into()).same_as_stored(&Text("Alice".into())));
        assert!(!Text("alice".into()).same_as_stored(&Text("Alice".into())));
        assert!(!Text("a".into()).same_as_stored(&Text("a ".into())));
        assert!(Bool(true).same_as_stored(&Int(1)));
        assert!(Int(0).same_as_stored(&Bool(false)));
        assert!(Null(ColumnKind::Text).same_as_stored(&Null(ColumnKind::Int)));
        assert!(!Null(ColumnKind::Text).same_as_stored(&Text(String::new())));
        assert!(!Int(5).same_as_stored(&Null(ColumnKind::Int)));
        assert!(Int(7).same_as_stored(&Text("7".into())));
    }

    #[test]
    fn json_to_host_by_kind() {
        assert_eq!(
            HostValue::from_json(ColumnKind::Int, &json!(true)),
            Some(HostValue::Int(1))
        );
        assert_eq!(
            HostValue::from_json(ColumnKind::Int, &json!("42")),
            Some(HostValue::Int(42))
        );
        assert_eq!(HostValue::from_json(ColumnKind::Int, &json!("x")), None);
        assert_eq!(
            HostValue::from_json(ColumnKind::Bool, &json!("False")),
            Some(HostValue::Bool(false))
        );
        assert_eq!(
            HostValue::from_json(ColumnKind::Text, &json!(7)),
            Some(HostValue::Text("7".into()))
        );
        assert!(matches!(
            HostValue::from_json(ColumnKind::Timestamp, &json!("2024-05-01T09:00:00Z")),
            Some(HostValue::Timestamp(_))
        ));
        assert_eq!(
            HostValue::from_json(ColumnKind::Text, &json!(null)),
            Some(HostValue::Null(ColumnKind::Text))
        );
    }

    #[test]
    fn database_text_forms() {
        assert_eq!(
            HostValue::from_db_text(ColumnKind::Bool, Some("t")),
            HostValue::Bool(true)
        );
        assert_eq!(
            HostValue::from_db_text(ColumnKind::Bool, Some("0")),
            HostValue::Bool(false)
        );
        assert_eq!(
            HostValue::from_db_text(ColumnKind::Int, Some("12")),
            HostValue::Int(12)
        );
        let t = HostValue::from_db_text(ColumnKind::Timestamp, Some("2024-05-01 09:00:00.123"));
        assert_eq!(t.to_json(), json!("2024-05-01T09:00:00Z"));
        let tz = HostValue::from_db_text(ColumnKind::TimestampTz, Some("2024-05-01 11:00:00+02"));
        assert_eq!(tz.to_json(), json!("2024-05-01T09:00:00Z"));
        assert_eq!(
            HostValue::from_db_text(ColumnKind::Text, None),
            HostValue::Null(ColumnKind::Text)
        );
    }

    #[test]
    fn now_in_each_column_form() {
        let now =
            NaiveDateTime::parse_from_str("2026-03-01 12:34:56", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            HostValue::now(ColumnKind::Int, &Storage::Plain, now),
            HostValue::Int(1_772_368_496)
        );
        assert_eq!(
            HostValue::now(ColumnKind::Timestamp, &Storage::Date, now),
            HostValue::Date(now.date())
        );
        assert_eq!(
            HostValue::now(ColumnKind::Text, &Storage::Plain, now),
            HostValue::Text("2026-03-01 12:34:56".into())
        );
        assert_eq!(
            HostValue::now(ColumnKind::TimestampTz, &Storage::Plain, now),
            HostValue::Timestamp(now)
        );
        // A date is the stored midnight it reads back as.
        let stored = HostValue::from_db_text(ColumnKind::Timestamp, Some("2026-03-01"));
        assert!(HostValue::Date(now.date()).same_as_stored(&stored));
        assert!(HostValue::Date(now.date()).loosely_equals(&stored));
    }

    #[test]
    fn a_cast_value_is_its_inner_value_except_when_bound() {
        let ty = TypeName {
            schema: "public".into(),
            name: "user_type".into(),
        };
        let storage = Storage::Enum {
            labels: vec!["agent".into()],
            cast: Some(ty.clone()),
        };
        let v = HostValue::typed(HostValue::Text("agent".into()), &storage);
        assert_eq!(
            v,
            HostValue::Cast(Box::new(HostValue::Text("agent".into())), ty)
        );
        assert_eq!(HostValue::typed(v.clone(), &storage), v, "cast once");
        assert!(v.same_as_stored(&HostValue::Text("agent".into())));
        assert!(v.loosely_equals(&HostValue::Text("agent".into())));
        assert_eq!(v.to_json(), json!("agent"));
        assert!(HostValue::typed(HostValue::Null(ColumnKind::Text), &storage).is_null());
        assert_eq!(
            HostValue::typed(HostValue::Text("x".into()), &Storage::Plain),
            HostValue::Text("x".into())
        );
    }

    #[test]
    fn loose_equality_for_value_maps() {
        assert!(HostValue::Int(1).loosely_equals(&HostValue::Bool(true)));
        assert!(HostValue::Text("1".into()).loosely_equals(&HostValue::Int(1)));
        assert!(HostValue::Text("active".into()).loosely_equals(&HostValue::Text("active".into())));
        assert!(!HostValue::Int(2).loosely_equals(&HostValue::Int(1)));
    }
}
