//! The tus 1.0.0 request headers, parsed strictly (every one is untrusted input):
//! `Upload-Length`/`Upload-Offset`, `Upload-Metadata` and `Upload-Checksum`.

use base64::Engine;

/// The protocol version this server speaks.
pub const VERSION: &str = "1.0.0";
/// The extensions it implements.
pub const EXTENSIONS: &str = "creation,creation-with-upload,expiration,checksum,termination";
/// The checksum algorithms it accepts.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
/// The content type of a PATCH body (and of a creation-with-upload body).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// A header that does not parse; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{0}")]
    Invalid(String),
    /// `Upload-Checksum` names an algorithm this server does not support.
    #[error("unsupported checksum algorithm {0:?} (supported: sha1, sha256)")]
    UnsupportedAlgorithm(String),
}

fn invalid(m: impl Into<String>) -> HeaderError {
    HeaderError::Invalid(m.into())
}

/// A non-negative decimal integer header (`Upload-Length`, `Upload-Offset`): digits only.
pub fn parse_length(name: &str, v: &str) -> Result<u64, HeaderError> {
    if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("{name} must be a non-negative integer")));
    }
    v.parse()
        .map_err(|_| invalid(format!("{name} must be a non-negative integer")))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
/// Keys are unique, non-empty, ASCII without spaces or commas.
pub fn parse_metadata(v: &str) -> Result<Vec<(String, Vec<u8>)>, HeaderError> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    if v.len() > 4096 {
        return Err(invalid("Upload-Metadata is longer than 4096 bytes"));
    }
    if v.trim().is_empty() {
        return Ok(out);
    }
    for pair in v.split(',') {
        let pair = pair.trim();
        let mut parts = pair.split(' ');
        let key = parts.next().unwrap_or_default();
        let value = parts.next();
        if parts.next().is_some() {
            return Err(invalid("Upload-Metadata: a pair is `key base64value`"));
        }
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(invalid("Upload-Metadata: keys are non-empty ASCII"));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(invalid(format!("Upload-Metadata: key {key:?} given twice")));
        }
        let bytes = match value {
            None => Vec::new(),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| invalid(format!("Upload-Metadata: {key} is not base64")))?,
        };
        out.push((key.to_string(), bytes));
    }
    Ok(out)
}

/// A checksum algorithm of the checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
}

/// `Upload-Checksum: <algorithm> <base64 digest>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

pub fn parse_checksum(v: &str) -> Result<Checksum, HeaderError> {
    let (algo, b64) = v
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid("Upload-Checksum is `<algorithm> <base64 digest>`"))?;
    let (algorithm, len) = match algo.to_ascii_lowercase().as_str() {
        "sha1" => (Algorithm::Sha1, 20),
        "sha256" => (Algorithm::Sha256, 32),
        _ => {
            return Err(HeaderError::UnsupportedAlgorithm(
                algo.chars().take(32).collect(),
            ))
        }
    };
    let digest = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| invalid("Upload-Checksum: the digest is not base64"))?;
    if digest.len() != len {
        return Err(invalid(format!(
            "Upload-Checksum: a {algo} digest is {len} bytes"
        )));
    }
    Ok(Checksum { algorithm, digest })
}

/// What an upload's metadata must say, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMeta {
    pub filename: String,
    /// A lower-case `type/subtype` (`application/octet-stream` when not given).
    pub filetype: String,
    pub conversation_id: String,
    /// A declared exception (`legal_document`).
    pub purpose: Option<String>,
}

/// Validates the metadata pairs: `filename` and `conversation_id` required, `filetype` and
/// `purpose` optional, other keys ignored (tus clients add their own).
pub fn upload_meta(pairs: &[(String, Vec<u8>)]) -> Result<UploadMeta, HeaderError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_slice())
    };
    let text = |k: &str, v: &[u8]| {
        String::from_utf8(v.to_vec()).map_err(|_| invalid(format!("{k} is not UTF-8")))
    };
    let filename = get("filename").ok_or_else(|| invalid("Upload-Metadata needs a filename"))?;
    let filename = check_filename(&text("filename", filename)?)?;
    let conversation_id =
        get("conversation_id").ok_or_else(|| invalid("Upload-Metadata needs a conversation_id"))?;
    let conversation_id = text("conversation_id", conversation_id)?;
    if conversation_id.is_empty()
        || conversation_id.len() > 128
        || !conversation_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(invalid("conversation_id is not a conversation id"));
    }
    let filetype = match get("filetype") {
        None | Some([]) => "application/octet-stream".to_string(),
        Some(v) => check_media_type(&text("filetype", v)?)?,
    };
    let purpose = match get("purpose") {
        None | Some([]) => None,
        Some(v) => {
            let p = text("purpose", v)?;
            if p != "legal_document" {
                return Err(invalid(
                    "purpose must be legal_document (the one declared exception for files)",
                ));
            }
            Some(p)
        }
    };
    Ok(UploadMeta {
        filename,
        filetype,
        conversation_id,
        purpose,
    })
}

