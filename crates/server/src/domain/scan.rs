//! Scanning a finished file before anyone else may open it: the extractor runs in its own
//! process (time and memory limits), then the detector and the policy decide on everything it
//! found (the `attachment` surface, per recipient, strictest wins), and the file moves from
//! `scanning` to `clean`, `held`, `blocked` or `scan_failed` in one transaction with its events.
//! With `files.clamav` set, `clamd` scans the bytes first: malware ends as `infected`; a file
//! `clamd` cannot scan is held (fail closed) unless `files.clamav_fail_open`.
//! Every decision is recorded (and so audited), declared legal documents included.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use parley_extract::{ExtractError, Extracted};
use parley_policy::{Action, Stage, Surface};
use parley_store::{DecisionInput, FileState, FileTransition, NewDecision, StoredFile};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::blob::BlobStore;
use crate::clamav::{ClamAddr, Verdict};
use crate::domain::decide::Checked;
use crate::files_config::FilesConfig;
use crate::AppState;

/// Most JSON read back from the extractor, bytes.
const MAX_OUTPUT: u64 = 32 * 1024 * 1024;

/// Why a scan could not read the file (each ends as `scan_failed`, or `blocked`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `type_mismatch`, `refused`, `malformed`, `bomb`, `timeout`, `extractor_failed`.
    pub code: String,
    pub message: String,
}

/// The extractor's program and leading arguments (see [`FilesConfig::extract_command`]).
pub fn extractor(cfg: &FilesConfig) -> Option<(PathBuf, Vec<String>)> {
    if let Some((prog, args)) = cfg.extract_command.split_first() {
        return Some((PathBuf::from(prog), args.to_vec()));
    }
    let exe = std::env::current_exe().ok()?;
    if exe.file_stem().is_some_and(|n| n == "parley") {
        return Some((exe, vec!["extract".into()]));
    }
    let sibling = exe.with_file_name("parley-extract");
    sibling.exists().then(|| (sibling, Vec::new()))
}

/// The optional scanners found at start (`files.ocr_command`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanners {
    /// The OCR program and its version line, when it runs.
    pub ocr: Option<(PathBuf, String)>,
}

impl Scanners {
    /// Looks for the OCR program, and says at start whether pictures will be read by OCR.
    pub fn probe(cfg: &FilesConfig) -> Scanners {
        let program = cfg.ocr_command.trim();
        if program.is_empty() {
            tracing::info!("OCR is off (files.ocr_command is empty): pictures are scanned for metadata and QR codes, not for the text in them");
            return Scanners::default();
        }
        match parley_extract::probe_ocr(Path::new(program)) {
            Some(version) => {
                tracing::info!(program, %version, "OCR is on: the text in pictures is scanned");
                Scanners {
                    ocr: Some((PathBuf::from(program), version)),
                }
            }
            None => {
                tracing::warn!(program, "OCR is off: the OCR program does not run (install Debian's tesseract-ocr and tesseract-ocr-eng, e.g. scripts/install-ocr.sh); pictures are scanned for metadata and QR codes, not for the text in them");
                Scanners::default()
            }
        }
    }

    /// Prometheus lines: `parley_scanner_available{scanner="ocr"} 0|1`.
    pub fn prometheus(&self) -> String {
        format!(
            "# HELP parley_scanner_available Whether an optional file scanner runs on this node (1) or not (0).\n# TYPE parley_scanner_available gauge\nparley_scanner_available{{scanner=\"ocr\"}} {}\n",
            u8::from(self.ocr.is_some())
        )
    }
}

/// Runs the extractor on `path` within the configured limits (with OCR when `ocr` names the
/// program). The extractor and its OCR program write their temporary files into a directory
/// of their own (`TMPDIR`), removed before this returns, and are killed as a process group
/// when they overrun.
pub async fn run_extractor(
    cfg: &FilesConfig,
    ocr: Option<&Path>,
    path: &Path,
    name: &str,
    declared: &str,
) -> Result<Extracted, Failure> {
    let fail = |code: &str, message: String| Failure {
        code: code.into(),
        message,
    };
    let tmp = tempfile::Builder::new()
        .prefix("parley-scan-")
        .tempdir()
        .map_err(|e| fail("extractor_failed", format!("temporary directory: {e}")))?;
    let r = extract_in(cfg, ocr, path, name, declared, tmp.path()).await;
    if let Err(e) = tmp.close() {
        tracing::warn!(error = %e, "could not remove the scan's temporary directory");
    }
    r
}

