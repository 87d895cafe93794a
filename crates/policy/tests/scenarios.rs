//! The crate's one integration-test binary.
//!
//! - `scenarios.jsonl`: the same texts under each surface, stage, plan and
//!   purpose, with the expected decision, run through the REAL detector built
//!   from `Policy::detector_builder()`.
//! - `bad_policies.jsonl`: bad policy files, each with the expected error lines.
//! - Round trips of the policy file.
//! - Property tests of `Policy::decide`.

use parley_detect::{Category, Finding, LinkKind};
use parley_policy::{
    Action, Context, Decision, History, Plan, Policy, Purpose, Stage, Strike, Surface,
    DEFAULT_POLICY_TOML,
};
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Scenario {
    id: String,
    text: String,
    /// Context key → expected action(s), `a|b` for alternatives, `violation`
    /// for any of mask, block and hold_for_review. A key is
    /// `SURFACE [STAGE] [@PLAN] [+PURPOSE]`; defaults: pre_contract, plan
    /// `basic`, no purpose.
    expect: BTreeMap<String, String>,
    /// Context key → number of recorded exceptions.
    #[serde(default)]
    recorded: BTreeMap<String, usize>,
    /// Context key → whether the decision gives the sender a strike.
    #[serde(default)]
    strike: BTreeMap<String, bool>,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

fn context_of(key: &str) -> Result<Context, String> {
    let mut words = key.split_whitespace();
    let surface: Surface = words
        .next()
        .ok_or("empty key")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut ctx = Context::new(surface).plan("basic");
    for w in words {
        if let Some(plan) = w.strip_prefix('@') {
            ctx.plan = Plan::new(plan);
        } else if let Some(purpose) = w.strip_prefix('+') {
            ctx.purpose = Some(purpose.parse().map_err(|e| format!("{e}"))?);
        } else {
            ctx.stage = w.parse().map_err(|e| format!("{e}"))?;
        }
    }
    Ok(ctx)
}

fn all_contexts() -> Vec<Context> {
    let mut out = Vec::new();
    let purposes = [
        None,
        Some(Purpose::ScopingAccess {
            system: "GitHub".into(),
        }),
        Some(Purpose::LegalDocument),
    ];
    for &surface in Surface::ALL {
        for &stage in Stage::ALL {
            for plan in ["basic", "plus", "business", "enterprise", "other"] {
                for purpose in &purposes {
                    let mut ctx = Context::new(surface).stage(stage).plan(plan);
                    ctx.purpose = purpose.clone();
                    out.push(ctx);
                }
            }
        }
    }
    out
}

/// Invariants every decision keeps.
fn check_invariants(policy: &Policy, text: &str, d: &Decision, ctx: &Context) -> Vec<String> {
    let mut errs = Vec::new();
    if d.violation != !matches!(d.action, Action::Allow | Action::AllowWithNotice) {
        errs.push(format!(
            "violation {} with action {}",
            d.violation, d.action
        ));
    }
    let exempt = ctx.effective_stage() != Stage::PreContract
        || (ctx.surface != Surface::Profile && policy.is_exempt_plan(ctx.plan.as_str()));
    if exempt
        && matches!(
            d.action,
            Action::Block | Action::HoldForReview | Action::Mask
        )
    {
        errs.push(format!("exempt context {ctx:?} gave {}", d.action));
    }
    if d.action == Action::Block && !d.reasons.iter().any(|r| r.action.is_violation()) {
        errs.push("block without a violating finding".into());
    }
    if d.action.is_violation() && d.explanation.is_empty() {
        errs.push("violation without explanation".into());
    }
    // The sender sees the words of every violating finding.
    for r in d.reasons.iter().filter(|r| r.action.is_violation()) {
        if !d.explanation.contains(&r.matched) {
            errs.push(format!("explanation does not show {:?}", r.matched));
        }
    }
    if (d.action == Action::Mask) != d.masked_text.is_some() {
        errs.push("masked_text present exactly when masking".into());
    }
    if let Some(m) = &d.masked_text {
        for r in d.reasons.iter().filter(|r| r.action >= Action::Mask) {
            if m.contains(&r.matched)
                && !policy.texts.masks.values().any(|v| v.contains(&r.matched))
            {
                errs.push(format!("masked text {m:?} still contains {:?}", r.matched));
            }
        }
    }
    // Strikes and escalation only on the surfaces the policy lists.
    if !policy.escalation.gives_strikes(ctx.surface)
        && (d.strike.is_some() || d.escalation.is_some())
    {
        errs.push(format!("strike or escalation on {}", ctx.surface));
    }
    if d.surface != ctx.surface {
        errs.push(format!("decision on {} for {}", d.surface, ctx.surface));
    }
    for r in &d.reasons {
        if text.get(r.start..r.end) != Some(r.matched.as_str()) {
            errs.push(format!("reason span {}..{} does not match", r.start, r.end));
        }
    }
    errs
}

#[test]
fn scenarios() {
    let policy = Policy::default();
    let detector = policy.detector_builder().build().expect("detector builds");
    let mut failures = Vec::new();
    let mut count = 0;
    for (n, line) in include_str!("scenarios.jsonl").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let sc: Scenario = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("scenarios.jsonl line {}: {e}", n + 1));
        let findings = detector.scan(&sc.text);
        for (key, expected) in &sc.expect {
            count += 1;
            let ctx = context_of(key).unwrap_or_else(|e| panic!("{}: key {key:?}: {e}", sc.id));
            let d = policy.decide(&sc.text, &findings, &ctx);
            let ok = expected.split('|').any(|a| match a.trim() {
                "violation" => d.violation,
                a => Action::parse(a) == Some(d.action),
            });
            if !ok {
                failures.push(format!(
                    "{} [{key}]: expected {expected}, got {} (findings: {:?})",
                    sc.id,
                    d.action,
                    findings
                        .iter()
                        .map(|f| format!("{}:{:?}@{:.2}", f.category, f.matched, f.confidence))
                        .collect::<Vec<_>>()
                ));
            }
            if let Some(&want) = sc.strike.get(key) {
                if d.strike.is_some() != want {
                    failures.push(format!(
                        "{} [{key}]: expected strike {want}, got {:?}",
                        sc.id, d.strike
                    ));
                }
            }
            if let Some(&n) = sc.recorded.get(key) {
                if d.recorded_exceptions.len() != n {
                    failures.push(format!(
                        "{} [{key}]: expected {n} recorded exceptions, got {}",
                        sc.id,
                        d.recorded_exceptions.len()
                    ));
                }
            }
        }
        for ctx in all_contexts() {
            let d = policy.decide(&sc.text, &findings, &ctx);
            for e in check_invariants(&policy, &sc.text, &d, &ctx) {
                failures.push(format!("{} {ctx:?}: {e}", sc.id));
            }
        }
    }
    assert!(count > 100, "only {count} scenario cases");
    assert!(
        failures.is_empty(),
        "{} scenario failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[derive(Deserialize)]
struct BadPolicy {
    note: String,
    file: String,
    /// (line, substring of the reason), in file order.
    errors: Vec<(usize, String)>,
}

#[test]
fn bad_policy_files_report_every_problem_with_its_line() {
    let mut failures = Vec::new();
    for line in include_str!("bad_policies.jsonl").lines() {
        if line.trim().is_empty() {
            continue;
        }
        let bad: BadPolicy = serde_json::from_str(line).expect("bad_policies.jsonl line");
        let err = match Policy::from_toml_str(&bad.file) {
            Ok(_) => {
                failures.push(format!("{}: accepted", bad.note));
                continue;
            }
            Err(e) => e,
        };
        let got: Vec<(usize, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.reason.as_str()))
            .collect();
        let matches = got.len() == bad.errors.len()
            && got
                .iter()
                .zip(&bad.errors)
                .all(|((gl, gr), (el, er))| gl == el && gr.contains(er.as_str()));
        if !matches {
            failures.push(format!(
                "{}: expected {:?}\n  got:\n{}",
                bad.note, bad.errors, err
            ));
        }
        // Display: one `line N, column M: reason` per problem.
        for (shown, p) in err.to_string().lines().zip(&err.problems) {
            let prefix = format!("line {}, column {}: ", p.line, p.column);
            if !shown.starts_with(&prefix) || p.column == 0 {
                failures.push(format!("{}: bad display {shown:?}", bad.note));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn policy_file_round_trips() {
    let default = Policy::default();
    assert_eq!(Policy::from_toml_str(DEFAULT_POLICY_TOML).unwrap(), default);
    let written = default.to_toml_string();
    assert_eq!(
        Policy::from_toml_str(&written).map_err(|e| e.to_string()),
        Ok(default.clone())
    );
    // A changed policy survives the round trip too, even from the skeleton of
    // an empty file.
    let changed = Policy::from_toml_str(
        "[plans]\nknown = [\"free\", \"pro\", \"corp\"]\nexempt = [\"corp\"]\n\
         [tiers]\nhigh = 0.9\nmedium = 0.4\n\
         [actions.message]\nphone = \"hold_for_review\"\n\"link.meeting\" = { low = \"allow_with_notice\" }\n\
         [links.domains]\nfile_share = [\"files.corp.example\"]\n\
         [links.blocked_domains]\nmessaging = [\"chat.example\"]\n\
         [escalation]\nsurfaces = [\"message\", \"proposal\"]\n\
         [texts.masks]\nphone = \"[téléphone masqué]\"\n",
    )
    .unwrap();
    assert_ne!(changed, default);
    let written = changed.to_toml_string();
    assert_eq!(
        Policy::from_toml_str(&written).map_err(|e| e.to_string()),
        Ok(changed)
    );
}

#[test]
fn detector_builder_takes_policy_options() {
    let p = Policy::from_toml_str(
        "[detector]\nregions = [\"de\"]\nlanguages = [\"de\"]\n[links.domains]\nfile_share = [\"files.corp.example\"]\n",
    )
    .unwrap();
    assert_eq!(p.regions, ["DE"]);
    assert!(p.detector_builder().build().is_ok());
}

// ---- property tests ----

fn arb_action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL.to_vec())
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(
            (
                prop::option::of(prop::sample::select(Surface::ALL.to_vec())),
                prop::sample::select(Category::ALL.to_vec()),
                arb_action(),
                arb_action(),
                arb_action(),
            ),
            0..8,
        ),
        arb_action(),
        arb_action(),
        prop::sample::subsequence(Surface::ALL.to_vec(), 0..=Surface::ALL.len()),
    )
        .prop_map(|(entries, pin, pelse, strike_surfaces)| {
            let mut p = Policy::default();
            p.escalation.surfaces = strike_surfaces;
            for (s, c, h, m, l) in entries {
                p.actions.set(
                    s,
                    parley_policy::Target::Category(c),
                    parley_policy::TierActions {
                        high: Some(h),
                        medium: Some(m),
                        low: Some(l),
                    },
                );
            }
            p.links.portfolio_in_proposal = pin;
            p.links.portfolio_elsewhere = pelse;
            p
        })
}

/// A text made of unique tokens, and findings over some of them.
fn arb_text_and_findings() -> impl Strategy<Value = (String, Vec<Finding>)> {
    prop::collection::vec(
        (
            "[a-zé]{1,6}",
            prop::option::of((
                prop::sample::select(Category::ALL.to_vec()),
                prop::sample::select(LinkKind::ALL.to_vec()),
                0.0f32..=1.0,
            )),
        ),
        0..8,
    )
    .prop_map(|tokens| {
        let mut text = String::new();
        let mut findings = Vec::new();
        for (i, (word, finding)) in tokens.into_iter().enumerate() {
            if !text.is_empty() {
                text.push(' ');
            }
            let token = format!("{word}{i}Q");
            let start = text.len();
            text.push_str(&token);
            if let Some((category, kind, confidence)) = finding {
                findings.push(Finding {
                    category,
                    kind: (category == Category::Link).then_some(kind),
                    start,
                    end: text.len(),
                    matched: token,
                    normalized: None,
                    confidence,
                    rule: "prop".into(),
                });
            }
        }
        (text, findings)
    })
}

fn arb_context() -> impl Strategy<Value = Context> {
    (
        prop::sample::select(Surface::ALL.to_vec()),
        prop::sample::select(Stage::ALL.to_vec()),
        prop::sample::select(vec!["basic", "plus", "business", "enterprise", "x"]),
        prop::option::of(prop_oneof![
            Just(Purpose::LegalDocument),
            "[A-Za-z]{1,8}".prop_map(|system| Purpose::ScopingAccess { system }),
        ]),
        prop::collection::vec((0i64..100 * 86_400, 0u32..4), 0..6),
        0i64..100 * 86_400,
    )
        .prop_map(|(surface, stage, plan, purpose, strikes, now)| {
            let mut ctx = Context::new(surface).stage(stage).plan(plan).now(now);
            ctx.purpose = purpose;
            ctx.history = History {
                strikes: strikes
                    .into_iter()
                    .map(|(at, weight)| Strike {
                        at,
                        weight,
                        categories: vec![],
                    })
                    .collect(),
                restricted_until: None,
            };
            ctx
        })
}

proptest! {
    #[test]
    fn decisions_keep_their_invariants(
        policy in arb_policy(),
        (text, findings) in arb_text_and_findings(),
        ctx in arb_context(),
    ) {
        let d = policy.decide(&text, &findings, &ctx);
        let errs = check_invariants(&policy, &text, &d, &ctx);
        prop_assert!(errs.is_empty(), "{:?}\n{:?}", errs, d);
        // Pure: the same inputs give the same decision.
        prop_assert_eq!(&policy.decide(&text, &findings, &ctx), &d);
        // Masked text hides every masked span (tokens are unique).
        if let Some(m) = &d.masked_text {
            for r in d.reasons.iter().filter(|r| r.action >= Action::Mask) {
                prop_assert!(!m.contains(&r.matched), "{} in {}", r.matched, m);
            }
        }
        // A strike exactly for violations with a weight.
        if d.strike.is_some() {
            prop_assert!(d.violation);
        }
        if !d.violation {
            prop_assert!(d.strike.is_none() && d.escalation.is_none());
        }
    }

    #[test]
    fn contracts_lift_the_rule_in_conversations(
        policy in arb_policy(),
        (text, findings) in arb_text_and_findings(),
        surface in prop::sample::select(vec![Surface::Message, Surface::Proposal, Surface::Invite, Surface::Attachment]),
        stage in prop::sample::select(vec![Stage::ActiveContract, Stage::EndedContract]),
    ) {
        let d = policy.decide(&text, &findings, &Context::new(surface).stage(stage));
        prop_assert!(!d.violation);
        prop_assert_eq!(d.action, Action::Allow);
    }

    #[test]
    fn any_text_any_findings_never_panics(
        text in "\\PC{0,40}",
        raw in prop::collection::vec((0usize..60, 0usize..60, 0.0f32..=1.0), 0..5),
        ctx in arb_context(),
    ) {
        let findings: Vec<Finding> = raw
            .into_iter()
            .map(|(start, end, confidence)| Finding {
                category: Category::Phone,
                kind: None,
                start,
                end,
                matched: String::new(),
                normalized: None,
                confidence,
                rule: "prop".into(),
            })
            .collect();
        let d = Policy::default().decide(&text, &findings, &ctx);
        prop_assert_eq!(d.violation, d.action.is_violation());
    }

    #[test]
    fn any_policy_file_never_panics(src in "\\PC{0,200}") {
        let _ = Policy::from_toml_str(&src);
    }

    #[test]
    fn edited_default_files_report_lines_inside_the_file(
        edits in prop::collection::vec((0usize..400, prop::sample::select(vec![
            "", "high = 2", "medium = \"x\"", "exempt = [\"gold\"]", "\"*\" = \"nuke\"",
            "[actions.chat]", "regions = [\"ZZ\"]", "phone = \"{oops}\"", "notice = -1",
            "file_share = [\"not a domain\"]", "[[tiers]]", "x = ", "scoping_access = [\"fax\"]",
        ])), 1..4),
    ) {
        let mut lines: Vec<String> = DEFAULT_POLICY_TOML.lines().map(String::from).collect();
        for (at, junk) in edits {
            let i = at % lines.len();
            lines[i] = junk.to_string();
        }
        let src = lines.join("\n");
        if let Err(e) = Policy::from_toml_str(&src) {
            prop_assert!(!e.problems.is_empty());
            for p in &e.problems {
                prop_assert!(p.line >= 1 && p.line <= lines.len() + 1, "{} of {}", p.line, lines.len());
                prop_assert!(p.column >= 1);
            }
        }
    }
}
