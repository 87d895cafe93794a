//! SQLite group commit for message posts. One task takes the posts queued by every caller and
//! writes up to `MAX_BATCH` of them in one transaction, commits once, and only then answers
//! each caller: an acknowledged message is committed. A post refused by its checks writes
//! nothing and does not disturb the batch; if anything else fails, the batch is rolled back and
//! its posts are written one transaction each. This removes the contention of many concurrent
//! requests on the single writer connection and amortises the commit.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{BackendError, Result, StoreError};
use crate::model::{Millis, NewMessage, Posted};
use crate::post::post_message_sqlite;
use crate::sql::BeginWrite;

const MAX_BATCH: usize = 64;
const QUEUE: usize = 4096;

struct Job {
    message: NewMessage,
    decision: String,
    now: Millis,
    reply: oneshot::Sender<Result<Posted>>,
}

/// Handle to the writer task (cheap to clone).
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

fn closed() -> StoreError {
    StoreError::Unavailable(BackendError::msg("the SQLite writer task has stopped"))
}

impl Writer {
    /// Starts the writer task on a thread of its own (a single-threaded runtime), so that
    /// its many short waits on the database connection are not queued behind the request
    /// tasks of the caller's runtime: each statement of a batch is one round trip to the
    /// connection's worker thread, and a batch's latency is the sum of them. Falls back to
    /// the current runtime if the thread cannot be started.
    pub(crate) fn spawn(pool: SqlitePool) -> Writer {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match rt {
            Ok(rt) => {
                let moved = pool.clone();
                let started = std::thread::Builder::new()
                    .name("parley-sqlite-writer".into())
                    .spawn(move || rt.block_on(run(moved, rx)));
                if started.is_err() {
                    // The closure (and the receiver) is gone with the failed spawn: start over
                    // on the caller's runtime.
                    let (queue, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(run(pool, rx));
                    return Writer { queue };
                }
            }
            Err(_) => {
                tokio::spawn(run(pool, rx));
            }
        }
        Writer { queue }
    }

    pub(crate) async fn post(
        &self,
        m: &NewMessage,
        decision: String,
        now: Millis,
    ) -> Result<Posted> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                message: m.clone(),
                decision,
                now,
                reply,
            })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// How often the writer lets the WAL start over (see [`truncate_wal`]).
const WAL_RESET_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The background checkpoints are passive: they copy the WAL into the database file, but with
/// readers always busy the WAL never starts over, and under a steady load it grows without end
/// (2 GB for 100,000 messages in the load test, every read slower for it). Every
/// [`WAL_RESET_EVERY`] of writing, between two batches, the writer runs a TRUNCATE checkpoint:
/// it waits for the readers of the moment (queries are short), copies what the passive
/// checkpoints left, and empties the WAL. True when done; false when another checkpoint was
/// running (try again after the next batch).
async fn truncate_wal(pool: &SqlitePool) -> bool {
    let r: std::result::Result<(i64, i64, i64), _> =
        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(pool)
            .await;
    matches!(r, Ok((0, _, _)))
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut since_reset = std::time::Instant::now();
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // A batch is waiting: there is writing going on.
        if since_reset.elapsed() >= WAL_RESET_EVERY && truncate_wal(&pool).await {
            since_reset = std::time::Instant::now();
        }
        let batch = std::mem::take(&mut jobs);
        if batch.len() > 1 {
            if let Ok(results) = write_batch(&pool, &batch).await {
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
                continue;
            }
            // The batch was rolled back: write each post on its own, so that whatever failed
            // fails alone.
        }
        for job in batch {
            let r = write_one(&pool, &job).await;
            let _ = job.reply.send(r);
        }
    }
}

async fn write_one(pool: &SqlitePool, job: &Job) -> Result<Posted> {
    let mut tx = pool.begin_write().await?;
    let r = post_message_sqlite(&mut tx, &job.message, &job.decision, job.now).await?;
    tx.commit().await?;
    Ok(r)
}

/// All posts of the batch in one transaction. A post refused before it writes anything (not a
/// member) gets its error; any failure after writing aborts the whole batch (nothing committed).
async fn write_batch(pool: &SqlitePool, batch: &[Job]) -> Result<Vec<Result<Posted>>> {
    let mut tx = pool.begin_write().await?;
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        match post_message_sqlite(&mut tx, &job.message, &job.decision, job.now).await {
            Ok(p) => out.push(Ok(p)),
            Err(StoreError::NotFound(what)) => out.push(Err(StoreError::NotFound(what))),
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(out)
}
