//! `parley scan`: findings for each text, as JSON Lines or highlighted text.

use crate::args::{load_policy, Format, ScanArgs};
use crate::input::{self, Line, LineError};
use parley_detect::{Detector, Finding};
use parley_policy::{Context, Decision, Plan, Policy, Purpose, Stage, Surface};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// The context of one record: its own `surface`, `stage`, `plan` and
/// `purpose` fields win over the defaults given on the command line.
pub fn record_context(record: &Value, defaults: &Context) -> Result<Context, LineError> {
    let mut ctx = defaults.clone();
    if let Some(s) = input::str_field(record, "surface")? {
        ctx.surface = parse_field::<Surface>("surface", s)?;
    }
    if let Some(s) = input::str_field(record, "stage")? {
        ctx.stage = parse_field::<Stage>("stage", s)?;
    }
    if let Some(s) = input::str_field(record, "plan")? {
        ctx.plan = Plan::new(s);
    }
    match record.get("purpose") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => ctx.purpose = Some(parse_field::<Purpose>("purpose", s)?),
        Some(v) => {
            ctx.purpose = Some(serde_json::from_value(v.clone()).map_err(|e| {
                LineError::new("bad_field", format!("\"purpose\" is not a purpose: {e}"))
            })?)
        }
    }
    Ok(ctx)
}

fn parse_field<T: std::str::FromStr>(name: &str, s: &str) -> Result<T, LineError>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| LineError::new("bad_field", format!("\"{name}\": {e}")))
}

/// The default context given by the command line.
fn default_context(args: &crate::args::PolicyArgs) -> Context {
    let mut ctx = Context::new(args.surface).stage(args.stage);
    if let Some(p) = &args.plan {
        ctx.plan = p.clone();
    }
    ctx.purpose = args.purpose.clone();
    ctx
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(args.policy.policy.as_deref())?;
    let detector = args.detector.build(&policy)?;
    let defaults = default_context(&args.policy);
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = 0usize;
    let mut printer = Printer {
        detector: &detector,
        policy: &policy,
        defaults: &defaults,
        args: &args,
        color,
    };

    if let Some(text) = &args.text {
        let record = json!({"id": null, "text": text});
        printer.one(
            &mut out,
            Line {
                source: "--text".into(),
                number: 1,
                value: Ok(record),
            },
            &mut errors,
        )?;
    } else {
        let files = if args.files.is_empty() {
            vec![std::path::PathBuf::from("-")]
        } else {
            args.files.clone()
        };
        for path in &files {
            let (reader, len) = input::open(path)?;
            let bar = progress_bar(len);
            input::for_each_line(
                &path.display().to_string(),
                reader,
                input::line_cap(args.detector.max_bytes),
                |line, read| {
                    if let Some(b) = &bar {
                        b.set_position(read);
                    }
                    printer.one(&mut out, line, &mut errors)
                },
            )?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        }
    }
    out.flush()?;
    if errors > 0 {
        eprintln!("parley scan: {errors} line(s) could not be scanned (see the \"error\" objects)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(len: Option<u64>) -> Option<indicatif::ProgressBar> {
    let len = len?;
    if len < (4 << 20) || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

struct Printer<'a> {
    detector: &'a Detector,
    policy: &'a Policy,
    defaults: &'a Context,
    args: &'a ScanArgs,
    color: bool,
}

impl Printer<'_> {
    fn one(&mut self, out: &mut impl Write, line: Line, errors: &mut usize) -> anyhow::Result<()> {
        let record = match line.value {
            Ok(v) => v,
            Err(e) => return self.error(out, &line.source, line.number, Value::Null, e, errors),
        };
        let id = input::id_field(&record);
        let checked = input::text_field(&record, self.args.detector.max_bytes)
            .and_then(|text| Ok((text, record_context(&record, self.defaults)?)));
        let (text, ctx) = match checked {
            Ok(t) => t,
            Err(e) => return self.error(out, &line.source, line.number, id, e, errors),
        };
        let findings = self.detector.scan(text);
        let decision = self.policy.decide(text, &findings, &ctx);
        match self.args.format {
            Format::Json => {
                let mut obj = json!({
                    "id": id,
                    "violation": decision.violation,
                    "decision": decision.action,
                    "explanation": decision.explanation,
                    "findings": findings,
                });
                if let Some(m) = &decision.masked_text {
                    obj["masked_text"] = json!(m);
                }
                if let Some(n) = &decision.recipient_notice {
                    obj["recipient_notice"] = json!(n);
                }
                writeln!(out, "{obj}")?;
            }
            Format::Text => write_text(out, &id, &ctx, text, &findings, &decision, self.color)?,
        }
        Ok(())
    }

    fn error(
        &mut self,
        out: &mut impl Write,
        source: &str,
        number: usize,
        id: Value,
        e: LineError,
        errors: &mut usize,
    ) -> anyhow::Result<()> {
        *errors += 1;
        eprintln!("{source}: {}: {}", e.code, e.message);
        match self.args.format {
            Format::Json => writeln!(out, "{}", json!({"id": id, "line": number, "error": e}))?,
            Format::Text => writeln!(out, "{source}  ERROR  {}: {}", e.code, e.message)?,
        }
        Ok(())
    }
}

/// The human-readable format: a header, the text with findings marked, and one
/// line per finding.
fn write_text(
    out: &mut impl Write,
    id: &Value,
    ctx: &Context,
    text: &str,
    findings: &[Finding],
    decision: &Decision,
    color: bool,
) -> std::io::Result<()> {
    let id = match id {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    };
    let verdict = if decision.violation {
        "VIOLATION"
    } else {
        "ok"
    };
    writeln!(
        out,
        "{id}  {verdict}  {}  ({}, {})",
        decision.action.as_str(),
        ctx.surface.as_str(),
        ctx.effective_stage().as_str()
    )?;
    let (open, close) = if color {
        ("\x1b[1;41m", "\x1b[0m")
    } else {
        ("[[", "]]")
    };
    let mut marked = String::with_capacity(text.len() + 16);
    let mut pos = 0;
    for (start, end, _) in parley_detect::merged_spans(findings, text.len()) {
        if let (Some(before), Some(span)) = (text.get(pos..start), text.get(start..end)) {
            marked.push_str(before);
            marked.push_str(open);
            marked.push_str(span);
            marked.push_str(close);
            pos = end;
        }
    }
    marked.push_str(text.get(pos..).unwrap_or_default());
    for l in marked.lines() {
        writeln!(out, "    {l}")?;
    }
    for f in findings {
        writeln!(
            out,
            "    - {}{} {}..{} {:?}{} confidence {:.2} rule {}",
            f.category,
            f.kind.map(|k| format!("/{k}")).unwrap_or_default(),
            f.start,
            f.end,
            f.matched,
            f.normalized
                .as_ref()
                .map(|n| format!(" -> {n}"))
                .unwrap_or_default(),
            f.confidence,
            f.rule
        )?;
    }
    if !decision.explanation.is_empty() {
        for l in decision.explanation.lines() {
            writeln!(out, "    > {l}")?;
        }
    }
    writeln!(out)
}
