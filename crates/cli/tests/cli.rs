//! End-to-end tests of the `parley` binary.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn parley(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("parley runs")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../detect/tests/data/dev.jsonl")
}

#[test]
fn scan_reports_findings_with_spans_of_the_original_text() {
    let text = "Call me at (312) 555-0148 after lunch";
    let out = parley(&["scan", "--text", text], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["violation"], true);
    let f = &lines[0]["findings"][0];
    assert_eq!(f["category"], "phone");
    let (s, e) = (
        f["start"].as_u64().unwrap() as usize,
        f["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], f["matched"].as_str().unwrap());
    assert_eq!(f["normalized"], "+13125550148");
}

#[test]
fn scan_reads_json_lines_and_keeps_ids() {
    let input = b"{\"id\":\"a\",\"text\":\"I need a WhatsApp API integration\"}\n{\"id\":7,\"text\":\"mail sam.oduya@yahoo.com\",\"extra\":1}\n";
    let out = parley(&["scan"], input);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["violation"], false);
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[1]["violation"], true);
    assert_eq!(lines[1]["findings"][0]["category"], "email");
}

#[test]
fn bad_lines_are_reported_one_by_one_and_the_run_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":1,\"text\":\"hello\"}\n");
    input.extend_from_slice(b"not json\n");
    input.extend_from_slice(b"{\"id\":3}\n");
    input.extend_from_slice(b"\xff\xfe{\"text\":\"x\"}\n");
    input.extend_from_slice(b"{\"id\":5,\"text\":\"0123456789abc\"}\n");
    input.extend_from_slice(b"{\"id\":6,\"text\":\"fine\",\"surface\":\"billboard\"}\n");
    input.extend_from_slice(b"[1,2]\n");
    input.extend_from_slice(b"{\"id\":8,\"text\":\"last one\"}\n");
    let out = parley(&["scan", "--max-bytes", "10"], &input);
    assert_eq!(out.status.code(), Some(1), "bad lines make the exit code 1");
    let lines = json_lines(&out);
    let codes: Vec<&str> = lines
        .iter()
        .map(|l| l["error"]["code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "ok",
            "invalid_json",
            "missing_text",
            "invalid_utf8",
            "text_too_long",
            "bad_field",
            "not_an_object",
            "ok"
        ]
    );
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[7]["id"], 8);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-:2: invalid_json"), "{stderr}");
    assert!(
        stderr.contains("6 line(s) could not be scanned"),
        "{stderr}"
    );
}

#[test]
fn text_format_marks_the_findings() {
    let out = parley(
        &[
            "scan",
            "--format",
            "text",
            "--text",
            "ping me: +44 7911 123456",
        ],
        b"",
    );
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("VIOLATION"), "{s}");
    assert!(s.contains("[[+44 7911 123456]]"), "{s}");
    assert!(s.contains("phone"), "{s}");
}

