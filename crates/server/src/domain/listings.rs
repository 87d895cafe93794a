//! The marketplace's other texts, synced by the operator and checked on their surface:
//! profiles and job posts (always pre-contract), proposals and invites (with the stage between
//! the organisation and the freelancer). Block or hold: refused, nothing stored (the decision
//! and its enforcement are recorded). Mask: the masked text is stored.

use crate::domain::decide::Checked;
use crate::domain::directory::Upserted;
use crate::domain::enforcement::{automated_enforcements, AutomatedSubject};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ObjectId, OrgId, UserId};
use crate::AppState;
use parley_policy::{Action, Stage, Surface};
use parley_store::{InviteInput, JobInput, NewDecision, ProfileInput, ProposalInput, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_TEXT: usize = 20_000;

/// One object's texts and the context they are decided in.
struct Texts<'a> {
    kind: &'static str,
    id: &'a str,
    actor: Option<&'a str>,
    surface: Surface,
    stage: Stage,
    plan: &'a str,
}

/// Checks the texts of one object; the strictest decision. Block or hold: the violation,
/// nothing stored (the decision is recorded). Mask: the masked texts replace the originals.
async fn check_texts(s: &AppState, t: Texts<'_>, texts: &mut [&mut String]) -> DomainResult<()> {
    let mut worst: Option<(usize, Checked)> = None;
    let mut masked: Vec<Option<String>> = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        if text.len() > MAX_TEXT {
            return Err(DomainError::too_large(t.kind, MAX_TEXT));
        }
        let c = s.decide(text, t.surface, t.stage, t.plan, None);
        masked.push((c.action() == Action::Mask).then(|| c.delivered(text)));
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
        t.actor,
        w.decision.violation && s.inner.policy.escalation.gives_strikes(t.surface),
    ) {
        let history = crate::domain::standing::history_of(s, user).await?;
        if history != parley_policy::History::default() {
            w = s.decide_with(texts[wi], t.surface, t.stage, t.plan, None, history);
            masked[wi] = (w.action() == Action::Mask).then(|| w.delivered(texts[wi]));
        }
    }
    if w.action() != Action::Allow {
        record(s, &t, &w).await?;
    }
    if matches!(w.action(), Action::Block | Action::HoldForReview) {
        return Err(w.violation_error());
    }
    for (text, m) in texts.iter_mut().zip(masked) {
        if let Some(m) = m {
            **text = m;
        }
    }
    Ok(())
}

/// Records the decision on an object's text with its enforcement (the author's, with its
/// strike and the restriction it reaches), in one transaction.
async fn record(s: &AppState, t: &Texts<'_>, w: &Checked) -> DomainResult<()> {
    let decision = NewDecision {
        subject_kind: t.kind.into(),
        subject_id: Some(t.id.into()),
        conversation_id: None,
        message_id: None,
        message_version: None,
        actor_id: t.actor.map(str::to_string),
        decision: w.input(t.surface.as_str()),
    };
    let drafts = match t.actor {
        Some(user) => {
            let subject = AutomatedSubject {
                kind: t.kind,
                id: Some(t.id.into()),
                conversation_id: None,
                message_id: None,
                decision_id: None,
                blocked: None,
            };
            automated_enforcements(s, user, &subject, w).await?
        }
        None => Vec::new(),
    };
    let decided = match s.store().record_decision_enforced(&decision, &drafts).await {
        // An actor the store does not know (a job's author not synced yet): the text is still
        // refused or masked; there is nobody to hold the enforcement against.
        Err(StoreError::Invalid(_)) if !drafts.is_empty() => {
            tracing::warn!(kind = t.kind, "enforcement not recorded: unknown actor");
            s.store().record_decision_enforced(&decision, &[]).await?
        }
        r => r?,
    };
    if !decided.enforcements.is_empty() {
        s.notify(decided.enforcements.iter().map(|e| e.user_id.clone()));
    }
    Ok(())
}

/// `PUT /v1/users/{id}/profile`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    pub headline: String,
    #[serde(default)]
    pub bio: String,
}

/// A user's profile (the texts as stored: masked when the policy masked them).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Profile)]
pub struct ProfileView {
    pub user_id: String,
    pub headline: String,
    pub bio: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates a profile.
pub async fn put_profile(
    s: &AppState,
    id: &UserId,
    mut b: ProfileBody,
) -> DomainResult<Upserted<ProfileView>> {
    s.store().get_user(id.as_str()).await?;
    let t = Texts {
        kind: "profile",
        id: id.as_str(),
        actor: Some(id.as_str()),
        surface: Surface::Profile,
        stage: Stage::PreContract,
        plan: "",
    };
    check_texts(s, t, &mut [&mut b.headline, &mut b.bio]).await?;
    let u = s
        .store()
        .put_profile(
            id.as_str(),
            &ProfileInput {
                headline: b.headline,
                bio: b.bio,
            },
        )
        .await?;
    let p = u.value;
    Ok(Upserted {
        created: u.created,
        value: ProfileView {
            user_id: p.user_id,
            headline: p.headline,
            bio: p.bio,
            created_at: p.created_at,
            updated_at: p.updated_at,
        },
    })
}

/// `PUT /v1/jobs/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    pub org_id: OrgId,
    pub author_id: Option<UserId>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub status: String,
}

