//! What the detector reports: [`Finding`], its [`Category`] and, for links, its [`LinkKind`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of contact information a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A phone number, in any country's format, however written.
    Phone,
    /// An email address, including written-out forms ("name at gmail dot com").
    Email,
    /// A street address or PO box.
    Address,
    /// A URL or bare domain; see [`LinkKind`].
    Link,
    /// An ID or handle on another platform (Skype, WhatsApp, Telegram, ...).
    Handle,
    /// A request for contact details or a proposal to continue off-platform.
    Request,
}

impl Category {
    /// All categories, in a stable order.
    pub const ALL: [Category; 6] = [
        Category::Phone,
        Category::Email,
        Category::Address,
        Category::Link,
        Category::Handle,
        Category::Request,
    ];

    /// The stable snake_case name used in JSON and policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Phone => "phone",
            Category::Email => "email",
            Category::Address => "address",
            Category::Link => "link",
            Category::Handle => "handle",
            Category::Request => "request",
        }
    }

    /// Parses the name returned by [`Category::as_str`].
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a link points to. The first six kinds are contact information under the
/// default policy; the others are allowed kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A contact page or a form that asks for contact details.
    ContactForm,
    /// An applicant tracking system or any way to apply outside the platform.
    Application,
    /// A meeting room (Zoom, Google Meet, Teams, ...).
    Meeting,
    /// A scheduler (Calendly and the like).
    Scheduler,
    /// A messaging deep link (wa.me, t.me, m.me, discord.gg, ...).
    Messaging,
    /// A social network profile.
    Social,
    /// Cloud or FTP file sharing that needs no contact details.
    FileShare,
    /// A portfolio site (Behance, Dribbble, ...).
    Portfolio,
    /// A code host (GitHub, GitLab, ...).
    CodeHost,
    /// Documentation or a shared document.
    Docs,
    /// Any other link.
    Other,
}

impl LinkKind {
    /// All link kinds, in a stable order.
    pub const ALL: [LinkKind; 11] = [
        LinkKind::ContactForm,
        LinkKind::Application,
        LinkKind::Meeting,
        LinkKind::Scheduler,
        LinkKind::Messaging,
        LinkKind::Social,
        LinkKind::FileShare,
        LinkKind::Portfolio,
        LinkKind::CodeHost,
        LinkKind::Docs,
        LinkKind::Other,
    ];

    /// The stable snake_case name used in JSON, data files and policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::ContactForm => "contact_form",
            LinkKind::Application => "application",
            LinkKind::Meeting => "meeting",
            LinkKind::Scheduler => "scheduler",
            LinkKind::Messaging => "messaging",
            LinkKind::Social => "social",
            LinkKind::FileShare => "file_share",
            LinkKind::Portfolio => "portfolio",
            LinkKind::CodeHost => "code_host",
            LinkKind::Docs => "docs",
            LinkKind::Other => "other",
        }
    }

    /// Parses the name returned by [`LinkKind::as_str`].
    pub fn parse(s: &str) -> Option<LinkKind> {
        LinkKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether links of this kind are contact information under the default policy
    /// (contact forms, application portals, meetings, schedulers, messaging, social).
    pub fn is_contact(self) -> bool {
        matches!(
            self,
            LinkKind::ContactForm
                | LinkKind::Application
                | LinkKind::Meeting
                | LinkKind::Scheduler
                | LinkKind::Messaging
                | LinkKind::Social
        )
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of contact information (or a request for it) found in a text.
///
/// `start..end` is a byte span of the *original* text, always on `char`
/// boundaries, so `&text[f.start..f.end] == f.matched` and a caller can mask
/// exactly those bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub category: Category,
    /// For [`Category::Link`] (and handles given as profile links): what the link points to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<LinkKind>,
    /// Start byte offset in the original text (inclusive).
    pub start: usize,
    /// End byte offset in the original text (exclusive).
    pub end: usize,
    /// The original text of the span.
    pub matched: String,
    /// A normalized value where one exists: E.164 for phones, `user@domain`
    /// for emails, the URL for links, `platform:handle` for handles.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub normalized: Option<String>,
    /// Confidence in `[0, 1]` (written to JSON rounded to three decimals).
    #[serde(serialize_with = "round3")]
    pub confidence: f32,
    /// The name of the rule that fired, e.g. `phone.e164` or `email.at_dot_words`.
    pub rule: String,
}

fn round3<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*x) * 1000.0).round() / 1000.0)
}

impl Finding {
    /// Whether this finding is contact information (or a request for it) under the
    /// default pre-contract policy, on the given surface. Allowed link kinds are
    /// not; a portfolio link is allowed in a proposal.
    ///
    /// The policy crate makes the operator's decision; this is the detector's
    /// view of the default rule, used by `parley scan` and `parley eval`.
    pub fn is_contact_info(&self) -> bool {
        match (self.category, self.kind) {
            (Category::Link, Some(kind)) => kind.is_contact(),
            (Category::Link, None) => false,
            _ => true,
        }
    }
}
