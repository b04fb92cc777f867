//! SQLite group commit: writes that queue for SQLite's single writer share one transaction.
//!
//! In SQLite's default rollback-journal mode every `COMMIT` waits for several fsyncs, which is
//! most of what a create costs; concurrent writes could only take turns paying it. Here a
//! write that finds others waiting behind it leaves the transaction open for them, and the
//! last one in (or the [`MAX_BATCH`]th) commits for all. Each request that joins runs inside a
//! savepoint of its own, so a request that fails is rolled back alone (the first needs none:
//! the transaction holds nothing else yet), and each is answered only after
//! the `COMMIT` that holds its write has returned: an acknowledged write is on disk exactly as
//! before. A request alone commits at once, as it always did.
//!
//! A request abandoned inside its savepoint (the client hung up, a timeout fired) may leave a
//! statement running on its blocking thread; the connection's statements are tracked
//! (`Conn::track_statements`), so a rescue task waits for that statement to end, rolls the
//! abandoned request back to its savepoint and commits the others. Only when the database
//! itself has rolled the whole transaction back are the others told their write was lost
//! (503; the identity provider retries).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use super::conn::{Conn, Tx};
use super::StoreError;

/// The most writes one transaction takes: bounds how long the first of them waits for its
/// answer, and how long a host application's own writers wait for the file lock.
pub(super) const MAX_BATCH: usize = 32;

/// How a batch ended, for every request in it: set once, by the commit or by the abandonment
/// that rolled it back, and announced to the requests waiting for it.
#[derive(Default)]
struct End {
    result: OnceLock<Result<(), String>>,
    told: Notify,
}

impl End {
    fn tell(&self, r: Result<(), String>) {
        let _ = self.result.set(r);
        self.told.notify_waiters();
    }
}

type Outcome = Arc<End>;

/// The open transaction and the requests whose writes it holds.
struct Open {
    tx: Tx,
    members: usize,
    outcome: Outcome,
}

type Slot = OwnedMutexGuard<Option<Open>>;

pub(super) struct GroupCommit {
    /// Held by the request using the writer, or by the commit in flight.
    open: Arc<Mutex<Option<Open>>>,
    /// Requests waiting for the writer for their own write (not those waiting for a commit):
    /// while there are any, a finished write leaves the transaction open for them.
    arriving: AtomicUsize,
    /// Held by each statement on the writer until it has finished (`Conn::track_statements`).
    statements: Arc<Mutex<()>>,
    commits: Arc<AtomicU64>,
    writes: AtomicU64,
}

/// Counts a request as arriving until it holds the writer or gives up.
struct Arriving<'a>(&'a AtomicUsize);

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request inside its savepoint (or, the first of a transaction, inside the transaction).
/// Dropped there (its future was cancelled), it hands the writer to [`rescue`].
struct Member {
    slot: Option<Slot>,
    working: bool,
    first: bool,
    commits: Arc<AtomicU64>,
}

impl Member {
    fn open(&mut self) -> Result<&mut Open, StoreError> {
        self.slot
            .as_mut()
            .and_then(|s| s.as_mut())
            .ok_or_else(|| StoreError::Unavailable("the shared transaction is gone".into()))
    }
    fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        Ok(self.open()?.tx.conn())
    }
    /// Ends the batch without committing: dropping its connection inside the transaction
    /// closes it, which rolls the transaction back.
    fn abort(&mut self, why: &str) {
        self.working = false;
        if let Some(slot) = self.slot.as_mut() {
            abort(slot, why);
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if !self.working {
            return;
        }
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(rescue(slot, self.first, self.commits.clone()));
            }
            Err(_) => abort(&mut slot, "its request was abandoned mid-write"),
        }
    }
}

/// Ends the batch in `slot` without committing and tells its requests why.
fn abort(slot: &mut Slot, why: &str) {
    if let Some(open) = slot.take() {
        open.outcome.tell(Err(format!(
            "the write was rolled back with the transaction it shared: {why}"
        )));
    }
}

/// Commits the open transaction, if any, in a task of its own: a commit half done must
/// finish and tell its requests even if the request that started it is cancelled. The writer
/// stays held until the commit has returned.
fn finish(mut slot: Slot, commits: &AtomicU64) {
    let Some(open) = slot.take() else { return };
    commits.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let r = open.tx.commit().await.map_err(|e| e.to_string());
        open.outcome.tell(r);
        drop(slot);
    });
}

