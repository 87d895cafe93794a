//! Webhook delivery: every node runs a worker that claims due deliveries from the store, sends
//! each (Standard Webhooks headers, no redirects followed, 15 s timeout, the answer read up to
//! [`EXCERPT_BYTES`]), and records the attempt with its consequence. The clock is a parameter
//! of [`deliver_due`], so tests drive the retry schedule with an injected clock.
//!
//! Retries: attempts at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each delay
//! with ±10 % jitter; a `Retry-After` longer than the delay is honoured (up to a day). 2xx is
//! success; `410 Gone` disables the endpoint; an endpoint whose attempts have all failed for 5
//! days is disabled (a `webhook.endpoint.disabled` event reports both).

use crate::{webhook_sign, webhook_target, AppState};
use parley_store::{Attempt, AttemptResult, Delivery, WebhookEndpoint};
use std::time::{Duration, Instant};

/// Delays before the 2nd, 3rd... attempt, seconds.
pub const SCHEDULE_SECS: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// An endpoint failing this long is disabled, ms.
pub const DISABLE_AFTER_MS: i64 = 5 * 24 * 3600 * 1000;
/// Bytes of an answer read and kept.
pub const EXCERPT_BYTES: usize = 4096;
/// The timeout of one attempt.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Deliveries claimed at once by one node.
const BATCH: i64 = 16;

/// The HTTP client of deliveries: no redirects, no proxy, the 15 s timeout, and the resolver
/// that refuses private addresses (see [`webhook_target`]).
pub fn client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent("Parley-Webhooks/1")
        .dns_resolver(std::sync::Arc::new(webhook_target::Resolver {
            allow_private,
        }))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The body of a delivery: `{"type", "timestamp", "data"}`.
pub fn body(event: &parley_store::OperatorEvent) -> String {
    serde_json::json!({
        "type": event.kind,
        "timestamp": webhook_sign::rfc3339(event.created_at),
        "data": event.data,
    })
    .to_string()
}

/// What one attempt got.
struct Outcome {
    status: Option<u16>,
    retry_after: Option<i64>,
    error: Option<String>,
    excerpt: Option<String>,
}

async fn send(
    client: &reqwest::Client,
    allow_private: bool,
    endpoint: &WebhookEndpoint,
    delivery: &Delivery,
    now: i64,
) -> Outcome {
    let fail = |e: String| Outcome {
        status: None,
        retry_after: None,
        error: Some(e),
        excerpt: None,
    };
    let url = match webhook_target::check_url(&endpoint.url, allow_private) {
        Ok(u) => u,
        Err(e) => return fail(e.0),
    };
    let body = body(&delivery.event);
    let ts = now.div_euclid(1000);
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(old), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until) {
        if until > now {
            secrets.push(old);
        }
    }
    let signature = webhook_sign::header(&secrets, &delivery.event.id, ts, &body);
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", delivery.event.id.as_str())
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            // The resolver's refusal is the most useful part of the chain.
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            return fail(msg);
        }
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match tokio::time::timeout(TIMEOUT, resp.chunk()).await {
            Ok(Ok(Some(c))) => excerpt.extend_from_slice(&c),
            _ => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    Outcome {
        status: Some(status),
        retry_after,
        error: None,
        excerpt: Some(String::from_utf8_lossy(&excerpt).into_owned()),
    }
}

