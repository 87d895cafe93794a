//! `GET /v1/ws`: live events for one user. On connect (optionally with `?cursor=N`) the socket
//! replays the user's event log after the cursor, then follows it as the bus says there is more.
//! Client frames: `{"type":"typing","conversation_id"}`, `{"type":"resume","cursor":N}`.

use crate::bus::{Registration, Signal};
use crate::domain::events::{self, ErrorFrame, EventView, PongFrame, TypingFrame};
use crate::{bearer, ApiError, ApiResult, AppState};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use parley_store::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

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
    ))]
pub async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    crate::error::Query(q): crate::error::Query<WsQuery>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let token = bearer(&headers)
        .map(str::to_string)
        .or(q.token)
        .ok_or_else(ApiError::unauthorized)?;
    let me = s.authenticate(&token).await?;
    let ws = ws.map_err(|_| ApiError::bad_request("expected a WebSocket upgrade"))?;
    let cursor = match q.cursor {
        Some(c) => c.max(0),
        None => s.store().event_cursor(&me).await?,
    };
    // Register before answering 101, so nothing published after the client sees the
    // connection open (typing signals included) is missed.
    let (reg, rx) = s.inner.hub.register(&me);
    // Client frames are small (typing, resume, ping): a small read buffer keeps an idle socket
    // cheap (tungstenite's default is 128 KiB, zero-filled on every read); it grows for a
    // bigger frame.
    Ok(ws
        .max_message_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| session(s, me, cursor, reg, rx, socket)))
}

fn text(frame: &impl Serialize) -> WsMessage {
    WsMessage::Text(serde_json::to_string(frame).unwrap_or_default().into())
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

async fn session(
    s: AppState,
    me: String,
    mut cursor: i64,
    _registration: Registration,
    mut rx: mpsc::Receiver<Signal>,
    socket: WebSocket,
) {
    let (mut tx, mut inbound) = socket.split();
    tracing::debug!(user = %me, cursor, "socket open");
    // Replay what was missed (and anything that raced the subscription).
    let mut pending = true;
    loop {
        if pending {
            pending = false;
            match events::drain(&s, &me, &mut cursor).await {
                Ok(frames) => {
                    for f in frames {
                        if tx.send(text(&f)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(_) => {
                    let _ = tx.send(WsMessage::Close(None)).await;
                    return;
                }
            }
        }
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Signal::Events) => pending = true,
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
                        let visible = message.visible_to(&me).then_some(&*message);
                        let f = EventView::of(&me, &e, visible);
                        if tx.send(text(&f)).await.is_err() {
                            return;
                        }
                        cursor = seq;
                    } else if seq > cursor {
                        pending = true;
                    }
                }
                Some(Signal::Typing { conversation_id, from }) => {
                    let f = TypingFrame { kind: "typing", conversation_id, user_id: from };
                    if tx.send(text(&f)).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            msg = inbound.next() => match msg {
                Some(Ok(WsMessage::Text(t))) => {
                    match parse_client_frame(t.as_str()) {
                        Some(ClientFrame::Typing { conversation_id }) => {
                            if crate::domain::messages::typing(&s, &conversation_id, &me).await.is_err() {
                                let f = ErrorFrame { kind: "error", code: "not_found", message: "conversation not found" };
                                let _ = tx.send(text(&f)).await;
                            }
                        }
                        Some(ClientFrame::Resume { cursor: c }) => {
                            cursor = c.max(0);
                            pending = true;
                        }
                        Some(ClientFrame::Ping) => {
                            let _ = tx.send(text(&PongFrame { kind: "pong" })).await;
                        }
                        None => {
                            let f = ErrorFrame { kind: "error", code: "invalid_request", message: "unknown frame" };
                            let _ = tx.send(text(&f)).await;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}