/// After a request was abandoned holding the writer: waits for its last statement, undoes
/// its write, and commits the writes of the others.
async fn rescue(mut slot: Slot, first: bool, commits: Arc<AtomicU64>) {
    let Some(open) = slot.as_mut() else { return };
    let conn = open.tx.conn();
    conn.after_abandoned().await;
    if first {
        // Nobody else has written in this transaction yet.
        if let Some(open) = slot.take() {
            open.outcome.tell(Err("abandoned".into()));
            open.tx.rollback().await;
        }
        return;
    }
    let undone = conn
        .batch("ROLLBACK TO scim_request; RELEASE scim_request")
        .await;
    // No savepoint to roll back to: either the request had already released it (its write
    // was done and stays, like any write whose answer was lost), or the database rolled the
    // whole transaction back. `BEGIN` tells which: it fails inside a transaction.
    let kept = undone.is_ok()
        || match conn.batch("BEGIN").await {
            Ok(()) => {
                let _ = conn.batch("ROLLBACK").await;
                false
            }
            Err(_) => true,
        };
    if kept {
        tracing::debug!("a write abandoned mid-request was rolled back alone");
        finish(slot, &commits);
    } else {
        abort(&mut slot, "the database rolled it back");
    }
}

impl GroupCommit {
    pub(super) fn new() -> GroupCommit {
        GroupCommit {
            open: Arc::new(Mutex::new(None)),
            arriving: AtomicUsize::new(0),
            statements: Arc::new(Mutex::new(())),
            commits: Arc::new(AtomicU64::new(0)),
            writes: AtomicU64::new(0),
        }
    }

    /// (transactions committed, writes they held), for metrics.
    pub(super) fn usage(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` as one request's write: inside its own savepoint of the shared transaction,
    /// answered once that transaction has committed.
    ///
    /// # Errors
    /// `work`'s error (its savepoint rolled back), or `Unavailable` when the writer cannot be
    /// had within `acquire_timeout` or the shared transaction did not commit.
    pub(super) async fn run<T, E: From<StoreError>>(
        &self,
        acquire_timeout: Duration,
        begin: impl AsyncFnOnce() -> Result<Tx, StoreError>,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut slot = self.arrive(acquire_timeout).await?;
        // The first write of a transaction needs no savepoint: until it is done the
        // transaction holds nothing else, so on failure the whole of it is rolled back.
        let first = slot.is_none();
        if first {
            let mut tx = begin().await?;
            tx.conn().track_statements(self.statements.clone());
            *slot = Some(Open {
                tx,
                members: 0,
                outcome: Outcome::default(),
            });
        }
        let mut member = Member {
            slot: Some(slot),
            working: true,
            first,
            commits: self.commits.clone(),
        };
        let outcome = member.open()?.outcome.clone();
        if !first {
            if let Err(e) = member.conn()?.batch("SAVEPOINT scim_request").await {
                member.abort(&e.to_string());
                return Err(e.into());
            }
        }
        let r = work(member.conn()?).await;
        if first && r.is_err() {
            member.working = false;
            if let Some(open) = member.slot.as_mut().and_then(|s| s.take()) {
                open.outcome.tell(Err("the write failed".into()));
                open.tx.rollback().await;
            }
            return r;
        }
        let end = match (&r, first) {
            (Ok(_), true) => None,
            (Ok(_), false) => Some("RELEASE scim_request"),
            (Err(_), _) => Some("ROLLBACK TO scim_request; RELEASE scim_request"),
        };
        // Fails when the database rolled the whole transaction back itself (SQLite does on
        // a full disk, an I/O error, or a conflict clause or trigger that says ROLLBACK).
        if let Some(end) = end {
            if let Err(e) = member.conn()?.batch(end).await {
                member.abort(&e.to_string());
                return Err(r.err().unwrap_or_else(|| e.into()));
            }
        }
        member.working = false;
        let open = member.open()?;
        if r.is_ok() {
            open.members += 1;
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let full = open.members >= MAX_BATCH;
        if let Some(slot) = member.slot.take() {
            if full || self.arriving.load(Ordering::SeqCst) == 0 {
                finish(slot, &self.commits);
            }
            // Otherwise the writer passes, transaction open, to the next request waiting.
        }
        let v = r?;
        self.settle(&outcome).await?;
        Ok(v)
    }

    /// Waits for the writer as an arriving request.
    async fn arrive(&self, timeout: Duration) -> Result<Slot, StoreError> {
        self.arriving.fetch_add(1, Ordering::SeqCst);
        let _arriving = Arriving(&self.arriving);
        tokio::time::timeout(timeout, self.open.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no database connection within {} ms",
                    timeout.as_millis()
                ))
            })
    }

    /// Waits until the transaction holding this request's write has ended. Meanwhile it also
    /// queues for the writer: if the writer comes to this request with that transaction still
    /// open, nobody else is going to end it (whoever was expected to join gave up), so this
    /// request commits it.
    async fn settle(&self, end: &Outcome) -> Result<(), StoreError> {
        loop {
            let told = end.told.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            if let Some(r) = end.result.get() {
                return r.clone().map_err(StoreError::Unavailable);
            }
            tokio::select! {
                () = &mut told => {}
                slot = self.open.clone().lock_owned() => {
                    if end.result.get().is_none() {
                        if slot.is_none() {
                            return Err(StoreError::Unavailable(
                                "the shared transaction ended without an outcome".into(),
                            ));
                        }
                        finish(slot, &self.commits);
                    }
                }
            }
        }
    }
}
