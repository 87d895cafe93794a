//! Voice and video calls: the life cycle the server owns. One call per conversation at a
//! time, `ringing` → `active` → `ended` with exactly one end reason. The calls in progress
//! live in this node's memory ([`Calls`]); the store keeps their metadata (never SDP, ICE
//! candidates, addresses or media). Signaling frames are relayed between the parties of a
//! call only, each to the one socket session that carries the party's part of the call.

use crate::bus::{BusEvent, CallOut};
use crate::domain::call_frames::{CallClientFrame, CallFrame, PartyView};
use crate::domain::ids::check_text_id;
use crate::domain::standing;
use crate::rate::RateLimiter;
use crate::AppState;
use parley_store::{CallRecord, NewCall};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How a call ended.
pub const END_REASONS: &[&str] = &[
    "completed",
    "canceled",
    "no_answer",
    "declined",
    "busy",
    "failed",
    "ice_failed",
    "answered_elsewhere",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Ringing,
    Active,
}

#[derive(Debug, Clone)]
pub(super) struct Party {
    pub(super) session: String,
    pub(super) beat: Instant,
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) id: String,
    pub(super) conversation: String,
    pub(super) caller: String,
    pub(super) video: bool,
    pub(super) members: Vec<String>,
    pub(super) phase: Phase,
    pub(super) created_at: i64,
    pub(super) answered_at: Option<i64>,
    pub(super) answered: Option<Instant>,
    pub(super) ring_until: Instant,
    pub(super) parties: BTreeMap<String, Party>,
    pub(super) ringing: BTreeSet<String>,
    /// Everyone who took part, in order (the caller first).
    pub(super) ever: Vec<String>,
    pub(super) audio_used: bool,
    pub(super) video_used: bool,
    pub(super) screen_used: bool,
    pub(super) relayed: Option<bool>,
}

impl Call {
    pub(super) fn state(&self, state: &str, reason: Option<&str>) -> CallFrame {
        CallFrame::State {
            call_id: self.id.clone(),
            conversation_id: self.conversation.clone(),
            state: state.into(),
            caller: self.caller.clone(),
            video: self.video,
            parties: self
                .parties
                .iter()
                .map(|(u, p)| PartyView {
                    user_id: u.clone(),
                    session: p.session.clone(),
                })
                .collect(),
            ringing: self.ringing.iter().cloned().collect(),
            reason: reason.map(str::to_string),
            created_at: self.created_at,
            answered_at: self.answered_at,
        }
    }

    pub(super) fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Ringing => "ringing",
            Phase::Active => "active",
        }
    }

    pub(super) fn record(&self, reason: &str, now: i64) -> CallRecord {
        CallRecord {
            id: self.id.clone(),
            conversation_id: self.conversation.clone(),
            caller_id: self.caller.clone(),
            parties: self.ever.clone(),
            video: self.video,
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: Some(now),
            end_reason: Some(reason.to_string()),
            duration_ms: self.answered_at.map(|a| (now - a).max(0)),
            audio_used: self.audio_used,
            video_used: self.video_used,
            screen_used: self.screen_used,
            relayed: self.relayed,
        }
    }
}

#[derive(Default)]
pub(super) struct Live {
    pub(super) calls: HashMap<String, Call>,
    pub(super) by_conversation: HashMap<String, String>,
    /// The call each user takes part in (as a party).
    pub(super) by_user: HashMap<String, String>,
}

impl Live {
    pub(super) fn remove(&mut self, id: &str) -> Option<Call> {
        let c = self.calls.remove(id)?;
        self.by_conversation.remove(&c.conversation);
        for u in c.parties.keys() {
            if self.by_user.get(u).is_some_and(|x| x == id) {
                self.by_user.remove(u);
            }
        }
        Some(c)
    }
}

