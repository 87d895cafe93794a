//! Where a street name starts before a house number, and the words that never name a street.

/// Words that number things other than houses ("Chapter 3, 2020 DE Edition"):
/// never the street name before a house number.
const NOT_STREET: &[&str] = &[
    "at",
    "in",
    "on",
    "to",
    "of",
    "and",
    "or",
    "the",
    "is",
    "was",
    "page",
    "pages",
    "room",
    "step",
    "chapter",
    "item",
    "items",
    "version",
    "part",
    "level",
    "day",
    "week",
    "month",
    "year",
    "order",
    "invoice",
    "ticket",
    "issue",
    "row",
    "line",
    "option",
    "kapitel",
    "seite",
    "teil",
    "schritt",
    "stap",
    "hoofdstuk",
    "pagina",
    "capítulo",
    "capitulo",
    "paso",
    "etapa",
    "chapitre",
    "étape",
    "sprint",
    "phase",
    "round",
    "game",
    "match",
    "season",
    "episode",
    "vol",
    "volume",
    "no",
    "nr",
    "number",
    "table",
    "figure",
    "fig",
    "slide",
    "task",
    "bug",
    "test",
    "team",
    "group",
    "class",
    "grade",
    "lesson",
    "unit",
    "module",
    "milestone",
    "release",
    "build",
    "sample",
    "draft",
    "revision",
    "rev",
    "batch",
    "lot",
    "size",
    "größe",
    "rozmiar",
    "tab",
];

/// Where the street name starts in the words before a house number: the run of
/// capitalised words at the end ("I live at Damrak" -> "Damrak"), or the last
/// word when all are lowercase; `None` when the last word is an ordinary
/// function word ("at 1, ...").
pub(super) fn street_start(words: &str) -> Option<usize> {
    let spans: Vec<(usize, &str)> = words
        .split([' ', '\t'])
        .scan(0usize, |pos, w| {
            let at = *pos;
            *pos += w.len() + 1;
            Some((at, w))
        })
        .filter(|(_, w)| !w.is_empty())
        .collect();
    let cap = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let &(last_at, last) = spans.last()?;
    if NOT_STREET.contains(&last.to_lowercase().as_str()) {
        return None;
    }
    if !cap(last) {
        return Some(last_at);
    }
    let mut start = last_at;
    for &(at, w) in spans.iter().rev().skip(1) {
        if cap(w) {
            start = at;
        } else {
            break;
        }
    }
    Some(start)
}