#[test]
fn unknown_region_is_a_clear_error() {
    let out = parley(&["scan", "--regions", "ZZ", "--text", "x"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ZZ"));
}

#[test]
fn eval_meets_the_targets_on_the_dev_corpus() {
    let out = parley(
        &["eval", "--format", "json", corpus().to_str().unwrap()],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["examples"], 532);
    let recall = report["recall"].as_f64().unwrap();
    let fpr = report["false_positive_rate"].as_f64().unwrap();
    let listing = |k: &str| {
        report[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        recall >= 0.95,
        "recall {recall}; misses:\n{}",
        listing("misses")
    );
    assert!(
        fpr <= 0.03,
        "false-positive rate {fpr}; false alarms:\n{}",
        listing("false_alarms")
    );
}

#[test]
fn eval_names_the_malformed_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"x\",\"text\":\"hi\",\"violation\":false}\n{\"id\":\"y\",\"text\":\"hi\"}\n",
    )
    .unwrap();
    let out = parley(&["eval", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:2"), "{stderr}");
    assert!(stderr.contains("violation"), "{stderr}");
}

#[test]
fn scan_applies_the_policy_and_the_record_context_wins() {
    let input = concat!(
        "{\"id\":\"pre\",\"text\":\"call me at (312) 555-0148\"}\n",
        "{\"id\":\"active\",\"text\":\"call me at (312) 555-0148\",\"stage\":\"active_contract\"}\n",
        "{\"id\":\"scoping\",\"text\":\"my email is sam@gmail.com\",\"purpose\":\"scoping_access:GitHub\"}\n",
        "{\"id\":\"bad\",\"text\":\"x\",\"stage\":\"married\"}\n",
    );
    let out = parley(&["scan"], input.as_bytes());
    let lines = json_lines(&out);
    assert_eq!(lines[0]["decision"], "block");
    assert_eq!(lines[0]["violation"], true);
    assert!(lines[0]["explanation"]
        .as_str()
        .unwrap()
        .contains("(312) 555-0148"));
    assert_eq!(lines[1]["decision"], "allow");
    assert_eq!(lines[1]["violation"], false);
    assert_eq!(lines[2]["violation"], false);
    assert_eq!(lines[3]["error"]["code"], "bad_field");
    assert_eq!(out.status.code(), Some(1));

    // The flags set the defaults.
    let out = parley(
        &[
            "scan",
            "--stage",
            "active_contract",
            "--text",
            "call me at (312) 555-0148",
        ],
        b"",
    );
    assert_eq!(json_lines(&out)[0]["decision"], "allow");
    let out = parley(
        &[
            "scan",
            "--plan",
            "enterprise",
            "--text",
            "call me at (312) 555-0148",
        ],
        b"",
    );
    assert_eq!(json_lines(&out)[0]["violation"], false);
}

#[test]
fn policy_print_default_round_trips_through_check() {
    let out = parley(&["policy", "print-default"], b"");
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let check = parley(&["policy", "check", path.to_str().unwrap()], b"");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    std::fs::write(&path, "bogus = 1\n[actions]\nfoo = \"bar\"\n").unwrap();
    let check = parley(&["policy", "check", path.to_str().unwrap()], b"");
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("policy.toml:1:1:"), "{stderr}");
    assert!(stderr.contains("policy.toml:3:"), "{stderr}");

    // A bad policy never runs a scan.
    let scan = parley(
        &["scan", "--policy", path.to_str().unwrap(), "--text", "hi"],
        b"",
    );
    assert_eq!(scan.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&scan.stderr).contains("line 1"));
}

/// Replaces every occurrence of `from` by `to` (same length) in a file; how many were replaced.
fn patch_file(path: &std::path::Path, from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let Ok(mut bytes) = std::fs::read(path) else {
        return 0;
    };
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    std::fs::write(path, bytes).unwrap();
    n
}

#[test]
fn audit_verify_detects_a_tampered_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let url = format!("sqlite://{}", path.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = parley_store::Store::connect(&url).await.unwrap();
        for i in 1..=3 {
            store
                .append_audit(
                    "report",
                    Some("mei"),
                    &format!("user:u{i}"),
                    &serde_json::json!({"note": format!("evidence-{i}")}),
                )
                .await
                .unwrap();
        }
        store.close().await;
    });

    let out = parley(&["audit", "verify", "--database", &url], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("intact: 3 entries"), "{stdout}");

    // Someone with access to the file edits an entry's bytes (no SQL, no triggers involved).
    assert_eq!(
        patch_file(&path, b"evidence-2", b"evidence-9"),
        1,
        "the entry is in the database file"
    );
    let out = parley(&["audit", "verify", "--database", &url], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seq 2 (kind report)"), "{stdout}");
    assert!(stdout.contains("changed"), "{stdout}");

    // Not a database: an error (exit 2), not a verdict.
    let out = parley(&["audit", "verify", "--database", "mysql://nowhere/x"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn audit_verify_export_checks_the_digest_of_json_and_html() {
    use parley_server::export::{digest, html, EXPORT_FORMAT};
    let mut doc = serde_json::json!({
        "format": EXPORT_FORMAT,
        "generated_at": 1_700_000_000_000i64,
        "generated_for": {"role": "member", "user_id": "avery"},
        "conversation": {"id": "c_1", "subject": "Logo", "created_at": 1_700_000_000_000i64},
        "members": [{"id": "avery", "name": "Avery"}, {"id": "mei", "name": "Mei"}],
        "messages": [{"id": 1, "author_id": "mei", "state": "delivered", "created_at": 0,
            "deleted_at": null, "attachments": [],
            "versions": [{"version": 1, "kind": "created", "state": "delivered",
                "delivered": "Happy to start Tuesday."}]}],
        "decisions": [],
    });
    doc["digest"] = serde_json::json!(digest(&doc));
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("export.json");
    let html_path = dir.path().join("export.html");
    std::fs::write(&json_path, doc.to_string()).unwrap();
    std::fs::write(&html_path, html(&doc)).unwrap();
    for p in [&json_path, &html_path] {
        let out = parley(&["audit", "verify-export", p.to_str().unwrap()], b"");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("digest ok (sha256:"), "{stdout}");
    }
    // One changed word, in the JSON or anywhere in the page.
    for p in [&json_path, &html_path] {
        assert!(patch_file(p, b"Tuesday", b"Friday!") >= 1);
        let out = parley(&["audit", "verify-export", p.to_str().unwrap()], b"");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("NOT VERIFIED"), "{stdout}");
    }
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello").unwrap();
    let out = parley(&["audit", "verify-export", junk.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
}

/// Runs `parley ARGS` with `stdin` fed from a thread by `feed`, and returns its output and its
/// peak resident set size in KiB (from `wait4`, for this child only).
#[allow(clippy::zombie_processes)] // the child is reaped by `wait4` below (with its rusage)
fn parley_peak_rss(
    args: &[&str],
    feed: impl FnOnce(&mut dyn Write) + Send + 'static,
) -> (Output, i64) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("parley starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || feed(&mut stdin));
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).expect("read stdout");
        v
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        stderr.read_to_end(&mut v).expect("read stderr");
        v
    });
    writer.join().expect("writer");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let out = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: reader.join().expect("reader"),
        stderr: err_reader.join().expect("stderr reader"),
    };
    assert!(code.is_some(), "parley exited normally");
    (out, usage.ru_maxrss)
}

