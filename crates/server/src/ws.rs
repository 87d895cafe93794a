//! `GET /v1/ws`: live events for one user. On connect (optionally with `?cursor=N`) the socket
//! replays the user's event log after the cursor, then follows it as the bus says there is more.
//! Client frames: `{"type":"typing","conversation_id"}`, `{"type":"resume","cursor":N}`, and
//! the `call.*` frames of calls (`domain::call_frames`).
//!
//! A socket lives no longer than its right to: it closes (with a [`Close`] code and reason) at
//! its token's expiry, when the token is revoked or the user suspended (on every node, through
//! the bus), when its client stops answering pings, and when its client keeps sending frames
//! past the user's rate limit. Replays go one page at a time; `resume` at most once a second.

use crate::bus::{Registration, Signal};
use crate::domain::call_frames;
use crate::domain::calls;
use crate::domain::events::{ErrorFrame, EventView, PongFrame, TypingFrame};
use crate::limits::ConnSlot;
use crate::{bearer, ApiError, ApiResult, AppState};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use parley_store::Event;
use parley_store::StoreError;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// `GET /v1/ws` parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The user's token, when it cannot go in the `Authorization` header.
    token: Option<String>,
    /// Replay the events after this `seq` (default: from the user's current cursor).
    cursor: Option<i64>,
}

/// The live event stream (WebSocket upgrade). Sends `Event` frames (message.created,
/// message.updated, message.deleted, read, enforcement.created, enforcement.updated),
/// `TypingFrame`, `PongFrame` and `ErrorFrame`; accepts `ClientFrame`s.
#[utoipa::path(get, path = "/v1/ws", tag = "client",
    security(("userToken" = [])),
    params(WsQuery),
    responses(
        (status = 101, description = "Switching protocols: the socket sends Event, TypingFrame, PongFrame and ErrorFrame frames"),
        (status = 400, description = "invalid_request: not a WebSocket upgrade", body = crate::error::ErrorBody),
        (status = 403, description = "suspended: the user's account is suspended", body = crate::error::ErrorBody),
    ))]
pub async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    crate::error::Query(q): crate::error::Query<WsQuery>,
    slot: Option<Extension<ConnSlot>>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let token = bearer(&headers)
        .map(str::to_string)
        .or(q.token)
        .ok_or_else(ApiError::unauthorized)?;
    let (me, expires_at) = s.authenticate_until(&token).await?;
    if let Some(close) = standing(&s, &me).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "suspended",
            close.reason,
        ));
    }
    let ws = ws.map_err(|_| ApiError::bad_request("expected a WebSocket upgrade"))?;
    let cursor = match q.cursor {
        Some(c) => c.max(0),
        None => s.store().event_cursor(&me).await?,
    };
    // Register before answering 101, so nothing published after the client sees the
    // connection open (typing signals included) is missed.
    let (reg, rx) = s.inner.hub.register(&me);
    let sess = Session {
        s,
        me,
        token,
        expires_at,
        call_session: call_session_id(),
        _slot: slot.map(|Extension(s)| s),
    };
    // Client frames are small (typing, resume, ping): a small read buffer keeps an idle socket
    // cheap (tungstenite's default is 128 KiB, zero-filled on every read); it grows for a
    // bigger frame.
    Ok(ws
        .max_message_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| session(sess, cursor, reg, rx, socket)))
}

/// A frame the client sends on the socket.
#[derive(Debug, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The user is typing in a conversation.
    Typing {
        /// The conversation typed in.
        conversation_id: String,
    },
    /// Replay the user's events after `cursor`.
    Resume {
        /// Last event sequence number the client has seen.
        cursor: i64,
    },
    /// Keep-alive; answered with `{"type":"pong"}`.
    Ping,
}

/// Parses one client text frame (untrusted input); `None` when it is not a known frame.
pub fn parse_client_frame(text: &str) -> Option<ClientFrame> {
    serde_json::from_str(text).ok()
}

