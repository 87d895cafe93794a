//! Unit tests of the email module.

use super::*;

fn emails(text: &str) -> Vec<(String, String)> {
    let r = EmailRecognizer::new(&["en".into(), "es".into(), "de".into()]);
    let views = Views::new(text);
    let mut out = Vec::new();
    r.scan(&views, &mut out);
    out.into_iter()
        .map(|f| (f.matched, f.normalized.unwrap_or_default()))
        .collect()
}

#[test]
fn finds_written_out_forms() {
    assert_eq!(emails("sam AT fastmail DOT com")[0].1, "sam@fastmail.com");
    assert_eq!(
        emails("sam.oduya[at]outlook[dot]com")[0].1,
        "sam.oduya@outlook.com"
    );
    assert_eq!(emails("x arroba gmx punto de")[0].1, "x@gmx.de");
    assert_eq!(
        emails("my hotmail is sam_oduya21")[0].1,
        "sam_oduya21@hotmail.com"
    );
    assert_eq!(emails("sam oduya on outlook")[0].1, "samoduya@outlook.com");
    assert_eq!(emails("write to jade50@dixon")[0].1, "jade50@dixon");
}

#[test]
fn at_dot_words_follow_the_enabled_languages() {
    let r = EmailRecognizer::new(&["en".into()]);
    let views = Views::new("ana arroba gmx punto de");
    let mut out = Vec::new();
    r.scan(&views, &mut out);
    assert!(out.is_empty(), "{out:?}");
    let views = Views::new("ana at gmx dot de");
    r.scan(&views, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn leaves_code_and_prose() {
    for t in [
        "look at the dot product",
        "meet at noon",
        "I'll be @ my desk at 9.",
        "import from @angular/core",
        "npm i lodash@4.17.21 react@latest",
        "Use test@example.org as the seed",
        "@media screen { }",
        "git clone git@github.com:org/repo.git",
    ] {
        assert!(emails(t).is_empty(), "{t}: {:?}", emails(t));
    }
}
