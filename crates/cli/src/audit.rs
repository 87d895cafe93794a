//! `parley audit`: check the audit trail's hash chain, or an evidence export's digest.

use crate::args::AuditCommand;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// Largest export file read (the server caps exports well below this).
const MAX_EXPORT_FILE: u64 = 256 * 1024 * 1024;

pub fn run(command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify { database } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .context("starting the runtime")?;
            rt.block_on(verify(&database))
        }
        AuditCommand::VerifyExport { file } => {
            let len = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            if len > MAX_EXPORT_FILE {
                anyhow::bail!(
                    "{} is larger than {MAX_EXPORT_FILE} bytes: not an export",
                    file.display()
                );
            }
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            match parley_server::export::verify_text(&text) {
                Ok(digest) => {
                    println!("{}: digest ok ({digest})", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    println!("{}: NOT VERIFIED: {reason}", file.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn verify(database: &str) -> Result<ExitCode> {
    let store = parley_store::Store::connect(database)
        .await
        .context("opening the database")?;
    let v = store
        .verify_audit()
        .await
        .context("reading the audit log")?;
    let code = match &v.first_bad {
        None => {
            println!(
                "audit log intact: {} entries, last hash {}",
                v.entries, v.last_hash
            );
            ExitCode::SUCCESS
        }
        Some((seq, reason)) => {
            // The kind of the entry as stored (it may itself have been changed).
            let kind = match store.audit_entries(seq - 1, 1).await {
                Ok(e) => e
                    .into_iter()
                    .find(|e| e.seq == *seq)
                    .map(|e| e.kind)
                    .unwrap_or_else(|| "missing".into()),
                Err(_) => "unknown".into(),
            };
            println!(
                "audit log TAMPERED: first bad entry seq {seq} (kind {kind}): {reason}; {} entries intact before it",
                v.entries
            );
            ExitCode::from(1)
        }
    };
    store.close().await;
    Ok(code)
}