#[test]
fn scan_skips_a_50_mb_line_without_holding_it() {
    const LINE: usize = 50 * 1024 * 1024;
    let (out, peak_kib) = parley_peak_rss(&["scan"], |w| {
        w.write_all(b"{\"id\":\"big\",\"text\":\"").expect("write");
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..LINE >> 20 {
            w.write_all(&chunk).expect("write");
        }
        w.write_all(b"\"}\n{\"id\":\"next\",\"text\":\"call me at 312 555 0148\"}\n")
            .expect("write");
    });
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["error"]["code"], "text_too_long", "{}", lines[0]);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[1]["id"], "next");
    assert_eq!(lines[1]["violation"], true, "{}", lines[1]);
    assert_eq!(out.status.code(), Some(1));
    eprintln!(
        "peak RSS of parley scan on a 50 MB line: {} MiB",
        peak_kib / 1024
    );
    assert!(
        peak_kib < 150 * 1024,
        "peak RSS {peak_kib} KiB is over 150 MiB"
    );
}

#[test]
fn extract_prints_text_links_and_verdicts_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        "<p>Hi</p><a href=\"mailto:jo@example.org\">write</a>",
    )
    .unwrap();
    let out = parley(
        &[
            "extract",
            page.to_str().unwrap(),
            "--type",
            "text/html",
            "--max-memory",
            "2000000000",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"]["kind"], "html", "{v}");
    let parts = v["ok"]["parts"].as_array().unwrap();
    assert!(
        parts
            .iter()
            .any(|p| p["place"] == "link" && p["text"] == "mailto:jo@example.org"),
        "{v}"
    );
    // A verdict is not a failure of the command: exit 0 with the error object.
    let fake = dir.path().join("invoice.pdf");
    std::fs::write(&fake, "plain text").unwrap();
    let out = parley(
        &["extract", fake.to_str().unwrap(), "--name", "invoice.pdf"],
        b"",
    );
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "type_mismatch", "{v}");
    // A missing file is a usage error.
    let out = parley(&["extract", dir.path().join("nope").to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
}

/// A PNG of a QR code holding `text` (4 pixels a module, quiet zone of 4).
fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width() as u32;
    let colors = code.to_colors();
    let side = (n + 8) * 4;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / 4).wrapping_sub(4), (y / 4).wrapping_sub(4));
        let dark = mx < n && my < n && colors[(my * n + mx) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Every flag the server passes (`crates/server/src/domain/scan.rs`), through the real binary:
/// the QR code is read, the OCR program's text is a part, and a bad `--ocr-timeout` is a usage
/// error. A stub OCR program stands in for Tesseract (so this runs without it); with Tesseract
/// installed it runs too.
#[test]
fn extract_takes_the_servers_ocr_flags_and_reads_qr_codes() {
    let dir = tempfile::tempdir().unwrap();
    let pic = dir.path().join("blob");
    std::fs::write(&pic, qr_png("https://wa.me/447700900123")).unwrap();
    let stub = dir.path().join("ocr");
    std::fs::write(
        &stub,
        "#!/bin/sh\n[ -f \"$1\" ] && [ \"$2\" = stdout ] && echo 'CALL ME +1 415 555 0134'\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |ocr: &str, timeout: &str| {
        parley(
            &[
                "extract",
                pic.to_str().unwrap(),
                "--name",
                "card.png",
                "--type",
                "image/png",
                "--max-memory",
                "1073741824",
                "--ocr",
                ocr,
                "--ocr-timeout",
                timeout,
            ],
            b"",
        )
    };
    let out = run(stub.to_str().unwrap(), "10");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = v["ok"]["parts"].as_array().unwrap_or_else(|| panic!("{v}"));
    let has = |place: &str, text: &str| {
        parts
            .iter()
            .any(|p| p["place"] == place && p["text"].as_str().is_some_and(|t| t.contains(text)))
    };
    assert!(has("qr code", "https://wa.me/447700900123"), "{v}");
    assert!(has("image text", "+1 415 555 0134"), "{v}");
    let out = run(stub.to_str().unwrap(), "soon");
    assert_eq!(out.status.code(), Some(2));
    // The real Tesseract, when installed, through the same flags (its text depends on it).
    let tesseract = Command::new("tesseract").arg("--version").output();
    if tesseract.is_ok_and(|o| o.status.success()) {
        let out = run("tesseract", "30");
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["ok"]["parts"].is_array(), "{v}");
    }
}