async fn extract_in(
    cfg: &FilesConfig,
    ocr: Option<&Path>,
    path: &Path,
    name: &str,
    declared: &str,
    tmp: &Path,
) -> Result<Extracted, Failure> {
    let fail = |code: &str, message: String| Failure {
        code: code.into(),
        message,
    };
    let Some((prog, args)) = extractor(cfg) else {
        return Err(fail(
            "extractor_failed",
            "no extractor configured (files.extract_command)".into(),
        ));
    };
    let mut cmd = tokio::process::Command::new(&prog);
    cmd.args(&args)
        .arg(path)
        .args(["--name", name, "--type", declared, "--max-memory"])
        .arg(cfg.extract_memory_bytes.to_string());
    if let Some(ocr) = ocr {
        cmd.arg("--ocr")
            .arg(ocr)
            .arg("--ocr-timeout")
            .arg(cfg.ocr_timeout_secs.to_string());
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            fail(
                "extractor_failed",
                format!("cannot start the extractor: {e}"),
            )
        })?;
    let Some(stdout) = child.stdout.take() else {
        return Err(fail(
            "extractor_failed",
            "no output from the extractor".into(),
        ));
    };
    let pid = child.id();
    let work = async {
        let mut out = Vec::new();
        stdout.take(MAX_OUTPUT).read_to_end(&mut out).await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((out, status))
    };
    let limit = Duration::from_secs(cfg.extract_timeout_secs.max(1));
    let (out, status) = match tokio::time::timeout(limit, work).await {
        Err(_) => {
            kill_group(pid);
            return Err(fail(
                "timeout",
                format!("reading the file took longer than {} s", limit.as_secs()),
            ));
        }
        Ok(Err(e)) => return Err(fail("extractor_failed", e.to_string())),
        Ok(Ok(r)) => r,
    };
    if !status.success() {
        return Err(fail(
            "extractor_failed",
            format!("the extractor ended with {status} (memory limit, crash or bad file)"),
        ));
    }
    let v: Value = serde_json::from_slice(&out)
        .map_err(|_| fail("extractor_failed", "unreadable extractor output".into()))?;
    if let Some(ok) = v.get("ok") {
        return serde_json::from_value(ok.clone())
            .map_err(|_| fail("extractor_failed", "unreadable extractor output".into()));
    }
    let err: ExtractError = v
        .get("error")
        .cloned()
        .and_then(|e| serde_json::from_value(e).ok())
        .ok_or_else(|| fail("extractor_failed", "unreadable extractor output".into()))?;
    let code = match &err {
        ExtractError::Malformed(_) => "malformed",
        ExtractError::Bomb(_) => "bomb",
        ExtractError::TypeMismatch(_) => "type_mismatch",
        ExtractError::Refused(_) => "refused",
        ExtractError::Timeout(_) => "timeout",
    };
    Err(fail(code, err.to_string()))
}

/// Kills the extractor's process group (it and its OCR program) after a timeout.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group the extractor leads
        // (it was started with `process_group(0)`); no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Starts the scan of a file in the background.
pub fn start(s: AppState, file: StoredFile) {
    tokio::spawn(async move {
        if let Err(e) = scan(&s, &file).await {
            tracing::error!(file = %file.id, error = ?e, "file scan");
        }
    });
}

/// The text the detector reads: every part, separated, with where each begins.
fn joined(x: &Extracted) -> (String, Vec<(usize, String)>) {
    let mut text = String::new();
    let mut places = Vec::with_capacity(x.parts.len());
    for p in &x.parts {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        places.push((text.len(), p.place.clone()));
        text.push_str(&p.text);
    }
    (text, places)
}

fn place_of(places: &[(usize, String)], offset: usize) -> (String, usize) {
    let i = places.partition_point(|(start, _)| *start <= offset);
    match i.checked_sub(1).and_then(|i| places.get(i)) {
        Some((start, place)) => (place.clone(), offset - start),
        None => (String::new(), offset),
    }
}

/// The outcome of a scan before it is stored: the state, the reason's code, the record the
/// owner and moderators read, and the policy's decision when the detector ran.
type Outcome = (FileState, String, Value, Option<Checked>);

/// Scans one file and moves it out of `scanning`: malware first (when `files.clamav` is set;
/// an infected file is never extracted), then extraction, the type check, detector and policy.
pub async fn scan(s: &AppState, file: &StoredFile) -> crate::ApiResult<StoredFile> {
    let malware = malware_scan(s, file).await;
    let outcome = match &malware {
        Some(Ok(Verdict::Infected(name))) => infected(name),
        _ => content_scan(s, file).await?,
    };
    let outcome = match malware {
        Some(Ok(Verdict::Clean)) => with_malware(
            outcome,
            json!({"scanner": "clamav", "scanned": true, "result": "clean"}),
        ),
        Some(Err(e)) => unscanned(s, file, outcome, &e),
        _ => outcome,
    };
    finish(s, file, outcome).await
}

