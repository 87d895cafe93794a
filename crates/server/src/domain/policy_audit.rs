//! A change of policy is a fact of the audit trail: at start, the server appends a `policy`
//! entry (subject `policy`) when the loaded policy's digest differs from the last one recorded.

use parley_store::{sha256_hex, Store, StoreError};
use serde_json::json;

/// `sha256:<hex>` of the policy's source text (the file as read, or the built-in policy).
pub fn policy_digest(source: &str) -> String {
    format!("sha256:{}", sha256_hex(source.as_bytes()))
}

/// Appends a `policy` entry unless the last one recorded has the same digest. Returns the new
/// entry's seq, or `None` when the policy is unchanged. `origin` says where the policy came
/// from (the file path, or `built-in`). Two nodes starting together with a new policy may both
/// record it (harmless: the same digest twice).
pub async fn record_policy(
    store: &Store,
    source: &str,
    origin: &str,
) -> Result<Option<i64>, StoreError> {
    let digest = policy_digest(source);
    let last = store.latest_audit_entry("policy").await?;
    if last.as_ref().and_then(|e| e.data.get("digest")?.as_str()) == Some(digest.as_str()) {
        return Ok(None);
    }
    let seq = store
        .append_audit(
            "policy",
            None,
            "policy",
            &json!({
                "digest": digest,
                "origin": origin,
                "previous": last.as_ref().and_then(|e| e.data.get("digest").cloned()),
            }),
        )
        .await?;
    tracing::info!(%digest, seq, "policy change recorded in the audit trail");
    Ok(Some(seq))
}
