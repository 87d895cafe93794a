//! Unit tests of the link module.

use super::*;

fn links(text: &str) -> Vec<(Category, Option<LinkKind>, String)> {
    let r = LinkRecognizer::new(&[]);
    let views = Views::new(text);
    let mut out = Vec::new();
    r.scan(&views, &mut out);
    out.into_iter()
        .map(|f| (f.category, f.kind, f.normalized.unwrap_or(f.matched)))
        .collect()
}

#[test]
fn classifies() {
    let k = |t: &str| {
        links(t)
            .iter()
            .find(|x| x.0 == Category::Link)
            .and_then(|x| x.1)
    };
    assert_eq!(k("https://zoom.us/j/91234567890"), Some(LinkKind::Meeting));
    assert_eq!(k("calendly.com/samo/intro"), Some(LinkKind::Scheduler));
    assert_eq!(k("brightpixel.co/contact-us"), Some(LinkKind::ContactForm));
    assert_eq!(
        k("https://brightpixel.typeform.com/to/aB12cD"),
        Some(LinkKind::ContactForm)
    );
    assert_eq!(
        k("https://docs.google.com/forms/d/e/x/viewform"),
        Some(LinkKind::ContactForm)
    );
    assert_eq!(
        k("https://docs.google.com/document/d/x/edit"),
        Some(LinkKind::Docs)
    );
    assert_eq!(
        k("jobs.lever.co/brightpixel/abcd-1234"),
        Some(LinkKind::Application)
    );
    assert_eq!(k("see https://github.com/x/y"), Some(LinkKind::CodeHost));
    assert_eq!(k("we post on instagram.com"), Some(LinkKind::Other));
}

#[test]
fn operator_domains_join_the_lists() {
    let r = LinkRecognizer::new(&[
        (LinkKind::FileShare, "files.acme-corp.com".into()),
        (LinkKind::Scheduler, "book.acme.io".into()),
    ]);
    assert_eq!(
        r.classify("https://files.acme-corp.com/x/y"),
        LinkKind::FileShare
    );
    assert_eq!(r.classify("book.acme.io/sam"), LinkKind::Scheduler);
    assert_eq!(r.classify("https://acme.io/blog"), LinkKind::Other);
}

#[test]
fn profile_links_are_handles_too() {
    let f = links("https://www.linkedin.com/in/sam-oduya-123/");
    assert!(f
        .iter()
        .any(|x| x.0 == Category::Handle && x.2 == "linkedin:sam-oduya-123"));
    let f = links("wa.me/447911123456");
    assert!(f
        .iter()
        .any(|x| x.0 == Category::Handle && x.2 == "whatsapp:+447911123456"));
}

#[test]
fn file_names_and_products_are_not_links() {
    for t in [
        "Node.js and ASP.NET developer",
        "see README.md and config.yaml, run file.py",
        "edit main.rs",
        "Release 3.2.1",
        "run it at 127.0.0.1:5000",
        "test@example.org",
        "mail sam@gmail.com",
    ] {
        assert!(links(t).is_empty(), "{t}: {:?}", links(t));
    }
}
