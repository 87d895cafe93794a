//! HTTP handlers: the integration API (operator key) and the client API (user tokens).

use crate::check::{parse_purpose, Checked};
use crate::error::{Json, Query};
use crate::moderation::{ensure_may_post, record_automated, AutomatedSubject};
use crate::{ApiError, ApiResult, AppState, BusEvent, Invalidation};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use parley_policy::{Action, Surface};
use parley_store::{
    ContractInput, ContractStatus, Conversation, ConversationCursor, ConversationRef, InviteInput,
    JobInput, Message, MessageEdit, MessageState, NewConversation, NewDecision, NewMessage,
    OrgInput, PageRequest, ProfileInput, ProposalInput, Role, StoreError, UserInput,
};
use serde::Deserialize;
use serde_json::{json, Value};

const MAX_ID: usize = 128;
const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 20_000;

fn check_len(field: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.len() > max {
        return Err(ApiError::too_large(field, max));
    }
    Ok(())
}

fn upserted(created: bool, body: Value) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

pub async fn health(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    s.store().ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

pub async fn fallback() -> ApiError {
    ApiError::not_found("route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}

// ------------------------------------------------------------------ integration API

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgBody {
    name: String,
    plan: String,
}

pub async fn put_org(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<OrgBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    check_len("name", &b.name, MAX_NAME)?;
    crate::ident::check_name("name", &b.name)?;
    check_len("plan", &b.plan, MAX_ID)?;
    let u = s
        .store()
        .put_org(
            &id,
            &OrgInput {
                name: b.name,
                plan: b.plan,
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok(upserted(u.created, json!(u.value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    name: String,
    org_id: Option<String>,
    #[serde(default)]
    roles: Vec<Role>,
    country: Option<String>,
    time_zone: Option<String>,
}

pub async fn put_user(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<UserBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    check_len("name", &b.name, MAX_NAME)?;
    crate::ident::check_name("name", &b.name)?;
    let u = s
        .store()
        .put_user(
            &id,
            &UserInput {
                name: b.name,
                org_id: b.org_id,
                roles: b.roles,
                country: b.country,
                time_zone: b.time_zone,
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok(upserted(u.created, json!(u.value)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Lifetime in seconds (default from the configuration).
    ttl_secs: Option<i64>,
    label: Option<String>,
}

pub async fn create_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    let b: TokenBody = if body.iter().all(u8::is_ascii_whitespace) {
        TokenBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let ttl = b
        .ttl_secs
        .unwrap_or(s.inner.config.token_ttl_secs)
        .clamp(1, 365 * 24 * 3600);
    s.store().get_user(&id).await?;
    let t = s
        .store()
        .create_token(
            &id,
            parley_store::now_ms().saturating_add(ttl.saturating_mul(1000)),
            b.label.as_deref(),
        )
        .await?;
    tracing::info!(user = %id, "token issued");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"token": t.token, "expires_at": t.info.expires_at, "id": t.info.id})),
    )
        .into_response())
}

pub async fn revoke_tokens(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.require_admin(&headers)?;
    let n = s.store().revoke_user_tokens(&id).await?;
    s.invalidate(Invalidation::UserTokens {
        user_id: id.clone(),
    });
    tracing::info!(user = %id, revoked = n, "tokens revoked");
    Ok(Json(json!({"revoked": n})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractBody {
    client_org_id: String,
    freelancer_id: String,
    status: ContractStatus,
    job_id: Option<String>,
}

pub async fn put_contract(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ContractBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    let u = s
        .store()
        .put_contract(
            &id,
            &ContractInput {
                client_org_id: b.client_org_id,
                freelancer_id: b.freelancer_id,
                status: b.status,
                job_id: b.job_id,
            },
        )
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok(upserted(u.created, json!(u.value)))
}

/// Checks the texts of one object; the strictest decision. Block or hold: 422, nothing
/// stored (the decision is recorded). Mask: the masked texts are stored.
#[allow(clippy::too_many_arguments)] // one call per object kind; each argument is distinct context
async fn check_texts(
    s: &AppState,
    kind: &str,
    id: &str,
    actor: Option<&str>,
    surface: Surface,
    stage: parley_policy::Stage,
    plan: &str,
    texts: &mut [&mut String],
) -> ApiResult<()> {
    let mut worst: Option<(usize, Checked)> = None;
    let mut masked: Vec<Option<String>> = Vec::with_capacity(texts.len());
    for (i, t) in texts.iter().enumerate() {
        check_len(kind, t, MAX_TEXT)?;
        let c = s.decide(t, surface, stage, plan, None);
        masked.push((c.action() == Action::Mask).then(|| c.delivered(t)));
        if worst.as_ref().is_none_or(|(_, w)| c.action() > w.action()) {
            worst = Some((i, c));
        }
    }
    let Some((wi, mut w)) = worst else {
        return Ok(());
    };
    // On a surface the policy counts strikes for, the author's history escalates the strictest
    // text (masking raised to blocking, the strike points the explanation quotes).
    if let (Some(user), true) = (
        actor,
        w.decision.violation && s.inner.policy.escalation.gives_strikes(surface),
    ) {
        let history = crate::moderation::history_of(s, user).await?;
        if history != parley_policy::History::default() {
            w = s.decide_with(texts[wi], surface, stage, plan, None, history);
            masked[wi] = (w.action() == Action::Mask).then(|| w.delivered(texts[wi]));
        }
    }
    if w.action() != Action::Allow {
        let decision_id = s
            .store()
            .record_decision(&NewDecision {
                subject_kind: kind.into(),
                subject_id: Some(id.into()),
                conversation_id: None,
                message_id: None,
                message_version: None,
                actor_id: actor.map(str::to_string),
                decision: w.input(surface.as_str()),
            })
            .await?;
        if let Some(user) = actor {
            let subject = AutomatedSubject {
                kind,
                id: Some(id.into()),
                conversation_id: None,
                message_id: None,
                decision_id: Some(decision_id),
                blocked: None,
            };
            match record_automated(s, user, subject, &w).await {
                // An actor the store does not know (a job's author not synced yet): the text is
                // still refused or masked; there is nobody to hold the enforcement against.
                Err(e) if e.code == "invalid_request" => {
                    tracing::warn!(kind, "enforcement not recorded: unknown actor")
                }
                r => {
                    r?;
                }
            }
        }
    }
    if matches!(w.action(), Action::Block | Action::HoldForReview) {
        return Err(w.violation_error());
    }
    for (t, m) in texts.iter_mut().zip(masked) {
        if let Some(m) = m {
            **t = m;
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    headline: String,
    #[serde(default)]
    bio: String,
}

pub async fn put_profile(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(mut b): Json<ProfileBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    s.store().get_user(&id).await?;
    check_texts(
        &s,
        "profile",
        &id,
        Some(&id),
        Surface::Profile,
        parley_policy::Stage::PreContract,
        "",
        &mut [&mut b.headline, &mut b.bio],
    )
    .await?;
    let u = s
        .store()
        .put_profile(
            &id,
            &ProfileInput {
                headline: b.headline,
                bio: b.bio,
            },
        )
        .await?;
    Ok(upserted(u.created, json!(u.value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    org_id: String,
    author_id: Option<String>,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
}

pub async fn put_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(mut b): Json<JobBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    let plan = s.plan_of(Some(&b.org_id)).await?;
    check_texts(
        &s,
        "job",
        &id,
        b.author_id.as_deref(),
        Surface::JobPost,
        parley_policy::Stage::PreContract,
        &plan,
        &mut [&mut b.title, &mut b.description],
    )
    .await?;
    let u = s
        .store()
        .put_job(
            &id,
            &JobInput {
                org_id: b.org_id,
                author_id: b.author_id,
                title: b.title,
                description: b.description,
                status: b.status,
            },
        )
        .await?;
    Ok(upserted(u.created, json!(u.value)))
}

async fn stage_between(
    s: &AppState,
    org_id: &str,
    freelancer: &str,
) -> ApiResult<parley_policy::Stage> {
    Ok(match s.store().stage(org_id, freelancer).await? {
        parley_store::Stage::PreContract => parley_policy::Stage::PreContract,
        parley_store::Stage::EndedContract => parley_policy::Stage::EndedContract,
        parley_store::Stage::ActiveContract => parley_policy::Stage::ActiveContract,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    job_id: String,
    freelancer_id: String,
    #[serde(default)]
    cover_letter: String,
    #[serde(default)]
    status: String,
}

pub async fn put_proposal(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(mut b): Json<ProposalBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    let job = s.store().get_job(&b.job_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::bad_request("job_id: no such job"),
        e => e.into(),
    })?;
    let plan = s.plan_of(Some(&job.org_id)).await?;
    let stage = stage_between(&s, &job.org_id, &b.freelancer_id).await?;
    let actor = b.freelancer_id.clone();
    check_texts(
        &s,
        "proposal",
        &id,
        Some(&actor),
        Surface::Proposal,
        stage,
        &plan,
        &mut [&mut b.cover_letter],
    )
    .await?;
    let u = s
        .store()
        .put_proposal(
            &id,
            &ProposalInput {
                job_id: b.job_id,
                freelancer_id: b.freelancer_id,
                cover_letter: b.cover_letter,
                status: b.status,
            },
        )
        .await?;
    Ok(upserted(u.created, json!(u.value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    job_id: Option<String>,
    org_id: String,
    sender_id: Option<String>,
    freelancer_id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

pub async fn put_invite(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(mut b): Json<InviteBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    let plan = s.plan_of(Some(&b.org_id)).await?;
    let stage = stage_between(&s, &b.org_id, &b.freelancer_id).await?;
    let actor = b.sender_id.clone();
    check_texts(
        &s,
        "invite",
        &id,
        actor.as_deref(),
        Surface::Invite,
        stage,
        &plan,
        &mut [&mut b.message],
    )
    .await?;
    let u = s
        .store()
        .put_invite(
            &id,
            &InviteInput {
                job_id: b.job_id,
                org_id: b.org_id,
                sender_id: b.sender_id,
                freelancer_id: b.freelancer_id,
                message: b.message,
                status: b.status,
            },
        )
        .await?;
    Ok(upserted(u.created, json!(u.value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationBody {
    members: Vec<String>,
    subject: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<ConversationRef>,
    created_by: Option<String>,
}

pub async fn create_conversation(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<ConversationBody>,
) -> ApiResult<Response> {
    s.require_admin(&headers)?;
    if b.members.is_empty() || b.members.len() > 100 {
        return Err(ApiError::bad_request(
            "a conversation needs 1 to 100 members",
        ));
    }
    if let Some(subj) = &b.subject {
        check_len("subject", subj, MAX_NAME)?;
    }
    let c = s
        .store()
        .create_conversation(&NewConversation {
            members: b.members,
            subject: b.subject,
            reference: b.reference,
            created_by: b.created_by,
        })
        .await?;
    s.invalidate(Invalidation::Contexts);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": c.id, "conversation": conversation_view(&c)})),
    )
        .into_response())
}

// ------------------------------------------------------------------ client API

/// A conversation's `ref` as clients see it: `{"kind","id","title"}` (the title of the job or
/// contract it belongs to, read live from the store), or null for a direct conversation.
fn ref_view(c: &Conversation) -> Value {
    match &c.reference {
        Some(r) => json!({"kind": r.kind, "id": r.id, "title": c.ref_title}),
        None => Value::Null,
    }
}

/// A conversation as JSON, with [`ref_view`] as its `ref`.
fn conversation_view(c: &Conversation) -> Value {
    let mut v = json!(c);
    v["ref"] = ref_view(c);
    v
}

/// A message as `viewer` sees it: recipients get the delivered text only; the author also
/// sees what they wrote and the decision (action, findings and explanation).
pub fn message_view(m: &Message, viewer: &str) -> Value {
    let own = m.author_id == viewer;
    let deleted = m.deleted_at.is_some();
    let body = if deleted {
        Value::Null
    } else if own {
        json!(m.original)
    } else {
        json!(m.delivered)
    };
    let mut v = json!({
        "id": m.id,
        "conversation_id": m.conversation_id,
        "author_id": m.author_id,
        "client_id": if own { json!(m.client_id) } else { Value::Null },
        "purpose": m.purpose,
        "state": m.state.as_str(),
        "body": body,
        "version": m.version,
        "created_at": m.created_at,
        "edited_at": m.edited_at,
        "deleted_at": m.deleted_at,
    });
    let decision = &m.decision["decision"];
    if let Some(notice) = decision.get("recipient_notice").filter(|n| !n.is_null()) {
        if !deleted {
            v["notice"] = notice.clone();
        }
    }
    if own && !deleted {
        v["delivered_body"] = json!(m.delivered);
        v["action"] = decision.get("action").cloned().unwrap_or(Value::Null);
        if m.state == MessageState::Rejected {
            // The reviewer's reasons (the statement of reasons is at /v1/me/enforcements).
            v["explanation"] = decision.get("explanation").cloned().unwrap_or(Value::Null);
        }
        // What was hidden or held and why, from the stored decision, so the author sees it
        // after a reload as right after sending: each finding's category, span in the
        // original, evidence and rule, and the decision's explanation.
        if let Some(reasons) = decision
            .get("reasons")
            .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
        {
            v["findings"] = reasons.clone();
            if v.get("explanation").is_none() {
                v["explanation"] = decision.get("explanation").cloned().unwrap_or(Value::Null);
            }
        }
    }
    v
}

#[derive(Deserialize)]
pub struct ListConversationsQuery {
    limit: Option<u32>,
    before_updated_at: Option<i64>,
    before_id: Option<String>,
}

pub async fn list_conversations(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ListConversationsQuery>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let cursor = match (q.before_updated_at, q.before_id) {
        (Some(updated_at), Some(id)) => Some(ConversationCursor { updated_at, id }),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "before_updated_at and before_id go together",
            ))
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let list = s
        .store()
        .list_conversations(&me, cursor.as_ref(), limit)
        .await?;
    let next = (list.len() == limit as usize)
        .then(|| list.last().map(|l| l.cursor()))
        .flatten();
    let items: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({
                "id": c.conversation.id,
                "subject": c.conversation.subject,
                "ref": ref_view(&c.conversation),
                "members": c.members,
                "updated_at": c.conversation.updated_at,
                "last_message": c.last_message.as_ref().map(|m| message_view(m, &me)),
                "unread": c.unread,
                "last_read_message_id": c.last_read_message_id,
            })
        })
        .collect();
    Ok(Json(json!({"conversations": items, "next": next})))
}

pub async fn get_conversation(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let c = s.store().get_conversation_for(&id, &me).await?;
    let members = s.store().conversation_members(&id).await?;
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let users = s.store().get_users(&ids).await?;
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let read = members
                .iter()
                .find(|m| m.user_id == u.id)
                .map_or(0, |m| m.last_read_message_id);
            json!({"id": u.id, "name": u.name, "org_id": u.org_id, "roles": u.roles,
                   "time_zone": u.time_zone, "last_read_message_id": read})
        })
        .collect();
    Ok(Json(
        json!({"conversation": conversation_view(&c), "members": users}),
    ))
}

#[derive(Deserialize)]
pub struct MessagesQuery {
    before: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
}

pub async fn list_messages(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let page = s
        .store()
        .list_messages(
            &id,
            &me,
            &PageRequest {
                before: q.before,
                after: q.after,
                limit: q.limit.unwrap_or(50).clamp(1, 200),
            },
        )
        .await?;
    let messages: Vec<Value> = page.messages.iter().map(|m| message_view(m, &me)).collect();
    Ok(Json(
        json!({"messages": messages, "has_more": page.has_more}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    pub body: String,
    pub client_id: String,
    pub purpose: Option<String>,
}

fn decision_summary(c: &Checked, this: Option<i64>) -> Value {
    json!({
        "action": c.decision.action.as_str(),
        "violation": c.decision.violation,
        "explanation": c.decision.explanation,
        "findings": c.findings_json(this),
        "recipient_notice": c.decision.recipient_notice,
        "stage": c.stage.as_str(),
    })
}

/// Posts a message as `me` (shared by the HTTP handler and the demo seeding).
pub async fn post_message_as(
    s: &AppState,
    conversation_id: &str,
    me: &str,
    b: PostBody,
) -> ApiResult<(StatusCode, Value)> {
    check_len("body", &b.body, s.inner.config.max_message_bytes)?;
    check_len("client_id", &b.client_id, MAX_ID)?;
    if b.body.trim().is_empty() {
        return Err(ApiError::bad_request("body is empty"));
    }
    if b.client_id.is_empty() {
        return Err(ApiError::bad_request("client_id is empty"));
    }
    let purpose = parse_purpose(b.purpose.as_deref())?;
    ensure_may_post(s, me).await?;
    let alone = s
        .decide_message(conversation_id, me, &b.body, purpose.clone())
        .await?;
    let c = s
        .check_split(
            conversation_id,
            me,
            &b.body,
            Some(&b.client_id),
            purpose,
            alone,
        )
        .await?;
    if c.action() == Action::Block {
        let decision_id = s
            .store()
            .record_decision(&NewDecision {
                subject_kind: "message".into(),
                subject_id: None,
                conversation_id: Some(conversation_id.into()),
                message_id: None,
                message_version: None,
                actor_id: Some(me.into()),
                decision: c.input("message"),
            })
            .await?;
        let subject = AutomatedSubject {
            kind: "message",
            id: None,
            conversation_id: Some(conversation_id),
            message_id: None,
            decision_id: Some(decision_id),
            blocked: Some((&b.body, b.purpose.as_deref())),
        };
        record_automated(s, me, subject, &c).await?;
        tracing::info!(conversation = %conversation_id, user = %me, "message blocked");
        return Err(c.violation_error());
    }
    let held = c.action() == Action::HoldForReview;
    let posted = s
        .store()
        .post_message(&NewMessage {
            conversation_id: conversation_id.into(),
            author_id: me.into(),
            client_id: b.client_id,
            purpose: b.purpose.filter(|p| !p.trim().is_empty()),
            delivered: (!held).then(|| c.delivered(&b.body)),
            original: b.body,
            state: if held {
                MessageState::Held
            } else {
                MessageState::Delivered
            },
            decision: c.input("message"),
            created_at: None,
        })
        .await?;
    let m = &posted.message;
    if posted.created {
        s.remember_for_window(m);
        // Recipients whose event is known get the message itself (no read back); the others
        // are told to read their log.
        for (user_id, seq) in &posted.event_seqs {
            s.inner.bus.publish(BusEvent::Message {
                user_id: user_id.clone(),
                seq: *seq,
                message: Box::new(m.clone()),
            });
        }
        if posted.event_seqs.is_empty() {
            match s.send_context(conversation_id, me).await {
                Ok(ctx) => s.notify(ctx.members.iter().cloned()),
                Err(_) => notify_members(s, conversation_id).await,
            }
        }
        if c.action() == Action::Mask {
            // The post stored its decision: link the enforcement to it (an overturn lifts the
            // restriction this strike may trigger along with it).
            let decision_id = match s.store().decisions_for("message", &m.id.to_string()).await {
                Ok(d) => d.first().map(|d| d.id),
                Err(_) => None,
            };
            let subject = AutomatedSubject {
                kind: "message",
                id: Some(m.id.to_string()),
                conversation_id: Some(conversation_id),
                message_id: Some(m.id),
                decision_id,
                blocked: None,
            };
            // The message is stored and delivered: a failure here must not turn its
            // acknowledgement into an error (a retry would not record it either).
            if let Err(e) = record_automated(s, me, subject, &c).await {
                tracing::error!(
                    code = e.code,
                    message_id = m.id,
                    "mask enforcement not recorded"
                );
            }
        }
    }
    tracing::info!(
        conversation = %conversation_id,
        message_id = m.id,
        action = c.decision.action.as_str(),
        retry = !posted.created,
        "message posted"
    );
    let status = if m.state == MessageState::Held {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    // On a retry, the decision is the stored one.
    let decision = if posted.created {
        decision_summary(&c, Some(m.id))
    } else {
        let d = &m.decision["decision"];
        json!({"action": d["action"], "violation": d["violation"], "explanation": d["explanation"],
               "findings": d["reasons"], "recipient_notice": d.get("recipient_notice"),
               "stage": m.decision["stage"]})
    };
    Ok((
        status,
        json!({"message": message_view(m, me), "decision": decision}),
    ))
}

async fn notify_members(s: &AppState, conversation_id: &str) {
    match s.store().conversation_members(conversation_id).await {
        Ok(members) => s.notify(members.into_iter().map(|m| m.user_id)),
        Err(e) => tracing::warn!(error = %e, "could not list members for fan-out"),
    }
}

pub async fn post_message(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<PostBody>,
) -> ApiResult<Response> {
    let me = s.require_user(&headers).await?;
    let (status, v) = post_message_as(&s, &id, &me, b).await?;
    Ok((status, axum::Json(v)).into_response())
}

fn parse_message_id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found("message"))
}

/// The message, if `me` can see it and it belongs to this conversation (404 otherwise).
async fn message_in(s: &AppState, conv: &str, mid: &str, me: &str) -> ApiResult<Message> {
    let mid = parse_message_id(mid)?;
    if !s.store().is_member(conv, me).await? {
        return Err(ApiError::not_found("conversation"));
    }
    let m = s.store().get_message(mid, me).await?;
    if m.conversation_id != conv {
        return Err(ApiError::not_found("message"));
    }
    Ok(m)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    body: String,
}

pub async fn edit_message(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((id, mid)): Path<(String, String)>,
    Json(b): Json<EditBody>,
) -> ApiResult<Response> {
    let me = s.require_user(&headers).await?;
    let m = message_in(&s, &id, &mid, &me).await?;
    check_len("body", &b.body, s.inner.config.max_message_bytes)?;
    if b.body.trim().is_empty() {
        return Err(ApiError::bad_request("body is empty"));
    }
    if m.author_id != me {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the author can edit a message",
        ));
    }
    ensure_may_post(&s, &me).await?;
    let purpose = parse_purpose(m.purpose.as_deref()).unwrap_or(None);
    let c = s.decide_message(&id, &me, &b.body, purpose).await?;
    if c.action() == Action::Block {
        s.store()
            .record_decision(&NewDecision {
                subject_kind: "message".into(),
                subject_id: Some(m.id.to_string()),
                conversation_id: Some(id.clone()),
                message_id: Some(m.id),
                message_version: None,
                actor_id: Some(me.clone()),
                decision: c.input("message"),
            })
            .await?;
        return Err(c.violation_error());
    }
    let held = c.action() == Action::HoldForReview;
    let edited = s
        .store()
        .edit_message(
            m.id,
            &me,
            &MessageEdit {
                delivered: (!held).then(|| c.delivered(&b.body)),
                original: b.body,
                state: if held {
                    MessageState::Held
                } else {
                    MessageState::Delivered
                },
                decision: c.input("message"),
            },
        )
        .await?;
    notify_members(&s, &id).await;
    let status = if held {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(
            json!({"message": message_view(&edited, &me), "decision": decision_summary(&c, None)}),
        ),
    )
        .into_response())
}

pub async fn delete_message(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((id, mid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let m = message_in(&s, &id, &mid, &me).await?;
    if m.author_id != me {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the author can delete a message",
        ));
    }
    let d = s.store().delete_message(m.id, &me).await?;
    notify_members(&s, &id).await;
    Ok(Json(json!({"message": message_view(&d, &me)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    message_id: i64,
}

pub async fn mark_read(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ReadBody>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let r = s.store().mark_read(&id, &me, b.message_id).await?;
    notify_members(&s, &id).await;
    Ok(Json(json!(r)))
}

pub async fn typing(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let me = s.require_user(&headers).await?;
    send_typing(&s, &id, &me).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn send_typing(s: &AppState, conv: &str, me: &str) -> ApiResult<()> {
    if !s.store().is_member(conv, me).await? {
        return Err(ApiError::not_found("conversation"));
    }
    if !s.inner.typing.allow(conv, me) {
        return Ok(()); // coalesced: the members heard this typing less than a second ago
    }
    for m in s.store().conversation_members(conv).await? {
        if m.user_id != me {
            s.inner.bus.publish(BusEvent::Typing {
                user_id: m.user_id,
                conversation_id: conv.to_string(),
                from: me.to_string(),
            });
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    body: String,
    conversation_id: Option<String>,
    purpose: Option<String>,
    /// Without a conversation: the surface (default `message`, pre-contract).
    surface: Option<String>,
}

pub async fn check_draft(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<CheckBody>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    check_len("body", &b.body, s.inner.config.max_message_bytes)?;
    let purpose = parse_purpose(b.purpose.as_deref())?;
    let c = match &b.conversation_id {
        Some(conv) => {
            let alone = s
                .decide_message(conv, &me, &b.body, purpose.clone())
                .await?;
            s.check_split(conv, &me, &b.body, None, purpose, alone)
                .await?
        }
        None => {
            let surface = match b.surface.as_deref() {
                None => Surface::Message,
                Some(x) => Surface::parse(x)
                    .ok_or_else(|| ApiError::bad_request(format!("unknown surface {x:?}")))?,
            };
            let user = s.store().get_user(&me).await?;
            let plan = s.plan_of(user.org_id.as_deref()).await?;
            s.decide(
                &b.body,
                surface,
                parley_policy::Stage::PreContract,
                &plan,
                purpose,
            )
        }
    };
    let mut v = decision_summary(&c, None);
    v["masked_body"] = json!(c.decision.masked_text);
    Ok(Json(v))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    cursor: Option<i64>,
    limit: Option<u32>,
}

/// Missed events since a cursor (the same events the WebSocket sends).
pub async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&headers).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let cursor = q.cursor.unwrap_or(0).max(0);
    let evs = s.store().events_with_messages(&me, cursor, limit).await?;
    let next = evs.last().map_or(cursor, |(e, _)| e.seq);
    let out: Vec<Value> = evs
        .iter()
        .map(|(e, m)| crate::ws::event_json_with(&me, e, m.as_ref()))
        .collect();
    Ok(Json(json!({"events": out, "cursor": next})))
}
