// Voice and video calls between two browser contexts (fake camera and microphone), Avery and
// Mei (their conversation is under contract, and neither of them is restricted by the earlier
// files' blocked messages: a restricted person cannot answer a call): ringing on
// another page, media both ways (decoded frames), the verification code, screen sharing and
// rapid toggles (perfect negotiation), forced relay through the built-in TURN, end reasons,
// phone size, and nothing of the signaling in the server's log or database. Screenshots for
// the README. Every test ends its calls and closes its pages even when it fails, so the next
// test never meets a busy pair.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { launch, signIn, openConversation, shot, URL } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

/** Strings of the calls' signaling (ICE credentials, fingerprints, candidate addresses). */
const secrets = new Set();

/** Runs `body(open)` where `open(name, viewport)` signs a page in; then ends every call on those
 *  pages (hang up, cancel or decline) and closes them, whether `body` passed or not. */
async function withPages(body) {
  const pages = [];
  const open = async (name, viewport) => {
    const p = await signIn(browser, name, viewport);
    pages.push(p);
    return p;
  };
  try {
    await body(open);
  } finally {
    for (const p of pages) await p.evaluate(() => window.parleyCallEnd && window.parleyCallEnd()).catch(() => {});
    // Let the hang-up frames leave before the sockets close.
    await new Promise((r) => setTimeout(r, 500));
    for (const p of pages) await p.context().close().catch(() => {});
  }
}

/** Inbound RTP totals of the page's call: {audioBytes, videoBytes, frames, videoStreams}. */
async function inbound(page) {
  return page.evaluate(async () => {
    const c = window.parleyCall();
    const out = { audioBytes: 0, videoBytes: 0, frames: 0, videoStreams: 0, framesByTrack: {} };
    if (!c) return out;
    for (const p of c.peers) {
      const r = await p.pc.getStats();
      r.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'audio') out.audioBytes += s.bytesReceived || 0;
        if (s.kind === 'video') {
          out.videoBytes += s.bytesReceived || 0;
          out.frames += s.framesDecoded || 0;
          if ((s.framesDecoded || 0) > 0) out.videoStreams += 1;
          out.framesByTrack[s.trackIdentifier || s.id] = s.framesDecoded || 0;
        }
      });
    }
    return out;
  });
}

/** Notes the page's ICE ufrag and password, DTLS fingerprint and candidate addresses. */
async function noteSecrets(page) {
  const found = await page.evaluate(async () => {
    const out = [];
    for (const p of window.parleyCall().peers) {
      for (const d of [p.pc.localDescription, p.pc.currentRemoteDescription]) {
        const sdp = (d && d.sdp) || '';
        for (const re of [/a=ice-ufrag:(\S+)/g, /a=ice-pwd:(\S+)/g, /a=fingerprint:\S+ (\S+)/g]) {
          for (const m of sdp.matchAll(re)) out.push(m[1]);
        }
      }
      const r = await p.pc.getStats();
      r.forEach((s) => {
        if ((s.type === 'local-candidate' || s.type === 'remote-candidate') && s.address) {
          out.push(`${s.address}:${s.port}`, `${s.address} ${s.port}`);
          if (!/^127\.|^::1$/.test(s.address)) out.push(s.address);
        }
      });
    }
    return out;
  });
  for (const x of found) if (x.length >= 4) secrets.add(x);
  return found.length;
}

