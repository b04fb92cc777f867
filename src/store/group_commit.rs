//! SQLite group commit: writes that queue for SQLite's single writer share one transaction.
//!
//! In SQLite's default rollback-journal mode every `COMMIT` waits for several fsyncs, which is
//! most of what a create costs; concurrent writes could only take turns paying it. Here a
//! write that finds others waiting behind it leaves the transaction open for them, and the
//! transaction commits once nobody is waiting to join (or [`MAX_BATCH`] have). Each request
//! runs inside a savepoint of its own, so a request that fails is rolled back alone, and each
//! is answered only after the `COMMIT` that holds its write has returned: an acknowledged
//! write is on disk exactly as before. A request alone commits at once, as it always did.
//!
//! A request abandoned inside its savepoint (the client hung up, a timeout fired) is rolled
//! back to its savepoint by a rescue task, and the others commit. Only when the database
//! itself has rolled the whole transaction back are the others told their write was lost
//! (503; the identity provider retries).
//!
//! Every open transaction has someone bound to end it that no client can cancel: the request
//! holding the writer, the commit task, the rescue task, or the closer task a request spawns
//! when it leaves the transaction open for others.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use super::conn::{Conn, Tx};
use super::StoreError;

/// The most writes one transaction takes: bounds how long the first of them waits for its
/// answer, and how long a host application's own writers wait for the file lock.
const MAX_BATCH: u64 = 32;

/// How a batch ended, for every request in it: set once — by its commit, or by whatever
/// rolled it back (a failed `SAVEPOINT`/`RELEASE`, or the database's own rollback found by a
/// rescue) — and announced to the requests waiting for it.
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

    /// Waits until the batch has ended.
    async fn wait(&self) -> Result<(), StoreError> {
        loop {
            let told = self.told.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            if let Some(r) = self.result.get() {
                return r.clone().map_err(StoreError::Unavailable);
            }
            told.await;
        }
    }
}

type Outcome = Arc<End>;

/// The open transaction and the requests whose writes it holds.
struct Open {
    tx: Tx,
    /// Writes released into the transaction (failed ones are not counted).
    members: u64,
    outcome: Outcome,
    /// A closer task is waiting to end this transaction.
    closer: bool,
}

type Slot = OwnedMutexGuard<Option<Open>>;

struct Shared {
    /// The writer: held by the request writing, the commit in flight, a rescue or a closer.
    open: Arc<Mutex<Option<Open>>>,
    /// Requests waiting for the writer for their own write (not those waiting for a commit):
    /// while there are any, a finished write leaves the transaction open for them.
    arriving: AtomicUsize,
    /// Held by each statement on the writer until it has finished (`Conn::track_statements`).
    statements: Arc<Mutex<()>>,
    commits: AtomicU64,
    writes: AtomicU64,
}

pub(super) struct GroupCommit(Arc<Shared>);

/// Counts a request as arriving until it holds the writer or gives up.
struct Arriving<'a>(&'a AtomicUsize);

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Where a request holding the writer is, for the rescue if it is abandoned there.
#[derive(Clone, Copy)]
enum Step {
    /// `SAVEPOINT` sent: it may or may not have run.
    Savepoint,
    /// Inside its savepoint.
    Work,
    /// `RELEASE` (or `ROLLBACK TO` + `RELEASE`) sent: it may or may not have run.
    End,
}

/// A request holding the writer. Dropped inside its savepoint (its future was cancelled), it
/// hands the writer to [`Shared::rescue`]; dropped after, to [`Shared::hand_on`].
struct Member {
    slot: Option<Slot>,
    step: Option<Step>,
    shared: Arc<Shared>,
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
    /// Ends the batch without committing (see [`abort`]).
    fn abort(&mut self, why: &str) {
        self.step = None;
        if let Some(slot) = self.slot.as_mut() {
            abort(slot, why);
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        // Committing and rescuing need tasks; outside a runtime the only way out is closing.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            abort(&mut slot, "its request was abandoned outside a runtime");
            return;
        };
        match self.step {
            None => self.shared.hand_on(slot),
            Some(step) => {
                rt.spawn(self.shared.clone().rescue(slot, step));
            }
        }
    }
}

/// Ends the batch in `slot` without committing and tells its requests why. Dropping the
/// transaction's connection while inside it closes the connection, which rolls back.
fn abort(slot: &mut Slot, why: &str) {
    if let Some(open) = slot.take() {
        open.outcome.tell(Err(format!(
            "the write was rolled back with the transaction it shared: {why}"
        )));
    }
}

impl Shared {
    /// After a write: commits now if nobody is waiting to join or the batch is full, else
    /// leaves the transaction open for the next request, making sure a closer will end it
    /// even if every request waiting gives up.
    fn hand_on(self: &Arc<Self>, mut slot: Slot) {
        let Some(open) = slot.as_mut() else { return };
        if open.members >= MAX_BATCH || self.arriving.load(Ordering::SeqCst) == 0 {
            self.finish(slot);
            return;
        }
        if !open.closer {
            open.closer = true;
            tokio::spawn(self.clone().close(open.outcome.clone()));
        }
    }

    /// Queues for the writer behind the requests waiting now; if the transaction is still
    /// open when its turn comes, lets newer arrivals in first while there is room, then
    /// commits it.
    async fn close(self: Arc<Self>, outcome: Outcome) {
        loop {
            let slot = self.open.clone().lock_owned().await;
            if outcome.result.get().is_some() {
                return;
            }
            // The outcome is unset, so the open transaction is still this one.
            let room = slot.as_ref().is_some_and(|o| o.members < MAX_BATCH);
            if room && self.arriving.load(Ordering::SeqCst) > 0 {
                drop(slot);
                tokio::task::yield_now().await;
                continue;
            }
            self.finish(slot);
            return;
        }
    }