/// What a socket serves, for whom, and until when.
struct Session {
    s: AppState,
    me: String,
    token: String,
    /// When the token expires (Unix ms): the socket closes then.
    expires_at: i64,
    /// This socket's id in calls (`call.*` frames for one session go to it alone).
    call_session: String,
    /// The connection's place under the per-address cap, held while the socket is open.
    _slot: Option<ConnSlot>,
}

async fn session(
    sess: Session,
    mut cursor: i64,
    reg: Registration,
    mut rx: mpsc::Receiver<Signal>,
    socket: WebSocket,
) {
    let s = &sess.s;
    let me = sess.me.as_str();
    let cfg = &s.inner.config;
    let ping_every = Duration::from_secs(cfg.ws_ping_secs.max(1));
    let dead_after = Duration::from_secs(cfg.ws_dead_peer_secs.max(1));
    let left_ms = sess
        .expires_at
        .saturating_sub(parley_store::now_ms())
        .max(0);
    let expiry = Instant::now() + Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
    let (mut tx, mut inbound) = socket.split();
    let mut out = Out {
        tx: &mut tx,
        wait: dead_after,
    };
    tracing::debug!(user = %me, cursor, "socket open");
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    let mut refused = 0u32;
    let mut last_resume: Option<Instant> = None;
    // Replay what was missed (and anything that raced the subscription), one page at a time.
    let mut pending = true;
    loop {
        if reg.take_recheck() {
            if let Err(c) = access(&sess).await {
                return out.close(c, &mut inbound).await;
            }
            pending = true;
        }
        if pending {
            match drain_page(s, me, &mut cursor).await {
                Ok(page) => {
                    for f in page.frames {
                        if !out.text(&f).await {
                            return;
                        }
                    }
                    pending = page.more;
                    if !pending {
                        reg.set_position(cursor);
                    }
                    if page.enforcement {
                        if let Err(c) = access(&sess).await {
                            return out.close(c, &mut inbound).await;
                        }
                    }
                }
                Err(_) => return out.close(Close::UNAVAILABLE, &mut inbound).await,
            }
        }
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(expiry) => return out.close(Close::EXPIRED, &mut inbound).await,
            _ = ping.tick() => {
                if last_heard.elapsed() >= dead_after {
                    tracing::debug!(user = %me, "socket closed: no answer to pings");
                    return out.close(Close::DEAD_PEER, &mut inbound).await;
                }
                if last_heard.elapsed() >= ping_every && !out.send(WsMessage::Ping(Default::default())).await {
                    return;
                }
            }
            ev = rx.recv() => match ev {
                Some(Signal::Events) => pending = true,
                Some(Signal::Recheck) => {
                    // The flag carries it (checked at the top of the loop).
                    pending = true;
                }
                Some(Signal::Message { seq, message }) => {
                    if seq == cursor + 1 && !pending {
                        let e = Event {
                            seq,
                            kind: "message.created".into(),
                            conversation_id: Some(message.conversation_id.clone()),
                            message_id: Some(message.id),
                            data: None,
                            created_at: message.created_at,
                        };
                        let visible = message.visible_to(me).then_some(&*message);
                        if !out.text(&EventView::of(me, &e, visible)).await {
                            return;
                        }
                        cursor = seq;
                        reg.set_position(cursor);
                    } else if seq > cursor {
                        pending = true;
                    }
                }
                Some(Signal::Call(c)) => {
                    if c.is_for(&sess.call_session) && !out.text(&with_session(&c.frame, &sess.call_session)).await {
                        return;
                    }
                }
                Some(Signal::Typing { conversation_id, from }) => {
                    let f = TypingFrame { kind: "typing", conversation_id, user_id: from };
                    if !out.text(&f).await {
                        return;
                    }
                }
                None => return,
            },
            msg = inbound.next() => {
                last_heard = Instant::now();
                let text = match msg {
                    Some(Ok(WsMessage::Text(t))) => Some(t),
                    Some(Ok(WsMessage::Binary(_) | WsMessage::Ping(_))) => None,
                    Some(Ok(WsMessage::Pong(_))) => continue,
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                };
                // Call signaling has its own budget per socket (refusals are `call.error`
                // frames naming the call); a socket that keeps sending past it is closed.
                if let Some(t) = text.as_deref().filter(|t| call_frames::is_call_frame(t)) {
                    let done = calls::handle_text(s, me, &sess.call_session, t).await;
                    if done.rate_limited {
                        refused += 1;
                        if refused >= cfg.ws_flood_frames.max(1) {
                            tracing::info!(user = %me, "socket closed: too many call frames");
                            return out.close(Close::FLOOD, &mut inbound).await;
                        }
                    } else {
                        refused = 0;
                    }
                    for r in done.replies {
                        if !out.text(&with_session(&r.to_value(), &sess.call_session)).await {
                            return;
                        }
                    }
                    continue;
                }
                // Every other client frame counts against the user's rate limit; a socket
                // that keeps sending past it is closed.
                let resume_too_soon = matches!(
                    text.as_deref().map(parse_client_frame),
                    Some(Some(ClientFrame::Resume { .. }))
                ) && last_resume.is_some_and(|at| at.elapsed() < RESUME_INTERVAL);
                if resume_too_soon || !s.inner.user_rate.allow(me) {
                    refused += 1;
                    if refused >= cfg.ws_flood_frames.max(1) {
                        tracing::info!(user = %me, "socket closed: too many frames");
                        return out.close(Close::FLOOD, &mut inbound).await;
                    }
                    let f = ErrorFrame { kind: "error", code: "rate_limited", message: "too many frames, slow down" };
                    if !out.text(&f).await {
                        return;
                    }
                    continue;
                }
                refused = 0;
                let frame = text.as_deref().and_then(parse_client_frame);
                match frame {
                    Some(ClientFrame::Typing { conversation_id }) => {
                        if crate::domain::messages::typing(s, &conversation_id, me).await.is_err() {
                            let f = ErrorFrame { kind: "error", code: "not_found", message: "conversation not found" };
                            if !out.text(&f).await {
                                return;
                            }
                        }
                    }
                    Some(ClientFrame::Resume { cursor: c }) => {
                        // A socket whose token was revoked or expired cannot replay history.
                        if s.identify(&sess.token).await.is_err() {
                            return out.close(Close::REVOKED, &mut inbound).await;
                        }
                        last_resume = Some(Instant::now());
                        cursor = c.max(0);
                        pending = true;
                    }
                    Some(ClientFrame::Ping) => {
                        if !out.text(&PongFrame { kind: "pong" }).await {
                            return;
                        }
                    }
                    None => {
                        let f = ErrorFrame { kind: "error", code: "invalid_request", message: "unknown frame" };
                        if !out.text(&f).await {
                            return;
                        }
                    }
                }
            }
            _ = async {}, if pending => {}
        }
    }
}