/** Waits until `check(value)` holds for `read()`, polling. */
async function until(read, check, what, timeout = 20000) {
  const end = Date.now() + timeout;
  let v;
  for (;;) {
    v = await read();
    if (check(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Avery calls Mei (video) from their conversation; Mei is on her inbox. */
async function placeCall(avery, mei, { relayOnly = false } = {}) {
  if (relayOnly) {
    await avery.evaluate(() => { window.parleyCallRelayOnly = true; });
    await mei.evaluate(() => { window.parleyCallRelayOnly = true; });
  }
  await avery.getByRole('button', { name: 'Start a video call' }).click();
  await avery.getByRole('button', { name: 'Call now' }).click();
  const t0 = Date.now();
  await mei.getByText('Avery Chen is calling (video)…').waitFor({ timeout: 10000 });
  return Date.now() - t0;
}

async function connected(page) {
  return until(() => page.evaluate(() => {
    const c = window.parleyCall();
    return c && c.peers.length ? c.peers[0].pc.connectionState : 'none';
  }), (s) => s === 'connected', 'connection');
}

/** The number of m-sections of the page's current local description. */
async function mSections(page) {
  return page.evaluate(() => ((window.parleyCall().peers[0].pc.localDescription || {}).sdp || '').split('\nm=').length - 1);
}

test('a video call rings on another page, carries media both ways, shares the screen and hangs up', () => withPages(async (open) => {
  const avery = await open('Avery Chen');
  const mei = await open('Mei Tanaka');
  await openConversation(avery, 'Mei Tanaka');

  const ringMs = await placeCall(avery, mei);
  console.log(`callee rang ${ringMs} ms after the caller pressed Call now`);
  assert.ok(ringMs < 1000, `rang after ${ringMs} ms`);
  await shot(mei, 'call-incoming');
  await mei.getByRole('button', { name: 'Accept with video' }).click();
  await connected(avery);
  await connected(mei);

  // Both sides decode audio and at least 30 video frames.
  const t0 = Date.now();
  for (const page of [avery, mei]) {
    const s = await until(() => inbound(page), (v) => v.audioBytes > 0 && v.videoBytes > 0 && v.frames >= 30, 'media', 10000);
    assert.ok(s.frames >= 30, JSON.stringify(s));
  }
  console.log(`30 frames decoded on both sides ${Date.now() - t0} ms after connecting`);
  // The verification code is the same on both sides.
  const code = async (p) => until(() => p.evaluate(() => window.parleyCall().peers[0].code || ''), (c) => c.length > 0, 'code');
  assert.equal(await code(avery), await code(mei));
  assert.ok(await noteSecrets(avery) > 0);
  await noteSecrets(mei);
  const sections = await mSections(avery);

  // Screen share reaches Mei (a second decoded video stream), and stops.
  await avery.getByRole('button', { name: 'Share screen' }).click();
  await until(() => inbound(mei), (v) => v.videoStreams >= 2, 'screen frames decoded');
  await until(() => mei.locator('.call-videos video.remote').count(), (n) => n >= 2, 'screen shown');
  await shot(avery, 'call-video-screen-share');
  await avery.getByRole('button', { name: 'Stop sharing' }).click();
  const t1 = Date.now();
  await until(() => mei.locator('.call-videos video.remote').count(), (n) => n === 1, 'screen gone', 2000);
  console.log(`screen share gone on the other side ${Date.now() - t1} ms after stopping`);

  // 20 rapid toggles from both sides settle with no failed negotiation, and the offers keep
  // their size (the screen has one transceiver; toggling replaces its track).
  for (let i = 0; i < 20; i++) {
    const page = i % 2 ? mei : avery;
    await page.evaluate(() => window.parleyCall().toggleScreen());
  }
  for (const page of [avery, mei]) {
    await until(() => page.evaluate(() => window.parleyCall().peers[0].pc.signalingState), (s) => s === 'stable', 'stable');
    const peer = await page.evaluate(() => {
      const p = window.parleyCall().peers[0];
      return { failed: p.failedNegotiations, refused: p.refusedOffers };
    });
    assert.deepEqual(peer, { failed: 0, refused: 0 }, 'no failed or refused negotiation');
    assert.equal(await mSections(page), sections, 'the SDP did not grow');
  }
  await connected(avery);

  await avery.getByRole('button', { name: 'Hang up' }).click();
  await mei.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
  assert.deepEqual(avery.errors.filter((e) => !/favicon/.test(e)), []);

  // A call card in the conversation for both: who called, how it ended, how long.
  const card = (page) => page.getByRole('log').locator('.call-card').last();
  await card(avery).getByText('Ended').waitFor({ timeout: 10000 });
  assert.match(await card(avery).textContent(), /^Video call from You · Ended · \d+ s · screen shared · \d{1,2}:\d\d( [AP]M)?$/);
  await mei.getByRole('button', { name: 'Close' }).click();
  await openConversation(mei, 'Avery Chen');
  assert.match(await card(mei).textContent(), /^Video call from Avery Chen · Ended · \d+ s · screen shared · \d{1,2}:\d\d( [AP]M)?$/);
}));

test('forced relay through the built-in TURN: relay/relay pair, frames decoded', () => withPages(async (open) => {
  const avery = await open('Avery Chen');
  const mei = await open('Mei Tanaka');
  await openConversation(avery, 'Mei Tanaka');
  await placeCall(avery, mei, { relayOnly: true });
  await mei.getByRole('button', { name: 'Accept with video' }).click();
  await connected(avery);
  // The selected pair (the stats can lag the connection state by a moment).
  const pair = await until(() => avery.evaluate(async () => {
    const r = await window.parleyCall().peers[0].pc.getStats();
    const byId = new Map();
    r.forEach((s) => byId.set(s.id, s));
    let found = null;
    r.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        found = [byId.get(s.localCandidateId).candidateType, byId.get(s.remoteCandidateId).candidateType];
      }
    });
    return found;
  }), (v) => v !== null, 'selected candidate pair');
  assert.deepEqual(pair, ['relay', 'relay']);
  await until(() => inbound(mei), (v) => v.frames >= 30, 'relayed frames');
  await mei.getByText(/relayed/).waitFor({ timeout: 10000 });
  // The built-in relay counted the allocations and the bytes it relayed.
  const metrics = await (await fetch(`${URL}/metrics`)).text();
  const num = (name) => Number((metrics.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1] || 0);
  assert.ok(num('parley_turn_allocations_total') >= 2, metrics);
  assert.ok(num('parley_turn_relayed_bytes_total') > 100000, metrics);
  console.log(`relay: ${num('parley_turn_allocations_total')} allocations, ${num('parley_turn_relayed_bytes_total')} bytes relayed`);
  await noteSecrets(avery);
  await noteSecrets(mei);
  await mei.getByRole('button', { name: 'Hang up' }).click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor();
}));

test('decline and answered elsewhere', () => withPages(async (open) => {
  const avery = await open('Avery Chen');
  const mei = await open('Mei Tanaka');
  const mei2 = await open('Mei Tanaka');
  await openConversation(avery, 'Mei Tanaka');

  // Declined.
  await placeCall(avery, mei);
  await mei.getByRole('button', { name: 'Decline' }).first().click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call declined' }).waitFor({ timeout: 10000 });
  await avery.getByRole('button', { name: 'Close' }).click();

  // Answered elsewhere: Mei's second context stops ringing.
  await placeCall(avery, mei);
  await mei2.getByText('Avery Chen is calling (video)…').waitFor();
  await mei.getByRole('button', { name: 'Accept audio only' }).click();
  await mei2.locator('#call-panel .call-title', { hasText: 'Answered on another device' }).waitFor({ timeout: 10000 });

  // (Busy needs a third person with a conversation with Mei: covered by the API tests.)
  await avery.getByRole('button', { name: 'Hang up' }).click();
  await mei.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
}));

test('a call at phone size has the same controls', () => withPages(async (open) => {
  const avery = await open('Avery Chen');
  const mei = await open('Mei Tanaka', { width: 375, height: 667 });
  await openConversation(avery, 'Mei Tanaka');
  await placeCall(avery, mei);
  await mei.getByRole('button', { name: 'Accept with video' }).click();
  await connected(mei);
  await until(() => inbound(mei), (v) => v.frames >= 10, 'frames');
  for (const name of ['Mute', 'Camera off', 'Share screen', 'Full screen', 'Hang up']) {
    assert.ok(await mei.getByRole('button', { name }).isVisible(), name);
  }
  await shot(mei, 'call-phone');
  await mei.getByRole('button', { name: 'Hang up' }).click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
}));

test('the server log and the database hold no SDP, ICE credentials, fingerprints or candidate addresses', () => {
  const log = process.env.PARLEY_SERVER_LOG;
  const db = process.env.PARLEY_DATABASE_FILE;
  assert.ok(log && db, 'e2e/run.sh passes PARLEY_SERVER_LOG and PARLEY_DATABASE_FILE');
  assert.ok(secrets.size >= 4, `signaling strings noted: ${secrets.size}`);
  const files = [log, db, `${db}-wal`].filter((f) => existsSync(f));
  assert.ok(files.length >= 2, files.join(' '));
  const generic = ['a=ice-ufrag', 'a=ice-pwd', 'a=fingerprint', 'typ host', 'typ relay', 'typ srflx', 'm=video', 'm=audio'];
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const x of [...generic, ...secrets]) {
      assert.equal(bytes.indexOf(Buffer.from(x)), -1, `${f} holds ${x}`);
    }
  }
  // The calls themselves are there (metadata only).
  assert.ok(readFileSync(db).indexOf(Buffer.from('call_')) >= 0 || (existsSync(`${db}-wal`) && readFileSync(`${db}-wal`).indexOf(Buffer.from('call_')) >= 0), 'call records stored');
});
