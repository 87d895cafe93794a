//! The text in a picture, read by the `tesseract` program (Debian's `tesseract-ocr`): the
//! decoded picture is written, grey on white, as a PNG into a temporary file (so Tesseract
//! never parses the uploaded bytes themselves), `tesseract FILE stdout` runs with a time limit
//! and one thread, and what it prints is the text. The temporary file is deleted before this
//! returns, whatever happens.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::DynamicImage;

use crate::{pixels, ExtractError, Sink};

/// Longest side of the picture handed to Tesseract.
const OCR_MAX_SIDE: u32 = 3000;
/// Most bytes of text read back.
const MAX_TEXT: u64 = 1024 * 1024;

/// How to run the OCR program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ocr {
    /// The `tesseract` executable (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// Wall-clock limit of one run; past it the program is killed and the file fails
    /// ([`ExtractError::Timeout`]).
    pub timeout: Duration,
}

/// Reads the text in `img` into `sink`, place `image text`.
pub fn read(img: &DynamicImage, ocr: &Ocr, sink: &mut Sink) -> Result<(), ExtractError> {
    let grey = pixels::grey(img, OCR_MAX_SIDE);
    let fail = |what: String| ExtractError::Malformed(format!("text recognition failed: {what}"));
    let file = tempfile::Builder::new()
        .prefix("parley-ocr-")
        .suffix(".png")
        .tempfile()
        .map_err(|e| fail(format!("temporary file: {e}")))?;
    grey.save_with_format(file.path(), image::ImageFormat::Png)
        .map_err(|e| fail(format!("temporary file: {e}")))?;
    let text = run(ocr, file.path())?;
    drop(file);
    sink.push("image text", text);
    Ok(())
}

fn run(ocr: &Ocr, path: &std::path::Path) -> Result<String, ExtractError> {
    let fail = |what: String| ExtractError::Malformed(format!("text recognition failed: {what}"));
    let mut child = Command::new(&ocr.program)
        .arg(path)
        .arg("stdout")
        .args(["-l", "eng"])
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot start {}: {e}", ocr.program.display())))?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let _ = s.take(MAX_TEXT).read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + ocr.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExtractError::Timeout(format!(
                    "reading the text in the picture took longer than {} s",
                    ocr.timeout.as_secs_f32()
                )));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(e.to_string()));
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(fail(format!(
            "{} ended with {status}",
            ocr.program.display()
        )));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Whether `program` runs as Tesseract (`tesseract --version` succeeds): the version line.
pub fn probe(program: &std::path::Path) -> Option<String> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // Older versions print the version on stderr.
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let line = String::from_utf8_lossy(&text)
        .lines()
        .next()?
        .trim()
        .to_string();
    line.to_ascii_lowercase()
        .contains("tesseract")
        .then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let ocr = Ocr {
            program: "/nonexistent/tesseract".into(),
            timeout: Duration::from_secs(1),
        };
        let img = DynamicImage::new_luma8(4, 4);
        let mut sink = Sink::new(&Limits::default());
        assert!(matches!(
            read(&img, &ocr, &mut sink),
            Err(ExtractError::Malformed(_))
        ));
        assert!(probe(std::path::Path::new("/nonexistent/tesseract")).is_none());
    }

    #[test]
    fn a_slow_program_is_killed_at_the_limit() {
        // `sleep FILE stdout -l eng` fails at once; a script that sleeps stands in instead.
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("slow");
        std::fs::write(&prog, "#!/bin/sh\nsleep 5\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let ocr = Ocr {
            program: prog,
            timeout: Duration::from_millis(300),
        };
        let t = Instant::now();
        let img = DynamicImage::new_luma8(4, 4);
        let mut sink = Sink::new(&Limits::default());
        assert!(matches!(
            read(&img, &ocr, &mut sink),
            Err(ExtractError::Timeout(_))
        ));
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
