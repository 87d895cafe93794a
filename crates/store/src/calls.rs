//! Voice and video calls: metadata only (who, when, how it ended, what media was used, relayed
//! or not). The media, SDP and ICE candidates never reach the store.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::sql::{BeginWrite, Get};
use crate::{Backend, Store};
use serde::{Deserialize, Serialize};

/// A call as it starts (ringing).
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: String,
    pub conversation_id: String,
    pub caller_id: String,
    pub video: bool,
    pub created_at: Millis,
}

/// A stored call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: String,
    pub conversation_id: String,
    pub caller_id: String,
    /// Who took part (the caller first).
    pub parties: Vec<String>,
    pub video: bool,
    pub created_at: Millis,
    pub answered_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub end_reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub audio_used: bool,
    pub video_used: bool,
    pub screen_used: bool,
    pub relayed: Option<bool>,
}

/// Counts over every stored call (for metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub started: i64,
    pub answered: i64,
    /// (end reason, calls).
    pub by_reason: Vec<(String, i64)>,
    pub relayed: i64,
    /// Answered calls that reported direct or relayed.
    pub reported: i64,
    /// Sum of (answered - created) over answered calls, ms.
    pub setup_ms_sum: i64,
}

const COLS: &str = "id, conversation_id, caller_id, parties, video, created_at, answered_at, \
                    ended_at, end_reason, duration_ms, audio_used, video_used, screen_used, relayed";

fn call_of(r: &impl Get) -> Result<CallRecord> {
    let parties: Vec<String> = serde_json::from_str(&r.s("parties")?)
        .map_err(|_| StoreError::Invalid("call parties are not a JSON list".into()))?;
    Ok(CallRecord {
        id: r.s("id")?,
        conversation_id: r.s("conversation_id")?,
        caller_id: r.s("caller_id")?,
        parties,
        video: r.b("video")?,
        created_at: r.i("created_at")?,
        answered_at: r.oi("answered_at")?,
        ended_at: r.oi("ended_at")?,
        end_reason: r.os("end_reason")?,
        duration_ms: r.oi("duration_ms")?,
        audio_used: r.b("audio_used")?,
        video_used: r.b("video_used")?,
        screen_used: r.b("screen_used")?,
        relayed: r.ob("relayed")?,
    })
}

