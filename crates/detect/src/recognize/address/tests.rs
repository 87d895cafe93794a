//! Unit tests of the address module.

use super::*;

fn addrs(text: &str) -> Vec<String> {
    let r = AddressRecognizer::new();
    let views = Views::new(text);
    let mut out = Vec::new();
    r.scan(&views, &mut out);
    out.into_iter().map(|f| f.matched).collect()
}

#[test]
fn finds_formats() {
    for (t, m) in [
        (
            "Our HQ: 1 Infinite Loop, Cupertino, CA 95014",
            "1 Infinite Loop, Cupertino, CA 95014",
        ),
        (
            "Send it to 10 Downing Street, London SW1A 2AA",
            "10 Downing Street, London SW1A 2AA",
        ),
        (
            "Studio: Torstraße 110, 10119 Berlin",
            "Torstraße 110, 10119 Berlin",
        ),
        (
            "Calle Mayor 10, 28013 Madrid",
            "Calle Mayor 10, 28013 Madrid",
        ),
        (
            "Studio 06, Harding Hollow, South Joan, G5W 6FF",
            "Studio 06, Harding Hollow, South Joan, G5W 6FF",
        ),
        (
            "send to USS Cordova, FPO AE 32301",
            "USS Cordova, FPO AE 32301",
        ),
        ("PO Box 123", "PO Box 123"),
        (
            "12 rue de la Paix, 75002 Paris",
            "12 rue de la Paix, 75002 Paris",
        ),
        (
            "Rua Augusta, 1500, São Paulo - SP, 01310-100",
            "Rua Augusta, 1500, São Paulo - SP, 01310-100",
        ),
        (
            "ul. Marszałkowska 10/12, 00-950 Warszawa",
            "ul. Marszałkowska 10/12, 00-950 Warszawa",
        ),
        (
            "Keizersgracht 123, 1015 CJ Amsterdam",
            "Keizersgracht 123, 1015 CJ Amsterdam",
        ),
        ("Via Roma 5, 00184 Roma", "Via Roma 5, 00184 Roma"),
        ("I live at 42 Baker Street", "42 Baker Street"),
    ] {
        assert_eq!(addrs(t), vec![m.to_string()], "{t}");
    }
}

#[test]
fn leaves_non_addresses() {
    for t in [
        "I'm based in Berlin",
        "our team is in Toronto, Canada",
        "I have 12 years of experience, 340 jobs, 4.9 stars.",
        "Budget: $800 fixed, 2 weeks, 3 revisions.",
        "We had 53,262 visitors and 435 sign-ups in December.",
        "3 Key Points to cover",
        "via Zoom 5 times a week",
        "Platz 1 bei Google",
        "Update the address field validation for Canadian postal codes.",
    ] {
        assert!(addrs(t).is_empty(), "{t}: {:?}", addrs(t));
    }
}
