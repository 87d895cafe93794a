// Voice and video calls: WebRTC between the browsers, signaling over the app's WebSocket
// (`call.*` frames), the server owning the call's state. Media never touches the server except
// as DTLS-SRTP ciphertext through its TURN relay. One call at a time; up to 4 people (a mesh).
// Incoming calls ring on every page; a `parley:call` window event ({detail: {conversation,
// video}}) starts a call (the conversation header's buttons and "Join call" send it).

import { api } from './api.js';
import { h, replace } from './util.js';
import { app } from './state.js';
import { startTone, stopTone, verificationCode, readStats, getMedia } from './call_media.js';

const HEARTBEAT_MS = 5000;
const STATS_MS = 2000;

/** The call on this page (null when none). */
let call = null;
/** The incoming call ringing here: {id, conversation, from, video}. */
let ringing = null;
let ui = null;

const REASONS = {
  completed: 'Call ended',
  canceled: 'The caller hung up',
  no_answer: 'No answer',
  declined: 'Call declined',
  busy: 'Busy in another call',
  failed: 'The call was lost',
  ice_failed: 'Could not connect the call (network)',
  answered_elsewhere: 'Answered on another device',
};

function send(frame) {
  if (app.live) app.live.send(frame);
}

function panel() {
  if (!ui) {
    ui = h('section', { class: 'call-panel', id: 'call-panel', 'aria-label': 'Call', hidden: true });
    document.body.append(ui);
  }
  return ui;
}
function hidePanel() {
  if (ui) { ui.hidden = true; replace(ui); }
}
function say(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

function showIncoming(r) {
  const p = panel();
  p.hidden = false;
  p.className = 'call-panel incoming';
  replace(p,
    h('p', { class: 'call-title', role: 'status' }, `${app.nameOf(r.from)} is calling${r.video ? ' (video)' : ''}…`),
    h('div', { class: 'call-actions' },
      h('button', { type: 'button', class: 'primary', onclick: () => accept(true) }, r.video ? 'Accept with video' : 'Accept'),
      r.video ? h('button', { type: 'button', onclick: () => accept(false) }, 'Accept audio only') : null,
      h('button', { type: 'button', class: 'danger', onclick: decline }, 'Decline')));
  startTone();
}

function ended(reason) {
  stopTone();
  const p = panel();
  p.hidden = false;
  p.className = 'call-panel ended';
  replace(p, h('p', { class: 'call-title', role: 'status' }, REASONS[reason] || 'Call ended'),
    h('button', { type: 'button', onclick: hidePanel }, 'Close'));
  say(REASONS[reason] || 'Call ended');
}

/** The pre-call check: camera preview, device pickers, then the call. */
async function precall(conversation, video) {
  if (call) return;
  const p = panel();
  p.hidden = false;
  p.className = 'call-panel precall';
  const media = await getMedia(video);
  const preview = h('video', { class: 'preview', autoplay: true, muted: true, playsinline: true });
  preview.muted = true;
  preview.srcObject = media.stream;
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const pick = (kind, label) => h('label', {}, label, h('select', { 'data-kind': kind, onchange: async () => {
    const chosen = { camera: p.querySelector('[data-kind=videoinput]')?.value, mic: p.querySelector('[data-kind=audioinput]')?.value };
    media.stream.getTracks().forEach((t) => t.stop());
    const m = await getMedia(video, chosen);
    media.stream = m.stream;
    preview.srcObject = m.stream;
  } }, devices.filter((d) => d.kind === kind).map((d, i) => h('option', { value: d.deviceId }, d.label || `${label} ${i + 1}`))));
  replace(p,
    h('p', { class: 'call-title' }, video ? 'Check your camera and microphone' : 'Check your microphone'),
    media.note ? h('p', { class: 'call-note', role: 'alert' }, media.note) : null,
    media.stream.getVideoTracks().length ? preview : null,
    h('div', { class: 'devices' }, pick('audioinput', 'Microphone'), video ? pick('videoinput', 'Camera') : null),
    h('div', { class: 'call-actions' },
      h('button', { type: 'button', class: 'primary', onclick: () => start(conversation, video, media) }, 'Call now'),
      h('button', { type: 'button', onclick: () => { media.stream.getTracks().forEach((t) => t.stop()); hidePanel(); } }, 'Cancel')));
}

async function start(conversation, video, media) {
  call = newCall({ conversation, video, stream: media.stream, note: media.note });
  cancelIn = null;
  send({ type: 'call.invite', conversation_id: conversation, video });
  renderCall('Calling…');
}

function newCall({ id = null, conversation, video, stream, note = '' }) {
  const ice = api('GET', '/v1/calls/ice').then((r) => r.data).catch(() => ({ ice_servers: [] }));
  return { id, conversation, video, stream, note, screen: null, screenOut: new MediaStream(), peers: new Map(), ice, session: null,
    status: '', timers: [], stats: new Map(), main: 'camera', relayOnly: !!window.parleyCallRelayOnly };
}

async function accept(video) {
  const r = ringing;
  if (!r) return;
  ringing = null;
  stopTone();
  const media = await getMedia(video);
  call = newCall({ id: r.id, conversation: r.conversation, video, stream: media.stream, note: media.note });
  send({ type: 'call.accept', call_id: r.id });
  renderCall('Connecting…');
}

function decline() {
  if (!ringing) return;
  send({ type: 'call.decline', call_id: ringing.id });
  ringing = null;
  stopTone();
  hidePanel();
}

/** A call hung up before the server named it: cancelled as soon as its id arrives. */
let cancelIn = null;

function hangup(reason) {
  if (!call) return;
  if (call.id) send({ type: 'call.hangup', call_id: call.id, ...(reason ? { reason } : {}) });
  else cancelIn = call.conversation;
  teardown();
}

function teardown() {
  if (!call) return;
  for (const t of call.timers) clearInterval(t);
  for (const peer of call.peers.values()) peer.pc.close();
  call.stream.getTracks().forEach((t) => t.stop());
  if (call.screen) call.screen.getTracks().forEach((t) => t.stop());
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  call = null;
}

// ---- peers ----
// Every connection has the same three transceivers, in this order: audio, camera, screen. The
// party with the lower user id creates them and makes the first offer when the call becomes
// active; the other waits for that offer and takes its transceivers (one offer, no collision
// at the start). Later changes (screen share on and off, another camera) replace tracks and
// change directions only, so the SDP keeps its size; offers that cross then settle by perfect
// negotiation (the polite peer rolls back).

/** The tracks this side sends on each of the three transceivers (null: none). */
function outgoing() {
  return {
    audio: call.stream.getAudioTracks()[0] || null,
    camera: call.stream.getVideoTracks()[0] || null,
    screen: call.screen ? call.screen.getVideoTracks()[0] || null : null,
  };
}

/** Points a transceiver at a track (or none) and sets whether it sends. */
async function sendOn(tx, track, stream) {
  if (!tx || tx.currentDirection === 'stopped') return;
  await tx.sender.replaceTrack(track);
  if (track) tx.sender.setStreams(stream);
  const dir = track ? 'sendrecv' : 'recvonly';
  if (tx.direction !== dir) tx.direction = dir;
}

/** The answering side: the transceivers of the first offer become ours (audio, camera, screen). */
async function adopt(peer) {
  const all = peer.pc.getTransceivers();
  const audio = all.find((t) => t.receiver.track.kind === 'audio');
  const [camera, screen] = all.filter((t) => t.receiver.track.kind === 'video');
  peer.tx = { audio, camera, screen };
  const out = outgoing();
  await sendOn(audio, out.audio, call.stream);
  await sendOn(camera, out.camera, call.stream);
  await sendOn(screen, out.screen, call.screenOut);
}

async function peerFor(user, { offerer = false } = {}) {
  let peer = call.peers.get(user);
  if (peer) return peer;
  const ice = await call.ice;
  if (!call) return null;
  if (call.peers.get(user)) return call.peers.get(user);
  const pc = new RTCPeerConnection({ iceServers: ice.ice_servers || [], iceTransportPolicy: call.relayOnly ? 'relay' : 'all' });
  peer = { user, pc, polite: app.me.id > user, makingOffer: false, ignoreOffer: false, answerPending: false,
    streams: new Map(), restarts: 0, failedNegotiations: 0, refusedOffers: 0, tx: null };
  call.peers.set(user, peer);
  const id = call.id;
  pc.onnegotiationneeded = async () => {
    try {
      peer.makingOffer = true;
      await pc.setLocalDescription();
      send({ type: 'call.offer', call_id: id, to: user, sdp: pc.localDescription.sdp });
    } catch (e) {
      peer.failedNegotiations += 1;
    } finally {
      peer.makingOffer = false;
    }
  };
  pc.onicecandidate = ({ candidate }) => {
    send({ type: 'call.candidate', call_id: id, to: user, candidate: candidate ? candidate.toJSON() : null });
  };
  pc.ontrack = ({ track, streams }) => {
    const stream = streams[0] || new MediaStream([track]);
    peer.streams.set(stream.id, stream);
    stream.onremovetrack = () => {
      if (!stream.getTracks().length) peer.streams.delete(stream.id);
      renderMedia();
    };
    track.onended = () => renderMedia();
    renderMedia();
  };
  pc.oniceconnectionstatechange = () => {
    const st = pc.iceConnectionState;
    if (st === 'failed') {
      if (peer.restarts < 2) {
        peer.restarts += 1;
        setStatus('Reconnecting…');
        pc.restartIce();
      } else {
        hangup('ice_failed');
        ended('ice_failed');
      }
    } else if (st === 'disconnected') {
      setStatus('Reconnecting…');
    } else if (st === 'connected' || st === 'completed') {
      setStatus('Connected');
      verification(peer);
    }
  };
  if (offerer) {
    // The first offer (onnegotiationneeded) carries the three transceivers.
    const out = outgoing();
    const add = (track, kind, stream) => pc.addTransceiver(track || kind,
      { direction: track ? 'sendrecv' : 'recvonly', streams: [stream] });
    peer.tx = {
      audio: add(out.audio, 'audio', call.stream),
      camera: add(out.camera, 'video', call.stream),
      screen: add(out.screen, 'video', call.screenOut),
    };
  }
  return peer;
}

async function onDescription(ev, type) {
  const peer = await peerFor(ev.from);
  if (!peer) return;
  const pc = peer.pc;
  const desc = { type, sdp: ev.sdp };
  try {
    const ready = !peer.makingOffer && (pc.signalingState === 'stable' || peer.answerPending);
    const collision = type === 'offer' && !ready;
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    peer.answerPending = type === 'answer';
    await pc.setRemoteDescription(desc);
    peer.answerPending = false;
    if (type === 'offer') {
      if (!peer.tx) await adopt(peer);
      await pc.setLocalDescription();
      send({ type: 'call.answer', call_id: call.id, to: ev.from, sdp: pc.localDescription.sdp });
    }
  } catch (e) {
    peer.failedNegotiations += 1;
  }
}

/** The server refused one of our frames: an offer it did not relay is rolled back. */
async function onRefused(ev) {
  if (ev.frame !== 'call.offer') return;
  for (const peer of call.peers.values()) {
    if (peer.pc.signalingState !== 'have-local-offer') continue;
    peer.refusedOffers += 1;
    try {
      await peer.pc.setLocalDescription({ type: 'rollback' });
    } catch { /* closed meanwhile */ }
    if (ev.code !== 'rate_limited' && peer.refusedOffers > 3) {
      hangup('failed');
      ended('failed');
      return;
    }
  }
}

async function onCandidate(ev) {
  const peer = await peerFor(ev.from);
  if (!peer) return;
  try {
    await peer.pc.addIceCandidate(ev.candidate || null);
  } catch (e) {
    if (!peer.ignoreOffer) { /* a candidate of an offer we ignored is expected to fail */ }
  }
}

// ---- the in-call view ----
function setStatus(s) {
  if (!call) return;
  call.status = s;
  const el = ui && ui.querySelector('.call-status');
  if (el) el.textContent = s;
}

function renderMedia() {
  if (!call || !ui) return;
  const grid = ui.querySelector('.call-videos');
  if (!grid) return;
  const els = [];
  for (const peer of call.peers.values()) {
    for (const stream of peer.streams.values()) {
      const live = stream.getTracks().filter((t) => t.readyState === 'live');
      if (!live.length) continue;
      let v = grid.querySelector(`video[data-stream="${stream.id}"]`);
      if (!v) {
        v = h('video', { autoplay: true, playsinline: true, 'data-stream': stream.id, 'data-user': peer.user, class: 'remote' });
        v.srcObject = stream;
      }
      v.classList.toggle('screen', [...peer.streams.keys()].indexOf(stream.id) > 0);
      els.push(v);
    }
  }
  const mine = [];
  if (call.stream.getVideoTracks().length) {
    const v = grid.querySelector('video.local-camera') || h('video', { autoplay: true, muted: true, playsinline: true, class: 'local local-camera' });
    v.muted = true;
    if (v.srcObject !== call.stream) v.srcObject = call.stream;
    mine.push(v);
  }
  if (call.screen) {
    const v = grid.querySelector('video.local-screen') || h('video', { autoplay: true, muted: true, playsinline: true, class: 'local local-screen' });
    v.muted = true;
    if (v.srcObject !== call.screen) v.srcObject = call.screen;
    mine.push(v);
  }
  if (call.main === 'screen') mine.reverse();
  const next = [...els, ...mine];
  const same = next.length === grid.children.length && next.every((v, i) => grid.children[i] === v);
  if (!same) replace(grid, ...next);
  for (const v of next) if (v.paused) v.play().catch(() => {});
}

const button = (label, onclick, attrs = {}) => h('button', { type: 'button', onclick, ...attrs }, label);

function renderCall(status) {
  const p = panel();
  p.hidden = false;
  p.className = 'call-panel in-call';
  const audio = call.stream.getAudioTracks()[0];
  const cam = call.stream.getVideoTracks()[0];
  replace(p,
    h('div', { class: 'call-bar' },
      h('p', { class: 'call-status', role: 'status' }, status),
      h('p', { class: 'call-quality', 'aria-label': 'Connection quality' }),
      h('p', { class: 'call-code' })),
    call.note ? h('p', { class: 'call-note', role: 'alert' }, call.note) : null,
    h('div', { class: 'call-videos' }),
    h('div', { class: 'call-controls' },
      button(audio && !audio.enabled ? 'Unmute' : 'Mute', (e) => {
        if (!audio) return;
        audio.enabled = !audio.enabled;
        e.target.textContent = audio.enabled ? 'Mute' : 'Unmute';
        e.target.setAttribute('aria-pressed', String(!audio.enabled));
      }, { 'aria-pressed': 'false', disabled: !audio }),
      button('Camera off', (e) => {
        if (!cam) return;
        cam.enabled = !cam.enabled;
        e.target.textContent = cam.enabled ? 'Camera off' : 'Camera on';
      }, { disabled: !cam }),
      button('Switch camera', switchCamera, { disabled: !cam }),
      button(call.screen ? 'Stop sharing' : 'Share screen', toggleScreen, { class: 'share' }),
      button('Swap views', () => { call.main = call.main === 'camera' ? 'screen' : 'camera'; renderMedia(); }),
      button('Full screen', () => {
        if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
        else p.requestFullscreen().catch(() => {});
      }),
      button('Hang up', () => { hangup(); ended('completed'); }, { class: 'danger' })));
  renderMedia();
}

async function switchCamera() {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  const current = call.stream.getVideoTracks()[0];
  if (!current || devices.length < 2) { say('No other camera'); return; }
  const now = current.getSettings().deviceId;
  const next = devices[(devices.findIndex((d) => d.deviceId === now) + 1) % devices.length];
  const s = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: next.deviceId } } });
  const track = s.getVideoTracks()[0];
  for (const peer of call.peers.values()) {
    const sender = peer.pc.getSenders().find((x) => x.track === current);
    if (sender) await sender.replaceTrack(track);
  }
  call.stream.removeTrack(current);
  current.stop();
  call.stream.addTrack(track);
  renderMedia();
}