/// A random id for a socket's part in calls.
fn call_session_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::getrandom(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A call frame with the receiving socket's own `session` added.
fn with_session(frame: &serde_json::Value, session: &str) -> serde_json::Value {
    let mut f = frame.clone();
    if let Some(o) = f.as_object_mut() {
        o.insert("session".into(), session.into());
    }
    f
}

/// At most one `resume` per socket per this long.
const RESUME_INTERVAL: Duration = Duration::from_secs(1);

/// Events replayed per page (between pages the socket reads its client's frames).
const REPLAY_PAGE: u32 = 100;

/// Why the server closes a socket: a WebSocket close code and reason (see `docs/security.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    pub const EXPIRED: Close = Close {
        code: 4001,
        reason: "token expired",
    };
    pub const REVOKED: Close = Close {
        code: 4002,
        reason: "token revoked",
    };
    pub const SUSPENDED: Close = Close {
        code: 4003,
        reason: "account suspended",
    };
    pub const FLOOD: Close = Close {
        code: 4008,
        reason: "too many frames",
    };
    pub const DEAD_PEER: Close = Close {
        code: 4009,
        reason: "no answer to pings",
    };
    pub const UNAVAILABLE: Close = Close {
        code: 1011,
        reason: "storage unavailable, reconnect later",
    };
}

