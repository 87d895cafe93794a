//! The demo marketplace for `parley demo`: created only in an empty database; and the demo
//! sign-in (`GET /v1/demo/users`, `POST /v1/demo/users/{id}/session`), which answers 404 unless
//! the server runs in demo mode ([`crate::Config::demo`]).

use crate::domain::appeals::{AppealBody, EnforcementRef};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, TextId, UserId};
use crate::domain::messages::PostBody;
use crate::domain::reports::ReportBody;
use crate::domain::users::{card, UserCard};
use crate::domain::{appeals, messages, reports};
use crate::AppState;
use parley_store::{
    ContractInput, ContractStatus, ConversationRef, InviteInput, JobInput, NewConversation,
    OrgInput, ProfileInput, ProposalInput, RefKind, Role, StoreError, UserInput,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// The demo's people: (id, name, org, roles).
pub const USERS: &[(&str, &str, Option<&str>, &[Role])] = &[
    ("avery", "Avery Chen", Some("northwind"), &[Role::Client]),
    ("priya", "Priya Natarajan", Some("contoso"), &[Role::Client]),
    ("diego", "Diego Ramos", None, &[Role::Freelancer]),
    ("mei", "Mei Tanaka", None, &[Role::Freelancer]),
    ("morgan", "Morgan Lee", None, &[Role::Moderator]),
];

/// Where the demo's people are: (id, country, IANA time zone), so each side's local time shows.
pub const LOCALES: &[(&str, &str, &str)] = &[
    ("avery", "US", "America/Los_Angeles"),
    ("priya", "IN", "Asia/Kolkata"),
    ("diego", "MX", "America/Mexico_City"),
    ("mei", "JP", "Asia/Tokyo"),
    ("morgan", "IE", "Europe/Dublin"),
];

fn locale_of(id: &str) -> (Option<String>, Option<String>) {
    LOCALES
        .iter()
        .find(|(u, ..)| *u == id)
        .map_or((None, None), |(_, c, tz)| {
            (Some((*c).to_string()), Some((*tz).to_string()))
        })
}

/// Whether the database already holds data (then the demo leaves it alone).
pub async fn is_empty(s: &AppState) -> DomainResult<bool> {
    for org in ["northwind", "contoso"] {
        match s.store().get_org(org).await {
            Ok(_) => return Ok(false),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for (id, ..) in USERS {
        match s.store().get_user(id).await {
            Ok(_) => return Ok(false),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Posts `body` as `who` through the API's own path; the stored message's id, or `None` when
/// the policy blocked it.
async fn say(
    s: &AppState,
    conv: &str,
    who: &str,
    n: usize,
    body: &str,
) -> DomainResult<Option<i64>> {
    let conv = ConversationId::parse(conv)?;
    let who = UserId::parse(who)?;
    let r = messages::post(
        s,
        &conv,
        &who,
        PostBody {
            body: Some(body.into()),
            client_id: format!("demo-{n}"),
            purpose: None,
            attachments: Vec::new(),
        },
    )
    .await;
    match r {
        Ok((_, posted)) => Ok(Some(posted.message.id)),
        // A blocked demo line is part of the story (the sender saw the explanation).
        Err(DomainError::PolicyViolation(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A failure while seeding the demo (reported by `parley demo` at start).
fn demo_error(message: impl Into<String>) -> DomainError {
    DomainError::Internal(message.into())
}

/// Seeds the demo marketplace. Returns false (and changes nothing) if the database is not empty.
pub async fn seed(s: &AppState) -> DomainResult<bool> {
    if !is_empty(s).await? {
        return Ok(false);
    }
    // The mark that this database is the demo's (demo sign-in works only on such a database).
    s.store()
        .append_audit(
            "demo",
            None,
            DEMO_SUBJECT,
            &json!({"created": "parley demo"}),
        )
        .await?;
    let st = s.store();
    st.put_org(
        "northwind",
        &OrgInput {
            name: "Northwind Labs".into(),
            plan: "basic".into(),
        },
    )
    .await?;
    st.put_org(
        "contoso",
        &OrgInput {
            name: "Contoso Enterprise".into(),
            plan: "enterprise".into(),
        },
    )
    .await?;
    for (id, name, org, roles) in USERS {
        let (country, time_zone) = locale_of(id);
        st.put_user(
            id,
            &UserInput {
                name: (*name).into(),
                org_id: org.map(str::to_string),
                roles: roles.to_vec(),
                country,
                time_zone,
            },
        )
        .await?;
    }
    st.put_profile(
        "mei",
        &ProfileInput {
            headline: "Front-end developer, design systems".into(),
            bio: "Eight years of React and accessible UI work.".into(),
        },
    )
    .await?;
    st.put_profile(
        "diego",
        &ProfileInput {
            headline: "Web designer and Webflow expert".into(),
            bio: "Landing pages that convert, from wireframe to launch.".into(),
        },
    )
    .await?;
    st.put_job(
        "landing",
        &JobInput {
            org_id: "northwind".into(),
            author_id: Some("avery".into()),
            title: "Landing page redesign".into(),
            description: "Redesign our product landing page: new hero, pricing table, faster load."
                .into(),
            status: String::new(),
        },
    )
    .await?;
    for (id, who, text) in [
        (
            "p-diego",
            "diego",
            "I have redesigned a dozen SaaS landing pages; I can start Monday.",
        ),
        (
            "p-mei",
            "mei",
            "I would rebuild the hero and pricing as accessible components.",
        ),
    ] {
        st.put_proposal(
            id,
            &ProposalInput {
                job_id: "landing".into(),
                freelancer_id: who.into(),
                cover_letter: text.into(),
                status: String::new(),
            },
        )
        .await?;
    }
    st.put_invite(
        "inv-diego",
        &InviteInput {
            job_id: None,
            org_id: "contoso".into(),
            sender_id: Some("priya".into()),
            freelancer_id: "diego".into(),
            message: "We liked your portfolio; would you look at our intranet redesign?".into(),
            status: String::new(),
        },
    )
    .await?;
    st.put_contract(
        "ct-mei",
        &ContractInput {
            client_org_id: "northwind".into(),
            freelancer_id: "mei".into(),
            status: ContractStatus::Active,
            job_id: Some("landing".into()),
        },
    )
    .await?;
    let conv = |members: &[&str], subject: &str, kind: RefKind, id: &str| NewConversation {
        members: members.iter().map(|m| m.to_string()).collect(),
        subject: Some(subject.into()),
        reference: Some(ConversationRef {
            kind,
            id: id.into(),
        }),
        created_by: None,
    };
    // Pre-contract: Avery and Diego about his proposal.
    let c1 = st
        .create_conversation(&conv(
            &["avery", "diego"],
            "Landing page redesign - proposal",
            RefKind::Proposal,
            "p-diego",
        ))
        .await?;
    say(
        s,
        &c1.id,
        "avery",
        1,
        "Thanks for the proposal! Could you share two landing pages you built?",
    )
    .await?;
    say(s, &c1.id, "diego", 2, "Sure, I have attached two case studies here. Happy to walk you through them on a call on the platform.").await?;
    // Blocked, and appealed by Diego: the moderator console has an appeal to decide.
    let blocked = say(
        s,
        &c1.id,
        "diego",
        3,
        "Easier by email: diego.ramos.design@gmail.com",
    )
    .await?;
    if blocked.is_some() {
        return Err(demo_error("demo: the email line was not blocked"));
    }
    let block = st
        .enforcements_of("diego", 10)
        .await?
        .into_iter()
        .map(|(e, _)| e)
        .find(|e| e.kind == "block")
        .ok_or_else(|| demo_error("demo: no block enforcement for diego"))?;
    appeals::file(
        s,
        &UserId::parse("diego")?,
        AppealBody {
            enforcement_id: EnforcementRef::Number(block.id),
            statement: "I only meant to send the portfolio files; I did not know emails are hidden before a contract.".into(),
        },
    )
    .await?;
    // Blocked, not appealed (Diego may still appeal it from his Notices).
    say(
        s,
        &c1.id,
        "diego",
        4,
        "Or text me on WhatsApp at +1 415 555 0134, it is faster.",
    )
    .await?;
    say(
        s,
        &c1.id,
        "avery",
        5,
        "Let's keep it here until we have a contract, please.",
    )
    .await?;
    // Delivered (no contact details), then reported by Avery: a report in the console.
    let pushy = say(
        s,
        &c1.id,
        "diego",
        6,
        "Fair enough. Once we agree, we could also skip the fee here and settle the payment between us.",
    )
    .await?
    .ok_or_else(|| demo_error("demo: the reported line was blocked"))?;
    reports::file(
        s,
        &UserId::parse("avery")?,
        ReportBody {
            message_id: Some(pushy),
            user_id: None,
            conversation_id: None,
            reason: "off_platform".into(),
            note: Some("Suggests paying outside the platform.".into()),
        },
    )
    .await?;
    // Active contract: Avery and Mei may share contact details.
    let c2 = st
        .create_conversation(&conv(
            &["avery", "mei"],
            "Landing page redesign",
            RefKind::Contract,
            "ct-mei",
        ))
        .await?;
    say(
        s,
        &c2.id,
        "avery",
        1,
        "Welcome aboard, Mei! Kickoff tomorrow at 10:00?",
    )
    .await?;
    say(
        s,
        &c2.id,
        "mei",
        2,
        "Works for me. If anything urgent comes up, my phone is +1 415 555 0199.",
    )
    .await?;
    // Enterprise client, pre-contract: the plan allows contact details.
    let c3 = st
        .create_conversation(&conv(
            &["priya", "diego"],
            "Intranet redesign",
            RefKind::Invite,
            "inv-diego",
        ))
        .await?;
    say(
        s,
        &c3.id,
        "priya",
        1,
        "Hi Diego, thanks for looking at the invite. Our budget is $8,000.",
    )
    .await?;
    say(
        s,
        &c3.id,
        "diego",
        2,
        "Sounds good. What is the timeline for the first milestone?",
    )
    .await?;
    Ok(true)
}

// ------------------------------------------------------------------ demo sign-in

/// Lifetime of a demo sign-in token, milliseconds (one day).
const DEMO_TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

/// The audit subject of the entry [`seed`] appends when it creates the demo marketplace.
const DEMO_SUBJECT: &str = "demo";

/// Whether this database was created by [`seed`] (its audit trail says so).
pub async fn created_by_demo(s: &AppState) -> DomainResult<bool> {
    Ok(s.store().latest_audit_entry(DEMO_SUBJECT).await?.is_some())
}

/// Demo sign-in hands out tokens for anyone: only in demo mode, and only on a database the
/// demo created (never on a real one opened with `parley demo`). Otherwise the demo's routes
/// do not exist.
async fn require_demo(s: &AppState) -> DomainResult<()> {
    if s.inner.config.demo && created_by_demo(s).await? {
        Ok(())
    } else {
        Err(DomainError::not_found("route"))
    }
}

/// `GET /v1/demo/users`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DemoUsers {
    pub users: Vec<UserCard>,
}

/// The demo's people in the demo's own order (clients, freelancers, moderator). NotFound unless
/// demo mode.
pub async fn users(s: &AppState) -> DomainResult<DemoUsers> {
    require_demo(s).await?;
    let ids: Vec<String> = USERS.iter().map(|(id, ..)| id.to_string()).collect();
    let users = s.store().get_users(&ids).await?;
    let mut out = Vec::with_capacity(users.len());
    for (id, ..) in USERS {
        if let Some(u) = users.iter().find(|u| u.id == *id) {
            out.push(card(s, u).await?);
        }
    }
    Ok(DemoUsers { users: out })
}

/// A demo sign-in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: i64,
    pub user: UserCard,
}

/// Signs in as a demo person (only the demo's own people; NotFound otherwise and unless demo
/// mode). `allowed`: asks the caller's rate limit (`None` when it says no).
pub async fn sign_in(
    s: &AppState,
    id: &str,
    allowed: impl FnOnce() -> bool,
) -> DomainResult<Option<Session>> {
    require_demo(s).await?;
    if !USERS.iter().any(|(u, ..)| *u == id) {
        return Err(DomainError::not_found("demo user"));
    }
    if !allowed() {
        return Ok(None);
    }
    let user = s.store().get_user(id).await?;
    let t = s
        .store()
        .create_token(
            id,
            parley_store::now_ms().saturating_add(DEMO_TOKEN_TTL_MS),
            Some("demo-ui"),
        )
        .await?;
    tracing::info!(user = %id, "demo sign-in");
    Ok(Some(Session {
        token: t.token,
        expires_at: t.info.expires_at,
        user: card(s, &user).await?,
    }))
}
