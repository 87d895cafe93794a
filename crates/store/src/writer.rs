//! SQLite group commit for message posts (and the SQLite path of a post: [`post_message_sqlite`]). One task takes the posts queued by every caller and
//! writes up to `MAX_BATCH` of them in one transaction, commits once, and only then answers
//! each caller: an acknowledged message is committed. A post refused by its checks writes
//! nothing and does not disturb the batch; if anything else fails, the batch is rolled back and
//! its posts are written one transaction each. This removes the contention of many concurrent
//! requests on the single writer connection and amortises the commit.

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{BackendError, Result, StoreError};
use sqlx::Sqlite;

use crate::model::*;
use crate::rows::*;
use crate::safety::{
    enforcement_event_data, enforcement_of, fill_draft, Enforcement, NewEnforcement,
};
use crate::sql::{BeginWrite, Get};
use crate::txn::{Conn, Faults};

const MAX_BATCH: usize = 64;
const QUEUE: usize = 4096;

struct Job {
    message: NewMessage,
    decision: String,
    now: Millis,
    /// Enforcement drafts of the post's decision (empty for most posts) and their statements
    /// as JSON text.
    enforcements: Vec<NewEnforcement>,
    statements: Vec<String>,
    /// Files to attach to the message (ids, in order; empty for most posts).
    attachments: Vec<String>,
    reply: oneshot::Sender<Result<(Posted, Vec<Enforcement>)>>,
}

/// Handle to the writer task (cheap to clone).
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

