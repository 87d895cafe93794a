//! Files in conversations as people see them: who may see and download which file, signed
//! short-lived download links, and a moderator's review of a held file.

use hmac::{Hmac, Mac};
use parley_store::{DecisionInput, FileState, FileTransition, NewDecision, StoreError, StoredFile};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::blob::{hex, BlobStore};
use crate::AppState;

/// A file's state (the store's `FileState`, documented).
#[derive(ToSchema)]
#[schema(as = FileState)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FileStateDoc {
    Scanning,
    Clean,
    Held,
    Blocked,
    Infected,
    ScanFailed,
}

/// A file as the API shows it to one reader.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileView {
    pub id: String,
    pub conversation_id: String,
    pub owner_id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// `scanning`, `clean`, `held`, `blocked`, `infected`, `scan_failed`.
    #[schema(value_type = FileStateDoc)]
    pub state: FileState,
    /// Why it is not clean (`contact_details`, `type_mismatch`, `refused`, `malformed`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `legal_document` when the sender declared it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// For the owner: what the scan found and why (the explanation and the evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<OwnerScan>,
    /// A signed link valid for `files.download_ttl_secs`, where the reader may download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// What the owner sees of a scan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerScan {
    /// The policy's explanation (or why the file could not be checked).
    pub explanation: Option<String>,
    pub findings: Vec<FileFinding>,
}

/// One thing the scan found in a file, and where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileFinding {
    #[serde(default)]
    pub rule: String,
    /// phone, email, address, link, handle, request.
    #[serde(default)]
    pub category: String,
    /// The text as found.
    #[serde(default)]
    pub matched: String,
    /// Where: `file name`, `text`, `page 2`, `link`, `metadata:author`, `word/document.xml`,
    /// `archive:notes.txt: text`, ...
    #[serde(default)]
    pub place: String,
    /// Byte offset in that place.
    #[serde(default)]
    pub offset: u64,
    /// The policy's action for this finding.
    #[serde(default)]
    pub action: String,
}

/// A list of files.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileList {
    pub files: Vec<FileView>,
}

/// A file waiting for a moderator: the file (with a download link) and the scan's record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationFile {
    #[serde(flatten)]
    pub file: FileView,
    /// The recorded scan: explanation, findings with places and offsets, the decision.
    #[schema(value_type = Option<Object>)]
    pub scan: Option<Value>,
}

/// Files waiting for a moderator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationFileList {
    pub files: Vec<ModerationFile>,
}

/// Whether `user` may download: the owner their own file (unless refused as an executable or
/// infected), anyone else only a clean one.
pub fn may_download(f: &StoredFile, user: &str) -> bool {
    match f.state {
        FileState::Clean => true,
        FileState::Infected => false,
        FileState::Blocked => f.owner_id == user && f.reason.as_deref() == Some("contact_details"),
        _ => f.owner_id == user,
    }
}

pub fn view(s: &AppState, f: &StoredFile, reader: &str) -> FileView {
    let own = f.owner_id == reader;
    FileView {
        id: f.id.clone(),
        conversation_id: f.conversation_id.clone(),
        owner_id: f.owner_id.clone(),
        name: f.name.clone(),
        size: f.size,
        content_type: f.content_type.clone(),
        state: f.state,
        reason: f.reason.clone(),
        purpose: f.purpose.clone(),
        scan: if own {
            f.scan.as_ref().map(owner_scan)
        } else {
            None
        },
        download_url: may_download(f, reader).then(|| signed_url(s, &f.id, reader)),
        created_at: f.created_at,
    }
}

/// What the owner sees of a scan: the explanation and the evidence.
fn owner_scan(v: &Value) -> OwnerScan {
    OwnerScan {
        explanation: v
            .get("explanation")
            .and_then(Value::as_str)
            .map(str::to_string),
        findings: v
            .get("findings")
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .unwrap_or_default(),
    }
}

fn signature(key: &[u8], file: &str, user: &str, expires: i64) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("parley-download\n{file}\n{user}\n{expires}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A download link for `user`, valid `files.download_ttl_secs` from now.
pub fn signed_url(s: &AppState, file: &str, user: &str) -> String {
    let ttl = i64::try_from(s.inner.files.config.download_ttl_secs).unwrap_or(300);
    let expires = s.now_ms() / 1000 + ttl;
    let sig = signature(&s.inner.files.signing_key, file, user, expires);
    format!(
        "/v1/files/{file}/content?user={}&expires={expires}&sig={}",
        percent(user),
        hex(&sig)
    )
}

/// Why a download link is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Bad or missing signature.
    Forged,
    Expired,
}

