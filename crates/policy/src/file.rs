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

mod sections;
use sections::*;

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