/// The socket's sending half, every send bounded in time (a peer that stops reading cannot
/// hold the session).
struct Out<'a> {
    tx: &'a mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    wait: Duration,
}

impl Out<'_> {
    async fn send(&mut self, m: WsMessage) -> bool {
        matches!(
            tokio::time::timeout(self.wait, self.tx.send(m)).await,
            Ok(Ok(()))
        )
    }
    async fn text(&mut self, frame: &impl Serialize) -> bool {
        let text = serde_json::to_string(frame).unwrap_or_default();
        self.send(WsMessage::Text(text.into())).await
    }
    /// Sends the close frame, then reads (and drops) what the client still sends until it
    /// answers the close or the dead-peer window (at least 2 s) passes: closing the TCP
    /// connection with unread data would reset it, and the client could lose the close frame
    /// with its reason.
    async fn close(
        &mut self,
        c: Close,
        inbound: &mut futures_util::stream::SplitStream<WebSocket>,
    ) {
        let frame = CloseFrame {
            code: c.code,
            reason: c.reason.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.tx.send(WsMessage::Close(Some(frame))),
        )
        .await;
        let deadline = Instant::now() + self.wait.max(Duration::from_secs(2));
        while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, inbound.next()).await {
            if matches!(m, WsMessage::Close(_)) {
                break;
            }
        }
    }
}

/// Whether the user may hold a socket: `Some(close)` when a suspension is in force.
async fn standing(s: &AppState, me: &str) -> ApiResult<Option<Close>> {
    Ok(s.store()
        .active_restriction(me, s.now_ms())
        .await?
        .filter(|r| r.kind == "suspension")
        .map(|_| Close::SUSPENDED))
}

/// Checks the socket's token in the store (not the cache) and the user's standing.
async fn access(sess: &Session) -> Result<(), Close> {
    if let Some(verified) = sess.s.identify_jwt(&sess.token) {
        match verified {
            Ok((user, _)) if user == sess.me => {}
            _ => return Err(Close::REVOKED),
        }
    } else {
        stored_token_access(sess).await?;
    }
    match standing(&sess.s, &sess.me).await {
        Ok(None) => Ok(()),
        Ok(Some(c)) => Err(c),
        Err(_) => Err(Close::UNAVAILABLE),
    }
}

/// Checks a stored token in the store (not the cache).
async fn stored_token_access(sess: &Session) -> Result<(), Close> {
    match sess
        .s
        .store()
        .authenticate(&sess.token, parley_store::now_ms())
        .await
    {
        Ok(info) if info.user_id == sess.me => {}
        Ok(_) | Err(StoreError::NotFound(_) | StoreError::Invalid(_)) => {
            return Err(Close::REVOKED)
        }
        Err(_) => return Err(Close::UNAVAILABLE),
    }
    Ok(())
}

/// One page of frames after the cursor.
struct Page {
    frames: Vec<EventView>,
    /// The page was full: read the next one.
    more: bool,
    /// It holds an enforcement event (the user's standing may have changed).
    enforcement: bool,
}

/// The events after `cursor`, one page of them, as frames; moves the cursor.
async fn drain_page(s: &AppState, me: &str, cursor: &mut i64) -> ApiResult<Page> {
    let evs = s
        .store()
        .events_with_messages(me, *cursor, REPLAY_PAGE)
        .await?;
    let more = evs.len() >= REPLAY_PAGE as usize;
    let mut enforcement = false;
    let mut frames = Vec::with_capacity(evs.len());
    for (e, m) in &evs {
        enforcement |= e.kind.starts_with("enforcement.");
        frames.push(EventView::of(me, e, m.as_ref()));
        *cursor = e.seq;
    }
    crate::domain::events::fill_attachments(s, &mut frames, me).await?;
    Ok(Page {
        frames,
        more,
        enforcement,
    })
}