/// Checks a link's signature (constant time) and expiry.
pub fn verify(
    s: &AppState,
    file: &str,
    user: &str,
    expires: i64,
    sig: &str,
) -> Result<(), LinkError> {
    let given: Option<Vec<u8>> = (sig.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(sig.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    let Some(given) = given else {
        return Err(LinkError::Forged);
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&s.inner.files.signing_key)
        .expect("HMAC takes any key length");
    mac.update(format!("parley-download\n{file}\n{user}\n{expires}").as_bytes());
    mac.verify_slice(&given).map_err(|_| LinkError::Forged)?;
    if expires < s.now_ms() / 1000 {
        return Err(LinkError::Expired);
    }
    Ok(())
}

/// The file if `user` may download it now (a member, and [`may_download`]); NotFound else.
pub async fn downloadable(s: &AppState, file: &str, user: &str) -> Result<StoredFile, StoreError> {
    let f = s.store().get_file(file).await?;
    if s.store().is_member(&f.conversation_id, user).await? && may_download(&f, user) {
        return Ok(f);
    }
    // Moderators open held files to judge them.
    let moderator = s
        .store()
        .get_user(user)
        .await?
        .has_role(parley_store::Role::Moderator);
    if moderator && f.state != FileState::Infected {
        return Ok(f);
    }
    Err(StoreError::NotFound("file"))
}

/// A moderator's call on a held (or unscannable) file: `approve` delivers it to the other
/// members, `reject` blocks it. Recorded (and audited) as a decision.
pub async fn review(
    s: &AppState,
    moderator: &str,
    file: &str,
    approve: bool,
) -> Result<StoredFile, StoreError> {
    let to = if approve {
        FileState::Clean
    } else {
        FileState::Blocked
    };
    let t = FileTransition {
        id: file,
        from: &[FileState::Held, FileState::ScanFailed],
        to,
        reason: (!approve).then_some("rejected_by_moderator"),
        scan: None,
        reviewer_id: Some(moderator),
    };
    let Some(f) = s.store().transition_file(&t, s.now_ms()).await? else {
        return Err(StoreError::Conflict(
            "the file is not waiting for review".into(),
        ));
    };
    let action = if approve { "allow" } else { "block" };
    s.store()
        .record_decision(&NewDecision {
            subject_kind: "file".into(),
            subject_id: Some(f.id.clone()),
            conversation_id: Some(f.conversation_id.clone()),
            message_id: None,
            message_version: None,
            actor_id: Some(moderator.to_string()),
            decision: DecisionInput {
                surface: "attachment".into(),
                action: action.into(),
                automated: false,
                decision: json!({"review": action, "reviewer": moderator}),
            },
        })
        .await?;
    let members = s.store().conversation_members(&f.conversation_id).await?;
    s.notify(members.into_iter().map(|m| m.user_id));
    Ok(f)
}

/// Deletes a file (its owner, or a moderator); its blob goes with its last file.
pub async fn delete(s: &AppState, user: &str, id: &str) -> Result<(), StoreError> {
    let f = s.store().get_file(id).await?;
    let allowed = (f.owner_id == user && s.store().is_member(&f.conversation_id, user).await?)
        || s.store()
            .get_user(user)
            .await?
            .has_role(parley_store::Role::Moderator);
    if !allowed {
        return Err(StoreError::NotFound("file"));
    }
    let files = &s.inner.files;
    let _blob = files.blob_lock(&f.sha256).await;
    let (f, left) = s.store().delete_file(id, s.now_ms()).await?;
    if left == 0 {
        if let Err(e) = files.storage.blobs().delete(&f.sha256).await {
            // The file is gone; its bytes stay until an operator removes them.
            tracing::warn!(error = %e, blob = %f.sha256, "deleting an unreferenced blob");
        }
    }
    let members = s.store().conversation_members(&f.conversation_id).await?;
    s.notify(members.into_iter().map(|m| m.user_id));
    Ok(())
}
