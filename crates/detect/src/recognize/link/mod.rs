//! URLs and bare domains, classified by what they point to.
//!
//! Candidates come from `linkify` (schemes optional) on the folded view. A
//! link with a scheme or `www.` is kept; a bare domain must end in a known
//! public suffix (`psl`) and, when its last label is also a common file
//! extension (`README.md`, `file.py`, `main.rs`) or written in capitals
//! (`ASP.NET`), must have a path or be on a known list. The kind comes from the
//! domain lists in `data/domains/` (longest matching `domain[/path]` entry
//! wins; operator entries from [`crate::DetectorBuilder::domain`] join them),
//! then from generic paths (`/contact`, `/careers/apply`...). Contact kinds
//! need more than a home page: a path or a tenant subdomain.
//!
//! Social profile links and messaging deep links are reported twice, on
//! purpose: as a `link` (kind `social`/`messaging`, normalized the URL) and as
//! a `handle` (normalized `platform:id`, e.g. `linkedin:sam-oduya-123`,
//! `telegram:samodev`), so the finding answers both "a contact link" and "an ID
//! on another platform".

use super::util::{char_before, data_lines, has_known_suffix, is_reserved_domain, push, Hit};
use super::Recognizer;
use crate::recognize::util::LazyRegex;
use crate::views::{View, Views};
use crate::{Category, Finding, LinkKind};
use linkify::LinkFinder;

mod lists;

use lists::{CONTACT_PATHS, FILE_EXT_TLDS, LISTS, NOT_PROFILE};

#[derive(Debug)]
struct Entry {
    host: String,
    path: String,
    kind: LinkKind,
}

#[derive(Debug)]
pub(crate) struct LinkRecognizer {
    finder: LinkFinder,
    /// A listed domain with its dot written out: "calendly dot com/sam".
    dot_words: LazyRegex,
    /// ` / path` right after a host on the collapsed view.
    spaced_path: LazyRegex,
    entries: Vec<Entry>,
}

/// A URL split into its parts (lowercased host, path without query).
struct Parts<'a> {
    has_scheme: bool,
    host: String,
    path: &'a str,
}

