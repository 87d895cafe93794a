//! Unit tests of the handle module.

use super::*;

fn handles(text: &str) -> Vec<String> {
    let r = HandleRecognizer::new();
    let views = Views::new(text);
    let mut out = Vec::new();
    r.scan(&views, &mut out);
    out.into_iter().filter_map(|f| f.normalized).collect()
}

#[test]
fn finds_ids() {
    assert!(handles("skype: live:.cid.7a3b9f2c").contains(&"skype:live:.cid.7a3b9f2c".into()));
    assert!(handles("my skype id is sam.oduya.dev").contains(&"skype:sam.oduya.dev".into()));
    assert!(handles("telegram: @samodev").contains(&"telegram:samodev".into()));
    assert!(handles("Discord — samo#0420").contains(&"discord:samo#0420".into()));
    assert!(handles("insta: @sam.builds").contains(&"instagram:sam.builds".into()));
    assert!(handles("my wechat is samo_88").contains(&"wechat:samo_88".into()));
    assert!(handles("snapchat: samobuilds").contains(&"snapchat:samobuilds".into()));
    assert!(handles("add me on telegram @samo").contains(&"telegram:samo".into()));
    assert!(handles("@sam.builds on insta").contains(&"instagram:sam.builds".into()));
    assert!(handles("sk-ype: samo_dev").contains(&"skype:samo_dev".into()));
    assert!(handles("+61 412 345 678 is my WhatsApp").contains(&"whatsapp:+61412345678".into()));
    assert!(handles("+1 312 555 0148 (signal too)").contains(&"signal:+13125550148".into()));
}

#[test]
fn leaves_work_topics() {
    for t in [
        "I need a WhatsApp API integration",
        "Need a Telegram bot development expert",
        "Need a Discord bot moderation expert for a 3-week project.",
        "Instagram growth strategy",
        "We post on Instagram 3x a week; need a content calendar.",
        "Telegram Mini App development with TON payments",
        "Our WeChat mini program is broken after the last update.",
        "Looking for help with LinkedIn ad campaigns; budget $600.",
        "Need a Signal protocol review expert for a 3-week project.",
        "Telegram is great for communities",
        "Fixed issue #1234 in the tracker",
    ] {
        assert!(handles(t).is_empty(), "{t}: {:?}", handles(t));
    }
}