/// A job post.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Job)]
pub struct JobView {
    pub id: String,
    pub org_id: String,
    pub author_id: Option<String>,
    pub title: String,
    pub description: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates a job post.
pub async fn put_job(
    s: &AppState,
    id: &ObjectId,
    mut b: JobBody,
) -> DomainResult<Upserted<JobView>> {
    let plan = s.plan_of(Some(b.org_id.as_str())).await?;
    let t = Texts {
        kind: "job",
        id: id.as_str(),
        actor: b.author_id.as_ref().map(UserId::as_str),
        surface: Surface::JobPost,
        stage: Stage::PreContract,
        plan: &plan,
    };
    check_texts(s, t, &mut [&mut b.title, &mut b.description]).await?;
    let u = s
        .store()
        .put_job(
            id.as_str(),
            &JobInput {
                org_id: b.org_id.into_string(),
                author_id: b.author_id.map(UserId::into_string),
                title: b.title,
                description: b.description,
                status: b.status,
            },
        )
        .await?;
    let j = u.value;
    Ok(Upserted {
        created: u.created,
        value: JobView {
            id: j.id,
            org_id: j.org_id,
            author_id: j.author_id,
            title: j.title,
            description: j.description,
            status: j.status,
            created_at: j.created_at,
            updated_at: j.updated_at,
        },
    })
}

async fn stage_between(s: &AppState, org_id: &str, freelancer: &str) -> DomainResult<Stage> {
    Ok(match s.store().stage(org_id, freelancer).await? {
        parley_store::Stage::PreContract => Stage::PreContract,
        parley_store::Stage::EndedContract => Stage::EndedContract,
        parley_store::Stage::ActiveContract => Stage::ActiveContract,
    })
}

/// `PUT /v1/proposals/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    pub job_id: ObjectId,
    pub freelancer_id: UserId,
    #[serde(default)]
    pub cover_letter: String,
    #[serde(default)]
    pub status: String,
}

/// A freelancer's proposal for a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Proposal)]
pub struct ProposalView {
    pub id: String,
    pub job_id: String,
    pub freelancer_id: String,
    pub cover_letter: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates a proposal.
pub async fn put_proposal(
    s: &AppState,
    id: &ObjectId,
    mut b: ProposalBody,
) -> DomainResult<Upserted<ProposalView>> {
    let job = s
        .store()
        .get_job(b.job_id.as_str())
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => DomainError::invalid("job_id: no such job"),
            e => e.into(),
        })?;
    let plan = s.plan_of(Some(&job.org_id)).await?;
    let stage = stage_between(s, &job.org_id, b.freelancer_id.as_str()).await?;
    let t = Texts {
        kind: "proposal",
        id: id.as_str(),
        actor: Some(b.freelancer_id.as_str()),
        surface: Surface::Proposal,
        stage,
        plan: &plan,
    };
    check_texts(s, t, &mut [&mut b.cover_letter]).await?;
    let u = s
        .store()
        .put_proposal(
            id.as_str(),
            &ProposalInput {
                job_id: b.job_id.into_string(),
                freelancer_id: b.freelancer_id.into_string(),
                cover_letter: b.cover_letter,
                status: b.status,
            },
        )
        .await?;
    let p = u.value;
    Ok(Upserted {
        created: u.created,
        value: ProposalView {
            id: p.id,
            job_id: p.job_id,
            freelancer_id: p.freelancer_id,
            cover_letter: p.cover_letter,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        },
    })
}

/// `PUT /v1/invites/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub job_id: Option<ObjectId>,
    pub org_id: OrgId,
    pub sender_id: Option<UserId>,
    pub freelancer_id: UserId,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
}

/// An organisation's invitation to a freelancer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Invite)]
pub struct InviteView {
    pub id: String,
    pub job_id: Option<String>,
    pub org_id: String,
    pub sender_id: Option<String>,
    pub freelancer_id: String,
    pub message: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates or updates an invite.
pub async fn put_invite(
    s: &AppState,
    id: &ObjectId,
    mut b: InviteBody,
) -> DomainResult<Upserted<InviteView>> {
    let plan = s.plan_of(Some(b.org_id.as_str())).await?;
    let stage = stage_between(s, b.org_id.as_str(), b.freelancer_id.as_str()).await?;
    let t = Texts {
        kind: "invite",
        id: id.as_str(),
        actor: b.sender_id.as_ref().map(UserId::as_str),
        surface: Surface::Invite,
        stage,
        plan: &plan,
    };
    check_texts(s, t, &mut [&mut b.message]).await?;
    let u = s
        .store()
        .put_invite(
            id.as_str(),
            &InviteInput {
                job_id: b.job_id.map(ObjectId::into_string),
                org_id: b.org_id.into_string(),
                sender_id: b.sender_id.map(UserId::into_string),
                freelancer_id: b.freelancer_id.into_string(),
                message: b.message,
                status: b.status,
            },
        )
        .await?;
    let i = u.value;
    Ok(Upserted {
        created: u.created,
        value: InviteView {
            id: i.id,
            job_id: i.job_id,
            org_id: i.org_id,
            sender_id: i.sender_id,
            freelancer_id: i.freelancer_id,
            message: i.message,
            status: i.status,
            created_at: i.created_at,
            updated_at: i.updated_at,
        },
    })
}
