//! The `call.*` frames of `/v1/ws`: what clients send ([`CallClientFrame`]) and what the
//! server sends ([`CallFrame`]). SDP and ICE candidates pass through the server untouched,
//! between the parties of one call only; they are never stored nor logged.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Largest SDP a client may relay, bytes.
pub const MAX_SDP: usize = 32 * 1024;
/// Largest ICE candidate (its JSON), bytes.
pub const MAX_CANDIDATE: usize = 2 * 1024;

/// Why a party hangs up when it is not a plain hang-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HangupReason {
    /// The media connection could not be set up (no ICE path, even through the relay).
    IceFailed,
    /// Anything else went wrong on the client (no media devices, a negotiation error).
    Failed,
}

/// A `call.*` frame a client sends on `/v1/ws`. Frames about a call the sender is not a party
/// of are dropped (answered with `call.error` `not_found`).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum CallClientFrame {
    /// Start a call in a conversation: its other members ring.
    #[serde(rename = "call.invite")]
    Invite {
        conversation_id: String,
        /// A video call (the camera starts on); else voice only.
        #[serde(default)]
        video: bool,
    },
    /// Answer a ringing call on this session (the user's other sessions stop ringing).
    #[serde(rename = "call.accept")]
    Accept { call_id: String },
    /// Refuse a ringing call.
    #[serde(rename = "call.decline")]
    Decline { call_id: String },
    /// Leave the call (the caller of a ringing call cancels it).
    #[serde(rename = "call.hangup")]
    Hangup {
        call_id: String,
        #[serde(default)]
        reason: Option<HangupReason>,
    },
    /// An SDP offer for one other party.
    #[serde(rename = "call.offer")]
    Offer {
        call_id: String,
        to: String,
        sdp: String,
    },
    /// An SDP answer for one other party.
    #[serde(rename = "call.answer")]
    Answer {
        call_id: String,
        to: String,
        sdp: String,
    },
    /// An ICE candidate (`RTCIceCandidateInit`, or null at the end) for one other party.
    #[serde(rename = "call.candidate")]
    Candidate {
        call_id: String,
        to: String,
        #[schema(value_type = Object)]
        candidate: Value,
    },
    /// Ask one other party to negotiate again (e.g. after a network change).
    #[serde(rename = "call.renegotiate")]
    Renegotiate { call_id: String, to: String },
    /// "I am still here" (every 5 s), with what the client uses now.
    #[serde(rename = "call.heartbeat")]
    Heartbeat {
        call_id: String,
        #[serde(default)]
        audio: bool,
        #[serde(default)]
        video: bool,
        #[serde(default)]
        screen: bool,
        /// The selected ICE candidate pair goes through a TURN relay.
        #[serde(default)]
        relayed: Option<bool>,
    },
    /// After a reconnect: this socket carries my part of the call from now on.
    #[serde(rename = "call.resume")]
    Resume { call_id: String },
}

/// Parses a client text frame whose `type` starts with `call.`; `Err` with a reason when it
/// is malformed or too large.
pub fn parse(text: &str) -> Result<CallClientFrame, &'static str> {
    let f: CallClientFrame = serde_json::from_str(text).map_err(|_| "malformed call frame")?;
    match &f {
        CallClientFrame::Offer { sdp, .. } | CallClientFrame::Answer { sdp, .. }
            if sdp.len() > MAX_SDP =>
        {
            Err("sdp too large")
        }
        CallClientFrame::Candidate { candidate, .. }
            if candidate.to_string().len() > MAX_CANDIDATE =>
        {
            Err("candidate too large")
        }
        _ => Ok(f),
    }
}

/// The `type` of a client text frame when it is a call frame (it starts with `call.`).
pub fn call_frame_kind(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Kind>(text)
        .ok()
        .filter(|k| k.kind.starts_with("call."))
        .map(|k| k.kind.into_owned())
}

/// Whether a client text frame is a call frame (its `type` starts with `call.`).
pub fn is_call_frame(text: &str) -> bool {
    call_frame_kind(text).is_some()
}

/// One party in a [`CallFrame`]'s state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartyView {
    pub user_id: String,
    /// The socket session carrying this party's media negotiation.
    pub session: String,
}

