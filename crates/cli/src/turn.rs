//! `parley turn selftest`: asks a running server (`POST /v1/admin/turn/selftest`, operator
//! key) to allocate on its built-in relay and relay a packet; prints the report.

use crate::args::TurnCommand;
use anyhow::{bail, Context, Result};
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn run(c: TurnCommand) -> Result<ExitCode> {
    let TurnCommand::Selftest { url, admin_key } = c;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let body = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(8), post(&url, &admin_key))
            .await
            .map_err(|_| anyhow::anyhow!("{url} did not answer within 8 s"))?
    })?;
    let report: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("not a report: {body}"))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report["pass"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One HTTP/1.1 POST without a body over plain TCP; the answer's body (2xx only).
async fn post(url: &str, key: &str) -> Result<String> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("only http:// URLs (run it on the server's host): {url}");
    };
    let host = rest.trim_end_matches('/');
    let mut sock = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    let req = format!(
        "POST /v1/admin/turn/selftest HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP answer")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        bail!("the server answered {status}: {body}");
    }
    Ok(body.to_string())
}
