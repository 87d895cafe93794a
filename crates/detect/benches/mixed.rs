//! Throughput on a generated corpus of varied texts, first pass against tenth.
//!
//! The corpus (at least 5,000 distinct texts, about 100 bytes on average) mixes
//! ordinary chat in thirteen languages and scripts with every family the
//! detector handles: phone numbers of many countries (formatted, in words,
//! leetspeak, spaced, in the digits of other scripts), emails (plain, with
//! at/dot words, spaced), links, handles, street addresses of several
//! countries, requests to move elsewhere, prose about the rule, and hard
//! negatives (prices, dates, order numbers, code). Repeating a few hundred
//! texts hides cache effects; this corpus does not repeat. The detector is
//! built fresh, so pass 1 pays for every lazily built state (phone metadata of
//! the regions met, regex caches) and pass 10 shows the steady state.
//!
//! Run: `cargo bench -p parley-detect --bench mixed` (one core:
//! `taskset -c 0 cargo bench -p parley-detect --bench mixed`). Instruction
//! counts, repeatable on a loaded machine: `MIXED_PASSES=3 MIXED_ONLY=messages
//! valgrind --tool=callgrind --toggle-collect='*later_pass*' BENCH_BINARY`.
//! `MIXED_WARM=1` warms the detector before the first pass, as the server
//! does at start (`Detector::warm`).

use parley_detect::Detector;
use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

/// A small deterministic generator (xorshift64*), so every run scans the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const CHAT: &[&str] = &[
    "Thanks for the quick reply, I will look at the draft tonight.",
    "Could you send the revised logo in SVG and PNG?",
    "The deadline moved to Friday, is that still fine for you?",
    "I fixed the login bug and pushed the branch for review.",
    "Gracias por tu mensaje, te envío la propuesta mañana.",
    "¿Puedes revisar el presupuesto antes del lunes?",
    "Obrigado pelo retorno, vou ajustar as cores do site.",
    "Consegue entregar a primeira versão até quinta?",
    "Merci pour votre retour, je corrige la mise en page ce soir.",
    "Pouvez-vous confirmer le budget pour la deuxième étape ?",
    "Danke für die Rückmeldung, ich schicke morgen den Entwurf.",
    "Können wir den Termin auf nächste Woche verschieben?",
    "Спасибо, я посмотрю макет сегодня вечером.",
    "Можете прислать техническое задание в этом чате?",
    "ありがとうございます。明日までに修正版を送ります。",
    "デザインの確認をお願いできますか。",
    "धन्यवाद, मैं कल तक पहला ड्राफ्ट भेज दूंगा।",
    "क्या आप बजट की पुष्टि कर सकते हैं?",
    "شكرا لك، سأرسل التصميم المعدل غدا.",
    "谢谢，我明天会把修改后的版本发给你。",
    "Teşekkürler, taslağı yarın göndereceğim.",
    "Grazie, domani ti mando la bozza aggiornata.",
    "Bedankt, ik stuur morgen de nieuwe versie.",
    "The invoice INV-2024-0042 covers milestones 1 to 3.",
    "Budget is $4,500 for six weeks, about 20 hours per week.",
    "Version 2.14.3 fixed the memory leak in the parser.",
    "The meeting is on 2025-03-14 at 15:30 CET.",
    "Order #88213 shipped with 12 items, total 349.90 EUR.",
    "let x = vec![1, 2, 3]; println!(\"{:?}\", x);",
    "Great work 👍 see you tomorrow 🙂",
];

