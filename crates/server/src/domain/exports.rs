//! Building an evidence export (see [`crate::export`] for the format, digest and page): the
//! conversation as the requester may see it, recorded in the audit log.

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, UserId};
use crate::export::{decision_field, digest, html, EXPORT_FORMAT, MAX_EXPORT_MESSAGES};
use crate::AppState;
use parley_store::{
    canonical_json, now_ms, DecisionRecord, Message, MessageState, MessageVersion, Role,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use utoipa::{IntoParams, ToSchema};

/// Largest number of decisions exported.
const MAX_EXPORT_DECISIONS: usize = 50_000;
/// Most calls exported (the newest; the store pages by at most 500).
const MAX_EXPORT_CALLS: u32 = 500;
const PAGE: u32 = 500;

/// `GET /v1/conversations/{id}/export` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// json (default) or html.
    pub format: Option<String>,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Html,
}

impl ExportFormat {
    pub fn parse(s: Option<&str>) -> DomainResult<ExportFormat> {
        match s.unwrap_or("json") {
            "json" => Ok(ExportFormat::Json),
            "html" => Ok(ExportFormat::Html),
            _ => Err(DomainError::invalid("format must be json or html")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Html => "html",
        }
    }
}

/// Who asks for an export, as the route authenticated them.
pub enum Caller {
    Operator,
    User(UserId),
}

/// Who asked for the export, and so what they see.
enum Requester {
    Operator,
    Moderator(String),
    Member(String),
}

impl Requester {
    fn full_view(&self) -> bool {
        !matches!(self, Requester::Member(_))
    }
    fn user(&self) -> Option<&str> {
        match self {
            Requester::Operator => None,
            Requester::Moderator(u) | Requester::Member(u) => Some(u),
        }
    }
    fn role(&self) -> &'static str {
        match self {
            Requester::Operator => "operator",
            Requester::Moderator(_) => "moderator",
            Requester::Member(_) => "member",
        }
    }
}

async fn requester(s: &AppState, caller: Caller, conv: &str) -> DomainResult<Requester> {
    let me = match caller {
        Caller::Operator => {
            // Existence check for the operator (members and moderators get it below).
            s.store().get_conversation(conv).await?;
            return Ok(Requester::Operator);
        }
        Caller::User(u) => u.into_string(),
    };
    // A moderator gets the full record even in a conversation they are a member of.
    let user = s.store().get_user(&me).await?;
    if user.has_role(Role::Moderator) {
        s.store().get_conversation(conv).await?;
        return Ok(Requester::Moderator(me));
    }
    if s.store().is_member(conv, &me).await? {
        return Ok(Requester::Member(me));
    }
    Err(DomainError::not_found("conversation"))
}

fn too_large(what: &str, max: usize) -> DomainError {
    DomainError::TooLarge(format!(
        "the conversation has more than {max} {what}: too large to export"
    ))
}
fn version_view(v: &MessageVersion, full: bool) -> Value {
    let mut out = json!({
        "version": v.version,
        "kind": v.kind,
        "state": v.state.as_str(),
        "delivered": v.delivered,
        "actor_id": v.actor_id,
        "created_at": v.created_at,
    });
    if full {
        out["original"] = json!(v.original);
        out["action"] = decision_field(&v.decision, "action");
    }
    out
}

fn message_view(m: &Message, versions: &[&MessageVersion], me: Option<&str>, full: bool) -> Value {
    let own = me == Some(m.author_id.as_str());
    let mut out = json!({
        "id": m.id,
        "author_id": m.author_id,
        "purpose": m.purpose,
        "state": m.state.as_str(),
        "version": m.version,
        "created_at": m.created_at,
        "edited_at": m.edited_at,
        "deleted_at": m.deleted_at,
        "attachments": [],
    });
    let versions: Vec<Value> = if full || own {
        versions.iter().map(|v| version_view(v, true)).collect()
    } else if m.deleted_at.is_some() {
        Vec::new()
    } else {
        versions
            .iter()
            .filter(|v| v.state == MessageState::Delivered && v.kind != "deleted")
            .map(|v| version_view(v, false))
            .collect()
    };
    out["versions"] = Value::Array(versions);
    out
}

fn decision_view(d: &DecisionRecord) -> Value {
    json!({
        "id": d.id,
        "subject_kind": d.subject_kind,
        "subject_id": d.subject_id,
        "message_id": d.message_id,
        "message_version": d.message_version,
        "actor_id": d.actor_id,
        "surface": d.surface,
        "action": d.action,
        "automated": d.automated,
        "decision": d.decision,
        "created_at": d.created_at,
        "reviewed_at": d.reviewed_at,
        "reviewer_id": d.reviewer_id,
    })
}