impl Store {
    /// Records a new (ringing) call.
    pub async fn insert_call(&self, c: &NewCall) -> Result<()> {
        check_id("call id", &c.id)?;
        check_id("conversation id", &c.conversation_id)?;
        check_id("caller id", &c.caller_id)?;
        let parties = serde_json::to_string(&[&c.caller_id]).unwrap_or_default();
        on_write!(self, |p| {
            sqlx::query(
                "INSERT INTO calls (id, conversation_id, caller_id, parties, video, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.id)
            .bind(&c.conversation_id)
            .bind(&c.caller_id)
            .bind(parties)
            .bind(c.video)
            .bind(c.created_at)
            .execute(p)
            .await?;
            Ok(())
        })
    }

    /// Marks a call answered (the first answer counts).
    pub async fn answer_call(&self, id: &str, at: Millis) -> Result<()> {
        on_write!(self, |p| {
            sqlx::query("UPDATE calls SET answered_at = $2 WHERE id = $1 AND answered_at IS NULL")
                .bind(id)
                .bind(at)
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// Ends a call with its final metadata and appends `call.ended` (the call card's data) to
    /// the event log of every member of its conversation, in one transaction. Ending an ended
    /// call changes nothing (returns false).
    pub async fn end_call(&self, c: &CallRecord) -> Result<bool> {
        check_name(
            "end reason",
            c.end_reason.as_deref().unwrap_or(""),
            MAX_SHORT,
        )?;
        let parties = serde_json::to_string(&c.parties).unwrap_or_default();
        let data = serde_json::to_string(&serde_json::json!({ "call": c })).unwrap_or_default();
        let ended = c.ended_at.unwrap_or_else(crate::now_ms);
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let n = sqlx::query(
                "UPDATE calls SET parties = $2, answered_at = $3, ended_at = $4, end_reason = $5, \
                 duration_ms = $6, audio_used = $7, video_used = $8, screen_used = $9, relayed = $10 \
                 WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(&c.id)
            .bind(parties)
            .bind(c.answered_at)
            .bind(ended)
            .bind(c.end_reason.as_deref())
            .bind(c.duration_ms)
            .bind(c.audio_used)
            .bind(c.video_used)
            .bind(c.screen_used)
            .bind(c.relayed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            let members = members_sorted!(tx, c.conversation_id.as_str());
            emit!(
                tx,
                members,
                "call.ended",
                Some(c.conversation_id.as_str()),
                None::<i64>,
                Some(data.as_str()),
                ended
            );
            // The operator event (webhooks, feed): the call's metadata, no media details.
            let event = serde_json::json!({"call_id": c.id, "conversation_id": c.conversation_id,
                "caller_id": c.caller_id, "parties": c.parties, "video": c.video,
                "created_at": c.created_at, "answered_at": c.answered_at, "ended_at": ended,
                "end_reason": c.end_reason, "duration_ms": c.duration_ms,
                "audio_used": c.audio_used, "video_used": c.video_used,
                "screen_used": c.screen_used, "relayed": c.relayed});
            outbox_emit!(tx, "call.ended", &event, ended);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Ends every call still open (a restart lost their state) with `reason`; returns how many.
    pub async fn end_open_calls(&self, reason: &str, at: Millis) -> Result<u64> {
        let open: Vec<CallRecord> = on_read!(self, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {COLS} FROM calls WHERE ended_at IS NULL LIMIT 1000"
            ))
            .fetch_all(p)
            .await?;
            rows.iter().map(call_of).collect::<Result<_>>()?
        });
        let mut n = 0;
        for mut c in open {
            c.ended_at = Some(at);
            c.end_reason = Some(reason.to_string());
            c.duration_ms = c.answered_at.map(|a| (at - a).max(0));
            if self.end_call(&c).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// One call.
    pub async fn get_call(&self, id: &str) -> Result<CallRecord> {
        on_read!(self, |p| {
            let row = sqlx::query(&format!("SELECT {COLS} FROM calls WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?
                .ok_or_else(|| StoreError::NotFound("call"))?;
            call_of(&row)
        })
    }

    /// The calls of a conversation, newest first, at most `limit`.
    pub async fn conversation_calls(
        &self,
        conversation_id: &str,
        limit: u32,
    ) -> Result<Vec<CallRecord>> {
        let limit = crate::sql::page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(&format!(
                "SELECT {COLS} FROM calls WHERE conversation_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2"
            ))
            .bind(conversation_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(call_of).collect()
        })
    }

    /// Counts over every call (metrics).
    pub async fn call_stats(&self) -> Result<CallStats> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT COUNT(*) AS started, \
                 COUNT(answered_at) AS answered, \
                 COALESCE(SUM(CASE WHEN relayed THEN 1 ELSE 0 END), 0) AS relayed, \
                 COUNT(relayed) AS reported, \
                 CAST(COALESCE(SUM(answered_at - created_at), 0) AS BIGINT) AS setup \
                 FROM calls",
            )
            .fetch_one(p)
            .await?;
            let reasons = sqlx::query(
                "SELECT end_reason, COUNT(*) AS n FROM calls WHERE end_reason IS NOT NULL \
                 GROUP BY end_reason ORDER BY end_reason",
            )
            .fetch_all(p)
            .await?;
            Ok(CallStats {
                started: row.i("started")?,
                answered: row.i("answered")?,
                relayed: row.i("relayed")?,
                reported: row.i("reported")?,
                setup_ms_sum: row.i("setup")?,
                by_reason: reasons
                    .iter()
                    .map(|r| Ok((r.s("end_reason")?, r.i("n")?)))
                    .collect::<Result<_>>()?,
            })
        })
    }
}