/// What an operation does once the lock is released: store writes, then frames.
#[derive(Default)]
pub(super) struct Effects {
    pub(super) insert: Option<NewCall>,
    pub(super) answered: Option<(String, i64)>,
    pub(super) ended: Vec<CallRecord>,
    pub(super) outs: Vec<(String, CallOut)>,
    /// Answers to the socket that sent the frame.
    pub(super) reply: Vec<CallFrame>,
}

impl Effects {
    pub(super) fn send(
        &mut self,
        user: &str,
        only: Option<&str>,
        except: Option<&str>,
        f: &CallFrame,
    ) {
        self.outs.push((
            user.to_string(),
            CallOut {
                only: only.map(str::to_string),
                except: except.map(str::to_string),
                frame: f.to_value(),
            },
        ));
    }
    pub(super) fn send_members(&mut self, c: &Call, f: &CallFrame) {
        for m in &c.members {
            self.send(m, None, None, f);
        }
    }
    pub(super) fn error(&mut self, call: Option<&str>, conv: Option<&str>, code: &str, m: &str) {
        self.reply.push(CallFrame::error(call, conv, code, m));
    }
    /// Ends `c` (already removed from the live maps) with `reason`.
    pub(super) fn end(&mut self, c: &Call, reason: &str, now: i64) {
        self.send_members(c, &c.state("ended", Some(reason)));
        self.ended.push(c.record(reason, now));
    }
}

/// The calls in progress on this node, and the per-session rate limit of call frames.
pub struct Calls {
    pub(super) live: Mutex<Live>,
    rate: RateLimiter,
}

impl Default for Calls {
    fn default() -> Calls {
        Calls {
            live: Mutex::new(Live::default()),
            rate: RateLimiter::new(50.0, 200.0),
        }
    }
}