async function toggleScreen() {
  if (!call) return;
  if (call.screen) {
    await stopScreen();
    return;
  }
  let s;
  try {
    s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    say('Screen sharing was not started');
    return;
  }
  if (!call) { s.getTracks().forEach((t) => t.stop()); return; }
  call.screen = s;
  const track = s.getVideoTracks()[0];
  track.onended = () => stopScreen();
  for (const peer of call.peers.values()) if (peer.tx) await sendOn(peer.tx.screen, track, call.screenOut);
  const b = ui.querySelector('button.share');
  if (b) b.textContent = 'Stop sharing';
  heartbeat(); // the call record notes the screen share however short it is
  renderMedia();
}

async function stopScreen() {
  if (!call || !call.screen) return;
  const s = call.screen;
  call.screen = null;
  for (const peer of call.peers.values()) if (peer.tx) await sendOn(peer.tx.screen, null, call.screenOut);
  s.getTracks().forEach((t) => t.stop());
  const b = ui && ui.querySelector('button.share');
  if (b) b.textContent = 'Share screen';
  renderMedia();
}

/** Shows the verification code of a peer (the same on both sides unless someone sits between). */
async function verification(peer) {
  const code = await verificationCode(peer.pc);
  if (!code) return;
  peer.code = code;
  const el = ui && ui.querySelector('.call-code');
  if (el) el.textContent = `Verification code ${code}`;
}