fn split_url(url: &str) -> Parts<'_> {
    let (has_scheme, rest) = match url.find("://") {
        Some(i) => (true, &url[i + 3..]),
        None => match url.strip_prefix("mailto:") {
            Some(r) => (true, r),
            None => (false, url),
        },
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    let host = host.trim_end_matches('.').to_lowercase();
    let path = &rest[end..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    Parts {
        has_scheme,
        host,
        path,
    }
}

fn host_matches(host: &str, entry: &str) -> bool {
    host == entry
        || (host.len() > entry.len()
            && host.ends_with(entry)
            && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
}

fn path_matches(path: &str, prefix: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    let p = path.trim_start_matches('/').to_lowercase();
    p.starts_with(prefix)
        && (p.len() == prefix.len()
            || prefix.ends_with(['@', '/'])
            || matches!(p.as_bytes()[prefix.len()], b'/' | b'?' | b'#' | b'-' | b'_'))
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

impl LinkRecognizer {
    pub(crate) fn new(extra: &[(LinkKind, String)]) -> LinkRecognizer {
        let mut entries = Vec::new();
        let mut add = |kind: LinkKind, line: &str| {
            let line = line
                .trim()
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let line = line.trim_start_matches("www.").to_lowercase();
            let (host, path) = match line.split_once('/') {
                Some((h, p)) => (h.to_string(), p.trim_end_matches('/').to_string()),
                None => (line.clone(), String::new()),
            };
            if !host.is_empty() {
                entries.push(Entry { host, path, kind });
            }
        };
        // Operator entries first: on equal length they win.
        for (kind, d) in extra {
            add(*kind, d);
        }
        for (kind, data) in LISTS {
            for line in data_lines(data) {
                add(kind, line);
            }
        }
        let mut finder = LinkFinder::new();
        finder
            .kinds(&[linkify::LinkKind::Url])
            .url_must_have_scheme(false);
        let dot_words = LazyRegex::new(
            r"(?i)(?-u:\b)(?P<h>[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*)\s*(?:\[\s*(?:dot|\.)\s*\]|\(\s*(?:dot|\.)\s*\)|\{\s*(?:dot|\.)\s*\}|\s+(?:dot|punto|ponto|point|punkt|period)\s+)\s*(?P<t>[a-z]{2,6})(?-u:\b)(?P<p>/[^\s]*)?",
        );
        LinkRecognizer {
            finder,
            spaced_path: LazyRegex::new(r"^[ \t]*/[ \t]*[A-Za-z0-9_.\-]+"),
            dot_words,
            entries,
        }
    }

    /// The most specific list entry for a host and path.
    fn lookup(&self, host: &str, path: &str) -> Option<&Entry> {
        let mut best: Option<&Entry> = None;
        for e in &self.entries {
            if host_matches(host, &e.host) && path_matches(path, &e.path) {
                let len = e.host.len() + e.path.len();
                if best.is_none_or(|b| b.host.len() + b.path.len() < len) {
                    best = Some(e);
                }
            }
        }
        best
    }

    /// Classifies a URL; `None` if it is not a link after all.
    pub(crate) fn classify(&self, url: &str) -> LinkKind {
        let parts = split_url(url);
        let host = parts.host.trim_start_matches("www.");
        let segs = segments(parts.path);
        let first = segs.first().map(|s| s.to_lowercase()).unwrap_or_default();
        if let Some(e) = self.lookup(host, parts.path) {
            if !e.kind.is_contact() {
                return e.kind;
            }
            // A contact kind needs more than the site's home page.
            let rest: Vec<&str> = {
                let skip = segments(&e.path).len();
                segs.iter().skip(skip).copied().collect()
            };
            let tenant = host.len() > e.host.len();
            let profile_ok = match e.kind {
                LinkKind::Social | LinkKind::Messaging => rest
                    .first()
                    .is_some_and(|s| !NOT_PROFILE.contains(&s.to_lowercase().as_str())),
                _ => !rest.is_empty(),
            };
            if profile_ok || tenant || !e.path.is_empty() && e.kind != LinkKind::Social {
                return e.kind;
            }
            return LinkKind::Other;
        }
        if CONTACT_PATHS.contains(&first.as_str()) {
            return LinkKind::ContactForm;
        }
        let lower = parts.path.to_lowercase();
        if lower.contains("/apply")
            || lower.contains("/application")
            || lower.contains("/careers/") && lower.contains("apply")
        {
            return LinkKind::Application;
        }
        LinkKind::Other
    }

    /// `platform:id` for a social profile or messaging deep link.
    fn handle_of(&self, url: &str) -> Option<String> {
        let parts = split_url(url);
        let host = parts.host.trim_start_matches("www.").to_string();
        let segs = segments(parts.path);
        let seg = |i: usize| segs.get(i).map(|s| s.trim_start_matches('@').to_string());
        let (platform, id) = match host.as_str() {
            "linkedin.com" | "lnkd.in" => match segs.first().copied() {
                Some("in" | "pub") => ("linkedin", seg(1)?),
                _ => return None,
            },
            "instagram.com" | "instagr.am" => ("instagram", seg(0)?),
            "facebook.com" | "fb.com" | "fb.me" | "m.facebook.com" => ("facebook", seg(0)?),
            "x.com" | "twitter.com" | "mobile.twitter.com" => ("x", seg(0)?),
            "tiktok.com" => ("tiktok", seg(0)?),
            "threads.net" => ("threads", seg(0)?),
            "snapchat.com" => match segs.first().copied() {
                Some("add") => ("snapchat", seg(1)?),
                _ => ("snapchat", seg(0)?),
            },
            "wa.me" => ("whatsapp", format!("+{}", seg(0)?)),
            "t.me" | "telegram.me" | "telegram.dog" => ("telegram", seg(0)?),
            "m.me" => ("messenger", seg(0)?),
            "discord.gg" => ("discord", seg(0)?),
            "discord.com" | "discordapp.com" => match segs.first().copied() {
                Some("invite" | "users") => ("discord", seg(1)?),
                _ => return None,
            },
            "signal.me" => ("signal", url.rsplit('/').next()?.to_string()),
            "line.me" => ("line", segs.last()?.trim_start_matches('~').to_string()),
            "kik.me" => ("kik", seg(0)?),
            "vk.com" => ("vk", seg(0)?),
            _ => return None,
        };
        let id = id.trim_end_matches(['.', ',']).to_string();
        if id.is_empty() || NOT_PROFILE.contains(&id.to_lowercase().as_str()) {
            return None;
        }
        if platform == "whatsapp" && !id[1..].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!("{platform}:{id}"))
    }
}

impl LinkRecognizer {
    /// Listed domains written with a dot word: "calendly dot com/sam",
    /// "t [dot] me/samodev". Only domains on a list count, so prose ("the dot
    /// product") never does.
    fn scan_dot_words(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let view = &views.folded;
        let text = view.text();
        for c in self.dot_words.captures_iter(text) {
            let (Some(m), Some(h), Some(t)) = (c.get(0), c.name("h"), c.name("t")) else {
                continue;
            };
            if matches!(char_before(text, m.start()), Some('@' | '.')) {
                continue;
            }
            let path = c.name("p").map_or("", |p| {
                p.as_str().trim_end_matches(['.', ',', ')', '!', '?'])
            });
            let host = format!("{}.{}", h.as_str(), t.as_str()).to_lowercase();
            if !has_known_suffix(&host)
                || self.lookup(host.trim_start_matches("www."), path).is_none()
            {
                continue;
            }
            let url = format!("{host}{path}");
            let kind = self.classify(&url);
            if kind == LinkKind::Other {
                continue;
            }
            let end = c.name("p").map_or(t.end(), |p| p.start() + path.len());
            if matches!(kind, LinkKind::Social | LinkKind::Messaging) {
                if let Some(h) = self.handle_of(&url) {
                    push(
                        views.original,
                        view,
                        m.start(),
                        end,
                        Hit {
                            category: Category::Handle,
                            kind: Some(kind),
                            normalized: Some(h),
                            confidence: 0.85,
                            rule: "handle.profile_link",
                        },
                        out,
                    );
                }
            }
            push(
                views.original,
                view,
                m.start(),
                end,
                Hit {
                    category: Category::Link,
                    kind: Some(kind),
                    normalized: Some(format!("https://{url}")),
                    confidence: 0.85,
                    rule: "link.dot_words",
                },
                out,
            );
        }
    }
}

impl Recognizer for LinkRecognizer {
    fn warm(&self) {
        self.dot_words.compile();
        self.spaced_path.compile();
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        self.scan_dot_words(views, out);
        self.scan_view(views, &views.folded, false, out);
        if views.collapsed.text() != views.folded.text() {
            self.scan_view(views, &views.collapsed, true, out);
        }
    }
}

impl LinkRecognizer {
    /// Links on one view. On the collapsed view ("t . m e / x" -> "t.me / x")
    /// a path written with spaces around `/` is joined, and only contact kinds
    /// are reported (the folded view has the rest).
    fn scan_view(&self, views: &Views<'_>, view: &View, collapsed: bool, out: &mut Vec<Finding>) {
        let text = view.text();
        if !text.contains(['.', ':']) {
            return;
        }
        for l in self.finder.links(text) {
            let (s, mut e) = (l.start(), l.end());
            let joined;
            let l_str = if collapsed && !l.as_str().contains('/') {
                match self.spaced_path.find(&text[e..]) {
                    Some(p) => {
                        joined = format!(
                            "{}/{}",
                            l.as_str(),
                            p.as_str().trim_start_matches([' ', '/']).trim_start()
                        );
                        e += p.end();
                        joined.as_str()
                    }
                    None => l.as_str(),
                }
            } else {
                l.as_str()
            };
            // Paths and IDs are case-sensitive (invite codes): read the URL
            // from the original when it is plain ASCII there.
            let url = view
                .to_original(s, e)
                .and_then(|(os, oe)| views.original.get(os..oe))
                .filter(|o| o.is_ascii() && o.eq_ignore_ascii_case(l_str))
                .unwrap_or(l_str);
            if matches!(char_before(text, s), Some('@' | '.' | '/' | '_' | '-')) {
                continue; // the domain of an email, or part of a path
            }
            let parts = split_url(url);
            let host = parts.host.as_str();
            let www = host.starts_with("www.");
            if host.is_empty() || is_reserved_domain(host) {
                continue;
            }
            let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !parts.has_scheme {
                if numeric || !has_known_suffix(host) {
                    continue;
                }
                let listed = self.lookup(host.trim_start_matches("www."), parts.path);
                let has_path = segments(parts.path).iter().any(|s| !s.is_empty());
                let tld = host.rsplit('.').next().unwrap_or("");
                // The TLD as written in the original (capitals mean a product name).
                let orig_caps = view
                    .to_original(s, e)
                    .and_then(|(os, oe)| views.original.get(os..oe))
                    .map(|o| {
                        let h = o.split('/').next().unwrap_or(o);
                        h.rsplit('.')
                            .next()
                            .is_some_and(|t| t.chars().any(char::is_uppercase))
                    })
                    .unwrap_or(false);
                if listed.is_none()
                    && !www
                    && !has_path
                    && (FILE_EXT_TLDS.contains(&tld) || orig_caps)
                {
                    continue;
                }
                if url.split('/').next().is_some_and(|h| h.contains('@')) {
                    continue; // user@host: an email, not a link
                }
                if listed.is_none() && !www && !has_path && announces_id(text, s) {
                    continue; // "my Skype id is samo.dev": a handle, not a site
                }
            }
            let kind = self.classify(url);
            if collapsed && !kind.is_contact() {
                continue;
            }
            let normalized = if parts.has_scheme {
                url.to_string()
            } else {
                format!("https://{url}")
            };
            let confidence = if parts.has_scheme || www {
                0.95
            } else if kind != LinkKind::Other {
                0.9
            } else {
                0.7
            };
            if matches!(kind, LinkKind::Social | LinkKind::Messaging) {
                if let Some(h) = self.handle_of(url) {
                    push(
                        views.original,
                        view,
                        s,
                        e,
                        Hit {
                            category: Category::Handle,
                            kind: Some(kind),
                            normalized: Some(h),
                            confidence: 0.9,
                            rule: "handle.profile_link",
                        },
                        out,
                    );
                }
            }
            push(
                views.original,
                view,
                s,
                e,
                Hit {
                    category: Category::Link,
                    kind: Some(kind),
                    normalized: Some(normalized),
                    confidence,
                    rule: if parts.has_scheme {
                        "link.url"
                    } else {
                        "link.domain"
                    },
                },
                out,
            );
        }
    }
}

/// Whether the words before `at` announce an ID ("my id is ", "username: "),
/// so a bare name with a dot that follows is a handle, not a site.
fn announces_id(text: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(32);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = text[from..at].to_lowercase();
    let mut b = before.trim_end().trim_end_matches('@').trim_end();
    for sep in [
        ":", "=", "-", "—", " is", " es", " é", " est", " ist", " это",
    ] {
        if let Some(r) = b.strip_suffix(sep) {
            b = r.trim_end();
            break;
        }
    }
    [
        " id",
        " i.d.",
        "username",
        "user name",
        "handle",
        "nick",
        "nickname",
        "login",
        "user id",
        "gamertag",
        "me as",
        "us as",
        "me under",
    ]
    .iter()
    .any(|w| b.ends_with(w) || b == w.trim_start())
}

#[cfg(test)]
mod tests;
