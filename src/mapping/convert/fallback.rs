//! `read_fallback` on reads: an attribute whose column is empty is served as the first
//! non-empty of its fallbacks (osTicket's guests, who have no account row, get their primary
//! email as userName). Filters see the same rule (see `mapping::predicate::fallback`).

use serde_json::Value;

use super::ChildRow;
use crate::mapping::compile::UserMapping;
use crate::mapping::value::HostValue;

/// Whether a served value counts as absent: missing, null or the empty string — what SQL's
/// "present" (`IS NOT NULL AND <> ''`) calls absent, so reads and filters agree.
pub(crate) fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

impl UserMapping {
    /// The SCIM view of a user as served: [`UserMapping::to_stored_resource`] with each
    /// `read_fallback` filled in where the attribute's own column is empty.
    pub fn to_resource(
        &self,
        values: &[HostValue],
        children: &[Vec<ChildRow>],
        shadow: Option<&Value>,
    ) -> Value {
        let mut res = self.to_stored_resource(values, children, shadow);
        self.serve_fallbacks(&mut res);
        res
    }

    /// Fills each attribute that reads empty from its first non-empty fallback.
    pub fn serve_fallbacks(&self, res: &mut Value) {
        for f in &self.fallbacks {
            if !is_empty(f.attr.get(res)) {
                continue;
            }
            let found = f
                .from
                .iter()
                .filter_map(|t| t.get(res))
                .find(|v| !is_empty(Some(v)))
                .cloned();
            if let Some(v) = found {
                f.attr.set(res, v);
            }
        }
    }
}
