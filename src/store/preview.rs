//! Dry runs for `scim-bridge preview`: while a task runs inside [`record`], every statement
//! the store sends is noted with its bound values, and a commit becomes a rollback — so the
//! operator sees exactly what a request would do (adoption lookups, generated keys, pointer
//! updates) and nothing is written.

use std::cell::RefCell;
use std::future::Future;

use super::sql::Sql;

/// One statement: SQL with `?` placeholders, and the bound values as shown to people.
pub type Statement = (String, Vec<String>);

tokio::task_local! {
    static PREVIEW: RefCell<Vec<Statement>>;
}

/// Runs `f` as a dry run; returns its output and the statements it sent.
pub async fn record<T>(f: impl Future<Output = T>) -> (T, Vec<Statement>) {
    PREVIEW
        .scope(RefCell::new(Vec::new()), async move {
            let out = f.await;
            let statements = PREVIEW.with(std::cell::RefCell::take);
            (out, statements)
        })
        .await
}

/// Whether the current task is a dry run.
pub fn active() -> bool {
    PREVIEW.try_with(|_| ()).is_ok()
}

pub(super) fn note(q: &Sql) {
    let _ = PREVIEW.try_with(|p| p.borrow_mut().push(q.describe()));
}
