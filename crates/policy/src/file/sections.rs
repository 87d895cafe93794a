//! One reader per section of the policy file (`[plans]`, `[tiers]`, `[detector]`, `[actions]`,
//! `[links]`, `[exceptions]`, `[escalation]`, `[texts]`), each collecting its problems.

use super::*;

pub(super) fn read_plans(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_tiers(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_detector(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_actions(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_domains(
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

pub(super) fn read_links(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_exceptions(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_escalation(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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

pub(super) fn read_category_texts(
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

pub(super) fn read_keyed_texts(
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

pub(super) fn read_texts(r: &mut Reader<'_>, t: &DeTable<'_>, p: &mut Policy) {
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