/// A `Retry-After` value (seconds or an HTTP date) as a delay in seconds.
pub fn parse_retry_after(v: &str, now_ms: i64) -> Option<i64> {
    if let Ok(s) = v.trim().parse::<i64>() {
        return Some(s.max(0));
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(((at - now_ms) / 1000).max(0))
}

/// When to try again after `attempts` attempts (this one included), or `None` when none is left.
/// `unit` in `[0, 1)` picks the jitter (±10 %).
pub fn next_attempt(attempts: i64, now: i64, retry_after: Option<i64>, unit: f64) -> Option<i64> {
    let delay = *SCHEDULE_SECS.get(usize::try_from(attempts - 1).ok()?)?;
    let jittered = (delay as f64 * 1000.0 * (0.9 + 0.2 * unit)) as i64;
    let honoured = retry_after.map_or(0, |s| s.min(86_400) * 1000);
    Some(now + jittered.max(honoured))
}

fn jitter_unit() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::getrandom(&mut b);
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// What an attempt means for the delivery.
pub fn result_of(
    status: Option<u16>,
    retry_after: Option<i64>,
    delivery: &Delivery,
    endpoint: &WebhookEndpoint,
    now: i64,
) -> AttemptResult {
    match status {
        Some(s) if (200..300).contains(&s) => return AttemptResult::Succeeded,
        Some(410) => {
            return AttemptResult::Disable {
                reason: "the endpoint answered 410 Gone".into(),
            }
        }
        _ => {}
    }
    if endpoint
        .failing_since
        .is_some_and(|t| now - t >= DISABLE_AFTER_MS)
    {
        return AttemptResult::Disable {
            reason: "every attempt failed for 5 days".into(),
        };
    }
    match next_attempt(delivery.attempts + 1, now, retry_after, jitter_unit()) {
        Some(at) => AttemptResult::Retry { at },
        None => AttemptResult::Failed,
    }
}

/// Claims the deliveries due at `now` (Unix ms), attempts them and records the attempts; how
/// many were attempted.
pub async fn deliver_due(s: &AppState, client: &reqwest::Client, now: i64) -> usize {
    let allow = s.inner.config.webhook_allow_private_targets;
    let lease = now + TIMEOUT.as_millis() as i64 * 2;
    let due = match s.store().claim_deliveries(now, lease, BATCH).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim webhook deliveries");
            return 0;
        }
    };
    let n = due.len();
    let attempts = due.into_iter().map(|(delivery, endpoint)| async move {
        let started = Instant::now();
        let out = send(client, allow, &endpoint, &delivery, now).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let result = result_of(out.status, out.retry_after, &delivery, &endpoint, now);
        let attempt = Attempt {
            id: 0,
            delivery_id: delivery.id,
            attempted_at: now,
            status_code: out.status.map(i64::from),
            latency_ms,
            error: out.error,
            response: out.excerpt,
        };
        tracing::info!(endpoint = %endpoint.id, delivery = delivery.id, event = %delivery.event.id,
            status = ?out.status, ?result, "webhook attempt");
        if let Err(e) = s.store().record_attempt(&delivery, &attempt, &result).await {
            tracing::warn!(error = %e, "could not record a webhook attempt");
        }
    });
    futures_util::future::join_all(attempts).await;
    n
}

/// Runs this node's worker until the state is dropped (a claim every second, at once again
/// after a full batch).
pub fn spawn(s: &AppState) {
    let weak = std::sync::Arc::downgrade(&s.inner);
    let client = client(s.inner.config.webhook_allow_private_targets);
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        loop {
            let Some(inner) = weak.upgrade() else { break };
            let s = AppState { inner };
            let n = deliver_due(&s, &client, s.now_ms()).await;
            drop(s);
            if n < BATCH as usize {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_with_jitter_and_retry_after() {
        let now = 1_000_000;
        assert_eq!(next_attempt(1, now, None, 0.5), Some(now + 5_000));
        assert_eq!(next_attempt(2, now, None, 0.0), Some(now + 270_000));
        assert_eq!(
            next_attempt(7, now, None, 0.999_999).map(|t| t <= now + 39_600_000),
            Some(true)
        );
        assert_eq!(next_attempt(8, now, None, 0.5), None);
        assert_eq!(next_attempt(1, now, Some(120), 0.5), Some(now + 120_000));
        assert_eq!(next_attempt(1, now, Some(1), 0.5), Some(now + 5_000));
        assert_eq!(parse_retry_after("30", 0), Some(30));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 0),
            Some(60)
        );
    }
}
