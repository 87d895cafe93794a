//! Unit tests of the numbers module.

use super::*;

fn digits(text: &str) -> Vec<(String, Source)> {
    let w = NumberWords::new(&["en", "es", "pt", "fr", "de", "ru"].map(String::from));
    let t = tokenize(text, &w);
    t.toks
        .iter()
        .filter_map(|k| match k.kind {
            Kind::Num { src, .. } => Some((t.digits_of(k).to_string(), src)),
            _ => None,
        })
        .collect()
}

fn joined(text: &str) -> String {
    digits(text).into_iter().map(|d| d.0).collect()
}

#[test]
fn words_in_six_languages() {
    assert_eq!(joined("five zero three, five five five"), "503555");
    assert_eq!(joined("tres uno dos cinco"), "3125");
    assert_eq!(joined("três meia sete"), "367");
    assert_eq!(joined("zéro six neuf"), "069");
    assert_eq!(joined("null eins fünf"), "015");
    assert_eq!(joined("пять два ноль"), "520");
}

#[test]
fn teens_and_tens() {
    assert_eq!(
        joined("three twelve five fifty five oh one forty-eight"),
        "3125550148"
    );
    assert_eq!(joined("treinta y dos, noventa"), "3290");
    assert_eq!(joined("сорок восемь"), "48");
    assert_eq!(joined("twenty"), "20");
    assert_eq!(joined("one eight hundred five five five"), "1800555");
    assert_eq!(joined("a hundred times"), "");
}

#[test]
fn compound_tens() {
    assert_eq!(
        joined("zéro six douze trente-quatre cinquante-six soixante-dix-huit"),
        "0612345678"
    );
    assert_eq!(joined("soixante-dix"), "70");
    assert_eq!(joined("soixante et onze"), "71");
    assert_eq!(joined("quatre-vingts"), "80");
    assert_eq!(joined("quatre-vingt-un"), "81");
    assert_eq!(joined("quatre-vingt-dix-neuf"), "99");
    assert_eq!(joined("vingt et un"), "21");
    assert_eq!(joined("dix-sept"), "17");
    assert_eq!(joined("achtundsiebzig einundzwanzig"), "7821");
    assert_eq!(joined("veintiuno treinta y cuatro"), "2134");
    assert_eq!(joined("trinta e quatro"), "34");
    assert_eq!(joined("семьдесят восемь"), "78");
    assert_eq!(joined("four twenty"), "420");
    assert_eq!(joined("sixty ten"), "6010");
    assert_eq!(joined("Rundfunk und"), "");
}

#[test]
fn only_whole_words() {
    assert_eq!(joined("my phone often rings"), "");
    assert_eq!(joined("someone tenfold"), "");
}

#[test]
fn oh_and_double() {
    assert_eq!(joined("five oh three double five triple 7"), "50355777");
    assert_eq!(joined("oh well"), "");
    assert_eq!(joined("double check"), "");
    assert_eq!(joined("double oh seven"), "007");
    assert_eq!(joined("uno o dos"), "12");
    assert_eq!(joined("44 (o) 20"), "44020");
}

#[test]
fn leet_inside_digit_runs() {
    assert_eq!(joined("3l2 555 ol48"), "3125550148");
    assert_eq!(digits("3l2")[0].1, Source::Leet);
    assert_eq!(joined("8565xo476"), "85650476");
    assert_eq!(joined("3pm v2 abc123 lol 10s"), "");
    assert_eq!(joined("4i5 5s5 0i23 x12"), "415555012312");
    assert_eq!(joined("555 o1 48"), "5550148");
    assert_eq!(joined("an i5 laptop"), "");
    assert_eq!(joined("з12 555 0б48"), "3125550648");
}
