//! Joined rows that exist only while their attributes do (`skip_if_absent = true`): which of
//! them a resource leaves without a value.

use serde_json::Value;

use crate::mapping::compile::UserMapping;

impl UserMapping {
    /// Per joined table: whether its row must not exist for `resource` — the section says
    /// `skip_if_absent` and none of its attributes has a value (absent, null or empty text).
    pub(super) fn absent_joined(&self, resource: &Value) -> Vec<bool> {
        self.joined
            .iter()
            .enumerate()
            .map(|(i, j)| {
                j.skip_if_absent
                    && !self
                        .rules
                        .iter()
                        .filter(|r| r.at == i + 1)
                        .flat_map(|r| r.attrs())
                        .any(|t| {
                            t.get(resource)
                                .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
                        })
            })
            .collect()
    }
}
