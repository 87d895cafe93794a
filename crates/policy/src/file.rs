//! Reading the policy file: TOML, with every problem reported at its line.
//!
//! The file is parsed into `toml`'s spanned document tree and walked by hand,
//! so that one pass collects *every* problem (syntax, unknown keys, wrong
//! types, bad names, out-of-range values...) each with its line and column.

use crate::context::Surface;
use crate::model::{
    Action, Policy, Target, TierActions, PLACEHOLDERS, RECIPIENT_KEYS, SENDER_KEYS,
};
use parley_detect::{Category, LinkKind};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

/// Every problem found in a policy file, in file order. Displays as one
/// `line N, column M: reason` per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFileError {
    /// The problems, ordered by position.
    pub problems: Vec<Problem>,
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyFileError {}

/// ISO 3166-1 alpha-2 codes.
const REGIONS: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Languages the detector understands.
const LANGUAGES: &[&str] = &["en", "es", "pt", "fr", "de", "ru"];

const SYNTAX: &str = "TOML syntax: ";

type Val<'i> = Spanned<DeValue<'i>>;

struct Reader<'s> {
    src: &'s str,
    problems: Vec<(usize, String)>,
}

impl<'s> Reader<'s> {
    fn err(&mut self, span: Range<usize>, reason: impl Into<String>) {
        self.problems.push((span.start, reason.into()));
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let mut off = offset;
        while off > 0 && !self.src.is_char_boundary(off) {
            off -= 1;
        }
        let before = &self.src[..off];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    fn finish(self) -> Result<(), PolicyFileError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let mut problems: Vec<(usize, Problem)> = self
            .problems
            .iter()
            .map(|(off, reason)| {
                let (line, column) = self.position(*off);
                (
                    *off,
                    Problem {
                        line,
                        column,
                        reason: reason.clone(),
                    },
                )
            })
            .collect();
        // On a line with a syntax error, the recovered value is a guess:
        // report the syntax error alone.
        let syntax_lines: Vec<usize> = problems
            .iter()
            .filter(|(_, p)| p.reason.starts_with(SYNTAX))
            .map(|(_, p)| p.line)
            .collect();
        problems.retain(|(_, p)| p.reason.starts_with(SYNTAX) || !syntax_lines.contains(&p.line));
        problems.sort_by_key(|(off, _)| *off);
        problems.dedup_by(|a, b| a.1 == b.1);
        Err(PolicyFileError {
            problems: problems.into_iter().map(|(_, p)| p).collect(),
        })
    }