/// `clamd`'s verdict on the file's blob (`None`: ClamAV is not configured).
async fn malware_scan(s: &AppState, file: &StoredFile) -> Option<Result<Verdict, String>> {
    let cfg = &s.inner.files.config;
    let addr = ClamAddr::parse(cfg.clamav.as_deref()?);
    let addr = match addr {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    let size = u64::try_from(file.size).unwrap_or(0);
    let limit = Duration::from_secs(cfg.clamav_timeout_secs.max(1));
    let blobs = s.inner.files.storage.blobs();
    let v = crate::clamav::scan_blob(&addr, blobs, &file.sha256, size, limit).await;
    if let Ok(Verdict::Infected(name)) = &v {
        tracing::warn!(file = %file.id, signature = %name, "clamd found malware in a file");
    }
    Some(v)
}

/// A file `clamd` found malware in: `infected`, never delivered nor downloadable.
fn infected(signature: &str) -> Outcome {
    let record = json!({
        "explanation": format!(
            "This file was not shared: the malware scanner found {signature} in it."
        ),
        "malware": {"scanner": "clamav", "scanned": true, "result": "infected",
                    "signature": signature},
    });
    (FileState::Infected, "malware".into(), record, None)
}

fn with_malware(mut o: Outcome, malware: Value) -> Outcome {
    if let Some(obj) = o.2.as_object_mut() {
        obj.insert("malware".into(), malware);
    }
    o
}

/// `clamd` could not scan the file: held for a moderator when ClamAV fails closed (the
/// default) and the rest of the scan found it clean; the rest of the scan decides when it
/// fails open (with a warning in the log).
fn unscanned(s: &AppState, file: &StoredFile, o: Outcome, error: &str) -> Outcome {
    let fail_open = s.inner.files.config.clamav_fail_open;
    let malware = json!({"scanner": "clamav", "scanned": false, "error": error,
                         "fail_open": fail_open});
    if fail_open {
        tracing::warn!(file = %file.id, error = %error,
            "clamd could not scan a file; files.clamav_fail_open lets the rest of the scan decide");
        return with_malware(o, malware);
    }
    tracing::warn!(file = %file.id, error = %error,
        "clamd could not scan a file; it is held for a moderator (fail closed)");
    let (state, reason, mut record, checked) = with_malware(o, malware);
    if state != FileState::Clean {
        return (state, reason, record, checked);
    }
    if let Some(obj) = record.as_object_mut() {
        obj.insert(
            "explanation".into(),
            json!(format!(
                "This file could not be checked for malware ({error}); a moderator will look at it before anyone else can open it."
            )),
        );
    }
    (
        FileState::Held,
        "malware_scan_unavailable".into(),
        record,
        None,
    )
}

/// Extraction out of process, the type check, then the detector and the policy.
async fn content_scan(s: &AppState, file: &StoredFile) -> crate::ApiResult<Outcome> {
    let cfg = &s.inner.files.config;
    let storage = &s.inner.files.storage;
    let copy = storage
        .blobs()
        .local_copy(&file.sha256, storage.scratch())
        .await
        .map_err(|e| crate::ApiError::bad_request(e.to_string()))?;
    let ocr = s
        .inner
        .files
        .scanners
        .ocr
        .as_ref()
        .map(|(p, _)| p.as_path());
    let extracted = run_extractor(cfg, ocr, copy.path(), &file.name, &file.content_type).await;
    // The local copy (and the extractor's temporary directory, already) go before the file
    // leaves `scanning`, so nothing of the scan is left on disk when clients are told.
    drop(copy);
    Ok(match extracted {
        Ok(x) => decide(s, file, &x).await?,
        Err(f) => {
            let state = match f.code.as_str() {
                "type_mismatch" | "refused" => FileState::Blocked,
                _ => FileState::ScanFailed,
            };
            let explanation = match state {
                    FileState::Blocked => format!("This file was not shared: {}.", f.message),
                    _ => format!(
                        "This file could not be checked ({}); a moderator will look at it before anyone else can open it.",
                        f.message
                    ),
                };
            let record =
                json!({"explanation": explanation, "failure": f.code, "detail": f.message});
            (state, f.code, record, None)
        }
    })
}

/// Stores the outcome: the transition (with its events), the decision (audited), the members
/// told.
async fn finish(
    s: &AppState,
    file: &StoredFile,
    (state, reason, record, checked): Outcome,
) -> crate::ApiResult<StoredFile> {
    let t = FileTransition {
        id: &file.id,
        from: &[FileState::Scanning],
        to: state,
        reason: (state != FileState::Clean).then_some(reason.as_str()),
        scan: Some(&record),
        reviewer_id: None,
    };
    let Some(done) = s.store().transition_file(&t, s.now_ms()).await? else {
        return Ok(s.store().get_file(&file.id).await?);
    };
    let decision = match checked {
        Some(c) => c.input(Surface::Attachment.as_str()),
        None => {
            let refused = matches!(state, FileState::Blocked | FileState::Infected);
            DecisionInput {
                surface: Surface::Attachment.as_str().into(),
                action: if refused {
                    Action::Block
                } else {
                    Action::HoldForReview
                }
                .as_str()
                .into(),
                automated: refused,
                decision: record.clone(),
            }
        }
    };
    s.store()
        .record_decision(&NewDecision {
            subject_kind: "file".into(),
            subject_id: Some(file.id.clone()),
            conversation_id: Some(file.conversation_id.clone()),
            message_id: None,
            message_version: None,
            actor_id: Some(file.owner_id.clone()),
            decision,
        })
        .await?;
    let members = s
        .store()
        .conversation_members(&file.conversation_id)
        .await?;
    s.notify(members.into_iter().map(|m| m.user_id));
    Ok(done)
}

/// Detector and policy on what the extractor found.
async fn decide(s: &AppState, file: &StoredFile, x: &Extracted) -> crate::ApiResult<Outcome> {
    let (text, places) = joined(x);
    let detector = s.clone();
    let scan_text = text.clone();
    let findings = tokio::task::spawn_blocking(move || detector.inner.detector.scan(&scan_text))
        .await
        .map_err(|_| crate::ApiError::bad_request("the detector failed"))?;
    let purpose = crate::domain::decide::parse_purpose(file.purpose.as_deref())?;
    let ctx = s
        .send_context(&file.conversation_id, &file.owner_id)
        .await?;
    let mut worst: Option<Checked> = None;
    for (stage, plan) in &ctx.pairs {
        let c = s.decide_findings(
            &text,
            &findings,
            Surface::Attachment,
            *stage,
            plan,
            purpose.clone(),
        );
        if worst.as_ref().is_none_or(|w| c.action() > w.action()) {
            worst = Some(c);
        }
    }
    let c = match worst {
        Some(c) => c,
        None => s.decide_findings(
            &text,
            &findings,
            Surface::Attachment,
            Stage::PreContract,
            &ctx.own_plan,
            purpose,
        ),
    };
    let evidence: Vec<Value> = c
        .decision
        .reasons
        .iter()
        .map(|r| {
            let (place, offset) = place_of(&places, r.start);
            json!({"rule": r.rule, "category": r.category, "matched": r.matched,
                   "place": place, "offset": offset, "action": r.action})
        })
        .collect();
    let (state, reason) = match c.action() {
        Action::Allow | Action::AllowWithNotice => (FileState::Clean, String::new()),
        Action::Mask | Action::HoldForReview => (FileState::Held, "contact_details".into()),
        Action::Block => (FileState::Blocked, "contact_details".into()),
    };
    let record = json!({
        "explanation": c.decision.explanation,
        "action": c.action().as_str(),
        "findings": evidence,
        "recorded_exceptions": c.decision.recorded_exceptions,
        "extracted": {"kind": x.kind, "sniffed": x.sniffed, "parts": x.parts.len(), "truncated": x.truncated},
    });
    Ok((state, reason, record, Some(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_map_offsets() {
        let x = Extracted {
            kind: "text".into(),
            sniffed: None,
            parts: vec![
                parley_extract::Part {
                    place: "file name".into(),
                    text: "a.txt".into(),
                },
                parley_extract::Part {
                    place: "page 2".into(),
                    text: "mail me".into(),
                },
            ],
            truncated: false,
        };
        let (text, places) = joined(&x);
        assert_eq!(text, "a.txt\n\nmail me");
        assert_eq!(place_of(&places, 7), ("page 2".to_string(), 0));
        assert_eq!(place_of(&places, 12), ("page 2".to_string(), 5));
        assert_eq!(place_of(&places, 1), ("file name".to_string(), 1));
    }
}
