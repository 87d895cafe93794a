//! The type of a file: what its name says, what its declared media type says, and what its
//! bytes say (signatures through `infer`). The three must agree; executables are refused.

/// The outcome of [`check_type`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeVerdict {
    /// The kind of file to extract (see [`crate::Extracted::kind`]).
    Ok(&'static str),
    /// Name, declared type and bytes disagree; says how.
    Mismatch(String),
    /// An executable or a script.
    Executable(String),
}

/// The kind a file name's extension claims.
fn kind_of_extension(ext: &str) -> &'static str {
    match ext {
        "txt" | "text" | "log" => "text",
        "csv" | "tsv" => "csv",
        "md" | "markdown" => "markdown",
        "html" | "htm" | "xhtml" => "html",
        "rtf" => "rtf",
        "vcf" | "vcard" => "vcard",
        "pdf" => "pdf",
        "docx" => "docx",
        "xlsx" => "xlsx",
        "pptx" => "pptx",
        "odt" => "odt",
        "ods" => "ods",
        "odp" => "odp",
        "zip" => "zip",
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "bmp" | "tif" | "tiff" | "heic" | "avif" => {
            "image"
        }
        _ => "binary",
    }
}

fn is_text_kind(kind: &str) -> bool {
    matches!(kind, "text" | "csv" | "markdown" | "html" | "vcard" | "rtf")
}

/// Media types a declared type may be for a kind (besides `application/octet-stream`).
fn declared_fits(kind: &str, declared: &str, ext: &str) -> bool {
    if declared.is_empty() || declared == "application/octet-stream" {
        return true;
    }
    let zip_like = matches!(
        declared,
        "application/zip" | "application/x-zip-compressed" | "application/x-zip"
    );
    match kind {
        "text" | "markdown" => declared.starts_with("text/"),
        "csv" => declared.starts_with("text/") || declared == "application/vnd.ms-excel",
        "html" => declared == "text/html" || declared == "application/xhtml+xml",
        "rtf" => matches!(declared, "application/rtf" | "text/rtf"),
        "vcard" => matches!(declared, "text/vcard" | "text/x-vcard" | "text/directory"),
        "pdf" => declared == "application/pdf" || declared == "application/x-pdf",
        "docx" | "xlsx" | "pptx" => {
            declared.starts_with("application/vnd.openxmlformats-officedocument.") || zip_like
        }
        "odt" | "ods" | "odp" => {
            declared.starts_with("application/vnd.oasis.opendocument.") || zip_like
        }
        "zip" => zip_like,
        "image" => {
            declared.starts_with("image/")
                && same_extension(
                    ext,
                    declared
                        .trim_start_matches("image/")
                        .trim_start_matches("x-"),
                )
        }
        _ => true,
    }
}

fn same_extension(a: &str, b: &str) -> bool {
    let norm = |e: &str| match e {
        "jpeg" | "jpe" | "pjpeg" => "jpg".to_string(),
        "tif" => "tiff".to_string(),
        e => e.to_string(),
    };
    norm(a) == norm(b)
}

/// Checks the bytes against the name and the declared media type.
pub fn check_type(bytes: &[u8], name: &str, declared: &str) -> TypeVerdict {
    let ext = name
        .rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let kind = kind_of_extension(&ext);
    let sniffed = infer::get(bytes);
    if let Some(t) = &sniffed {
        if t.matcher_type() == infer::MatcherType::App {
            return TypeVerdict::Executable(format!(
                "the file is an executable ({})",
                t.mime_type()
            ));
        }
    }
    if bytes.starts_with(b"#!") {
        return TypeVerdict::Executable("the file is a script (#!)".into());
    }
    let declared = declared.trim().to_ascii_lowercase();
    if !declared_fits(kind, &declared, &ext) {
        return TypeVerdict::Mismatch(format!(
            "the declared type {declared} does not fit a .{ext} file"
        ));
    }
    let sniffed_mime = sniffed.map(|t| t.mime_type()).unwrap_or("");
    let sniffed_text = sniffed.is_some_and(|t| t.matcher_type() == infer::MatcherType::Text);
    let fits = match kind {
        k if is_text_kind(k) => {
            let head = &bytes[..bytes.len().min(8192)];
            let binary = head.contains(&0);
            let rtf_ok = k == "rtf" && sniffed_mime == "application/rtf";
            !binary && (sniffed.is_none() || sniffed_text || rtf_ok)
        }
        "pdf" => sniffed_mime == "application/pdf",
        "docx" | "xlsx" | "pptx" => {
            sniffed_mime == "application/zip"
                || sniffed_mime.starts_with("application/vnd.openxmlformats-officedocument.")
        }
        "odt" | "ods" | "odp" => {
            sniffed_mime == "application/zip"
                || sniffed_mime.starts_with("application/vnd.oasis.opendocument.")
        }
        "zip" => {
            sniffed_mime == "application/zip"
                || sniffed_mime.starts_with("application/vnd.openxmlformats-officedocument.")
                || sniffed_mime.starts_with("application/vnd.oasis.opendocument.")
        }
        "image" => sniffed.is_some_and(|t| {
            t.matcher_type() == infer::MatcherType::Image && same_extension(&ext, t.extension())
        }),
        _ => true,
    };
    if fits {
        TypeVerdict::Ok(kind)
    } else {
        let what = if sniffed_mime.is_empty() {
            "unrecognised bytes".to_string()
        } else {
            sniffed_mime.to_string()
        };
        TypeVerdict::Mismatch(format!("the name says .{ext} but the bytes are {what}"))
    }
}
