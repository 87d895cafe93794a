//! `parley eval`: recall, false-positive rate, precision and F1 of the detector
//! on a labeled corpus, per category and per tag, with the misses and false
//! alarms.

use crate::args::{load_policy, EvalArgs, Format};
use crate::input::{self, LineError};
use crate::scan::record_context;
use parley_detect::{Category, Finding};
use parley_policy::{Context, Surface};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// One labeled example.
struct Example {
    id: String,
    text: String,
    context: Context,
    violation: bool,
    categories: Vec<Category>,
    tags: Vec<String>,
}

fn parse_example(v: &Value, max_bytes: usize) -> Result<Example, LineError> {
    let text = input::text_field(v, max_bytes)?.to_owned();
    let context = record_context(v, &Context::new(Surface::Message))?;
    let violation = v
        .get("violation")
        .and_then(Value::as_bool)
        .ok_or_else(|| LineError::new("bad_field", "\"violation\" must be true or false"))?;
    let strings = |name: &str| -> Result<Vec<String>, LineError> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_owned).ok_or_else(|| {
                        LineError::new("bad_field", format!("\"{name}\" must be a list of strings"))
                    })
                })
                .collect(),
            Some(_) => Err(LineError::new(
                "bad_field",
                format!("\"{name}\" must be a list of strings"),
            )),
        }
    };
    let categories = strings("categories")?
        .iter()
        .map(|c| {
            Category::parse(c)
                .ok_or_else(|| LineError::new("bad_field", format!("unknown category {c:?}")))
        })
        .collect::<Result<_, _>>()?;
    let id = match input::id_field(v) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(Example {
        id,
        text,
        context,
        violation,
        categories,
        tags: strings("tags")?,
    })
}

#[derive(Default, Serialize, Clone, Copy)]
struct Counts {
    tp: usize,
    fn_: usize,
    fp: usize,
    tn: usize,
}

impl Counts {
    fn add(&mut self, truth: bool, predicted: bool) {
        match (truth, predicted) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn fpr(&self) -> Option<f64> {
        ratio(self.fp, self.fp + self.tn)
    }
    fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }
    fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[derive(Serialize)]
struct Mistake {
    id: String,
    text: String,
    expected: Vec<Category>,
    findings: Vec<Finding>,
}

#[derive(Serialize)]
struct Report {
    examples: usize,
    overall: Counts,
    recall: Option<f64>,
    false_positive_rate: Option<f64>,
    precision: Option<f64>,
    f1: Option<f64>,
    /// Per labeled category: (found, labeled).
    category_recall: BTreeMap<Category, (usize, usize)>,
    tags: BTreeMap<String, Counts>,
    misses: Vec<Mistake>,
    false_alarms: Vec<Mistake>,
    errors: Vec<String>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(args.policy.as_deref())?;
    let detector = args.detector.build(&policy)?;
    let (reader, _) = input::open(&args.file)?;
    let mut report = Report {
        examples: 0,
        overall: Counts::default(),
        recall: None,
        false_positive_rate: None,
        precision: None,
        f1: None,
        category_recall: BTreeMap::new(),
        tags: BTreeMap::new(),
        misses: Vec::new(),
        false_alarms: Vec::new(),
        errors: Vec::new(),
    };
    input::for_each_line(
        &args.file.display().to_string(),
        reader,
        input::line_cap(args.detector.max_bytes),
        |line, _| {
            let ex = match line
                .value
                .and_then(|v| parse_example(&v, args.detector.max_bytes))
            {
                Ok(ex) => ex,
                Err(e) => {
                    report
                        .errors
                        .push(format!("{}: {}: {}", line.source, e.code, e.message));
                    return Ok(());
                }
            };
            let findings = detector.scan(&ex.text);
            let predicted = policy.decide(&ex.text, &findings, &ex.context).violation;
            report.examples += 1;
            report.overall.add(ex.violation, predicted);
            for tag in &ex.tags {
                report
                    .tags
                    .entry(tag.clone())
                    .or_default()
                    .add(ex.violation, predicted);
            }
            if ex.violation {
                for c in &ex.categories {
                    let e = report.category_recall.entry(*c).or_default();
                    e.1 += 1;
                    if findings
                        .iter()
                        .any(|f| f.category == *c && f.is_contact_info())
                    {
                        e.0 += 1;
                    }
                }
            }
            let mistake = || Mistake {
                id: ex.id.clone(),
                text: ex.text.clone(),
                expected: ex.categories.clone(),
                findings: findings.clone(),
            };
            match (ex.violation, predicted) {
                (true, false) => report.misses.push(mistake()),
                (false, true) => report.false_alarms.push(mistake()),
                _ => {}
            }
            Ok(())
        },
    )?;
    report.recall = report.overall.recall();
    report.false_positive_rate = report.overall.fpr();
    report.precision = report.overall.precision();
    report.f1 = report.overall.f1();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());

    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Text => print_text(&mut out, &report, args.show)?,
    }
    out.flush()?;
    for e in &report.errors {
        eprintln!("{e}");
    }
    if !report.errors.is_empty() {
        eprintln!("parley eval: {} malformed line(s)", report.errors.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{:.4}", x))
        .unwrap_or_else(|| "n/a".into())
}

fn print_text(out: &mut impl Write, r: &Report, show: usize) -> std::io::Result<()> {
    let c = &r.overall;
    writeln!(out, "examples            {}", r.examples)?;
    writeln!(
        out,
        "recall              {}  ({} of {} violations found)",
        pct(r.recall),
        c.tp,
        c.tp + c.fn_
    )?;
    writeln!(
        out,
        "false-positive rate {}  ({} of {} honest texts flagged)",
        pct(r.false_positive_rate),
        c.fp,
        c.fp + c.tn
    )?;
    writeln!(out, "precision           {}", pct(r.precision))?;
    writeln!(out, "F1                  {}", pct(r.f1))?;
    writeln!(out, "\nrecall per category")?;
    for (cat, (found, total)) in &r.category_recall {
        writeln!(
            out,
            "  {:<10} {}  ({found}/{total})",
            cat.as_str(),
            pct(ratio(*found, *total))
        )?;
    }
    writeln!(
        out,
        "\nper tag               recall (n)        false-positive rate (n)"
    )?;
    for (tag, t) in &r.tags {
        writeln!(
            out,
            "  {:<20} {:<8} ({:>3})    {:<8} ({:>3})",
            tag,
            pct(t.recall()),
            t.tp + t.fn_,
            pct(t.fpr()),
            t.fp + t.tn
        )?;
    }
    for (title, list) in [("misses", &r.misses), ("false alarms", &r.false_alarms)] {
        if list.is_empty() || show == 0 {
            continue;
        }
        writeln!(out, "\n{title} ({})", list.len())?;
        for m in list.iter().take(show) {
            let found: Vec<String> = m
                .findings
                .iter()
                .map(|f| format!("{}:{:?}({})", f.category, f.matched, f.rule))
                .collect();
            writeln!(
                out,
                "  {}  {:?}  expected {:?}  found [{}]",
                m.id,
                m.text,
                m.expected.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                found.join(", ")
            )?;
        }
    }
    Ok(())
}
