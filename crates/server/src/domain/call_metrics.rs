//! The calls' and the built-in TURN relay's part of `GET /metrics`: calls started and answered,
//! ended by reason, the relayed share and the mean setup time (from the stored call records, so
//! every node answers the same), calls in progress on this node, and the relay's allocations,
//! relayed bytes and refused packets (this node's relay, since it started).

use crate::domain::calls::END_REASONS;
use parley_store::CallStats;
use std::fmt::Write;

/// This node's relay counters: allocations, relayed bytes, refused packets.
pub type TurnCounters = (u64, u64, u64);

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text of the call and relay numbers.
pub fn prometheus(stats: &CallStats, in_progress: usize, turn: Option<TurnCounters>) -> String {
    let mut out = String::new();
    metric(
        &mut out,
        "parley_calls_started_total",
        "counter",
        "Calls started (invited).",
    );
    let _ = writeln!(out, "parley_calls_started_total {}", stats.started);
    metric(
        &mut out,
        "parley_calls_answered_total",
        "counter",
        "Calls answered by someone.",
    );
    let _ = writeln!(out, "parley_calls_answered_total {}", stats.answered);
    metric(
        &mut out,
        "parley_calls_ended_total",
        "counter",
        "Calls ended, by end reason (every reason listed, 0 included).",
    );
    for reason in END_REASONS {
        let n = stats
            .by_reason
            .iter()
            .filter(|(r, _)| r == reason)
            .map(|(_, n)| n)
            .sum::<i64>();
        let _ = writeln!(out, "parley_calls_ended_total{{reason=\"{reason}\"}} {n}");
    }
    metric(
        &mut out,
        "parley_calls_relayed_ratio",
        "gauge",
        "Share of answered calls whose media went through a TURN relay, of those that reported (NaN when none).",
    );
    let ratio = if stats.reported > 0 {
        format!("{}", stats.relayed as f64 / stats.reported as f64)
    } else {
        "NaN".into()
    };
    let _ = writeln!(out, "parley_calls_relayed_ratio {ratio}");
    metric(
        &mut out,
        "parley_call_setup_seconds_mean",
        "gauge",
        "Mean time from invite to answer of answered calls, seconds (NaN when none).",
    );
    let setup = if stats.answered > 0 {
        format!(
            "{}",
            stats.setup_ms_sum as f64 / stats.answered as f64 / 1000.0
        )
    } else {
        "NaN".into()
    };
    let _ = writeln!(out, "parley_call_setup_seconds_mean {setup}");
    metric(
        &mut out,
        "parley_calls_in_progress",
        "gauge",
        "Calls ringing or active on this node.",
    );
    let _ = writeln!(out, "parley_calls_in_progress {in_progress}");
    if let Some((allocations, bytes, refused)) = turn {
        metric(
            &mut out,
            "parley_turn_allocations_total",
            "counter",
            "Relay allocations made by this node's built-in TURN relay since it started.",
        );
        let _ = writeln!(out, "parley_turn_allocations_total {allocations}");
        metric(
            &mut out,
            "parley_turn_relayed_bytes_total",
            "counter",
            "Bytes relayed (ciphertext) by this node's built-in TURN relay since it started.",
        );
        let _ = writeln!(out, "parley_turn_relayed_bytes_total {bytes}");
        metric(
            &mut out,
            "parley_turn_refused_packets_total",
            "counter",
            "Packets the relay refused to send or accept (private or own addresses).",
        );
        let _ = writeln!(out, "parley_turn_refused_packets_total {refused}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_and_relay_numbers() {
        let stats = CallStats {
            started: 5,
            answered: 4,
            by_reason: vec![("completed".into(), 3), ("declined".into(), 1)],
            relayed: 1,
            reported: 4,
            setup_ms_sum: 6000,
        };
        let t = prometheus(&stats, 1, Some((2, 1500, 3)));
        for line in [
            "parley_calls_started_total 5",
            "parley_calls_answered_total 4",
            "parley_calls_ended_total{reason=\"completed\"} 3",
            "parley_calls_ended_total{reason=\"declined\"} 1",
            "parley_calls_ended_total{reason=\"no_answer\"} 0",
            "parley_calls_relayed_ratio 0.25",
            "parley_call_setup_seconds_mean 1.5",
            "parley_calls_in_progress 1",
            "parley_turn_allocations_total 2",
            "parley_turn_relayed_bytes_total 1500",
            "parley_turn_refused_packets_total 3",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} missing in\n{t}");
        }
        let none = prometheus(&CallStats::default(), 0, None);
        assert!(none.contains("parley_calls_relayed_ratio NaN"));
        assert!(!none.contains("parley_turn_"));
    }
}
