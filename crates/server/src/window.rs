//! Cross-message evasion: contact details split over several messages ("my number is 312",
//! "555", "0148").
//!
//! Per (conversation, sender) the node keeps a short window of the sender's recent messages
//! that passed the policy untouched (at most `window_messages`, none older than `window_secs`,
//! each cut to its last 256 bytes),
//! bounded in number of windows (least recently used dropped first). A window not in memory
//! is loaded from the store (the conversation's latest messages), so a restart or another node
//! does not open a gap. When a new text alone is allowed, it is scanned joined with the window
//! ([`parley_detect::Detector::scan_window_joined`], with a space between texts); a finding that covers the new text and at least
//! one earlier message is carried into the new text (its part there, with the joined finding's
//! category, confidence and normalized value) and decided by the policy like any finding: the
//! new message is blocked, held or masked as the policy says, the explanation says the details
//! were split over several messages, and every finding lists the ids of the messages involved
//! (`message_ids`; the decided message itself is the decision's subject, and the API answer of
//! a stored message adds its id). Earlier parts are left as they were delivered: alone they
//! carry nothing usable, and the completing part is what is stopped.
//!
//! Honest sequences (prices, dates, order numbers over several lines) stay allowed because the
//! detector's own rules apply to the joined text: a bare digit run needs a cue or a valid
//! number, and the joined finding must reach into the new text.

use parley_store::{Message, MessageState};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// One earlier message of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub message_id: i64,
    /// The sender's idempotency key (a retry of a part is not a new part).
    pub client_id: String,
    pub text: String,
    pub at_ms: i64,
}

/// How a decision was completed by earlier messages: for each reason (by its span in the
/// decided text), the ids of the earlier messages the finding covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub spans: Vec<((usize, usize), Vec<i64>)>,
}

