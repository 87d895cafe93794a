//! The types of files in conversations: uploads and their states, stored files and their scan
//! states, a checked change of state.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Result, StoreError};
use crate::model::Millis;

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Bytes are still coming.
    Pending,
    /// Every byte arrived; the upload became a file.
    Complete,
    /// Its lifetime ended before it completed; its bytes are gone.
    Expired,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Pending => "pending",
            UploadState::Complete => "complete",
            UploadState::Expired => "expired",
        }
    }
    pub(crate) fn parse(s: &str) -> Result<UploadState> {
        Ok(match s {
            "pending" => UploadState::Pending,
            "complete" => UploadState::Complete,
            "expired" => UploadState::Expired,
            _ => return Err(StoreError::Invalid(format!("unknown upload state {s:?}"))),
        })
    }
}

/// One resumable upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upload {
    pub id: String,
    pub owner_id: String,
    /// The owner's org id, or `user:<id>` when the owner has no org.
    pub quota_key: String,
    pub conversation_id: String,
    pub filename: String,
    pub filetype: String,
    pub purpose: Option<String>,
    pub length: i64,
    /// The tus offset: bytes received and synced to disk.
    pub received: i64,
    pub state: UploadState,
    pub expires_at: Millis,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What [`Store::create_upload`] needs. Limits are checked in the same transaction.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub owner_id: String,
    pub conversation_id: String,
    pub filename: String,
    pub filetype: String,
    pub purpose: Option<String>,
    pub length: i64,
    pub expires_at: Millis,
    /// Most pending (unexpired) uploads the owner may have.
    pub max_pending: i64,
    /// Bytes the owner's org may hold in uploads and files (0: no quota).
    pub quota_bytes: i64,
}

/// The outcome of [`Store::create_upload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadCreated {
    Created(Box<Upload>),
    /// The owner already has `max_pending` unfinished uploads.
    TooManyPending,
    /// The org's quota would be exceeded; `used` bytes are taken.
    OverQuota {
        used: i64,
    },
}

/// The state of a file: scanned before anyone else may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    Scanning,
    Clean,
    Held,
    Blocked,
    Infected,
    ScanFailed,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Scanning => "scanning",
            FileState::Clean => "clean",
            FileState::Held => "held",
            FileState::Blocked => "blocked",
            FileState::Infected => "infected",
            FileState::ScanFailed => "scan_failed",
        }
    }
    pub fn parse(s: &str) -> Option<FileState> {
        Some(match s {
            "scanning" => FileState::Scanning,
            "clean" => FileState::Clean,
            "held" => FileState::Held,
            "blocked" => FileState::Blocked,
            "infected" => FileState::Infected,
            "scan_failed" => FileState::ScanFailed,
            _ => return None,
        })
    }
}

/// A file in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFile {
    pub id: String,
    pub conversation_id: String,
    pub owner_id: String,
    pub quota_key: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub purpose: Option<String>,
    pub state: FileState,
    /// Why it is not clean (a stable code: `contact_details`, `type_mismatch`, ...).
    pub reason: Option<String>,
    /// The scan's record (findings, decision, explanation, extraction summary).
    pub scan: Option<Value>,
    pub reviewer_id: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl StoredFile {
    /// Who may see the file: its owner always, the other members once it is clean.
    pub fn visible_to(&self, user_id: &str) -> bool {
        self.owner_id == user_id || self.state == FileState::Clean
    }

    /// The file as events carry it (no scan details: those are the owner's and moderators').
    pub fn event_data(&self) -> Value {
        json!({"file": {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "owner_id": self.owner_id,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "purpose": self.purpose,
            "state": self.state,
            "reason": self.reason,
            "created_at": self.created_at,
        }})
    }
}

/// A change of a file's state, checked against the state it must be in.
#[derive(Debug, Clone)]
pub struct FileTransition<'a> {
    pub id: &'a str,
    pub from: &'a [FileState],
    pub to: FileState,
    pub reason: Option<&'a str>,
    pub scan: Option<&'a Value>,
    pub reviewer_id: Option<&'a str>,
}
