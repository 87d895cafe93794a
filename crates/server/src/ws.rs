//! `GET /v1/ws`: live events for one user. On connect (optionally with `?cursor=N`) the socket
//! replays the user's event log after the cursor, then follows it as the bus says there is more.
//! Client frames: `{"type":"typing","conversation_id"}`, `{"type":"resume","cursor":N}`.

use crate::bus::{Registration, Signal};
use crate::handlers::message_view;
use crate::{bearer, ApiError, ApiResult, AppState};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use parley_store::{Event, Message};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
    cursor: Option<i64>,
}

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

/// One event as JSON for `viewer`, its message already read (see
/// [`parley_store::Store::events_with_messages`]).
pub fn event_json_with(viewer: &str, e: &Event, m: Option<&Message>) -> Value {
    let mut v = json!({
        "type": e.kind,
        "seq": e.seq,
        "conversation_id": e.conversation_id,
        "at": e.created_at,
    });
    match (e.message_id, m) {
        (Some(_), Some(m)) => v["message"] = message_view(m, viewer),
        (Some(mid), None) => v["message_id"] = json!(mid),
        (None, _) => {}
    }
    if e.kind.starts_with("enforcement.") {
        // The enforcement's public view (ids in their public form), nothing else of the data.
        v["enforcement"] = e
            .data
            .as_ref()
            .and_then(crate::moderation::enforcement_event_view)
            .unwrap_or(Value::Null);
        return v;
    }
    merge_data(&mut v, e);
    v
}

fn merge_data(v: &mut Value, e: &Event) {
    if let Some(Value::Object(data)) = &e.data {
        for (k, val) in data {
            if v.get(k).is_none() {
                v[k] = val.clone();
            }
        }
    }
}

/// A frame the client sends on the socket.
#[derive(Debug, Deserialize, PartialEq, Eq)]
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
            match drain(&s, &me, &mut cursor).await {
                Ok(frames) => {
                    for f in frames {
                        if tx
                            .send(WsMessage::Text(f.to_string().into()))
                            .await
                            .is_err()
                        {
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
                        let f = event_json_with(&me, &e, visible);
                        if tx.send(WsMessage::Text(f.to_string().into())).await.is_err() {
                            return;
                        }
                        cursor = seq;
                    } else if seq > cursor {
                        pending = true;
                    }
                }
                Some(Signal::Typing { conversation_id, from }) => {
                    let f = json!({"type": "typing", "conversation_id": conversation_id, "user_id": from});
                    if tx.send(WsMessage::Text(f.to_string().into())).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            msg = inbound.next() => match msg {
                Some(Ok(WsMessage::Text(t))) => {
                    match parse_client_frame(t.as_str()) {
                        Some(ClientFrame::Typing { conversation_id }) => {
                            if crate::handlers::send_typing(&s, &conversation_id, &me).await.is_err() {
                                let f = json!({"type": "error", "code": "not_found", "message": "conversation not found"});
                                let _ = tx.send(WsMessage::Text(f.to_string().into())).await;
                            }
                        }
                        Some(ClientFrame::Resume { cursor: c }) => {
                            cursor = c.max(0);
                            pending = true;
                        }
                        Some(ClientFrame::Ping) => {
                            let _ = tx.send(WsMessage::Text(json!({"type":"pong"}).to_string().into())).await;
                        }
                        None => {
                            let f = json!({"type": "error", "code": "invalid_request", "message": "unknown frame"});
                            let _ = tx.send(WsMessage::Text(f.to_string().into())).await;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Every event after `cursor`, as frames; moves the cursor.
async fn drain(s: &AppState, me: &str, cursor: &mut i64) -> ApiResult<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let evs = s.store().events_with_messages(me, *cursor, 200).await?;
        let n = evs.len();
        for (e, m) in &evs {
            out.push(event_json_with(me, e, m.as_ref()));
            *cursor = e.seq;
        }
        if n < 200 {
            return Ok(out);
        }
    }
}
