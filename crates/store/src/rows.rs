//! Column lists (`cols!`) and the conversion of stored rows into the model's types.

use crate::error::Result;
use crate::model::*;
use crate::sql::{corrupt, json_value, Get};

/// The column list of a table, in the order its row conversion reads (`cols!(message)`;
/// `cols!(message as x)` prefixes each column with `x.`). A macro so that `concat!` can build
/// the SQL text at compile time.
macro_rules! cols {
    (org) => {
        "id, name, plan, created_at, updated_at"
    };
    (user) => {
        "id, name, org_id, roles, country, time_zone, created_at, updated_at"
    };
    (profile) => {
        "user_id, headline, bio, created_at, updated_at"
    };
    (job) => {
        "id, org_id, author_id, title, description, status, created_at, updated_at"
    };
    (proposal) => {
        "id, job_id, freelancer_id, cover_letter, status, created_at, updated_at"
    };
    (invite) => {
        "id, job_id, org_id, sender_id, freelancer_id, message, status, created_at, updated_at"
    };
    (contract) => {
        "id, client_org_id, freelancer_id, status, job_id, created_at, updated_at"
    };
    (conversation) => {
        "id, subject, ref_kind, ref_id, created_by, last_message_id, created_at, updated_at"
    };
    (message) => {
        "id, conversation_id, author_id, client_id, purpose, state, original, delivered, decision, version, created_at, edited_at, deleted_at"
    };
    (message as x) => {
        "x.id, x.conversation_id, x.author_id, x.client_id, x.purpose, x.state, x.original, x.delivered, x.decision, x.version, x.created_at, x.edited_at, x.deleted_at"
    };
    (version) => {
        "message_id, version, kind, state, original, delivered, decision, actor_id, created_at"
    };
    (decision) => {
        "id, subject_kind, subject_id, conversation_id, message_id, message_version, actor_id, surface, action, automated, decision, created_at, reviewed_at, reviewer_id"
    };
    (token) => {
        "hash, user_id, label, created_at, expires_at, revoked_at"
    };
    (item) => {
        "id, kind, status, priority, target_kind, target_id, subject_user_id, conversation_id, \
         message_id, created_at, updated_at, resolution_action, resolution_note, resolved_by, resolved_at"
    };
    (report) => {
        "id, item_id, reporter_id, target_kind, target_id, reason, note, created_at"
    };
    (enforcement) => {
        "id, user_id, kind, automated, subject_kind, subject_id, conversation_id, message_id, \
         decision_id, item_id, moderator_id, statement, created_at, ends_at, appealable_until, \
         lifted_at, blocked_text, blocked_purpose, delivered_message_id"
    };
    (strike) => {
        "id, user_id, enforcement_id, weight, categories, at, expires_at, removed_at, removed_reason"
    };
    (appeal) => {
        "id, enforcement_id, appellant_id, statement, item_id, status, decided_by, decided_at, note, created_at"
    };
}

/// Joins giving `rj.title`, the title of the job a conversation `c`'s reference belongs to
/// (directly, or through its proposal, invite or contract): one indexed lookup per table.
macro_rules! ref_title_joins {
    () => {
        " LEFT JOIN proposals rp ON c.ref_kind = 'proposal' AND rp.id = c.ref_id \
         LEFT JOIN invites ri ON c.ref_kind = 'invite' AND ri.id = c.ref_id \
         LEFT JOIN contracts rc ON c.ref_kind = 'contract' AND rc.id = c.ref_id \
         LEFT JOIN jobs rj ON rj.id = CASE c.ref_kind WHEN 'job' THEN c.ref_id \
           WHEN 'proposal' THEN rp.job_id WHEN 'invite' THEN ri.job_id \
           WHEN 'contract' THEN rc.job_id END "
    };
}