/// The writer task's connection pool and the store's fault plan.
struct Ctx {
    pool: SqlitePool,
    faults: Arc<Faults>,
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
    pub(crate) fn spawn(pool: SqlitePool, faults: Arc<Faults>) -> Writer {
        let ctx = Ctx { pool, faults };
        let (queue, rx) = mpsc::channel(QUEUE);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match rt {
            Ok(rt) => {
                let moved = Ctx {
                    pool: ctx.pool.clone(),
                    faults: ctx.faults.clone(),
                };
                let started = std::thread::Builder::new()
                    .name("parley-sqlite-writer".into())
                    .spawn(move || rt.block_on(run(moved, rx)));
                if started.is_err() {
                    // The closure (and the receiver) is gone with the failed spawn: start over
                    // on the caller's runtime.
                    let (queue, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(run(ctx, rx));
                    return Writer { queue };
                }
            }
            Err(_) => {
                tokio::spawn(run(ctx, rx));
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
        let (posted, _) = self
            .post_enforced(m, decision, now, Vec::new(), Vec::new(), Vec::new())
            .await?;
        Ok(posted)
    }

    /// A post with the enforcements of its decision, in the same transaction (see
    /// [`crate::Store::post_message_enforced`]); `statements` from `check_enforcement`;
    /// `attachments`: files linked to the new message in the same transaction.
    pub(crate) async fn post_enforced(
        &self,
        m: &NewMessage,
        decision: String,
        now: Millis,
        enforcements: Vec<NewEnforcement>,
        statements: Vec<String>,
        attachments: Vec<String>,
    ) -> Result<(Posted, Vec<Enforcement>)> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job {
                message: m.clone(),
                decision,
                now,
                enforcements,
                statements,
                attachments,
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

async fn run(ctx: Ctx, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut since_reset = std::time::Instant::now();
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        // A batch is waiting: there is writing going on.
        if since_reset.elapsed() >= WAL_RESET_EVERY && truncate_wal(&ctx.pool).await {
            since_reset = std::time::Instant::now();
        }
        let batch = std::mem::take(&mut jobs);
        if batch.len() > 1 {
            if let Ok(results) = write_batch(&ctx, &batch).await {
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
                continue;
            }
            // The batch was rolled back: write each post on its own, so that whatever failed
            // fails alone.
        }
        for job in batch {
            let r = write_one(&ctx, &job).await;
            let _ = job.reply.send(r);
        }
    }
}

async fn write_one(ctx: &Ctx, job: &Job) -> Result<(Posted, Vec<Enforcement>)> {
    let mut tx = ctx.pool.begin_write(&ctx.faults).await?;
    let r = write_job(&mut tx, job).await?;
    tx.commit().await?;
    Ok(r)
}

/// One post in the caller's transaction: the message, then the enforcements of its decision
/// (only when this call created it: a retry stored them with the first post).
async fn write_job(tx: &mut Conn<Sqlite>, job: &Job) -> Result<(Posted, Vec<Enforcement>)> {
    let posted = post_message_sqlite(tx, &job.message, &job.decision, job.now).await?;
    if posted.created && !job.attachments.is_empty() {
        link_attachments_in_tx!(
            tx,
            posted.message.id,
            &job.message,
            job.attachments,
            job.now
        );
    }
    if !posted.created || job.enforcements.is_empty() {
        return Ok((posted, Vec::new()));
    }
    let decision_id = post_decision_id!(tx, posted.message.id);
    let drafts: Vec<NewEnforcement> = job
        .enforcements
        .iter()
        .map(|e| fill_draft(e, decision_id, Some(posted.message.id)))
        .collect();
    let stored = record_enforcements_in_tx!(tx, drafts, job.statements);
    Ok((posted, stored))
}

/// All posts of the batch in one transaction. A post refused before it writes anything (not a
/// member) gets its error; any failure after writing aborts the whole batch (nothing committed).
async fn write_batch(ctx: &Ctx, batch: &[Job]) -> Result<Vec<Result<(Posted, Vec<Enforcement>)>>> {
    let mut tx = ctx.pool.begin_write(&ctx.faults).await?;
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        match write_job(&mut tx, job).await {
            Ok(p) => out.push(Ok(p)),
            // Only a plain post's NotFound (not a member) is sure to come before any write; a
            // post with enforcements that fails anywhere aborts the batch, and is retried alone.
            // A post with attachments may fail after its message is written: retried alone.
            Err(StoreError::NotFound(what))
                if job.enforcements.is_empty() && job.attachments.is_empty() =>
            {
                out.push(Err(StoreError::NotFound(what)))
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// SQLite's path for the hottest write: one writer connection serialises writes, so no row
/// locks are needed: the insert checks membership and the idempotency key, and everything
/// after it runs as one multi-statement round trip with set-based event fan-out (2 round trips
/// per message in a group-committed batch).
/// Runs inside the caller's transaction (or savepoint) on the writer connection.
pub(crate) async fn post_message_sqlite(
    tx: &mut Conn<Sqlite>,
    m: &NewMessage,
    decision: &str,
    now: Millis,
) -> Result<Posted> {
    // The insert checks membership and the idempotency key itself: one round trip in the
    // common case; only when it inserts nothing does a second query tell why.
    let row = sqlx::query(concat!(
        "INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
         delivered, decision, version, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, 1, $9 \
         WHERE EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND author_id = $2 AND client_id = $3) \
         RETURNING ",
        cols!(message)
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .bind(m.purpose.as_deref())
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let row = sqlx::query(concat!(
            "SELECT k.is_member, ",
            cols!(message as x),
            " FROM (SELECT COUNT(*) AS is_member FROM conversation_members \
             WHERE conversation_id = $1 AND user_id = $2) AS k \
             LEFT JOIN messages x ON x.conversation_id = $1 AND x.author_id = $2 AND x.client_id = $3"
        ))
        .bind(m.conversation_id.as_str())
        .bind(m.author_id.as_str())
        .bind(m.client_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if row.i("is_member")? == 0 {
            return Err(StoreError::NotFound("conversation"));
        }
        if row.oi("id")?.is_none() {
            // Nothing inserted, yet a member and no earlier message: cannot happen with one
            // writer; say so rather than guess.
            return Err(StoreError::Backend(BackendError::msg(
                "message insert skipped without a reason",
            )));
        }
        return Ok(Posted {
            message: message_of(&row, "")?,
            created: false,
            event_seqs: Vec::new(),
        });
    };
    let message = message_of(&row, "")?;
    let delivered = m.state == MessageState::Delivered;
    // The only statement that returns rows is the recipients' sequence update.
    let seqs = sqlx::query(
        "INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
         VALUES ($1, 1, 'created', $2, $3, $4, $5, $6, $7); \
         INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
         actor_id, surface, action, automated, decision, created_at) \
         VALUES ('message', $8, $9, $1, 1, $6, $10, $11, $12, $5, $7); \
         UPDATE conversations SET last_message_id = $1, updated_at = $7 WHERE id = $9 AND $13; \
         UPDATE users SET event_seq = event_seq + 1 WHERE id IN \
         (SELECT user_id FROM conversation_members WHERE conversation_id = $9 AND ($13 OR user_id = $6)) \
         RETURNING id, event_seq; \
         INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
         SELECT u.id, u.event_seq, 'message.created', $9, $1, NULL, $7 \
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
         WHERE cm.conversation_id = $9 AND ($13 OR cm.user_id = $6);",
    )
    .bind(message.id)
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(m.author_id.as_str())
    .bind(now)
    .bind(message.id.to_string())
    .bind(m.conversation_id.as_str())
    .bind(m.decision.surface.as_str())
    .bind(m.decision.action.as_str())
    .bind(m.decision.automated)
    .bind(delivered)
    .fetch_all(&mut *tx)
    .await?;
    audit_post!(tx, m, message, decision, now);
    let event_seqs = seqs
        .iter()
        .map(|r| Ok((r.s("id")?, r.i("event_seq")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Posted {
        message,
        created: true,
        event_seqs,
    })
}