    /// Reports keys of `table` not in `allowed`.
    fn known_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], section: &str) {
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.err(
                    k.span(),
                    format!(
                        "unknown key {:?} in {section} (expected one of: {})",
                        k.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn table<'a, 'i>(&mut self, v: &'a Val<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.err(
                    v.span(),
                    format!("{what} must be a table, not a {}", other.type_str()),
                );
                None
            }
        }
    }

    fn string<'a>(&mut self, v: &'a Val<'_>, what: &str) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.err(
                    v.span(),
                    format!("{what} must be a string, not a {}", other.type_str()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, v: &Val<'_>, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.err(
                    v.span(),
                    format!("{what} must be true or false, not a {}", other.type_str()),
                );
                None
            }
        }
    }

    fn number(&mut self, v: &Val<'_>, what: &str) -> Option<f64> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            other => {
                self.err(
                    v.span(),
                    format!("{what} must be a number, not a {}", other.type_str()),
                );
                return None;
            }
        };
        if parsed.is_none() || parsed.is_some_and(|n| !n.is_finite()) {
            self.err(v.span(), format!("{what} is not a valid number"));
            return None;
        }
        parsed
    }

    fn unsigned(&mut self, v: &Val<'_>, what: &str) -> Option<u32> {
        match v.get_ref() {
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(n) if (0..=i64::from(u32::MAX)).contains(&n) => Some(n as u32),
                    _ => {
                        self.err(
                            v.span(),
                            format!("{what} must be a whole number from 0 to {}", u32::MAX),
                        );
                        None
                    }
                }
            }
            other => {
                self.err(
                    v.span(),
                    format!("{what} must be a whole number, not a {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A list of strings, each with its span; reports duplicates.
    fn strings(&mut self, v: &Val<'_>, what: &str) -> Vec<(String, Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.err(
                v.span(),
                format!(
                    "{what} must be a list of strings, not a {}",
                    v.get_ref().type_str()
                ),
            );
            return Vec::new();
        };
        let mut out: Vec<(String, Range<usize>)> = Vec::new();
        for item in items.iter() {
            if let Some(s) = self.string(item, &format!("each entry of {what}")) {
                if out.iter().any(|(o, _)| o == s) {
                    self.err(item.span(), format!("duplicate entry {s:?} in {what}"));
                } else {
                    out.push((s.to_string(), item.span()));
                }
            }
        }
        out
    }

    fn action(&mut self, v: &Val<'_>, what: &str) -> Option<Action> {
        let s = self.string(v, what)?;
        let a = Action::parse(s);
        if a.is_none() {
            self.err(
                v.span(),
                format!(
                    "unknown action {s:?} for {what} (expected one of: allow, allow_with_notice, mask, block, hold_for_review)"
                ),
            );
        }
        a
    }

    fn category(&mut self, s: &str, span: Range<usize>, what: &str) -> Option<Category> {
        let c = Category::parse(s);
        if c.is_none() {
            self.err(
                span,
                format!(
                    "unknown category {s:?} in {what} (expected one of: phone, email, address, link, handle, request)"
                ),
            );
        }
        c
    }

    fn link_kind(&mut self, s: &str, span: Range<usize>, what: &str) -> Option<LinkKind> {
        let k = LinkKind::parse(s);
        if k.is_none() {
            let all: Vec<&str> = LinkKind::ALL.iter().map(|k| k.as_str()).collect();
            self.err(
                span,
                format!(
                    "unknown link kind {s:?} in {what} (expected one of: {})",
                    all.join(", ")
                ),
            );
        }
        k
    }

    /// A text with placeholders: reports unknown placeholders and unclosed braces.
    fn text(&mut self, v: &Val<'_>, what: &str) -> Option<String> {
        let s = self.string(v, what)?.to_string();
        let mut rest = s.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    if !PLACEHOLDERS.contains(&name) {
                        self.err(
                            v.span(),
                            format!(
                                "unknown placeholder {{{name}}} in {what} (known: {})",
                                PLACEHOLDERS
                                    .iter()
                                    .map(|p| format!("{{{p}}}"))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            ),
                        );
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    self.err(v.span(), format!("unclosed {{ in {what}"));
                    break;
                }
            }
        }
        Some(s)
    }
}