async function sampleStats() {
  if (!call) return;
  const { rtt, lost, received, bytes, relayed } = await readStats([...call.peers.values()].map((p) => p.pc));
  if (!call) return;
  const prev = call.lastBytes || { bytes, at: performance.now() };
  const secs = (performance.now() - prev.at) / 1000;
  const kbps = secs > 0 ? Math.max(0, ((bytes - prev.bytes) * 8) / secs / 1000) : 0;
  call.lastBytes = { bytes, at: performance.now() };
  call.relayed = relayed;
  const loss = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
  const el = ui && ui.querySelector('.call-quality');
  if (el && rtt !== null) {
    const good = rtt < 0.3 && loss < 3;
    el.textContent = `${good ? 'Good' : 'Poor'} connection · ${Math.round(rtt * 1000)} ms · ${loss.toFixed(1)}% loss · ${Math.round(kbps)} kbit/s${relayed ? ' · relayed' : ''}`;
    el.dataset.quality = good ? 'good' : 'poor';
  }
}

function heartbeat() {
  if (!call || !call.id) return;
  send({ type: 'call.heartbeat', call_id: call.id,
    audio: call.stream.getAudioTracks().some((t) => t.enabled),
    video: call.stream.getVideoTracks().some((t) => t.enabled),
    screen: !!call.screen, relayed: call.relayed === undefined ? null : call.relayed });
}