pub(crate) fn roles_parse(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

pub(crate) fn org_of(r: &impl Get) -> Result<Org> {
    Ok(Org {
        id: r.s("id")?,
        name: r.s("name")?,
        plan: r.s("plan")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn user_of(r: &impl Get) -> Result<User> {
    Ok(User {
        id: r.s("id")?,
        name: r.s("name")?,
        org_id: r.os("org_id")?,
        roles: roles_parse(&r.s("roles")?),
        country: r.os("country")?,
        time_zone: r.os("time_zone")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn profile_of(r: &impl Get) -> Result<Profile> {
    Ok(Profile {
        user_id: r.s("user_id")?,
        headline: r.s("headline")?,
        bio: r.s("bio")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn job_of(r: &impl Get) -> Result<Job> {
    Ok(Job {
        id: r.s("id")?,
        org_id: r.s("org_id")?,
        author_id: r.os("author_id")?,
        title: r.s("title")?,
        description: r.s("description")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn proposal_of(r: &impl Get) -> Result<Proposal> {
    Ok(Proposal {
        id: r.s("id")?,
        job_id: r.s("job_id")?,
        freelancer_id: r.s("freelancer_id")?,
        cover_letter: r.s("cover_letter")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn invite_of(r: &impl Get) -> Result<Invite> {
    Ok(Invite {
        id: r.s("id")?,
        job_id: r.os("job_id")?,
        org_id: r.s("org_id")?,
        sender_id: r.os("sender_id")?,
        freelancer_id: r.s("freelancer_id")?,
        message: r.s("message")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn contract_of(r: &impl Get) -> Result<Contract> {
    Ok(Contract {
        id: r.s("id")?,
        client_org_id: r.s("client_org_id")?,
        freelancer_id: r.s("freelancer_id")?,
        status: ContractStatus::parse(&r.s("status")?).ok_or_else(|| corrupt("contracts"))?,
        job_id: r.os("job_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn conversation_of(r: &impl Get) -> Result<Conversation> {
    let reference = match (r.os("ref_kind")?, r.os("ref_id")?) {
        (Some(k), Some(id)) => Some(ConversationRef {
            kind: RefKind::parse(&k).ok_or_else(|| corrupt("conversations"))?,
            id,
        }),
        _ => None,
    };
    Ok(Conversation {
        id: r.s("id")?,
        subject: r.os("subject")?,
        reference,
        created_by: r.os("created_by")?,
        last_message_id: r.oi("last_message_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
        ref_title: None,
    })
}

/// The human title of a reference of `kind` whose job (if any) has `job_title`.
pub(crate) fn ref_title(kind: RefKind, job_title: Option<String>) -> String {
    job_title.unwrap_or_else(|| {
        match kind {
            RefKind::Job => "Job",
            RefKind::Proposal => "Proposal",
            RefKind::Invite => "Invite",
            RefKind::Contract => "Contract",
        }
        .to_owned()
    })
}

/// [`conversation_of`] with `ref_title` from a `ref_title` column (the job's title).
pub(crate) fn conversation_titled(r: &impl Get) -> Result<Conversation> {
    let mut c = conversation_of(r)?;
    if let Some(reference) = &c.reference {
        c.ref_title = Some(ref_title(reference.kind, r.os("ref_title")?));
    }
    Ok(c)
}

/// A message from columns named `{p}id`, `{p}conversation_id`, ...
pub(crate) fn message_of(r: &impl Get, p: &str) -> Result<Message> {
    let c = |name: &str| format!("{p}{name}");
    Ok(Message {
        id: r.i(&c("id"))?,
        conversation_id: r.s(&c("conversation_id"))?,
        author_id: r.s(&c("author_id"))?,
        client_id: r.s(&c("client_id"))?,
        purpose: r.os(&c("purpose"))?,
        state: MessageState::parse(&r.s(&c("state"))?).ok_or_else(|| corrupt("messages"))?,
        original: r.s(&c("original"))?,
        delivered: r.os(&c("delivered"))?,
        decision: json_value(r.s(&c("decision"))?),
        version: r.i(&c("version"))?,
        created_at: r.i(&c("created_at"))?,
        edited_at: r.oi(&c("edited_at"))?,
        deleted_at: r.oi(&c("deleted_at"))?,
    })
}

pub(crate) fn version_of(r: &impl Get) -> Result<MessageVersion> {
    Ok(MessageVersion {
        message_id: r.i("message_id")?,
        version: r.i("version")?,
        kind: r.s("kind")?,
        state: MessageState::parse(&r.s("state")?).ok_or_else(|| corrupt("message_versions"))?,
        original: r.s("original")?,
        delivered: r.os("delivered")?,
        decision: json_value(r.s("decision")?),
        actor_id: r.os("actor_id")?,
        created_at: r.i("created_at")?,
    })
}

pub(crate) fn decision_of(r: &impl Get) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        id: r.i("id")?,
        subject_kind: r.s("subject_kind")?,
        subject_id: r.os("subject_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        message_version: r.oi("message_version")?,
        actor_id: r.os("actor_id")?,
        surface: r.s("surface")?,
        action: r.s("action")?,
        automated: r.b("automated")?,
        decision: json_value(r.s("decision")?),
        created_at: r.i("created_at")?,
        reviewed_at: r.oi("reviewed_at")?,
        reviewer_id: r.os("reviewer_id")?,
    })
}

pub(crate) fn token_of(r: &impl Get) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.s("hash")?,
        user_id: r.s("user_id")?,
        label: r.os("label")?,
        created_at: r.i("created_at")?,
        expires_at: r.i("expires_at")?,
        revoked_at: r.oi("revoked_at")?,
    })
}

pub(crate) fn event_of(r: &impl Get) -> Result<Event> {
    Ok(Event {
        seq: r.i("seq")?,
        kind: r.s("kind")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        data: r.os("data")?.map(json_value),
        created_at: r.i("created_at")?,
    })
}