/// A file name as people will see it: 1–255 bytes, no control or format characters, no path.
pub fn check_filename(name: &str) -> Result<String, HeaderError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(invalid("filename must be 1 to 255 bytes"));
    }
    if name.chars().any(|c| {
        c.is_control()
            || matches!(c, '/' | '\\' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}')
    }) {
        return Err(invalid(
            "filename must not contain a path, control or direction characters",
        ));
    }
    if name == "." || name == ".." {
        return Err(invalid("filename must name a file"));
    }
    Ok(name.to_string())
}

/// A media type `type/subtype` (parameters dropped), lower case.
pub fn check_media_type(v: &str) -> Result<String, HeaderError> {
    let t = v
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let ok_token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((a, b)) if ok_token(a) && ok_token(b) => Ok(t),
        _ => Err(invalid(
            "filetype must be a media type like application/pdf",
        )),
    }
}

/// The extension of a file name, lower case, without the dot.
pub fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 16).then(|| ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn metadata_pairs() {
        let v = format!(
            "filename {},conversation_id {},is_confidential,filetype {}",
            b64("brief.pdf"),
            b64("c_1"),
            b64("application/PDF; x=y")
        );
        let pairs = parse_metadata(&v).unwrap();
        assert_eq!(pairs.len(), 4);
        assert_eq!(pairs[2], ("is_confidential".into(), vec![]));
        let m = upload_meta(&pairs).unwrap();
        assert_eq!(m.filename, "brief.pdf");
        assert_eq!(m.filetype, "application/pdf");
        assert_eq!(m.conversation_id, "c_1");
        assert!(parse_metadata("a !!!").is_err());
        assert!(parse_metadata(&format!("a {},a {}", b64("x"), b64("y"))).is_err());
        assert!(parse_metadata("a b c").is_err());
        assert!(upload_meta(&parse_metadata(&format!("filename {}", b64("x"))).unwrap()).is_err());
        for bad in ["../x", "a/b", "", "a\u{202e}fdp.exe", "..", "x\ny"] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
        assert!(check_media_type("text").is_err());
        assert!(check_media_type("text/plain\r\nx: y").is_err());
    }

    #[test]
    fn checksums_and_lengths() {
        let c = parse_checksum(&format!(
            "sha1 {}",
            base64::engine::general_purpose::STANDARD.encode([0u8; 20])
        ))
        .unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha1);
        assert!(matches!(
            parse_checksum("md5 AAAA"),
            Err(HeaderError::UnsupportedAlgorithm(_))
        ));
        assert!(parse_checksum("sha256 AAAA").is_err());
        assert!(parse_checksum("sha256").is_err());
        assert_eq!(parse_length("Upload-Length", "0").unwrap(), 0);
        for bad in ["", "-1", "+1", "1.0", " 1", "99999999999999999999"] {
            assert!(parse_length("Upload-Length", bad).is_err(), "{bad:?}");
        }
        assert_eq!(extension("a.Tar.GZ").as_deref(), Some("gz"));
        assert_eq!(extension(".bashrc"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(12), ..ProptestConfig::default() })]
        #[test]
        fn metadata_round_trips(pairs in proptest::collection::btree_map("[a-z_]{1,12}", proptest::collection::vec(any::<u8>(), 0..40), 0..6)) {
            let header = pairs.iter().map(|(k, v)| {
                if v.is_empty() { k.clone() } else { format!("{k} {}", base64::engine::general_purpose::STANDARD.encode(v)) }
            }).collect::<Vec<_>>().join(",");
            let parsed = parse_metadata(&header).unwrap();
            let back: std::collections::BTreeMap<String, Vec<u8>> = parsed.into_iter().collect();
            prop_assert_eq!(back, pairs);
        }

        #[test]
        fn any_header_parses_or_fails_cleanly(s in "\\PC{0,200}") {
            let _ = parse_metadata(&s).map(|p| upload_meta(&p));
            let _ = parse_checksum(&s);
            let _ = parse_length("x", &s);
        }
    }
}