/// Whether `d` is a plausible bare domain name (`files.example.com`).
fn valid_domain(d: &str) -> bool {
    if d.len() > 253 || !d.contains('.') {
        return false;
    }
    d.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// Applies the policy file `src` on top of `base`.
pub(crate) fn apply(base: Policy, src: &str) -> Result<Policy, PolicyFileError> {
    let mut r = Reader {
        src,
        problems: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(src);
    for e in &syntax {
        let span = e.span().unwrap_or(0..0);
        r.err(span, format!("{SYNTAX}{}", e.message().trim()));
    }
    let mut p = base;
    read_root(&mut r, root.get_ref(), &mut p);
    r.finish().map(|()| p)
}

fn read_root(r: &mut Reader<'_>, root: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(
        root,
        &[
            "version",
            "plans",
            "tiers",
            "detector",
            "actions",
            "links",
            "exceptions",
            "escalation",
            "texts",
        ],
        "the policy file",
    );
    if let Some(v) = root.get("version") {
        if let Some(n) = r.unsigned(v, "version") {
            if n != 1 {
                r.err(v.span(), format!("unsupported version {n} (expected 1)"));
            }
        }
    }
    if let Some(t) = root.get("plans").and_then(|v| r.table(v, "[plans]")) {
        read_plans(r, t, p);
    }
    if let Some(t) = root.get("tiers").and_then(|v| r.table(v, "[tiers]")) {
        read_tiers(r, t, p);
    }
    if let Some(t) = root.get("detector").and_then(|v| r.table(v, "[detector]")) {
        read_detector(r, t, p);
    }
    if let Some(t) = root.get("actions").and_then(|v| r.table(v, "[actions]")) {
        read_actions(r, t, p);
    }
    if let Some(t) = root.get("links").and_then(|v| r.table(v, "[links]")) {
        read_links(r, t, p);
    }
    if let Some(t) = root
        .get("exceptions")
        .and_then(|v| r.table(v, "[exceptions]"))
    {
        read_exceptions(r, t, p);
    }
    if let Some(t) = root
        .get("escalation")
        .and_then(|v| r.table(v, "[escalation]"))
    {
        read_escalation(r, t, p);
    }
    if let Some(t) = root.get("texts").and_then(|v| r.table(v, "[texts]")) {
        read_texts(r, t, p);
    }
}

fn read_plans(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(t, &["known", "exempt"], "[plans]");
    if let Some(v) = t.get("known") {
        let known = r.strings(v, "plans.known");
        for (name, span) in &known {
            if name.trim().is_empty() || name.trim() != name || name.to_ascii_lowercase() != *name {
                r.err(
                    span.clone(),
                    format!("plan name {name:?} must be non-empty, lower-case, without surrounding spaces"),
                );
            }
        }
        p.plans = known.into_iter().map(|(s, _)| s).collect();
    }
    if let Some(v) = t.get("exempt") {
        let exempt = r.strings(v, "plans.exempt");
        for (name, span) in &exempt {
            if !p.plans.is_empty() && !p.plans.contains(name) {
                r.err(
                    span.clone(),
                    format!(
                        "unknown plan {name:?} in plans.exempt (plans.known lists: {}; add it there if it exists)",
                        p.plans.join(", ")
                    ),
                );
            }
        }
        p.exempt_plans = exempt.into_iter().map(|(s, _)| s).collect();
    } else if !p.plans.is_empty() {
        // A new `known` list without `exempt`: keep only the default exempt
        // plans that still exist.
        let plans = p.plans.clone();
        p.exempt_plans.retain(|e| plans.contains(e));
    }
}

fn read_tiers(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(t, &["high", "medium"], "[tiers]");
    let mut get = |key: &str, current: f32| -> f32 {
        let Some(v) = t.get(key) else {
            return current;
        };
        match r.number(v, &format!("tiers.{key}")) {
            Some(n) if (0.0..=1.0).contains(&n) => n as f32,
            Some(n) => {
                r.err(
                    v.span(),
                    format!("tiers.{key} = {n} is out of range (a confidence is between 0 and 1)"),
                );
                current
            }
            None => current,
        }
    };
    let high = get("high", p.tiers.high);
    let medium = get("medium", p.tiers.medium);
    if medium > high {
        let span = t
            .get("medium")
            .or_else(|| t.get("high"))
            .map_or(0..0, |v| v.span());
        r.err(
            span,
            format!("tiers are not ordered: medium ({medium}) must not be above high ({high})"),
        );
    }
    p.tiers.high = high;
    p.tiers.medium = medium;
}

fn read_detector(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(t, &["regions", "languages"], "[detector]");
    if let Some(v) = t.get("regions") {
        let list = r.strings(v, "detector.regions");
        let mut out = Vec::new();
        for (s, span) in list {
            let up = s.to_ascii_uppercase();
            if up.len() == 2 && REGIONS.split(' ').any(|c| c == up) {
                if out.contains(&up) {
                    r.err(span, format!("duplicate region {s:?} in detector.regions"));
                } else {
                    out.push(up);
                }
            } else {
                r.err(
                    span,
                    format!(
                        "unknown region {s:?} (expected an ISO 3166-1 alpha-2 code such as \"US\")"
                    ),
                );
            }
        }
        p.regions = out;
    }
    if let Some(v) = t.get("languages") {
        let list = r.strings(v, "detector.languages");
        let mut out = Vec::new();
        for (s, span) in list {
            let low = s.to_ascii_lowercase();
            if LANGUAGES.contains(&low.as_str()) {
                if out.contains(&low) {
                    r.err(
                        span,
                        format!("duplicate language {s:?} in detector.languages"),
                    );
                } else {
                    out.push(low);
                }
            } else {
                r.err(
                    span,
                    format!(
                        "unsupported language {s:?} (supported: {})",
                        LANGUAGES.join(", ")
                    ),
                );
            }
        }
        p.languages = out;
    }
}

fn read_actions(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    for (skey, sval) in t.iter() {
        let sname = skey.get_ref().as_ref();
        let surface = if sname == "*" {
            None
        } else {
            match Surface::parse(sname) {
                Some(s) => Some(s),
                None => {
                    r.err(
                        skey.span(),
                        format!(
                            "unknown surface {sname:?} in [actions] (expected \"*\" or one of: profile, job_post, proposal, invite, message, attachment)"
                        ),
                    );
                    continue;
                }
            }
        };
        let Some(entries) = r.table(sval, &format!("[actions.{sname}]")) else {
            continue;
        };
        for (ckey, cval) in entries.iter() {
            let cname = ckey.get_ref().as_ref();
            let what = format!("actions.{sname}.{cname}");
            let target = if cname == "*" {
                Some(Target::Any)
            } else if let Some(kind) = cname.strip_prefix("link.") {
                r.link_kind(kind, ckey.span(), &what).map(Target::Link)
            } else {
                r.category(cname, ckey.span(), &format!("[actions.{sname}]"))
                    .map(Target::Category)
            };
            let actions = match cval.get_ref() {
                DeValue::String(_) => r.action(cval, &what).map(|a| TierActions {
                    high: Some(a),
                    medium: Some(a),
                    low: Some(a),
                }),
                DeValue::Table(tiers) => {
                    r.known_keys(tiers, &["high", "medium", "low"], &what);
                    let mut ta = TierActions::default();
                    for (tier, slot) in [
                        ("high", &mut ta.high),
                        ("medium", &mut ta.medium),
                        ("low", &mut ta.low),
                    ] {
                        if let Some(v) = tiers.get(tier) {
                            *slot = r.action(v, &format!("{what}.{tier}"));
                        }
                    }
                    Some(ta)
                }
                other => {
                    r.err(
                        cval.span(),
                        format!(
                            "{what} must be an action or a table {{ high = ..., medium = ..., low = ... }}, not a {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            };
            if let (Some(target), Some(actions)) = (target, actions) {
                p.actions.set(surface, target, actions);
            }
        }
    }
}

fn read_domains(
    r: &mut Reader<'_>,
    v: &Val<'_>,
    section: &str,
) -> Option<BTreeMap<LinkKind, Vec<String>>> {
    let t = r.table(v, section)?;
    let mut out = BTreeMap::new();
    for (k, list) in t.iter() {
        let Some(kind) = r.link_kind(k.get_ref(), k.span(), section) else {
            continue;
        };
        let mut domains = Vec::new();
        for (d, span) in r.strings(list, &format!("{section}.{kind}")) {
            if valid_domain(&d) {
                domains.push(d);
            } else {
                r.err(
                    span,
                    format!(
                        "bad domain {d:?} in {section}.{kind} (expected a lower-case host name such as \"files.example.com\", without scheme or path)"
                    ),
                );
            }
        }
        out.insert(kind, domains);
    }
    Some(out)
}

fn read_links(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(
        t,
        &[
            "allowed_kinds",
            "portfolio_in_proposal",
            "portfolio_elsewhere",
            "domains",
            "blocked_domains",
        ],
        "[links]",
    );
    if let Some(v) = t.get("allowed_kinds") {
        let mut kinds = Vec::new();
        for (s, span) in r.strings(v, "links.allowed_kinds") {
            if let Some(k) = r.link_kind(&s, span.clone(), "links.allowed_kinds") {
                if k == LinkKind::Portfolio {
                    r.err(span, "portfolio links have their own settings (links.portfolio_in_proposal, links.portfolio_elsewhere); remove \"portfolio\" from links.allowed_kinds");
                } else {
                    kinds.push(k);
                }
            }
        }
        p.links.allowed_kinds = kinds;
    }
    if let Some(a) = t
        .get("portfolio_in_proposal")
        .and_then(|v| r.action(v, "links.portfolio_in_proposal"))
    {
        p.links.portfolio_in_proposal = a;
    }
    if let Some(a) = t
        .get("portfolio_elsewhere")
        .and_then(|v| r.action(v, "links.portfolio_elsewhere"))
    {
        p.links.portfolio_elsewhere = a;
    }
    if let Some(m) = t
        .get("domains")
        .and_then(|v| read_domains(r, v, "links.domains"))
    {
        p.links.domains.extend(m);
    }
    if let Some(m) = t
        .get("blocked_domains")
        .and_then(|v| read_domains(r, v, "links.blocked_domains"))
    {
        p.links.blocked_domains.extend(m);
    }
    // A domain both classified as a kind and blocked is contradictory when the
    // kind is allowed.
    if let Some(blocked) = t.get("blocked_domains") {
        for (kind, domains) in &p.links.domains {
            if !p.links.allowed_kinds.contains(kind) {
                continue;
            }
            for d in domains {
                if p.links.blocked_domains.values().flatten().any(|b| b == d) {
                    r.err(
                        blocked.span(),
                        format!("domain {d:?} is both in links.domains.{kind} (an allowed kind) and in links.blocked_domains"),
                    );
                }
            }
        }
    }
}

fn read_exceptions(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(t, &["scoping_access", "legal_document"], "[exceptions]");
    if let Some(v) = t.get("scoping_access") {
        let mut cats = Vec::new();
        for (s, span) in r.strings(v, "exceptions.scoping_access") {
            if let Some(c) = r.category(&s, span, "exceptions.scoping_access") {
                cats.push(c);
            }
        }
        p.exceptions.scoping_access = cats;
    }
    if let Some(b) = t
        .get("legal_document")
        .and_then(|v| r.boolean(v, "exceptions.legal_document"))
    {
        p.exceptions.legal_document = b;
    }
}

fn read_escalation(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    const KEYS: &[&str] = &[
        "clean_period_days",
        "weights",
        "notice",
        "block",
        "restrict",
        "suspend",
        "restriction_hours",
        "surfaces",
    ];
    r.known_keys(t, KEYS, "[escalation]");
    let e = &mut p.escalation;
    for (key, slot) in [
        ("clean_period_days", &mut e.clean_period_days),
        ("notice", &mut e.notice),
        ("block", &mut e.block),
        ("restrict", &mut e.restrict),
        ("suspend", &mut e.suspend),
        ("restriction_hours", &mut e.restriction_hours),
    ] {
        if let Some(n) = t
            .get(key)
            .and_then(|v| r.unsigned(v, &format!("escalation.{key}")))
        {
            *slot = n;
        }
    }
    if let Some(v) = t.get("weights") {
        if let Some(w) = r.table(v, "escalation.weights") {
            for (k, wv) in w.iter() {
                match Action::parse(k.get_ref()) {
                    Some(a) if a.is_violation() => {
                        if let Some(n) = r.unsigned(wv, &format!("escalation.weights.{a}")) {
                            e.weights.insert(a, n);
                        }
                    }
                    Some(a) => r.err(
                        k.span(),
                        format!("escalation.weights.{a}: only violating actions (mask, block, hold_for_review) give strikes"),
                    ),
                    None => r.err(
                        k.span(),
                        format!("unknown action {:?} in escalation.weights (expected mask, block or hold_for_review)", k.get_ref()),
                    ),
                }
            }
        }
    }
    if let Some(v) = t.get("surfaces") {
        let mut surfaces = Vec::new();
        for (name, span) in r.strings(v, "escalation.surfaces") {
            match Surface::parse(&name) {
                Some(s) => surfaces.push(s),
                None => r.err(
                    span,
                    format!(
                        "unknown surface {name:?} in escalation.surfaces (expected one of: profile, job_post, proposal, invite, message, attachment)"
                    ),
                ),
            }
        }
        e.surfaces = surfaces;
    }
    // Thresholds must rise: notice <= block <= restrict <= suspend (0 = off).
    let levels = [
        ("notice", e.notice),
        ("block", e.block),
        ("restrict", e.restrict),
        ("suspend", e.suspend),
    ];
    let mut prev: Option<(&str, u32)> = None;
    for (name, n) in levels {
        if n == 0 {
            continue;
        }
        if let Some((pname, pn)) = prev {
            if n < pn {
                let span = t.get(name).map_or(0..0, |v| v.span());
                r.err(
                    span,
                    format!("escalation thresholds are not ordered: {name} ({n}) is below {pname} ({pn})"),
                );
            }
        }
        prev = Some((name, n));
    }
}

fn read_category_texts(
    r: &mut Reader<'_>,
    v: &Val<'_>,
    section: &str,
    out: &mut BTreeMap<Category, String>,
) {
    let Some(t) = r.table(v, section) else {
        return;
    };
    for (k, tv) in t.iter() {
        if let Some(c) = r.category(k.get_ref(), k.span(), section) {
            if let Some(s) = r.text(tv, &format!("{section}.{c}")) {
                out.insert(c, s);
            }
        }
    }
}

fn read_keyed_texts(
    r: &mut Reader<'_>,
    v: &Val<'_>,
    section: &str,
    keys: &[&str],
    out: &mut BTreeMap<String, String>,
) {
    let Some(t) = r.table(v, section) else {
        return;
    };
    r.known_keys(t, keys, section);
    for (k, tv) in t.iter() {
        if keys.contains(&k.get_ref().as_ref()) {
            if let Some(s) = r.text(tv, &format!("{section}.{}", k.get_ref())) {
                out.insert(k.get_ref().to_string(), s);
            }
        }
    }
}

fn read_texts(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
    r.known_keys(
        t,
        &["labels", "rules", "masks", "sender", "recipient"],
        "[texts]",
    );
    let texts = &mut p.texts;
    if let Some(v) = t.get("labels") {
        read_category_texts(r, v, "texts.labels", &mut texts.labels);
    }
    if let Some(v) = t.get("rules") {
        read_category_texts(r, v, "texts.rules", &mut texts.rules);
    }
    if let Some(v) = t.get("masks") {
        read_category_texts(r, v, "texts.masks", &mut texts.masks);
    }
    if let Some(v) = t.get("sender") {
        read_keyed_texts(r, v, "texts.sender", SENDER_KEYS, &mut texts.sender);
    }
    if let Some(v) = t.get("recipient") {
        read_keyed_texts(
            r,
            v,
            "texts.recipient",
            RECIPIENT_KEYS,
            &mut texts.recipient,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert!(valid_domain("files.example-corp.com"));
        assert!(!valid_domain("https://x.com"));
        assert!(!valid_domain("localhost"));
        assert!(!valid_domain("Files.com"));
        assert!(!valid_domain("a..com"));
    }

    #[test]
    fn regions_are_sorted_pairs() {
        let v: Vec<&str> = REGIONS.split(' ').collect();
        assert!(v.iter().all(|c| c.len() == 2));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert!(v.len() > 240);
    }
}
