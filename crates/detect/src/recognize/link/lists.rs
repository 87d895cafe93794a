//! The tables the link recognizer reads: hosts by kind, file-extension TLDs, contact paths,
//! and path segments that are not profiles.

use crate::LinkKind;

pub(super) const LISTS: [(LinkKind, &str); 10] = [
    (
        LinkKind::ContactForm,
        include_str!("../../../data/domains/contact_form.txt"),
    ),
    (
        LinkKind::Application,
        include_str!("../../../data/domains/application.txt"),
    ),
    (
        LinkKind::Meeting,
        include_str!("../../../data/domains/meeting.txt"),
    ),
    (
        LinkKind::Scheduler,
        include_str!("../../../data/domains/scheduler.txt"),
    ),
    (
        LinkKind::Messaging,
        include_str!("../../../data/domains/messaging.txt"),
    ),
    (
        LinkKind::Social,
        include_str!("../../../data/domains/social.txt"),
    ),
    (
        LinkKind::FileShare,
        include_str!("../../../data/domains/file_share.txt"),
    ),
    (
        LinkKind::Portfolio,
        include_str!("../../../data/domains/portfolio.txt"),
    ),
    (
        LinkKind::CodeHost,
        include_str!("../../../data/domains/code_host.txt"),
    ),
    (
        LinkKind::Docs,
        include_str!("../../../data/domains/docs.txt"),
    ),
];

/// Top-level domains that are also common file extensions.
pub(super) const FILE_EXT_TLDS: &[&str] = &[
    "md", "py", "rs", "sh", "pl", "ts", "cs", "cc", "so", "zip", "mov", "ps", "rb", "sc", "ml",
    "ai", "am", "in", "js", "go", "h", "nf", "st", "sb", "gd", "vc", "lu", "cfg", "ini", "rar",
];

/// First path segments of contact pages on any site.
pub(super) const CONTACT_PATHS: &[&str] = &[
    "contact",
    "contact-us",
    "contactus",
    "contact_us",
    "contact.html",
    "contact.php",
    "contact-us.html",
    "kontakt",
    "contacto",
    "contactenos",
    "contato",
    "fale-conosco",
    "contactez-nous",
    "nous-contacter",
    "contatti",
    "get-in-touch",
    "reach-us",
    "talk-to-us",
    "kontakty",
];

/// Paths of generic social/messaging pages that are not a profile.
pub(super) const NOT_PROFILE: &[&str] = &[
    "",
    "about",
    "help",
    "legal",
    "privacy",
    "terms",
    "policies",
    "login",
    "signup",
    "home",
    "explore",
    "search",
    "settings",
    "business",
    "developers",
    "features",
    "download",
    "blog",
    "jobs",
    "careers",
    "ads",
    "pages",
    "groups",
    "hashtag",
    "watch",
    "feed",
    "share",
    "sharer",
    "intent",
    "i",
    "p",
    "reel",
    "reels",
    "stories",
    "status",
    "posts",
    "events",
    "company",
    "school",
    "learning",
    "pulse",
    "tos",
];
