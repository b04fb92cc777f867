//! Continuation of sequential list paging (Okta's import: `startIndex=1,101,201,…`).
//!
//! When a request asks for exactly the page after one this process just served for the same
//! query, the next page is read by key (`key > last`) instead of `OFFSET`, and the total counted
//! for the first page is reused instead of counting again — on PostgreSQL the count alone cost
//! 14 ms a page on 100,000 users. Any user write through this process ends every continuation,
//! so a run that interleaves with provisioning falls back to exact offsets and counts.
//! Rows the application inserts during a run are appended at the end (higher keys) and are
//! seen by the next import; rows it deletes are skipped, never duplicated.
//!
//! The state is per process and bounded; a replica that has none simply counts and offsets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::users::Resume;

const MAX_ENTRIES: usize = 256;
const MAX_AGE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QueryKey {
    filter: String,
    count: u64,
}

#[derive(Debug, Clone)]
struct Cursor {
    next_start: u64,
    resume: Resume,
    generation: u64,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct Pager {
    generation: AtomicU64,
    cursors: Mutex<HashMap<QueryKey, Cursor>>,
}

impl Pager {
    /// Called after every user write: continuations no longer describe the table.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The continuation for this request, if it follows the last page served for its query.
    pub fn resume(&self, filter: &str, start_index: u64, count: u64) -> Option<Resume> {
        if start_index <= 1 {
            return None;
        }
        let cursors = self
            .cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = cursors.get(&QueryKey {
            filter: filter.to_string(),
            count,
        })?;
        let fresh =
            c.generation == self.generation.load(Ordering::Relaxed) && c.at.elapsed() < MAX_AGE;
        (fresh && c.next_start == start_index).then(|| c.resume.clone())
    }

    /// Records where a served page ended.
    pub fn remember(
        &self,
        filter: &str,
        start_index: u64,
        count: u64,
        served: u64,
        last_key: Option<&str>,
        total: u64,
    ) {
        let key = QueryKey {
            filter: filter.to_string(),
            count,
        };
        let mut cursors = self
            .cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(last) = last_key.filter(|_| served == count) else {
            cursors.remove(&key);
            return;
        };
        if cursors.len() >= MAX_ENTRIES && !cursors.contains_key(&key) {
            if let Some(oldest) = cursors
                .iter()
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone())
            {
                cursors.remove(&oldest);
            }
        }
        cursors.insert(
            key,
            Cursor {
                next_start: start_index + served,
                resume: Resume {
                    after_key: last.to_string(),
                    total,
                },
                generation: self.generation.load(Ordering::Relaxed),
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_only_the_next_page_of_the_same_query() {
        let p = Pager::default();
        assert_eq!(p.resume("", 1, 100), None);
        p.remember("", 1, 100, 100, Some("100"), 1000);
        assert_eq!(
            p.resume("", 101, 100),
            Some(Resume {
                after_key: "100".into(),
                total: 1000
            })
        );
        assert_eq!(p.resume("", 201, 100), None, "not the next page");
        assert_eq!(p.resume("x", 101, 100), None, "another filter");
        assert_eq!(p.resume("", 101, 50), None, "another page size");
        p.invalidate();
        assert_eq!(p.resume("", 101, 100), None, "a write ended it");
        p.remember("", 101, 100, 40, Some("140"), 140);
        assert_eq!(p.resume("", 141, 100), None, "a short page is the last");
    }

    #[test]
    fn bounded() {
        let p = Pager::default();
        for i in 0..(MAX_ENTRIES + 50) {
            p.remember(&format!("f{i}"), 1, 10, 10, Some("k"), 100);
        }
        assert!(p.cursors.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
