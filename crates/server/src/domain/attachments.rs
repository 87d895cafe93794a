//! Files attached to messages: checking what a post attaches (the sender's own finished
//! uploads in that conversation, each attached once), and the attachments a reader sees under
//! a message (the sender every file with its state; the others a file once it is clean, that
//! is scanned clean or approved by a moderator; a download link where the reader may
//! download).

use std::collections::{HashMap, HashSet};

use parley_store::{FileState, StoreError, StoredFile, ATTACHMENT_IN_USE, MAX_ATTACHMENTS};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::files::{may_download, signed_url};
use crate::domain::views::MessageView;
use crate::AppState;

/// A file attached to a message, as one reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    /// The file's id (the upload's id: the last segment of its tus `Location`).
    pub id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// `scanning`, `clean`, `held`, `blocked`, `infected`, `scan_failed` (recipients only ever
    /// see `clean`).
    #[schema(value_type = crate::domain::files::FileStateDoc)]
    pub state: FileState,
    /// A signed link valid `files.download_ttl_secs`, where the reader may download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

fn attachment_not_found(id: &str) -> DomainError {
    DomainError::Missing {
        code: "attachment_not_found",
        message: format!(
            "attachment {id:?} is not your finished upload in this conversation (an upload is a file once its last byte is in)"
        ),
    }
}

fn attachment_in_use(id: &str) -> DomainError {
    DomainError::Conflict {
        code: "attachment_in_use",
        message: format!("attachment {id:?}: {ATTACHMENT_IN_USE}"),
    }
}

/// Maps the store's refusals of a post with attachments to their codes.
pub fn store_error(e: StoreError) -> DomainError {
    match e {
        StoreError::NotFound("attachment") => DomainError::Missing {
            code: "attachment_not_found",
            message: "an attachment is not your finished upload in this conversation".into(),
        },
        StoreError::Conflict(m) if m == ATTACHMENT_IN_USE => DomainError::Conflict {
            code: "attachment_in_use",
            message: m,
        },
        e => DomainError::Store(e),
    }
}

/// Checks what a post attaches before anything is decided or stored: at most
/// [`MAX_ATTACHMENTS`] distinct ids, each the sender's file in `conv`, not attached to
/// another message (a retry of the same post, same `client_id`, may name its own files again).
/// The store checks the same again in the post's transaction.
pub async fn check(
    s: &AppState,
    conv: &str,
    me: &str,
    client_id: &str,
    ids: &[String],
) -> DomainResult<()> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments per message"
        )));
    }
    let mut seen = HashSet::new();
    for id in ids {
        if id.is_empty() || id.len() > 128 {
            return Err(DomainError::invalid("an attachment id is 1 to 128 bytes"));
        }
        if !seen.insert(id.as_str()) {
            return Err(DomainError::invalid(format!(
                "attachment {id:?} is listed twice"
            )));
        }
        let f = match s.store().get_file(id).await {
            Ok(f) => f,
            Err(StoreError::NotFound(_)) => return Err(attachment_not_found(id)),
            Err(e) => return Err(e.into()),
        };
        if f.owner_id != me || f.conversation_id != conv {
            return Err(attachment_not_found(id));
        }
        if let Some(link) = s.store().attachment_link(id).await? {
            if link.author_id != me || link.client_id != client_id {
                return Err(attachment_in_use(id));
            }
        }
    }
    Ok(())
}

/// Whether `reader` sees `f` under its message: the owner always, the others once clean.
fn visible(f: &StoredFile, reader: &str) -> bool {
    f.owner_id == reader || f.state == FileState::Clean
}

pub fn view(s: &AppState, f: &StoredFile, reader: &str) -> AttachmentView {
    AttachmentView {
        id: f.id.clone(),
        name: f.name.clone(),
        size: f.size,
        content_type: f.content_type.clone(),
        state: f.state,
        download_url: may_download(f, reader).then(|| signed_url(s, &f.id, reader)),
    }
}

/// Fills the attachments of `views` (one read for all of them) as `reader` sees them.
pub async fn fill(s: &AppState, views: &mut [MessageView], reader: &str) -> DomainResult<()> {
    fill_each(s, views.iter_mut().collect(), reader).await
}

/// [`fill`] for the messages of events (or any scattered views).
pub async fn fill_each(
    s: &AppState,
    mut views: Vec<&mut MessageView>,
    reader: &str,
) -> DomainResult<()> {
    views.retain(|v| v.deleted_at.is_none());
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
    let mut by_message: HashMap<i64, Vec<AttachmentView>> = HashMap::new();
    for (mid, f) in s.store().attachments_of(&ids).await? {
        if visible(&f, reader) {
            by_message.entry(mid).or_default().push(view(s, &f, reader));
        }
    }
    for v in views {
        if let Some(list) = by_message.get(&v.id) {
            v.attachments = list.clone();
        }
    }
    Ok(())
}