impl Calls {
    pub(super) fn lock(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Calls in progress on this node.
    pub fn in_progress(&self) -> usize {
        self.lock().calls.len()
    }
    /// The call in progress in a conversation, if any.
    pub fn of_conversation(&self, conversation: &str) -> Option<String> {
        self.lock().by_conversation.get(conversation).cloned()
    }
}

fn new_call_id() -> String {
    let mut b = [0u8; 10];
    let _ = getrandom::getrandom(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("call_{hex}")
}

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

/// The `call_id` a raw client frame names, if any (for refusals of frames that do not parse).
fn call_id_of(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("call_id")?.as_str().map(str::to_string)
}

/// What became of one call frame a socket sent.
pub struct Handled {
    /// Frames for that socket.
    pub replies: Vec<CallFrame>,
    /// The frame was refused by the socket's call-signaling budget.
    pub rate_limited: bool,
}

/// Handles the text of one `call.*` frame from `me` on the socket `session`. Call signaling
/// has its own budget per socket (50 frames/s, burst 200), apart from the user's rate limit
/// of HTTP requests and chat frames; every refusal is a `call.error` that names the frame's
/// call, so the sender can roll back an offer the other party will never see.
pub async fn handle_text(s: &AppState, me: &str, session: &str, text: &str) -> Handled {
    if !s.inner.calls.rate.allow(session) {
        let id = call_id_of(text);
        let kind = super::call_frames::call_frame_kind(text).unwrap_or_default();
        return Handled {
            replies: vec![CallFrame::error(
                id.as_deref(),
                None,
                "rate_limited",
                "too many call frames, slow down",
            )
            .refusing(&kind)],
            rate_limited: true,
        };
    }
    let replies = match super::call_frames::parse(text) {
        Ok(f) => handle(s, me, session, f).await,
        Err(why) => {
            let code = if why.ends_with("too large") {
                "too_large"
            } else {
                "invalid_request"
            };
            vec![CallFrame::error(
                call_id_of(text).as_deref(),
                None,
                code,
                why,
            )]
        }
    };
    let kind = super::call_frames::call_frame_kind(text).unwrap_or_default();
    Handled {
        replies: replies.into_iter().map(|r| r.refusing(&kind)).collect(),
        rate_limited: false,
    }
}

/// Handles one parsed `call.*` frame from `me` on the socket `session`; returns the frames for
/// that socket (errors), after publishing the others on the bus.
pub async fn handle(s: &AppState, me: &str, session: &str, f: CallClientFrame) -> Vec<CallFrame> {
    if !s.inner.config.calls.enabled {
        return vec![CallFrame::error(
            None,
            None,
            "not_found",
            "calls are off on this server",
        )];
    }
    let fx = match f {
        CallClientFrame::Invite {
            conversation_id,
            video,
        } => invite(s, me, session, &conversation_id, video).await,
        CallClientFrame::Accept { call_id } => accept(s, me, session, &call_id).await,
        other => Ok(super::call_signals::apply(s, me, session, other)),
    };
    let fx = match fx {
        Ok(fx) => fx,
        Err(e) => return vec![e],
    };
    commit(s, fx).await
}

/// Store writes, then the frames (a failed write answers `unavailable`).
pub(super) async fn commit(s: &AppState, mut fx: Effects) -> Vec<CallFrame> {
    let store = s.store();
    if let Some(n) = &fx.insert {
        if let Err(e) = store.insert_call(n).await {
            tracing::warn!(call = %n.id, error = %e, "recording a call");
            s.inner.calls.lock().remove(&n.id);
            return vec![CallFrame::error(
                Some(&n.id),
                Some(&n.conversation_id),
                "unavailable",
                "the call could not be recorded, try again",
            )];
        }
    }
    if let Some((id, at)) = &fx.answered {
        if let Err(e) = store.answer_call(id, *at).await {
            tracing::warn!(call = %id, error = %e, "recording an answer");
        }
    }
    for r in &fx.ended {
        match store.end_call(r).await {
            Ok(_) => {
                tracing::info!(call = %r.id, reason = r.end_reason.as_deref().unwrap_or(""), "call ended");
                if let Ok(ms) = store.conversation_members(&r.conversation_id).await {
                    s.notify(ms.into_iter().map(|m| m.user_id));
                }
            }
            Err(e) => tracing::warn!(call = %r.id, error = %e, "recording a call's end"),
        }
    }
    for (user_id, out) in fx.outs {
        s.inner.bus.publish(BusEvent::Call { user_id, out });
    }
    std::mem::take(&mut fx.reply)
}

async fn invite(
    s: &AppState,
    me: &str,
    session: &str,
    conv: &str,
    video: bool,
) -> Result<Effects, CallFrame> {
    let nf = || CallFrame::error(None, Some(conv), "not_found", "conversation not found");
    if check_text_id("conversation_id", conv).is_err() {
        return Err(nf());
    }
    let unavailable = |_| CallFrame::error(None, Some(conv), "unavailable", "try again later");
    if !s.store().is_member(conv, me).await.map_err(unavailable)? {
        return Err(nf());
    }
    may_call(s, me, None, Some(conv)).await?;
    let members: Vec<String> = s
        .store()
        .conversation_members(conv)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let cfg = &s.inner.config.calls;
    if members.len() > cfg.max_parties {
        return Err(CallFrame::error(
            None,
            Some(conv),
            "invalid_request",
            format!("calls hold at most {} people", cfg.max_parties),
        ));
    }
    let now = s.now_ms();
    let mut fx = Effects::default();
    let mut live = s.inner.calls.lock();
    if let Some(id) = live.by_conversation.get(conv) {
        return Err(CallFrame::error(
            Some(id),
            Some(conv),
            "conflict",
            "a call is already going on in this conversation",
        ));
    }
    if live.by_user.contains_key(me) {
        return Err(CallFrame::error(
            None,
            Some(conv),
            "busy",
            "you are already in a call",
        ));
    }
    let id = new_call_id();
    let ringing: BTreeSet<String> = members
        .iter()
        .filter(|m| *m != me && !live.by_user.contains_key(*m))
        .cloned()
        .collect();
    let mut call = Call {
        id: id.clone(),
        conversation: conv.to_string(),
        caller: me.to_string(),
        video,
        members,
        phase: Phase::Ringing,
        created_at: now,
        answered_at: None,
        answered: None,
        ring_until: Instant::now() + secs(cfg.no_answer_secs),
        parties: BTreeMap::new(),
        ringing,
        ever: vec![me.to_string()],
        audio_used: false,
        video_used: false,
        screen_used: false,
        relayed: None,
    };
    call.parties.insert(
        me.to_string(),
        Party {
            session: session.to_string(),
            beat: Instant::now(),
        },
    );
    fx.insert = Some(NewCall {
        id: id.clone(),
        conversation_id: conv.to_string(),
        caller_id: me.to_string(),
        video,
        created_at: now,
    });
    if call.ringing.is_empty() {
        // Everyone else is in another call: the caller hears busy (the others see the call
        // card).
        fx.send(me, None, None, &call.state("ended", Some("busy")));
        fx.ended.push(call.record("busy", now));
        return Ok(fx);
    }
    let ring = CallFrame::Ring {
        call_id: id.clone(),
        conversation_id: conv.to_string(),
        from: me.to_string(),
        video,
    };
    for u in &call.ringing {
        fx.send(u, None, None, &ring);
    }
    fx.send_members(&call, &call.state("ringing", None));
    live.by_conversation.insert(conv.to_string(), id.clone());
    live.by_user.insert(me.to_string(), id.clone());
    live.calls.insert(id, call);
    Ok(fx)
}

/// Restricted and suspended users cannot start or join calls.
async fn may_call(
    s: &AppState,
    me: &str,
    call: Option<&str>,
    conv: Option<&str>,
) -> Result<(), CallFrame> {
    match standing::ensure_may_post(s, me).await {
        Ok(()) => Ok(()),
        Err(crate::domain::DomainError::Restricted(r)) => {
            Err(CallFrame::error(call, conv, "restricted", r.message))
        }
        Err(_) => Err(CallFrame::error(
            call,
            conv,
            "unavailable",
            "try again later",
        )),
    }
}

async fn accept(s: &AppState, me: &str, session: &str, id: &str) -> Result<Effects, CallFrame> {
    may_call(s, me, Some(id), None).await?;
    let now = s.now_ms();
    let mut fx = Effects::default();
    let mut live = s.inner.calls.lock();
    let busy = live.by_user.get(me).is_some_and(|c| c != id);
    let max = s.inner.config.calls.max_parties;
    let Some(c) = live
        .calls
        .get_mut(id)
        .filter(|c| c.members.iter().any(|m| m == me))
    else {
        return Err(CallFrame::error(
            Some(id),
            None,
            "not_found",
            "call not found",
        ));
    };
    if c.parties.contains_key(me) {
        return Err(CallFrame::error(
            Some(id),
            None,
            "conflict",
            "you are already in this call",
        ));
    }
    if busy {
        return Err(CallFrame::error(
            Some(id),
            None,
            "busy",
            "you are already in another call",
        ));
    }
    if c.parties.len() >= max {
        return Err(CallFrame::error(
            Some(id),
            None,
            "conflict",
            "the call is full",
        ));
    }
    c.ringing.remove(me);
    c.parties.insert(
        me.to_string(),
        Party {
            session: session.to_string(),
            beat: Instant::now(),
        },
    );
    if !c.ever.iter().any(|u| u == me) {
        c.ever.push(me.to_string());
    }
    if c.phase == Phase::Ringing {
        c.phase = Phase::Active;
        c.answered_at = Some(now);
        c.answered = Some(Instant::now());
        fx.answered = Some((id.to_string(), now));
    }
    let state = c.state("active", None);
    for m in c.members.iter().filter(|m| *m != me) {
        fx.send(m, None, None, &state);
    }
    fx.send(me, Some(session), None, &state);
    fx.send(
        me,
        None,
        Some(session),
        &c.state("ended", Some("answered_elsewhere")),
    );
    live.by_user.insert(me.to_string(), id.to_string());
    Ok(fx)
}