/// A `call.*` frame the server sends. Every frame also carries `session`: the receiving
/// socket's own session id (compare it with a party's `session` to know whether this
/// socket is the one in the call).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum CallFrame {
    /// A call for me is ringing.
    #[serde(rename = "call.ring")]
    Ring {
        call_id: String,
        conversation_id: String,
        /// The caller.
        from: String,
        video: bool,
    },
    /// The call's state changed (sent to every member of the conversation).
    #[serde(rename = "call.state")]
    State {
        call_id: String,
        conversation_id: String,
        /// ringing, active or ended.
        state: String,
        caller: String,
        video: bool,
        /// Who is in the call now.
        parties: Vec<PartyView>,
        /// Who is still being rung.
        ringing: Vec<String>,
        /// Once ended: completed, canceled, no_answer, declined, busy, failed, ice_failed,
        /// answered_elsewhere (this last one only to the answering user's other sessions).
        reason: Option<String>,
        /// Unix ms.
        created_at: i64,
        answered_at: Option<i64>,
    },
    /// An SDP offer from another party.
    #[serde(rename = "call.offer")]
    Offer {
        call_id: String,
        from: String,
        sdp: String,
    },
    /// An SDP answer from another party.
    #[serde(rename = "call.answer")]
    Answer {
        call_id: String,
        from: String,
        sdp: String,
    },
    /// An ICE candidate from another party.
    #[serde(rename = "call.candidate")]
    Candidate {
        call_id: String,
        from: String,
        #[schema(value_type = Object)]
        candidate: Value,
    },
    /// Another party asks me to negotiate again.
    #[serde(rename = "call.renegotiate")]
    Renegotiate { call_id: String, from: String },
    /// A call frame of mine was refused (not_found, restricted, busy, conflict,
    /// invalid_request, rate_limited, too_large, unavailable).
    #[serde(rename = "call.error")]
    Error {
        call_id: Option<String>,
        conversation_id: Option<String>,
        /// The `type` of the refused frame (e.g. `call.offer`: the sender rolls its offer
        /// back, the other party never saw it).
        frame: Option<String>,
        code: String,
        message: String,
    },
}

impl CallFrame {
    pub fn error(
        call_id: Option<&str>,
        conversation_id: Option<&str>,
        code: &str,
        message: impl Into<String>,
    ) -> CallFrame {
        CallFrame::Error {
            call_id: call_id.map(str::to_string),
            conversation_id: conversation_id.map(str::to_string),
            frame: None,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The refusal of a frame of type `kind` (no change to other frames).
    pub fn refusing(mut self, kind: &str) -> CallFrame {
        if let CallFrame::Error { frame, .. } = &mut self {
            frame.get_or_insert_with(|| kind.to_string());
        }
        self
    }

    /// The frame as JSON (for the bus).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_with_limits() {
        let f = parse(r#"{"type":"call.invite","conversation_id":"c1","video":true}"#).unwrap();
        assert_eq!(
            f,
            CallClientFrame::Invite {
                conversation_id: "c1".into(),
                video: true
            }
        );
        assert!(is_call_frame(r#"{"type":"call.invite"}"#));
        assert!(!is_call_frame(r#"{"type":"typing","conversation_id":"c"}"#));
        let big = "x".repeat(MAX_SDP + 1);
        let t = serde_json::json!({"type":"call.offer","call_id":"k","to":"u","sdp":big});
        assert_eq!(parse(&t.to_string()), Err("sdp too large"));
        let t = serde_json::json!({"type":"call.candidate","call_id":"k","to":"u","candidate":{"candidate":"x".repeat(3000)}});
        assert_eq!(parse(&t.to_string()), Err("candidate too large"));
        assert!(parse(r#"{"type":"call.hangup","call_id":"k","reason":"ice_failed"}"#).is_ok());
        assert!(parse(r#"{"type":"call.nope"}"#).is_err());
        assert!(parse(r#"{"type":"call.accept","call_id":"k","extra":1}"#).is_err());
        let v = CallFrame::error(Some("k"), None, "not_found", "call not found").to_value();
        assert_eq!(v["type"], "call.error");
    }
}
