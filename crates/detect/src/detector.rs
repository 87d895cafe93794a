//! The [`Detector`] and its [`DetectorBuilder`].

use crate::recognize::Recognizer;
use crate::views::Views;
use crate::{Category, Finding};

pub use crate::error::BuildError;

/// Options for a [`Detector`].
#[derive(Debug, Clone)]
pub struct DetectorBuilder {
    pub(crate) regions: Vec<String>,
    pub(crate) languages: Vec<String>,
    pub(crate) extra_domains: Vec<(crate::LinkKind, String)>,
}

impl Default for DetectorBuilder {
    fn default() -> Self {
        DetectorBuilder {
            regions: ["US", "GB", "IN", "DE", "ES", "FR", "IT", "BR", "AU", "CA"]
                .map(String::from)
                .to_vec(),
            languages: ["en", "es", "pt", "fr", "de", "ru"]
                .map(String::from)
                .to_vec(),
            extra_domains: Vec::new(),
        }
    }
}

impl DetectorBuilder {
    /// Phone regions (ISO 3166-1 alpha-2) tried, in order, for numbers written
    /// without a country code. The first is the default region.
    pub fn regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.regions = regions
            .into_iter()
            .map(|s| s.into().to_ascii_uppercase())
            .collect();
        self
    }

    /// Languages (ISO 639-1) whose number words and at/dot words are understood.
    pub fn languages<I, S>(mut self, languages: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.languages = languages
            .into_iter()
            .map(|s| s.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Adds a domain (e.g. `"files.example-corp.com"`) to the list of a link kind,
    /// on top of the built-in lists.
    pub fn domain(mut self, kind: crate::LinkKind, domain: impl Into<String>) -> Self {
        self.extra_domains
            .push((kind, domain.into().to_ascii_lowercase()));
        self
    }

    /// Builds the detector. Fails on an unknown region or language.
    pub fn build(self) -> Result<Detector, BuildError> {
        const LANGS: [&str; 6] = ["en", "es", "pt", "fr", "de", "ru"];
        if let Some(l) = self.languages.iter().find(|l| !LANGS.contains(&l.as_str())) {
            return Err(BuildError::UnsupportedLanguage(l.clone()));
        }
        // Email, link, handle, request and address recognizers (detect-text).
        use crate::recognize::{address, email, handle, link, request};
        let recognizers: Vec<Box<dyn Recognizer>> = vec![
            Box::new(crate::recognize::phone::PhoneRecognizer::new(
                &self.regions,
                &self.languages,
            )?),
            Box::new(email::EmailRecognizer::new(&self.languages)),
            Box::new(link::LinkRecognizer::new(&self.extra_domains)),
            Box::new(handle::HandleRecognizer::new()),
            Box::new(request::RequestRecognizer::new(&self.languages)),
            Box::new(address::AddressRecognizer::new()),
        ];
        Ok(Detector { recognizers })
    }
}

/// The email recognizer's place in [`Detector::recognizers`].
const EMAIL: usize = 1;

/// Finds contact information in text. Build once with [`Detector::builder`],
/// then share (it is `Send + Sync`).
#[derive(Debug)]
pub struct Detector {
    recognizers: Vec<Box<dyn Recognizer>>,
}

impl Detector {
    /// A builder with the default options.
    pub fn builder() -> DetectorBuilder {
        DetectorBuilder::default()
    }

    /// Prepares now what a detector otherwise prepares on first use: every
    /// recognizer's patterns (compiled lazily, so that building a detector
    /// and scanning a first short text is quick) and libphonenumber's
    /// metadata for every region ([`crate::warm_phone_metadata`]). A
    /// long-running server calls it on a background thread at start; a
    /// one-shot command does not need it. Scanning works the same without.
    pub fn warm(&self) {
        for r in &self.recognizers {
            r.warm();
        }
        crate::warm_phone_metadata();
    }

    /// Every finding in `text`, ordered by start offset.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let views = Views::new(text);
        let mut out = Vec::new();
        for r in &self.recognizers {
            r.scan(&views, &mut out);
        }
        // "sam#gmail.com (replace # with @)": scan the swapped text for emails;
        // the swap keeps every offset, so the spans hold for the original.
        if let Some(swapped) = crate::recognize::replace::swapped(text) {
            let views = Views::new(&swapped);
            let mut found = Vec::new();
            self.recognizers[EMAIL].scan(&views, &mut found);
            for mut f in found {
                let Some(m) = text.get(f.start..f.end) else {
                    continue;
                };
                if f.category == Category::Email && m.contains(|c: char| !c.is_alphanumeric()) {
                    f.matched = m.to_string();
                    f.rule.push_str(".replaced");
                    out.push(f);
                }
            }
        }
        resolve(text, out)
    }
}

/// Orders findings and removes duplicates: a finding whose span lies inside
/// another finding of the same category with at least its confidence is dropped.
fn resolve(text: &str, mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.retain(|f| {
        f.start < f.end
            && f.end <= text.len()
            && text.is_char_boundary(f.start)
            && text.is_char_boundary(f.end)
    });
    findings.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(b.confidence.total_cmp(&a.confidence))
    });
    // Findings come in start order, so only kept findings that end after the
    // current start can contain it: keep those "open" ones per category and
    // drop the rest as the scan moves on. Linear in practice, whatever the
    // number of findings.
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut open: Vec<usize> = Vec::new();
    for f in findings {
        open.retain(|&i| kept[i].end > f.start);
        let covered = open.iter().any(|&i| {
            let k = &kept[i];
            k.category == f.category && f.end <= k.end && k.confidence >= f.confidence
        });
        if !covered {
            open.push(kept.len());
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    fn finding(category: Category, start: usize, end: usize, confidence: f32) -> Finding {
        Finding {
            category,
            kind: None,
            start,
            end,
            matched: "x".repeat(end - start),
            normalized: None,
            confidence,
            rule: "test".into(),
        }
    }

    #[test]
    fn resolve_drops_findings_inside_a_stronger_one_of_the_same_category() {
        let text = "x".repeat(40);
        let out = resolve(
            &text,
            vec![
                finding(Category::Phone, 5, 10, 0.9),
                finding(Category::Phone, 0, 20, 0.95),
                finding(Category::Email, 6, 9, 0.5),
                finding(Category::Phone, 12, 18, 0.99),
                finding(Category::Phone, 25, 30, 0.4),
                finding(Category::Phone, 26, 29, 0.3),
                finding(Category::Phone, 38, 41, 0.9),
            ],
        );
        let spans: Vec<_> = out.iter().map(|f| (f.category, f.start, f.end)).collect();
        assert_eq!(
            spans,
            [
                (Category::Phone, 0, 20),
                (Category::Email, 6, 9),
                (Category::Phone, 12, 18),
                (Category::Phone, 25, 30),
            ]
        );
    }

    #[test]
    fn detector_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Detector>();
    }

    #[test]
    fn every_pattern_compiles() {
        // Patterns compile lazily: warming compiles them all, so a broken
        // pattern or data list fails here rather than on some later text.
        Detector::builder().build().expect("builds").warm();
    }

    #[test]
    fn unknown_language_is_an_error() {
        let err = Detector::builder().languages(["xx"]).build().unwrap_err();
        assert_eq!(err, BuildError::UnsupportedLanguage("xx".into()));
    }
}
