//! The embeddable chat's page (issue 16): framable only by the configured origins.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embed_page_is_framable_only_by_the_configured_origins() {
    let s = start(None, None, |c| {
        c.embed_origins = vec![
            "https://market.example".into(),
            "https://*.market.example".into(),
        ]
    })
    .await;
    let r = s
        .http
        .get(format!("{}/embed?conversation=c1", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.ends_with("frame-ancestors https://market.example https://*.market.example"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(r.headers().get("x-frame-options").is_none());
    // The rest of the UI still refuses framing.
    let r = s.http.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.headers()["x-frame-options"], "DENY");

    // Not configured: nobody may frame it.
    let s = start(None, None, |_| {}).await;
    let r = s
        .http
        .get(format!("{}/embed", s.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");

    // An origin that would inject a directive is refused at start.
    let bad = Config {
        database: "sqlite::memory:".into(),
        embed_origins: vec!["https://a.example; script-src *".into()],
        ..Config::default()
    };
    assert!(AppState::new(bad).await.is_err());
}
