//! The `[files]` section of the configuration: uploads, storage, scanning, downloads.
//! Environment variables are `PARLEY_FILES_<KEY>` (e.g. `PARLEY_FILES_MAX_UPLOAD_BYTES`);
//! flags and [`crate::Config::set`] take `files.<key>`.

use crate::config_error::ConfigError;
use serde::Deserialize;

/// The largest file the server accepts at all (tus `Upload-Length`), whatever the config says.
pub const HARD_MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Where file bytes live: a directory path (or `file://DIR`), or `s3://bucket/prefix` on an
    /// S3-compatible service (uploads are then staged beside the database), or `memory://`
    /// (tests: lost at exit). Empty: a directory beside the
    /// SQLite database (`<db>.files/`), or `parley-files/` in the working directory for
    /// PostgreSQL, or a fresh temporary directory for an in-memory database.
    pub storage: String,
    /// `s3://` storage: the service's endpoint (e.g. `http://127.0.0.1:9000`; unset: AWS, or
    /// `AWS_ENDPOINT`). Path-style requests; plain HTTP only when the endpoint says `http://`.
    pub s3_endpoint: Option<String>,
    /// `s3://` storage: the region (unset: `AWS_REGION`, else `us-east-1`).
    pub s3_region: Option<String>,
    /// `s3://` storage: credentials (unset: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Largest file, bytes (default 100 MiB, at most 5 GiB).
    pub max_upload_bytes: u64,
    /// Unfinished uploads a user may have at once (the next one answers 429).
    pub max_pending_uploads: u32,
    /// How long an upload may take before it expires and its bytes are collected, seconds.
    pub upload_ttl_secs: u64,
    /// Bytes an organisation (or a user without one) may keep in files and uploads; 0: no quota.
    pub org_quota_bytes: u64,
    /// Lifetime of a signed download URL, seconds.
    pub download_ttl_secs: u64,
    /// The HMAC key that signs download URLs (`PARLEY_FILES_SIGNING_KEY`; at least 32 bytes).
    /// Unset: a random key per process (URLs then only work on the node that issued them).
    pub signing_key: Option<String>,
    /// The extractor: program and leading arguments; the file path is appended. Empty: this
    /// executable's `extract` subcommand when it is the `parley` binary.
    pub extract_command: Vec<String>,
    /// Wall-clock limit of one extraction, seconds.
    pub extract_timeout_secs: u64,
    /// Address-space limit of the extractor process, bytes.
    pub extract_memory_bytes: u64,
    /// The OCR program that reads the text in pictures (Debian's `tesseract-ocr`; a name looked
    /// up in `PATH`, or a path). Empty: no OCR. When it does not run, the server says so at
    /// start and in `/metrics`, and pictures are scanned for everything else.
    pub ocr_command: String,
    /// Wall-clock limit of one OCR run, seconds (a picture past it ends `scan_failed`, reason
    /// `timeout`); keep it under `extract_timeout_secs`.
    pub ocr_timeout_secs: u64,
    /// File extensions refused outright (executables and scripts), lower case, no dot.
    pub refused_extensions: Vec<String>,
    /// ClamAV's `clamd`, scanning every file for malware with `INSTREAM`: `tcp://HOST:PORT`
    /// (or `HOST:PORT`), or a unix socket (`unix:///run/clamav/clamd.ctl` or an absolute
    /// path). Unset: no malware scan.
    pub clamav: Option<String>,
    /// When `clamd` is configured but cannot scan a file (unreachable, timeout, an error such
    /// as its `StreamMaxLength`): `false` (the default) holds the file for a moderator (fail
    /// closed); `true` lets the rest of the scan decide and logs a warning (fail open).
    pub clamav_fail_open: bool,
    /// Wall-clock limit of one `clamd` scan (connecting included), seconds.
    pub clamav_timeout_secs: u64,
}