const FIRST: &[&str] = &[
    "sam", "ana", "li", "oleg", "marie", "jonas", "priya", "kenji", "fatima", "lucas", "emma",
    "diego", "nina", "omar", "yuki", "paulo",
];
const WORDS_EN: &[&str] = &[
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const DEVANAGARI: &[char] = &['०', '१', '२', '३', '४', '५', '६', '७', '८', '९'];
const ARABIC: &[char] = &['٠', '١', '٢', '٣', '٤', '٥', '٦', '٧', '٨', '٩'];

fn phone(r: &mut Rng) -> String {
    match r.below(10) {
        0 => format!(
            "({}) {}-{}",
            200 + r.below(700),
            200 + r.below(700),
            r.digits(4)
        ),
        1 => format!("+44 7{} {}", r.digits(3), r.digits(6)),
        2 => format!("+49 151 {}", r.digits(8)),
        3 => format!(
            "06 {} {} {} {}",
            r.digits(2),
            r.digits(2),
            r.digits(2),
            r.digits(2)
        ),
        4 => format!("+91 9{} {}", r.digits(4), r.digits(5)),
        5 => format!("+55 11 9{}-{}", r.digits(4), r.digits(4)),
        6 => (0..10)
            .map(|_| WORDS_EN[r.below(10)])
            .collect::<Vec<_>>()
            .join(" "),
        7 => r
            .digits(10)
            .chars()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        8 => r
            .digits(10)
            .chars()
            .map(|c| DEVANAGARI[c as usize - '0' as usize])
            .collect(),
        _ => r
            .digits(10)
            .chars()
            .map(|c| ARABIC[c as usize - '0' as usize])
            .collect(),
    }
}

fn email(r: &mut Rng) -> String {
    let user = format!("{}{}", r.pick(FIRST), r.below(1000));
    let dom = r.pick(&[
        "gmail.com",
        "yahoo.fr",
        "outlook.com",
        "web.de",
        "mail.ru",
        "example-studio.io",
    ]);
    match r.below(4) {
        0 => format!("{user}@{dom}"),
        1 => format!("{user} at {}", dom.replace('.', " dot ")),
        2 => format!("{user} [at] {}", dom.replace('.', " [dot] ")),
        _ => format!("{user}@{dom}")
            .chars()
            .map(|c| format!("{c} "))
            .collect(),
    }
}

fn address(r: &mut Rng) -> String {
    let n = 1 + r.below(300);
    match r.below(6) {
        0 => format!(
            "{n} {} Street, Springfield, IL 6{}",
            r.pick(&["Oak", "Maple", "Cedar", "Pine"]),
            r.digits(4)
        ),
        1 => format!(
            "{n} {} Road, London SW{} {}AB",
            r.pick(&["Abbey", "Station", "Mill"]),
            1 + r.below(9),
            1 + r.below(9)
        ),
        2 => format!(
            "{}straße {n}, 10{} Berlin",
            r.pick(&["Haupt", "Bahnhof", "Linden"]),
            r.digits(3)
        ),
        3 => format!(
            "{n} rue {}, 750{:02} Paris",
            r.pick(&["de la Paix", "Victor Hugo", "des Lilas"]),
            1 + r.below(20)
        ),
        4 => format!(
            "Rua {}, {n}, São Paulo - SP, 0{}-{}",
            r.pick(&["Augusta", "das Flores"]),
            r.digits(4),
            r.digits(3)
        ),
        _ => format!(
            "Calle {} {n}, 280{} Madrid",
            r.pick(&["Mayor", "Alcalá", "Serrano"]),
            r.digits(2)
        ),
    }
}

fn contact(r: &mut Rng) -> String {
    let name = r.pick(FIRST);
    match r.below(8) {
        0 => format!("call me at {}", phone(r)),
        1 => format!("mi número es {}", phone(r)),
        2 => format!("write to {}", email(r)),
        3 => format!("my insta is @{name}_{}", r.below(100)),
        4 => format!(
            "see https://{name}{}.github.io/portfolio and t.me/{name}{}",
            r.below(99),
            r.below(99)
        ),
        5 => format!("office: {}", address(r)),
        6 => r
            .pick(&[
                "can we talk on WhatsApp instead?",
                "¿cuál es tu correo?",
                "quel est ton numéro ?",
                "lass uns auf Telegram schreiben",
                "давай перейдем в телеграм",
                "let's take this off the platform to skip the fee",
                "me chama no zap",
            ])
            .to_string(),
        _ => r
            .pick(&[
                "Payments made outside the platform are not covered.",
                "Users who share phone numbers before a contract get a warning.",
                "Contact details are hidden until the contract starts.",
            ])
            .to_string(),
    }
}

/// At least `n` distinct texts.
fn corpus(n: usize) -> Vec<String> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let t = match r.below(3) {
            0 => format!("{} {}", r.pick(CHAT), r.below(10_000)),
            1 => format!("{} {}", contact(&mut r), r.pick(CHAT)),
            _ => format!(
                "{} {} {}",
                r.pick(CHAT),
                contact(&mut r),
                r.pick(&["", "thanks", "ok?", "🙂"])
            ),
        };
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/stat`, 100
/// ticks a second), so a pass is measured the same on a loaded machine; `None`
/// elsewhere.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// (wall seconds, CPU seconds) of one pass.
fn pass(d: &Detector, texts: &[String], first: bool) -> (f64, Option<f64>) {
    let c = cpu_secs();
    let t = Instant::now();
    if first {
        first_pass(d, texts);
    } else {
        later_pass(d, texts);
    }
    let wall = t.elapsed().as_secs_f64();
    (wall, c.zip(cpu_secs()).map(|(a, b)| b - a))
}

/// The first pass over a corpus (a separate function, so that callgrind can
/// count it apart: `--toggle-collect='*first_pass*'`).
#[inline(never)]
fn first_pass(d: &Detector, texts: &[String]) {
    // A digest of every finding (span, category, rule), printed so that two
    // builds can be checked to find the same things.
    let (mut n, mut digest) = (0usize, 0xcbf2_9ce4_8422_2325u64);
    for x in texts {
        for f in d.scan(black_box(x)) {
            n += 1;
            let key = format!("{}:{}:{:?}:{}", f.start, f.end, f.category, f.rule);
            for b in key.bytes() {
                digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    println!("findings on pass 1: {n} (digest {digest:016x})");
}

/// Every later pass (steady state; `--toggle-collect='*later_pass*'`).
#[inline(never)]
fn later_pass(d: &Detector, texts: &[String]) {
    // Not the same body as `first_pass`, so the two are not merged into one symbol.
    let mut n = 1usize;
    for x in texts {
        n ^= d.scan(black_box(x)).len();
    }
    black_box(n);
}

/// Passes per corpus: 10, or `MIXED_PASSES` (at least 1; fewer for callgrind).
fn passes() -> usize {
    std::env::var("MIXED_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10usize)
        .max(1)
}

fn report(name: &str, d: &Detector, texts: &[String]) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let n = passes();
    let mut times = Vec::new();
    for k in 0..n {
        times.push(pass(d, texts, k == 0));
    }
    let mib = bytes as f64 / (1024.0 * 1024.0);
    for (k, (wall, cpu)) in times.iter().enumerate() {
        if k == 0 || k + 1 == n {
            let on_cpu = cpu
                .filter(|c| *c > 0.0)
                .map(|c| {
                    format!(
                        "; on CPU time {:>9.0} texts/s {:>7.2} MiB/s",
                        texts.len() as f64 / c,
                        mib / c
                    )
                })
                .unwrap_or_default();
            println!(
                "{name}: pass {:>2}: wall {:>9.0} texts/s {:>7.2} MiB/s{on_cpu}",
                k + 1,
                texts.len() as f64 / wall,
                mib / wall
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let texts = corpus(6_000);
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "mixed corpus: {} distinct texts, {} bytes (average {} bytes)",
        texts.len(),
        bytes,
        bytes / texts.len()
    );
    let t = Instant::now();
    let d = Detector::builder().build().expect("detector");
    println!(
        "detector built in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    // `MIXED_WARM=1`: warm the detector first, as the server does at start
    // (patterns compiled, phone metadata of every region prepared).
    let warm = std::env::var("MIXED_WARM").is_ok_and(|v| v == "1");
    if warm {
        let t = Instant::now();
        d.warm();
        println!(
            "detector warmed in {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    // `MIXED_ONLY=messages` or `MIXED_ONLY=long` runs one half.
    let only = std::env::var("MIXED_ONLY").unwrap_or_default();
    if only != "long" {
        report("messages", &d, &texts);
    }
    if only == "messages" {
        return;
    }
    // 2-20 KB texts: profiles and job posts made of the same pieces.
    let mut r = Rng(7);
    let mut long = Vec::new();
    let mut i = 0;
    while long.len() < 300 {
        let target = 2048 + r.below(18 * 1024);
        let mut s = String::new();
        while s.len() < target {
            s.push_str(&texts[i % texts.len()]);
            s.push(if i % 4 == 3 { '\n' } else { ' ' });
            i += 7;
        }
        long.push(s);
    }
    let d = Detector::builder().build().expect("detector");
    if warm {
        d.warm();
    }
    report("2-20 KB texts", &d, &long);
}