// ---- frames from the server ----
async function onFrame(ev) {
  if (!ev.type || !ev.type.startsWith('call.')) return;
  if (ev.type === 'call.ring') {
    if (call) return; // busy here: the server tells the caller
    ringing = { id: ev.call_id, conversation: ev.conversation_id, from: ev.from, video: ev.video };
    showIncoming(ringing);
    return;
  }
  if (ev.type === 'call.error') {
    if (call && call.id && ev.call_id === call.id && ev.frame !== 'call.accept') {
      await onRefused(ev);
      return;
    }
    if (call && ev.call_id && ev.call_id === call.id) { // not let in: restricted, busy, full
      teardown();
      ended('failed');
      replace(ui.querySelector('.call-title') || ui, ev.message);
      return;
    }
    if (call && !call.id && ev.conversation_id === call.conversation) {
      const reason = ev.code === 'busy' ? 'busy' : null;
      teardown();
      if (reason) ended(reason);
      else { ended('failed'); replace(ui.querySelector('.call-title') || ui, ev.message); }
    }
    return;
  }
  if (ev.type === 'call.state') {
    if (ringing && ringing.id === ev.call_id && ev.state !== 'ringing') {
      const mine = ev.parties.some((p) => p.session === ev.session);
      if (ev.state === 'ended' || !mine) {
        ringing = null;
        stopTone();
        ended(ev.reason || 'answered_elsewhere');
      }
      return;
    }
    if (!call && cancelIn === ev.conversation_id && ev.caller === app.me.id && ev.state === 'ringing') {
      cancelIn = null;
      send({ type: 'call.hangup', call_id: ev.call_id });
      return;
    }
    if (!call) return;
    if (!call.id && ev.conversation_id === call.conversation && ev.caller === app.me.id) call.id = ev.call_id;
    if (call.id !== ev.call_id) return;
    call.session = ev.session;
    if (ev.state === 'ended') {
      teardown();
      ended(ev.reason);
      return;
    }
    if (!ev.parties.some((p) => p.user_id === app.me.id && p.session === ev.session)) return;
    if (!call.timers.length) {
      call.timers.push(setInterval(heartbeat, HEARTBEAT_MS), setInterval(sampleStats, STATS_MS));
      heartbeat();
    }
    if (ev.state === 'active') {
      setStatus(call.status === 'Connected' ? 'Connected' : 'Connecting…');
      // Of each pair, the lower user id makes the first offer; the other waits for it.
      for (const p of ev.parties) if (p.user_id > app.me.id) await peerFor(p.user_id, { offerer: true });
      for (const [user, peer] of call.peers) {
        if (!ev.parties.some((p) => p.user_id === user)) {
          peer.pc.close();
          call.peers.delete(user);
          renderMedia();
        }
      }
    }
    return;
  }
  if (!call || ev.call_id !== call.id) return;
  if (ev.type === 'call.offer') await onDescription(ev, 'offer');
  else if (ev.type === 'call.answer') await onDescription(ev, 'answer');
  else if (ev.type === 'call.candidate') await onCandidate(ev);
  else if (ev.type === 'call.renegotiate') {
    const peer = call.peers.get(ev.from);
    if (peer) peer.pc.restartIce();
  }
}