impl Default for FilesConfig {
    fn default() -> FilesConfig {
        FilesConfig {
            storage: String::new(),
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            max_upload_bytes: 100 * 1024 * 1024,
            max_pending_uploads: 5,
            upload_ttl_secs: 24 * 3600,
            org_quota_bytes: 10 * 1024 * 1024 * 1024,
            download_ttl_secs: 300,
            signing_key: None,
            extract_command: Vec::new(),
            extract_timeout_secs: 20,
            extract_memory_bytes: 1024 * 1024 * 1024,
            ocr_command: "tesseract".into(),
            ocr_timeout_secs: 10,
            refused_extensions: [
                "exe", "dll", "com", "bat", "cmd", "msi", "scr", "pif", "cpl", "ps1", "vbs", "vbe",
                "js", "jse", "wsf", "wsh", "hta", "jar", "apk", "app", "dmg", "deb", "rpm", "sh",
                "elf", "so", "dylib", "lnk", "reg",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            clamav: None,
            clamav_fail_open: false,
            clamav_timeout_secs: 60,
        }
    }
}

const KEYS: &[&str] = &[
    "storage",
    "s3_endpoint",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    "max_upload_bytes",
    "max_pending_uploads",
    "upload_ttl_secs",
    "org_quota_bytes",
    "download_ttl_secs",
    "signing_key",
    "extract_command",
    "extract_timeout_secs",
    "extract_memory_bytes",
    "ocr_command",
    "ocr_timeout_secs",
    "refused_extensions",
    "clamav",
    "clamav_fail_open",
    "clamav_timeout_secs",
];

impl FilesConfig {
    /// Overrides from `PARLEY_FILES_*` variables.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for key in KEYS {
            let var = format!("PARLEY_FILES_{}", key.to_ascii_uppercase());
            if let Some(v) = get(&var) {
                self.set(key, &v)
                    .map_err(|e| ConfigError(format!("{var}: {}", e.0)))?;
            }
        }
        Ok(())
    }

    /// Sets one key from a string (lists are comma-separated; the extract command is split on
    /// spaces).
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| ConfigError(format!("not a number: {v:?}")))
        }
        fn opt(v: &str) -> Option<String> {
            Some(v.trim().to_string()).filter(|s| !s.is_empty())
        }
        match key {
            "storage" => self.storage = v.trim().to_string(),
            "s3_endpoint" => self.s3_endpoint = opt(v),
            "s3_region" => self.s3_region = opt(v),
            "s3_access_key_id" => self.s3_access_key_id = opt(v),
            "s3_secret_access_key" => self.s3_secret_access_key = opt(v),
            "max_upload_bytes" => self.max_upload_bytes = num(v)?,
            "max_pending_uploads" => self.max_pending_uploads = num(v)?,
            "upload_ttl_secs" => self.upload_ttl_secs = num(v)?,
            "org_quota_bytes" => self.org_quota_bytes = num(v)?,
            "download_ttl_secs" => self.download_ttl_secs = num(v)?,
            "signing_key" => self.signing_key = Some(v.to_string()).filter(|s| !s.is_empty()),
            "extract_command" => {
                self.extract_command = v.split_whitespace().map(String::from).collect()
            }
            "extract_timeout_secs" => self.extract_timeout_secs = num(v)?,
            "extract_memory_bytes" => self.extract_memory_bytes = num(v)?,
            "ocr_command" => self.ocr_command = v.trim().to_string(),
            "ocr_timeout_secs" => self.ocr_timeout_secs = num(v)?,
            "refused_extensions" => {
                self.refused_extensions = v
                    .split(',')
                    .map(|s| s.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "clamav" => self.clamav = opt(v),
            "clamav_fail_open" => {
                self.clamav_fail_open = match v.trim() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" | "" => false,
                    _ => return Err(ConfigError(format!("not a boolean: {v:?}"))),
                }
            }
            "clamav_timeout_secs" => self.clamav_timeout_secs = num(v)?,
            _ => return Err(ConfigError(format!("unknown setting files.{key}"))),
        }
        Ok(())
    }

    /// The `s3://` connection settings.
    pub fn s3(&self) -> crate::blob_object::S3Settings {
        crate::blob_object::S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        }
    }

    /// Checks the values that have bounds.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_upload_bytes == 0 || self.max_upload_bytes > HARD_MAX_UPLOAD_BYTES {
            return Err(ConfigError(format!(
                "files.max_upload_bytes must be 1 to {HARD_MAX_UPLOAD_BYTES} (5 GiB)"
            )));
        }
        if self.max_pending_uploads == 0 {
            return Err(ConfigError(
                "files.max_pending_uploads must be at least 1".into(),
            ));
        }
        if self.upload_ttl_secs == 0 || self.download_ttl_secs == 0 {
            return Err(ConfigError(
                "files.upload_ttl_secs and files.download_ttl_secs must be positive".into(),
            ));
        }
        if let Some(a) = &self.clamav {
            crate::clamav::ClamAddr::parse(a).map_err(ConfigError)?;
        }
        if self.clamav_timeout_secs == 0 {
            return Err(ConfigError(
                "files.clamav_timeout_secs must be positive".into(),
            ));
        }
        if self.ocr_timeout_secs == 0 {
            return Err(ConfigError(
                "files.ocr_timeout_secs must be positive".into(),
            ));
        }
        if self.signing_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(ConfigError(
                "files.signing_key must be at least 32 bytes".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_env_and_bounds() {
        let mut c = FilesConfig::default();
        assert_eq!(c.max_upload_bytes, 100 * 1024 * 1024);
        assert_eq!(c.max_pending_uploads, 5);
        assert_eq!(c.upload_ttl_secs, 86400);
        assert!(c.check().is_ok());
        c.apply_env(|k| match k {
            "PARLEY_FILES_MAX_UPLOAD_BYTES" => Some("6000000000".into()),
            "PARLEY_FILES_REFUSED_EXTENSIONS" => Some(".EXE, sh".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.refused_extensions, ["exe", "sh"]);
        assert!(c.check().unwrap_err().0.contains("5 GiB"));
        assert!(c.set("nope", "1").is_err());
        assert!(c.set("max_pending_uploads", "x").is_err());
        c.set("max_upload_bytes", "1024").unwrap();
        c.set("signing_key", "short").unwrap();
        assert!(c.check().is_err());
        let mut c = FilesConfig::default();
        assert_eq!(c.clamav, None);
        assert!(!c.clamav_fail_open);
        c.apply_env(|k| match k {
            "PARLEY_FILES_CLAMAV" => Some("tcp://127.0.0.1:3310".into()),
            "PARLEY_FILES_CLAMAV_FAIL_OPEN" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.clamav.as_deref(), Some("tcp://127.0.0.1:3310"));
        assert!(c.clamav_fail_open);
        assert!(c.check().is_ok());
        assert!(c.set("clamav_fail_open", "maybe").is_err());
        c.set("clamav", "ftp://x").unwrap();
        assert!(c.check().unwrap_err().0.contains("files.clamav"));
        let mut c = FilesConfig::default();
        assert_eq!(
            (c.ocr_command.as_str(), c.ocr_timeout_secs),
            ("tesseract", 10)
        );
        c.apply_env(|k| (k == "PARLEY_FILES_OCR_COMMAND").then(|| " ".into()))
            .unwrap();
        assert_eq!(c.ocr_command, "");
        c.set("ocr_timeout_secs", "0").unwrap();
        assert!(c.check().unwrap_err().0.contains("ocr_timeout_secs"));
    }
}
