//! Files after upload: the scan (out-of-process extraction, detector and policy on the
//! `attachment` surface), live delivery to the other members once clean, the moderator's
//! review of a held file, and downloads through signed links (headers, Range, 403, 404).

use super::uploads::{b64, create, patch, start_files, Files};
use super::*;

/// Uploads a whole file in one PATCH; returns its id.
pub(crate) async fn upload(
    s: &Server,
    tok: &str,
    conv: &str,
    name: &str,
    ty: &str,
    bytes: &[u8],
    purpose: Option<&str>,
) -> String {
    let mut m = super::uploads::meta(name, ty, conv);
    if let Some(p) = purpose {
        m.push_str(&format!(",purpose {}", b64(p)));
    }
    let loc = create(s, tok, bytes.len(), &m).await;
    let r = patch(s, tok, &loc, 0, bytes, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    loc.rsplit('/').next().unwrap().to_string()
}

/// The file as `tok` sees it once it is out of `scanning`.
pub(crate) async fn scanned(s: &Server, tok: &str, id: &str) -> Value {
    for _ in 0..200 {
        let (st, v) = s
            .call(Method::GET, &format!("/v1/files/{id}"), Some(tok), None)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if v["state"] != "scanning" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("file {id} still scanning");
}

async fn download(s: &Server, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = s.http.get(format!("{}{url}", s.base));
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    req.send().await.unwrap()
}

async fn scan_flow(f: &Files) {
    let s = &f.s;
    let [avery, _priya, diego, mei, eve] = seed(s).await;
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/morgan",
            json!({"name": "Morgan", "roles": ["moderator"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let morgan = s.token("morgan").await;
    // Avery (client, Northwind) and Diego: no contract. Avery and Mei: an active contract.
    let pre = s.conversation(&["avery", "diego"]).await;
    let active = s.conversation(&["avery", "mei"]).await;

    // A clean file: delivered live to the other member, downloadable through a signed link.
    let mut diego_ws = s.ws(&diego, None).await;
    let brief = b"Kitchen remodel brief\nBudget: 4500 USD, start in March, 3 weeks.\nInvoice INV-2024-0113 due in 30 days.\n".to_vec();
    let id = upload(s, &avery, &pre, "brief.txt", "text/plain", &brief, None).await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "clean", "{v}");
    let ev = diego_ws.next_of("file.created").await;
    assert_eq!(ev["file"]["id"], id.as_str());
    assert_eq!(ev["file"]["state"], "clean");
    let (st, list) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{pre}/files"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["files"][0]["id"], id.as_str());
    assert!(
        list["files"][0].get("scan").is_none(),
        "the scan is the owner's"
    );
    let url = list["files"][0]["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = download(s, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"brief.txt\""));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert!(h["cache-control"].to_str().unwrap().starts_with("private"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), brief.as_slice());
    let r = download(s, &url, Some("bytes=8-13")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 8-13/{}", brief.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &brief[8..14]);
    let r = download(s, &url, Some(&format!("bytes={}-", brief.len()))).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // A forged link: 403. A non-member sees nothing: 404.
    let forged = url.replace("user=diego", "user=eve");
    assert_eq!(
        download(s, &forged, None).await.status(),
        StatusCode::FORBIDDEN
    );
    let mut bad_sig = url.clone();
    bad_sig.pop();
    bad_sig.push(if url.ends_with('0') { '1' } else { '0' });
    assert_eq!(
        download(s, &bad_sig, None).await.status(),
        StatusCode::FORBIDDEN
    );
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{pre}/files"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .call(Method::GET, &format!("/v1/files/{id}"), Some(&eve), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Contact details before a contract: held, the sender sees why and where; the recipient
    // sees nothing until a moderator approves.
    let card = b"Project notes\n\nIf the chat is slow just email me at diego.builds@gmail.com and we can sort it out.\n";
    let held = upload(s, &diego, &pre, "notes.txt", "text/plain", card, None).await;
    let v = scanned(s, &diego, &held).await;
    assert_eq!(v["state"], "held", "{v}");
    assert_eq!(v["reason"], "contact_details");
    assert!(v["scan"]["explanation"].as_str().unwrap().len() > 10, "{v}");
    let email = v["scan"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "email")
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(email["place"], "text", "{v}");
    assert_eq!(email["matched"], "diego.builds@gmail.com");
    assert_eq!(email["offset"], 52);
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/files/{held}"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{pre}/files"),
            Some(&avery),
            None,
        )
        .await;
    assert!(list["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["id"] != held.as_str()));
    // The moderator sees the evidence, approves, and the recipient gets the file live.
    let (st, q) = s
        .call(Method::GET, "/v1/moderation/files", Some(&morgan), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let item = q["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == held.as_str())
        .unwrap()
        .clone();
    assert!(item["scan"]["findings"]
        .to_string()
        .contains("diego.builds@gmail.com"));
    assert_eq!(
        download(s, item["download_url"].as_str().unwrap(), None)
            .await
            .status(),
        StatusCode::OK
    );
    let (st, _) = s
        .call(Method::GET, "/v1/moderation/files", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let mut avery_ws = s.ws(&avery, None).await;
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/moderation/files/{held}/decision"),
            Some(&morgan),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ev = avery_ws.next_of("file.created").await;
    assert_eq!(ev["file"]["id"], held.as_str());
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/files/{held}"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // During a contract the same file passes; so does a declared legal document before one.
    let id = upload(s, &mei, &active, "notes.txt", "text/plain", card, None).await;
    assert_eq!(scanned(s, &mei, &id).await["state"], "clean");
    let nda =
        b"MUTUAL NON-DISCLOSURE AGREEMENT\nNotices: diego.builds@gmail.com, +1 415 555 0134\n";
    let id = upload(
        s,
        &diego,
        &pre,
        "nda.txt",
        "text/plain",
        nda,
        Some("legal_document"),
    )
    .await;
    let v = scanned(s, &diego, &id).await;
    assert_eq!(v["state"], "clean", "{v}");
    assert_eq!(v["purpose"], "legal_document");

    // Bytes that are not what the name says: blocked, type_mismatch. A broken PDF: scan_failed.
    let id = upload(
        s,
        &avery,
        &pre,
        "invoice.pdf",
        "application/pdf",
        b"just some text",
        None,
    )
    .await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "blocked", "{v}");
    assert_eq!(v["reason"], "type_mismatch");
    let id = upload(
        s,
        &avery,
        &pre,
        "report.pdf",
        "application/pdf",
        b"%PDF-1.7\n1 0 obj <<",
        None,
    )
    .await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "scan_failed", "{v}");
    assert!(
        v.get("download_url").is_some(),
        "the owner keeps access to their own file"
    );
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{pre}/files"),
            Some(&diego),
            None,
        )
        .await;
    assert!(list["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["state"] == "clean"));

    // An expired link: 403 (links live 2 s here).
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{pre}/files"),
            Some(&diego),
            None,
        )
        .await;
    let url = list["files"][0]["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let r = download(s, &url, None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_error(&v, "link_expired");
}

/// The built-in policy: contact details in a file are held for review (high confidence too).
fn tweak(c: &mut Config) {
    c.files.download_ttl_secs = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_scan_and_download_on_sqlite() {
    let f = start_files(None, tweak).await.unwrap();
    scan_flow(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_scan_and_download_on_postgres() {
    let Some(f) = start_files(Some("file_scan_and_download_on_postgres"), tweak).await else {
        return;
    };
    scan_flow(&f).await;
}