    /// Commits the open transaction, if any, in a task of its own: a commit half done must
    /// finish and tell its requests even if the request that started it is cancelled. The
    /// writer stays held until the commit has returned.
    fn finish(self: &Arc<Self>, mut slot: Slot) {
        let Some(open) = slot.take() else { return };
        let shared = self.clone();
        tokio::spawn(async move {
            let r = open.tx.commit().await.map_err(|e| e.to_string());
            // A transaction whose every write failed is not counted.
            if r.is_ok() && open.members > 0 {
                shared.commits.fetch_add(1, Ordering::Relaxed);
                shared.writes.fetch_add(open.members, Ordering::Relaxed);
            }
            open.outcome.tell(r);
            drop(slot);
        });
    }

    /// After a request was abandoned holding the writer at `step`: waits for its last
    /// statement (diesel-async already waits for a dropped SQLite statement on a multi-thread
    /// runtime; this holds on any runtime), undoes its write, and hands the writer on.
    async fn rescue(self: Arc<Self>, mut slot: Slot, step: Step) {
        let Some(open) = slot.as_mut() else { return };
        let conn = open.tx.conn();
        conn.after_abandoned().await;
        let undone = conn
            .batch("ROLLBACK TO scim_request; RELEASE scim_request")
            .await;
        let kept = match (undone, step) {
            (Ok(()), _) => true,
            // Inside the request's savepoint, a missing savepoint means a missing transaction.
            (Err(_), Step::Work) => false,
            // `SAVEPOINT` never ran, or `RELEASE` had already ended the request (its write was
            // done and stays, like any write whose answer was lost): fine if the transaction
            // is still open.
            (Err(_), Step::Savepoint | Step::End) => in_transaction(conn).await,
        };
        if kept {
            tracing::debug!("a write abandoned mid-request was rolled back alone");
            self.hand_on(slot);
        } else {
            abort(&mut slot, "the database rolled the transaction back");
        }
    }
}

/// Whether the connection is inside a transaction: SQLite refuses `BEGIN` there.
async fn in_transaction(conn: &mut Conn) -> bool {
    match conn.batch("BEGIN").await {
        Ok(()) => {
            let _ = conn.batch("ROLLBACK").await;
            false
        }
        Err(e) => e
            .to_string()
            .contains("cannot start a transaction within a transaction"),
    }
}

impl GroupCommit {
    pub(super) fn new() -> GroupCommit {
        GroupCommit(Arc::new(Shared {
            open: Arc::new(Mutex::new(None)),
            arriving: AtomicUsize::new(0),
            statements: Arc::new(Mutex::new(())),
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }))
    }

    /// (transactions committed, writes they held), for metrics.
    pub(super) fn usage(&self) -> (u64, u64) {
        (
            self.0.commits.load(Ordering::Relaxed),
            self.0.writes.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` as one request's write: inside its own savepoint of the shared transaction,
    /// answered once that transaction has committed.
    ///
    /// # Errors
    /// `work`'s error (its savepoint rolled back), or `Unavailable` when the writer is not had
    /// within `acquire_timeout` (waited for twice at most: the writer, then a new connection
    /// and SQLite's busy timeout) or the shared transaction did not commit.
    pub(super) async fn run<T, E: From<StoreError>>(
        &self,
        acquire_timeout: Duration,
        begin: impl AsyncFnOnce() -> Result<Tx, StoreError>,
        work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut slot = self.arrive(acquire_timeout).await?;
        if slot.is_none() {
            let mut tx = begin().await?;
            tx.conn().track_statements(self.0.statements.clone());
            *slot = Some(Open {
                tx,
                members: 0,
                outcome: Outcome::default(),
                closer: false,
            });
        }
        let mut member = Member {
            slot: Some(slot),
            step: Some(Step::Savepoint),
            shared: self.0.clone(),
        };
        let outcome = member.open()?.outcome.clone();
        if let Err(e) = member.conn()?.batch("SAVEPOINT scim_request").await {
            member.abort(&e.to_string());
            return Err(e.into());
        }
        member.step = Some(Step::Work);
        let r = work(member.conn()?).await;
        member.step = Some(Step::End);
        let end = match r {
            Ok(_) => "RELEASE scim_request",
            Err(_) => "ROLLBACK TO scim_request; RELEASE scim_request",
        };
        // Fails when the database rolled the whole transaction back itself (SQLite does on
        // a full disk, an I/O error, or a conflict clause or trigger that says ROLLBACK).
        if let Err(e) = member.conn()?.batch(end).await {
            member.abort(&e.to_string());
            return Err(r.err().unwrap_or_else(|| e.into()));
        }
        member.step = None;
        if r.is_ok() {
            member.open()?.members += 1;
        }
        // Dropping the member hands the writer on.
        drop(member);
        let v = r?;
        outcome.wait().await?;
        Ok(v)
    }

    /// Waits for the writer as an arriving request.
    async fn arrive(&self, timeout: Duration) -> Result<Slot, StoreError> {
        self.0.arriving.fetch_add(1, Ordering::SeqCst);
        let _arriving = Arriving(&self.0.arriving);
        tokio::time::timeout(timeout, self.0.open.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no database connection within {} ms",
                    timeout.as_millis()
                ))
            })
    }
}
