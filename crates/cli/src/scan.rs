//! `parley scan`: findings for each text, as JSON Lines or highlighted text.

use crate::args::{Format, ScanArgs};
use crate::input::{self, Line, LineError};
use parley_detect::{Detector, Finding};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// The surfaces a text can be written on.
pub const SURFACES: [&str; 6] = [
    "profile",
    "job_post",
    "proposal",
    "invite",
    "message",
    "attachment",
];

/// Whether `findings` break the default pre-contract rule: any finding that is
/// contact information (allowed link kinds are not).
pub fn default_violation(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_contact_info)
}

/// Checks a surface name.
pub fn check_surface(s: &str) -> Result<&str, LineError> {
    if SURFACES.contains(&s) {
        Ok(s)
    } else {
        Err(LineError::new(
            "bad_field",
            format!(
                "unknown surface {s:?} (expected one of {})",
                SURFACES.join(", ")
            ),
        ))
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    check_surface(&args.surface).map_err(|e| anyhow::anyhow!(e.message))?;
    let detector = args.detector.build()?;
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut errors = 0usize;
    let mut printer = Printer {
        detector: &detector,
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
            input::for_each_line(&path.display().to_string(), reader, |line, read| {
                if let Some(b) = &bar {
                    b.set_position(read);
                }
                printer.one(&mut out, line, &mut errors)
            })?;
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
        let checked = input::text_field(&record, self.args.detector.max_bytes).and_then(|text| {
            let surface = input::str_field(&record, "surface")?.unwrap_or(&self.args.surface);
            Ok((text, check_surface(surface)?))
        });
        let (text, surface) = match checked {
            Ok(t) => t,
            Err(e) => return self.error(out, &line.source, line.number, id, e, errors),
        };
        let findings = self.detector.scan(text);
        let violation = default_violation(&findings);
        match self.args.format {
            Format::Json => {
                let obj = json!({"id": id, "violation": violation, "findings": findings});
                writeln!(out, "{obj}")?;
            }
            Format::Text => write_text(out, &id, surface, text, &findings, violation, self.color)?,
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
    surface: &str,
    text: &str,
    findings: &[Finding],
    violation: bool,
    color: bool,
) -> std::io::Result<()> {
    let id = match id {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    };
    let verdict = if violation { "VIOLATION" } else { "ok" };
    writeln!(out, "{id}  {verdict}  ({surface})")?;
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
    writeln!(out)
}
