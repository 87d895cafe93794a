//! Events as each user receives them: the frames of `/v1/ws` and the entries of
//! `GET /v1/events` (one shape for both).

use crate::domain::enforcement::enforcement_event_view;
use crate::domain::error::DomainResult;
use crate::domain::ids::UserId;
use crate::domain::views::MessageView;
use crate::AppState;
use parley_store::{Event, Message};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// The kinds of event the WebSocket sends (and `GET /v1/events` replays, but `typing`).
pub const EVENT_KINDS: &[&str] = &[
    "message.created",
    "message.updated",
    "message.deleted",
    "read",
    "enforcement.created",
    "enforcement.updated",
    "call.ended",
];

/// One stored event of a user. `message.created` / `message.updated` / `message.deleted` carry
/// `message` (or only `message_id` when the viewer may no longer see it); `read` carries
/// `user_id` and `message_id`; `enforcement.created` (a new enforcement on me) and
/// `enforcement.updated` (its appeal decided, or it was lifted) carry `enforcement`, and
/// `conversation_id` null when the enforcement is not about a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    /// message.created, message.updated, message.deleted, read, enforcement.created,
    /// enforcement.updated.
    #[serde(rename = "type")]
    pub kind: String,
    /// My cursor: resume with `?cursor=`.
    pub seq: i64,
    pub conversation_id: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// `read`: who read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `enforcement.*`: the enforcement as its user sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::enforcement::EnforcementView>)]
    pub enforcement: Option<Value>,
    /// The rest of the event's data (e.g. a message's new `state`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

impl EventView {
    /// One event for `viewer`, its message already read (see
    /// [`parley_store::Store::events_with_messages`]).
    pub fn of(viewer: &str, e: &Event, m: Option<&Message>) -> EventView {
        let mut v = EventView {
            kind: e.kind.clone(),
            seq: e.seq,
            conversation_id: e.conversation_id.clone(),
            at: e.created_at,
            message: None,
            message_id: None,
            user_id: None,
            enforcement: None,
            data: Map::new(),
        };
        match (e.message_id, m) {
            (Some(_), Some(m)) => v.message = Some(MessageView::of(m, viewer)),
            (Some(mid), None) => v.message_id = Some(mid),
            (None, _) => {}
        }
        if e.kind.starts_with("enforcement.") {
            // The enforcement's public view (ids in their public form), nothing else of the data.
            v.enforcement = Some(
                e.data
                    .as_ref()
                    .and_then(enforcement_event_view)
                    .unwrap_or(Value::Null),
            );
            return v;
        }
        // The event's data, under the fields above (which win).
        if let Some(Value::Object(data)) = &e.data {
            for (k, val) in data {
                match k.as_str() {
                    "type" | "seq" | "conversation_id" | "at" => {}
                    "message" if v.message.is_some() => {}
                    "message_id" if v.message_id.is_some() => {}
                    "message_id" if val.is_i64() => v.message_id = val.as_i64(),
                    "user_id" if val.is_string() => v.user_id = val.as_str().map(str::to_string),
                    _ => {
                        v.data.insert(k.clone(), val.clone());
                    }
                }
            }
        }
        v
    }
}

/// A frame the WebSocket sends that is not in the event log: someone is typing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TypingFrame {
    /// Always `typing`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub conversation_id: String,
    /// Who is typing.
    pub user_id: String,
}

/// The WebSocket's answer to a bad client frame, or to typing in an unknown conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorFrame {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// invalid_request or not_found.
    pub code: &'static str,
    pub message: &'static str,
}

/// The WebSocket's answer to `{"type":"ping"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PongFrame {
    /// Always `pong`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `GET /v1/events` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// The last `seq` seen (default 0: everything kept).
    pub cursor: Option<i64>,
    /// 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// `GET /v1/events`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    /// The cursor to ask from next time.
    pub cursor: i64,
}

/// Events of `me` after a cursor (what a reconnecting client missed).
pub async fn since(s: &AppState, me: &UserId, q: EventsParams) -> DomainResult<EventsPage> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let cursor = q.cursor.unwrap_or(0).max(0);
    let evs = s
        .store()
        .events_with_messages(me.as_str(), cursor, limit)
        .await?;
    let next = evs.last().map_or(cursor, |(e, _)| e.seq);
    let mut events: Vec<EventView> = evs
        .iter()
        .map(|(e, m)| EventView::of(me.as_str(), e, m.as_ref()))
        .collect();
    fill_attachments(s, &mut events, me.as_str()).await?;
    Ok(EventsPage {
        events,
        cursor: next,
    })
}

/// The attachments of the events' messages, as `me` sees them (one read per page).
pub async fn fill_attachments(
    s: &AppState,
    events: &mut [EventView],
    me: &str,
) -> DomainResult<()> {
    let views = events
        .iter_mut()
        .filter_map(|e| e.message.as_mut())
        .collect();
    crate::domain::attachments::fill_each(s, views, me).await
}