let started = false;

/** Starts listening for calls (once app.live exists). */
export function initCalls() {
  if (started || !app.live) return;
  started = true;
  // Frames are handled one after another, in the order they came (an answer before the next
  // offer, candidates after their description).
  let queue = Promise.resolve();
  app.live.on((ev) => {
    if (!ev.type || !ev.type.startsWith('call.')) return;
    queue = queue.then(() => onFrame(ev)).catch(() => {});
  });
  // After a WebSocket drop the call goes on: this socket takes over its signaling.
  app.live.onResync(() => {
    if (call && call.id) send({ type: 'call.resume', call_id: call.id });
  });
  window.addEventListener('online', () => {
    if (call) for (const peer of call.peers.values()) peer.pc.restartIce();
  });
  window.addEventListener('parley:call', (e) => {
    const d = e.detail || {};
    if (d.conversation) precall(String(d.conversation), d.video !== false);
  });
}

/** Ends whatever call is on this page (hang up, cancel or decline); tests call it when done. */
window.parleyCallEnd = () => {
  if (call) hangup();
  else if (ringing) decline();
};

/** For tests and diagnostics: the call on this page. */
window.parleyCall = () => call && {
  id: call.id,
  peers: [...call.peers.values()].map((p) => ({ user: p.user, pc: p.pc, code: p.code,
    failedNegotiations: p.failedNegotiations, refusedOffers: p.refusedOffers })),
  screen: !!call.screen,
  toggleScreen,
};