impl Split {
    /// Every earlier message involved, ascending.
    pub fn message_ids(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .spans
            .iter()
            .flat_map(|(_, ids)| ids)
            .copied()
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Adds `message_ids` to each finding of a JSON list whose span is known (and `this`, the
    /// decided message once stored).
    pub fn annotate(&self, findings: &mut Value, this: Option<i64>) {
        let Some(list) = findings.as_array_mut() else {
            return;
        };
        for f in list {
            let span = (
                f["start"].as_u64().unwrap_or(u64::MAX) as usize,
                f["end"].as_u64().unwrap_or(u64::MAX) as usize,
            );
            if let Some((_, ids)) = self.spans.iter().find(|(s, _)| *s == span) {
                let mut ids = ids.clone();
                ids.extend(this);
                f["message_ids"] = json!(ids);
            }
        }
    }
}

struct Entry {
    parts: VecDeque<Part>,
    used: u64,
}

/// A use counter (for least-recently-used eviction) and the windows by (conversation, sender).
type State = (u64, HashMap<(String, String), Entry>);

/// The windows of one node.
pub struct Windows {
    max_messages: usize,
    max_age_ms: i64,
    max_entries: usize,
    inner: Mutex<State>,
}

impl Windows {
    /// `max_messages` zero turns the check off.
    pub fn new(max_messages: usize, max_age_secs: u64, max_entries: usize) -> Windows {
        Windows {
            max_messages,
            max_age_ms: i64::try_from(max_age_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            max_entries: max_entries.max(1),
            inner: Mutex::new((0, HashMap::new())),
        }
    }

    /// Whether the check runs at all.
    pub fn enabled(&self) -> bool {
        self.max_messages > 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn trim(&self, parts: &mut VecDeque<Part>, now_ms: i64) {
        while parts.len() > self.max_messages {
            parts.pop_front();
        }
        while parts
            .front()
            .is_some_and(|p| now_ms.saturating_sub(p.at_ms) > self.max_age_ms)
        {
            parts.pop_front();
        }
    }

    /// The cached window (fresh parts only), or None when not in memory.
    pub fn get(&self, conversation: &str, sender: &str, now_ms: i64) -> Option<Vec<Part>> {
        let mut g = self.lock();
        g.0 += 1;
        let tick = g.0;
        let e =
            g.1.get_mut(&(conversation.to_string(), sender.to_string()))?;
        e.used = tick;
        let mut parts = std::mem::take(&mut e.parts);
        self.trim(&mut parts, now_ms);
        let out = parts.iter().cloned().collect();
        e.parts = parts;
        Some(out)
    }

    /// Stores a window read from the store (unless one appeared meanwhile).
    pub fn load(&self, conversation: &str, sender: &str, parts: Vec<Part>) {
        let mut g = self.lock();
        g.0 += 1;
        let tick = g.0;
        let key = (conversation.to_string(), sender.to_string());
        if g.1.contains_key(&key) {
            return;
        }
        if g.1.len() >= self.max_entries {
            // Drop the least recently used tenth (amortised; the map stays bounded).
            let mut used: Vec<u64> = g.1.values().map(|e| e.used).collect();
            used.sort_unstable();
            let cut = used[(used.len() / 10).min(used.len() - 1)];
            g.1.retain(|_, e| e.used > cut);
        }
        g.1.insert(
            key,
            Entry {
                parts: parts.into(),
                used: tick,
            },
        );
    }

    /// Adds a message that passed untouched to its window (if the window is in memory; a
    /// window loaded later reads it from the store).
    pub fn push(&self, conversation: &str, sender: &str, part: Part) {
        let mut g = self.lock();
        if let Some(e) = g.1.get_mut(&(conversation.to_string(), sender.to_string())) {
            let now = part.at_ms;
            e.parts.push_back(part);
            self.trim(&mut e.parts, now);
        }
    }

    /// Windows in memory.
    pub fn len(&self) -> usize {
        self.lock().1.len()
    }

    /// No window in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How much of an earlier message a window keeps: its end, where a split detail would start
/// (bounds the memory of a window whatever the message sizes).
const PART_BYTES: usize = 256;

/// The last [`PART_BYTES`] of a text, starting after a whitespace so no word or number is cut.
pub fn tail(text: &str) -> String {
    if text.len() <= PART_BYTES {
        return text.to_string();
    }
    let mut cut = text.len() - PART_BYTES;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    let rest = &text[cut..];
    match rest.find(char::is_whitespace) {
        Some(i) => rest[i..].trim_start().to_string(),
        None => String::new(),
    }
}

/// The separator between the texts of a window. A space, not the line break of
/// [`parley_detect::Detector::scan_window`]: the detector reads an address across a space
/// (`diego.ramos @gmail.com`) but not across a line break, and a split email is as much an
/// evasion as a split number.
pub const SEPARATOR: &str = " ";

/// Whether a stored message can be part of a window: the sender's, delivered, and allowed
/// as it was (a masked or flagged message already had its finding dealt with).
pub fn window_worthy(m: &Message, sender: &str) -> bool {
    m.author_id == sender
        && m.state == MessageState::Delivered
        && m.deleted_at.is_none()
        && m.decision["decision"]["action"] == "allow"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: i64, at: i64) -> Part {
        Part {
            message_id: id,
            client_id: id.to_string(),
            text: format!("t{id}"),
            at_ms: at,
        }
    }

    #[test]
    fn windows_keep_the_last_few_recent_parts() {
        let w = Windows::new(2, 60, 10);
        assert!(w.get("c", "a", 0).is_none());
        w.load("c", "a", vec![part(1, 0)]);
        w.push("c", "a", part(2, 1_000));
        w.push("c", "a", part(3, 2_000));
        let ids: Vec<i64> = w
            .get("c", "a", 2_000)
            .unwrap()
            .iter()
            .map(|p| p.message_id)
            .collect();
        assert_eq!(ids, vec![2, 3]);
        // Older than 60 s: gone.
        assert_eq!(w.get("c", "a", 62_000).unwrap().len(), 1);
        assert!(w.get("c", "a", 70_000).unwrap().is_empty());
        // Not in memory: a push is left to the store.
        w.push("c", "b", part(4, 0));
        assert!(w.get("c", "b", 0).is_none());
    }

    #[test]
    fn parts_keep_the_end_of_long_messages_without_cutting_a_word() {
        assert_eq!(tail("short"), "short");
        let long = format!("{} call me at 312", "word ".repeat(100));
        let t = tail(&long);
        assert!(
            t.len() <= PART_BYTES && t.ends_with("call me at 312"),
            "{t}"
        );
        assert!(t.starts_with("word"), "{t}");
        let no_space = "x".repeat(1000);
        assert_eq!(tail(&no_space), "");
        let multibyte = "é".repeat(300);
        assert_eq!(tail(&multibyte), "");
    }

    #[test]
    fn windows_are_bounded() {
        let w = Windows::new(2, 60, 20);
        for i in 0..100 {
            w.load(&format!("c{i}"), "a", vec![part(i, 0)]);
        }
        assert!(w.len() <= 20, "{}", w.len());
        assert!(
            w.get("c99", "a", 0).is_some(),
            "the newest window was dropped"
        );
    }

    #[test]
    fn split_annotates_findings_by_span() {
        let s = Split {
            spans: vec![((0, 4), vec![7, 8])],
        };
        let mut f = json!([{"start": 0, "end": 4}, {"start": 5, "end": 9}]);
        s.annotate(&mut f, Some(9));
        assert_eq!(f[0]["message_ids"], json!([7, 8, 9]));
        assert!(f[1].get("message_ids").is_none());
        assert_eq!(s.message_ids(), vec![7, 8]);
    }
}
