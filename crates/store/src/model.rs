//! The data model: what the store keeps and returns. All timestamps are `i64` Unix milliseconds (UTC).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Unix milliseconds (UTC): the one timestamp representation of the store, in both databases.
pub type Millis = i64;

/// The current time in Unix milliseconds.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The result of an idempotent upsert: the stored object and whether this call created it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upserted<T> {
    pub value: T,
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub name: String,
    /// Free-form plan name from the marketplace (e.g. `basic`, `enterprise`).
    pub plan: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgInput {
    pub name: String,
    pub plan: String,
}

/// A user's role. One person may hold several (client and freelancer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Freelancer,
    Moderator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Freelancer => "freelancer",
            Role::Moderator => "moderator",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "client" => Some(Role::Client),
            "freelancer" => Some(Role::Freelancer),
            "moderator" => Some(Role::Moderator),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub org_id: Option<String>,
    pub roles: Vec<Role>,
    /// ISO 3166-1 alpha-2 country code, as given by the marketplace.
    pub country: Option<String>,
    /// IANA time zone name (e.g. `Europe/Berlin`).
    pub time_zone: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInput {
    pub name: String,
    pub org_id: Option<String>,
    pub roles: Vec<Role>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: String,
    pub headline: String,
    pub bio: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInput {
    pub headline: String,
    pub bio: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub author_id: Option<String>,
    pub title: String,
    pub description: String,
    /// Free-form (`open`, `closed`, ...).
    pub status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInput {
    pub org_id: String,
    pub author_id: Option<String>,
    pub title: String,
    pub description: String,
    /// Empty means `open`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: String,
    pub job_id: String,
    pub freelancer_id: String,
    pub cover_letter: String,
    pub status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalInput {
    pub job_id: String,
    pub freelancer_id: String,
    pub cover_letter: String,
    /// Empty means `submitted`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub id: String,
    pub job_id: Option<String>,
    pub org_id: String,
    pub sender_id: Option<String>,
    pub freelancer_id: String,
    pub message: String,
    pub status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInput {
    pub job_id: Option<String>,
    pub org_id: String,
    pub sender_id: Option<String>,
    pub freelancer_id: String,
    pub message: String,
    /// Empty means `sent`.
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    Offered,
    Active,
    Ended,
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Offered => "offered",
            ContractStatus::Active => "active",
            ContractStatus::Ended => "ended",
        }
    }
    pub fn parse(s: &str) -> Option<ContractStatus> {
        match s {
            "offered" => Some(ContractStatus::Offered),
            "active" => Some(ContractStatus::Active),
            "ended" => Some(ContractStatus::Ended),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub client_org_id: String,
    pub freelancer_id: String,
    pub status: ContractStatus,
    pub job_id: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractInput {
    pub client_org_id: String,
    pub freelancer_id: String,
    pub status: ContractStatus,
    pub job_id: Option<String>,
}

/// The relationship stage between two people, from the contracts between the client's
/// organisation and the freelancer. Ordered from strictest to most relaxed, so the strictest of
/// several is the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    PreContract,
    EndedContract,
    ActiveContract,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PreContract => "pre_contract",
            Stage::EndedContract => "ended_contract",
            Stage::ActiveContract => "active_contract",
        }
    }
    /// `active_contract` if any active, `ended_contract` if any ended and none active, else `pre_contract`.
    pub fn from_counts(active: i64, ended: i64) -> Stage {
        if active > 0 {
            Stage::ActiveContract
        } else if ended > 0 {
            Stage::EndedContract
        } else {
            Stage::PreContract
        }
    }
    /// The strictest stage among several (a message to several recipients gets the strictest);
    /// `None` for no recipients.
    pub fn strictest(stages: impl IntoIterator<Item = Stage>) -> Option<Stage> {
        stages.into_iter().min()
    }
}

/// Another member of a conversation as seen from a sender: who they are and the stage between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStage {
    pub user_id: String,
    pub org_id: Option<String>,
    pub roles: Vec<Role>,
    /// True when sender and member belong to the same organisation (colleagues).
    pub same_org: bool,
    pub stage: Stage,
}

/// What a conversation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    Job,
    Proposal,
    Invite,
    Contract,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Job => "job",
            RefKind::Proposal => "proposal",
            RefKind::Invite => "invite",
            RefKind::Contract => "contract",
        }
    }
    pub fn parse(s: &str) -> Option<RefKind> {
        match s {
            "job" => Some(RefKind::Job),
            "proposal" => Some(RefKind::Proposal),
            "invite" => Some(RefKind::Invite),
            "contract" => Some(RefKind::Contract),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConversationRef {
    pub kind: RefKind,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub subject: Option<String>,
    /// `None` for a direct conversation.
    #[serde(rename = "ref")]
    pub reference: Option<ConversationRef>,
    pub created_by: Option<String>,
    /// Id of the last delivered message.
    pub last_message_id: Option<i64>,
    pub created_at: Millis,
    /// Time of the last delivered message (or creation).
    pub updated_at: Millis,
    /// A human title for `reference`, read live from the referenced object: the job's title
    /// for a job, proposal or invite (an invite without a job: "Invite"), the contract's job
    /// title (a contract without a job: "Contract"). `None` for a direct conversation. Not
    /// serialized here: the server's views put it in the `ref` object as `title`.
    #[serde(skip)]
    pub ref_title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConversation {
    pub members: Vec<String>,
    pub subject: Option<String>,
    pub reference: Option<ConversationRef>,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub joined_at: Millis,
    pub last_read_message_id: i64,
    pub last_read_at: Option<Millis>,
}

/// Position in a user's conversation list (most recently active first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationCursor {
    pub updated_at: Millis,
    pub id: String,
}

/// A conversation as listed for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    /// Member user ids, sorted.
    pub members: Vec<String>,
    pub last_message: Option<Message>,
    pub unread: i64,
    pub last_read_message_id: i64,
}

impl ConversationSummary {
    /// The cursor for the next page after this item.
    pub fn cursor(&self) -> ConversationCursor {
        ConversationCursor {
            updated_at: self.conversation.updated_at,
            id: self.conversation.id.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// Visible to every member (possibly masked or with a notice: see `delivered`).
    Delivered,
    /// Held for review: visible only to its author until a moderator releases it.
    Held,
    /// Held, then rejected by review: visible only to its author.
    Rejected,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Delivered => "delivered",
            MessageState::Held => "held",
            MessageState::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<MessageState> {
        match s {
            "delivered" => Some(MessageState::Delivered),
            "held" => Some(MessageState::Held),
            "rejected" => Some(MessageState::Rejected),
            _ => None,
        }
    }
}

/// A message, current version. Older versions are in [`MessageVersion`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Monotonic; within a conversation, id order is commit order (cursor pagination uses it).
    pub id: i64,
    pub conversation_id: String,
    pub author_id: String,
    pub client_id: String,
    pub purpose: Option<String>,
    pub state: MessageState,
    /// What the author wrote (never shown to recipients when it differs from `delivered`).
    pub original: String,
    /// What recipients see (masked text, or with a notice); `None` while held.
    pub delivered: Option<String>,
    /// The policy decision of this version, as JSON.
    pub decision: Value,
    pub version: i64,
    pub created_at: Millis,
    pub edited_at: Option<Millis>,
    /// Set when deleted; the record (and all versions) stays.
    pub deleted_at: Option<Millis>,
}

impl Message {
    /// Whether `viewer` may see this message at all (recipients see only delivered ones).
    pub fn visible_to(&self, viewer: &str) -> bool {
        self.state == MessageState::Delivered || self.author_id == viewer
    }
}

/// How the policy decision about one text is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionInput {
    /// Where the text was written: `message`, `profile`, `job`, `proposal`, `invite`, `draft`...
    pub surface: String,
    /// The outcome in one word (`allow`, `mask`, `warn`, `hold`, `block`...), for review queues.
    pub action: String,
    /// True when made by the detector/policy; false for a human moderator.
    pub automated: bool,
    /// The full decision as JSON (findings, explanation, policy version...).
    pub decision: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    pub conversation_id: String,
    pub author_id: String,
    /// The sender's idempotency key: the same (conversation, author, client_id) stores one message.
    pub client_id: String,
    pub purpose: Option<String>,
    pub original: String,
    /// `None` when held.
    pub delivered: Option<String>,
    /// `Delivered` or `Held` (`Rejected` is refused).
    pub state: MessageState,
    pub decision: DecisionInput,
    pub created_at: Option<Millis>,
}

/// The outcome of posting a message: the stored message, and whether this call created it
/// (false when the `client_id` was already used: a retry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posted {
    pub message: Message,
    pub created: bool,
    /// The `message.created` event each recipient got, `(user_id, seq)`, when the backend
    /// reports them (SQLite); empty otherwise (and for a retry). Lets a node hand the message
    /// to a socket that is exactly one event behind without reading it back.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub event_seqs: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEdit {
    pub original: String,
    pub delivered: Option<String>,
    pub state: MessageState,
    pub decision: DecisionInput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageVersion {
    pub message_id: i64,
    pub version: i64,
    /// `created`, `edited`, `deleted` or `reviewed`.
    pub kind: String,
    pub state: MessageState,
    pub original: String,
    pub delivered: Option<String>,
    pub decision: Value,
    pub actor_id: Option<String>,
    pub created_at: Millis,
}

/// Cursor pagination of a conversation's messages. Results are always oldest first (newest last).
/// With `after`: the `limit` messages following that id. Otherwise the `limit` messages before
/// `before` (or the newest ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub before: Option<i64>,
    pub after: Option<i64>,
    /// 1..=500; 0 means 50.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// More messages exist in the direction of travel (older ones without `after`, newer with it).
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadMarker {
    pub conversation_id: String,
    pub user_id: String,
    pub last_read_message_id: i64,
    pub unread: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDecision {
    /// What was checked: `message`, `profile`, `job`, `proposal`, `invite`, `draft`...
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub message_version: Option<i64>,
    pub actor_id: Option<String>,
    pub decision: DecisionInput,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub message_version: Option<i64>,
    pub actor_id: Option<String>,
    pub surface: String,
    pub action: String,
    pub automated: bool,
    pub decision: Value,
    pub created_at: Millis,
    pub reviewed_at: Option<Millis>,
    pub reviewer_id: Option<String>,
}

/// A stored token (never the token itself: only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Hex SHA-256 of the token; usable as the token's id in listings and revocation.
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// A freshly issued token: `token` is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    pub token: String,
    pub info: TokenInfo,
}

/// One entry of a user's event log (`seq` is that user's cursor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    /// `message.created`, `message.updated`, `message.deleted`, `read`, `enforcement.created`,
    /// `enforcement.updated`.
    pub kind: String,
    /// The conversation; `None` for an event about the account (an enforcement without one).
    pub conversation_id: Option<String>,
    pub message_id: Option<i64>,
    pub data: Option<Value>,
    pub created_at: Millis,
}
