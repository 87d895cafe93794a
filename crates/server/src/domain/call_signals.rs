//! The call frames of parties already rung or in a call: decline, hang up, the signaling
//! relayed to one other party's session (offer, answer, ICE candidate, renegotiate),
//! heartbeats and resuming on a new socket.

use crate::domain::call_frames::{CallClientFrame, CallFrame, HangupReason};
use crate::domain::calls::{Call, Effects, Phase};
use crate::AppState;
use tokio::time::Instant;

/// The frames that need no store read first.
pub(super) fn apply(s: &AppState, me: &str, session: &str, f: CallClientFrame) -> Effects {
    let now = s.now_ms();
    let mut fx = Effects::default();
    let mut live = s.inner.calls.lock();
    let id = match &f {
        CallClientFrame::Decline { call_id }
        | CallClientFrame::Hangup { call_id, .. }
        | CallClientFrame::Offer { call_id, .. }
        | CallClientFrame::Answer { call_id, .. }
        | CallClientFrame::Candidate { call_id, .. }
        | CallClientFrame::Renegotiate { call_id, .. }
        | CallClientFrame::Heartbeat { call_id, .. }
        | CallClientFrame::Resume { call_id } => call_id.clone(),
        CallClientFrame::Invite { .. } | CallClientFrame::Accept { .. } => return fx,
    };
    let not_found = |fx: &mut Effects| fx.error(Some(&id), None, "not_found", "call not found");
    let Some(c) = live.calls.get_mut(&id) else {
        not_found(&mut fx);
        return fx;
    };
    // A party on this very socket (signaling comes from the session that joined).
    let on_socket = c.parties.get(me).is_some_and(|p| p.session == session);
    match f {
        CallClientFrame::Decline { .. } => {
            if !c.ringing.remove(me) {
                not_found(&mut fx);
                return fx;
            }
            fx.send(me, None, None, &c.state("ended", Some("declined")));
            if c.phase == Phase::Ringing && c.ringing.is_empty() {
                if let Some(c) = live.remove(&id) {
                    fx.end(&c, "declined", now);
                }
            } else {
                let st = c.state(c.phase_name(), None);
                fx.send_members(c, &st);
            }
        }
        CallClientFrame::Hangup { reason, .. } => {
            if !c.parties.contains_key(me) {
                not_found(&mut fx);
                return fx;
            }
            let ending = match (c.phase, reason) {
                (Phase::Ringing, _) => Some("canceled"),
                (_, Some(HangupReason::IceFailed)) if c.parties.len() <= 2 => Some("ice_failed"),
                (_, Some(HangupReason::Failed)) if c.parties.len() <= 2 => Some("failed"),
                _ if c.parties.len() <= 2 => Some("completed"),
                _ => None,
            };
            match ending {
                Some(reason) => {
                    if let Some(c) = live.remove(&id) {
                        fx.end(&c, reason, now);
                    }
                }
                None => {
                    c.parties.remove(me);
                    let st = c.state("active", None);
                    fx.send_members(c, &st);
                    fx.send(me, None, None, &c.state("ended", Some("completed")));
                    live.by_user.remove(me);
                }
            }
        }
        CallClientFrame::Offer { to, sdp, .. } if on_socket => relay(
            &mut fx,
            c,
            me,
            &to,
            CallFrame::Offer {
                call_id: id.clone(),
                from: me.into(),
                sdp,
            },
        ),
        CallClientFrame::Answer { to, sdp, .. } if on_socket => relay(
            &mut fx,
            c,
            me,
            &to,
            CallFrame::Answer {
                call_id: id.clone(),
                from: me.into(),
                sdp,
            },
        ),
        CallClientFrame::Candidate { to, candidate, .. } if on_socket => relay(
            &mut fx,
            c,
            me,
            &to,
            CallFrame::Candidate {
                call_id: id.clone(),
                from: me.into(),
                candidate,
            },
        ),
        CallClientFrame::Renegotiate { to, .. } if on_socket => relay(
            &mut fx,
            c,
            me,
            &to,
            CallFrame::Renegotiate {
                call_id: id.clone(),
                from: me.into(),
            },
        ),
        CallClientFrame::Heartbeat {
            audio,
            video,
            screen,
            relayed,
            ..
        } if on_socket => {
            if let Some(p) = c.parties.get_mut(me) {
                p.beat = Instant::now();
            }
            c.audio_used |= audio;
            c.video_used |= video;
            c.screen_used |= screen;
            c.relayed = match (c.relayed, relayed) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (prev, now) => prev.or(now),
            };
        }
        CallClientFrame::Resume { .. } => match c.parties.get_mut(me) {
            Some(p) => {
                p.session = session.to_string();
                p.beat = Instant::now();
                let st = c.state(c.phase_name(), None);
                fx.send_members(c, &st);
            }
            None => not_found(&mut fx),
        },
        _ => not_found(&mut fx),
    }
    fx
}

/// Relays a signaling frame to the party `to` (its session only).
fn relay(fx: &mut Effects, c: &Call, me: &str, to: &str, f: CallFrame) {
    match c.parties.get(to).filter(|_| to != me) {
        Some(p) => fx.send(to, Some(&p.session), None, &f),
        None => fx.error(Some(&c.id), None, "not_found", "no such party in the call"),
    }
}
