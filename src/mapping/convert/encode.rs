//! One value between SCIM and the host: defaults, transforms, value maps, bit flags, type
//! conversion and length, both ways.

use serde_json::Value;

use crate::mapping::compile::Rule;
use crate::mapping::host::Storage;
use crate::mapping::value::HostValue;
use crate::scim::ScimError;

impl Rule {
    /// The host value for a SCIM value (already picked from the resource): default,
    /// transforms, value map, type conversion and length check.
    ///
    /// # Errors
    /// `invalidValue` naming the attribute and column.
    pub fn to_host(&self, scim: Option<&Value>) -> Result<HostValue, ScimError> {
        let target = self.attr().map(|t| t.text.as_str()).unwrap_or("constant");
        let mut v = scim
            .cloned()
            .or_else(|| self.default.clone())
            .unwrap_or(Value::Null);
        for t in &self.transforms {
            v = t
                .apply(v)
                .map_err(|m| ScimError::invalid_value(format!("\"{target}\": {m}")))?;
        }
        if let (Some(map), false) = (&self.map, v.is_null()) {
            let hit = map.iter().find(|(k, _)| json_loose_eq(k, &v));
            return match hit {
                Some((_, h)) => Ok(HostValue::typed(h.clone(), &self.storage)),
                None => Err(ScimError::invalid_value(format!(
                    "\"{target}\" = {v} has no entry in the mapping's value map for column \"{}\" (known: {})",
                    self.column,
                    map.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>().join(", ")
                ))),
            };
        }
        let h = HostValue::from_json(self.kind, &v).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "\"{target}\" = {v} cannot be stored in column \"{}\" ({})",
                self.column,
                self.kind.as_str()
            ))
        })?;
        let h = match (&self.storage, h) {
            (Storage::Date, HostValue::Timestamp(t)) => HostValue::Date(t.date()),
            (Storage::Enum { labels, .. }, HostValue::Text(t)) => match self.storage.label(&t) {
                Some(l) => HostValue::Text(l.to_string()),
                None => {
                    return Err(ScimError::invalid_value(format!(
                        "\"{target}\" = {t:?} is not one of the values the application's column \"{}\" accepts: {}",
                        self.column,
                        labels.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
                    )))
                }
            },
            (_, h) => h,
        };
        if let (&HostValue::Int(n), Some((lo, hi))) = (&h, self.int_range) {
            if n < lo || n > hi {
                return Err(ScimError::invalid_value(format!(
                    "\"{target}\" is out of range for the application's column \"{}\" ({lo} to {hi})",
                    self.column
                )));
            }
        }
        if let (HostValue::Text(s), Some(max)) = (&h, self.max_len) {
            // A binary column's limit is in bytes (the text's UTF-8).
            let (n, unit) = if self.storage == Storage::Binary {
                (s.len(), "bytes")
            } else {
                (s.chars().count(), "characters")
            };
            if n > max as usize {
                return Err(ScimError::invalid_value(format!(
                    "\"{target}\" is {n} {unit} long; the application's column \"{}\" holds at most {max}",
                    self.column
                )));
            }
        }
        Ok(HostValue::typed(h, &self.storage))
    }

    /// The SCIM value for a host value: the value map and `not` reversed.
    pub fn from_host(&self, h: &HostValue) -> Value {
        if h.is_null() {
            return Value::Null;
        }
        if self.lookup.is_some() {
            return h.display_text().map_or(Value::Null, Value::String);
        }
        if let (Some(mask), Some(n)) = (self.flag, h.as_int()) {
            let mut v = Value::Bool(n & mask != 0);
            for t in self.transforms.iter().rev() {
                v = t.reverse(v);
            }
            return v;
        }
        let mut v = match &self.map {
            Some(map) => match map.iter().find(|(_, hv)| hv.loosely_equals(h)) {
                Some((k, _)) => k.clone(),
                None => self.read_default.clone().unwrap_or(Value::Null),
            },
            None => h.to_json(),
        };
        for t in self.transforms.iter().rev() {
            v = t.reverse(v);
        }
        // Typed attributes come back typed whatever the column stores.
        match self.attr().map(|t| t.ty) {
            Some(crate::scim::schema::AttrType::Boolean) => match &v {
                Value::Number(n) => Value::Bool(n.as_i64() != Some(0)),
                Value::String(s) => crate::mapping::value::parse_bool(s)
                    .map(Value::Bool)
                    .unwrap_or(v),
                _ => v,
            },
            Some(crate::scim::schema::AttrType::String) => match &v {
                Value::Number(n) => Value::String(n.to_string()),
                _ => v,
            },
            _ => v,
        }
    }
}

fn json_loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Bool(x), Value::String(y)) | (Value::String(y), Value::Bool(x)) => {
            crate::mapping::value::parse_bool(y) == Some(*x)
        }
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            x.to_string() == y.trim()
        }
        _ => a == b,
    }
}
