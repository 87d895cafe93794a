//! The Standard Webhooks reference verifiers (npm and PyPI `standardwebhooks`) accept Parley's
//! deliveries (issue 16).

use super::webhooks::{hooks_server, Receiver};
use super::*;
use parley_server::webhook_worker;

/// The npm and PyPI `standardwebhooks` verifiers accept a real delivery. They are installed by
/// `scripts/webhook-verifiers.sh` (a temporary npm project and virtualenv) and found through
/// `PARLEY_WEBHOOK_VERIFIERS`; without it the test says so loudly and checks nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_verified_by_the_reference_libraries() {
    let Ok(dir) = std::env::var("PARLEY_WEBHOOK_VERIFIERS") else {
        eprintln!("\n!!!!!!!! SKIPPING the npm/PyPI standardwebhooks verifiers: run scripts/webhook-verifiers.sh !!!!!!!!\n");
        return;
    };
    let (s, state) = hooks_server(None).await;
    let (rx, base) = Receiver::start().await;
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook")}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    seed(&s).await;
    s.conversation(&["avery", "diego"]).await;
    let client = webhook_worker::client(true);
    assert!(webhook_worker::deliver_due(&state, &client, state.now_ms()).await >= 1);
    let got = rx.take();
    let work = tempfile::tempdir().unwrap();
    for (i, g) in got.iter().enumerate() {
        let case = json!({"secret": secret, "id": g.id, "timestamp": g.timestamp,
            "signature": g.signature, "body": g.body});
        let path = work.path().join(format!("case{i}.json"));
        std::fs::write(&path, case.to_string()).unwrap();
        let node = "const { Webhook } = require('standardwebhooks');\
             const c = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));\
             const p = new Webhook(c.secret).verify(c.body, {'webhook-id': c.id, 'webhook-timestamp': c.timestamp, 'webhook-signature': c.signature});\
             if (!p.type) process.exit(2); console.log('node ok', p.type);";
        let out = std::process::Command::new("node")
            .current_dir(&dir)
            .args(["-e", node, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "node: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let py = "import json, sys\nfrom standardwebhooks.webhooks import Webhook\n\
                  c = json.load(open(sys.argv[1]))\n\
                  p = Webhook(c['secret']).verify(c['body'], {'webhook-id': c['id'], 'webhook-timestamp': c['timestamp'], 'webhook-signature': c['signature']})\n\
                  assert p['type']\nprint('python ok', p['type'])\n";
        let out = std::process::Command::new(format!("{dir}/venv/bin/python"))
            .args(["-c", py, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A tampered body is refused by both.
        let mut bad = case.clone();
        bad["body"] = json!(g.body.replace("conversation", "c0nversation"));
        std::fs::write(&path, bad.to_string()).unwrap();
        let out = std::process::Command::new("node")
            .current_dir(&dir)
            .args(["-e", node, path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "node accepted a tampered body");
    }
}