/// Builds the document (with its digest) as `who` may see it.
async fn build(s: &AppState, conv: &str, who: &Requester) -> DomainResult<Value> {
    let store = s.store();
    let full = who.full_view();
    let me = who.user();
    let conversation = store.get_conversation(conv).await?;
    let members = store.conversation_members(conv).await?;
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = store.get_users(&ids).await?;
    let members: Vec<Value> = members
        .iter()
        .map(|m| {
            let u = users.iter().find(|u| u.id == m.user_id);
            json!({
                "id": m.user_id,
                "name": u.map(|u| u.name.clone()),
                "org_id": u.and_then(|u| u.org_id.clone()),
                "roles": u.map(|u| u.roles.clone()).unwrap_or_default(),
                "joined_at": m.joined_at,
            })
        })
        .collect();

    let mut messages = Vec::new();
    let mut mine = HashSet::new();
    let mut after = 0i64;
    loop {
        let page = store.conversation_messages_all(conv, after, PAGE).await?;
        let Some(last) = page.last().map(|m| m.id) else {
            break;
        };
        let versions = store.conversation_versions(conv, after, last).await?;
        for m in &page {
            if !full && !m.visible_to(me.unwrap_or_default()) {
                continue;
            }
            if me == Some(m.author_id.as_str()) {
                mine.insert(m.id);
            }
            let vs: Vec<&MessageVersion> =
                versions.iter().filter(|v| v.message_id == m.id).collect();
            messages.push(message_view(m, &vs, me, full));
        }
        if messages.len() > MAX_EXPORT_MESSAGES {
            return Err(too_large("messages", MAX_EXPORT_MESSAGES));
        }
        after = last;
        if page.len() < PAGE as usize {
            break;
        }
    }

    let mut decisions = Vec::new();
    let mut after = 0i64;
    loop {
        let page = store.conversation_decisions(conv, after, PAGE).await?;
        let Some(last) = page.last().map(|d| d.id) else {
            break;
        };
        for d in &page {
            // A member sees the decisions about their own texts only.
            let theirs = match d.message_id {
                Some(id) => mine.contains(&id),
                None => d.actor_id.as_deref() == me,
            };
            if full || theirs {
                decisions.push(decision_view(d));
            }
        }
        if decisions.len() > MAX_EXPORT_DECISIONS {
            return Err(too_large("decisions", MAX_EXPORT_DECISIONS));
        }
        after = last;
        if page.len() < PAGE as usize {
            break;
        }
    }

    // The calls (metadata only: who, when, how they ended, what media; never SDP, candidates
    // or addresses, which are not stored), oldest first, for members and moderators alike.
    let mut calls: Vec<Value> = store
        .conversation_calls(conv, MAX_EXPORT_CALLS)
        .await?
        .into_iter()
        .map(|c| json!(crate::domain::call_history::CallView::of(c)))
        .collect();
    calls.reverse();

    let mut doc = json!({
        "format": EXPORT_FORMAT,
        "generated_at": now_ms(),
        "generated_for": {"role": who.role(), "user_id": me},
        "conversation": conversation,
        "members": members,
        "messages": messages,
        "decisions": decisions,
        "calls": calls,
    });
    doc["digest"] = json!(digest(&doc));
    Ok(doc)
}

/// An export file.
pub struct Export {
    pub format: ExportFormat,
    /// The file's text (canonical JSON, or the HTML page embedding it).
    pub body: String,
    /// A file name for the download.
    pub filename: String,
}

/// Builds the export of a conversation for `caller` and records it in the audit log.
pub async fn export(
    s: &AppState,
    caller: Caller,
    conversation: &ConversationId,
    format: ExportFormat,
) -> DomainResult<Export> {
    let id = conversation.as_str();
    let who = requester(s, caller, id).await?;
    let doc = build(s, id, &who).await?;
    let digest = crate::export::text_of(&doc["digest"]);
    s.store()
        .append_audit(
            "export",
            who.user(),
            &format!("conversation:{id}"),
            &json!({
                "format": format.as_str(),
                "role": who.role(),
                "digest": digest,
                "generated_at": doc["generated_at"],
                "messages": doc["messages"].as_array().map_or(0, Vec::len),
                "decisions": doc["decisions"].as_array().map_or(0, Vec::len),
            }),
        )
        .await?;
    tracing::info!(conversation = %id, role = who.role(), format = format.as_str(), "evidence exported");
    let filename = format!(
        "parley-{}.{}",
        id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_"),
        format.as_str()
    );
    let body = match format {
        ExportFormat::Html => html(&doc),
        ExportFormat::Json => canonical_json(&doc),
    };
    Ok(Export {
        format,
        body,
        filename,
    })
}
