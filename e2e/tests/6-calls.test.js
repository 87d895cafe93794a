// Voice and video calls between two browser contexts (fake camera and microphone): ringing on
// another page, media both ways (decoded frames), the verification code, screen sharing and
// rapid toggles (perfect negotiation), forced relay through the built-in TURN, end reasons,
// phone size. Screenshots for the README.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

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

/** Avery calls Diego (video) from their conversation; Diego is on his inbox. */
async function placeCall(avery, diego, { relayOnly = false } = {}) {
  if (relayOnly) {
    await avery.evaluate(() => { window.parleyCallRelayOnly = true; });
    await diego.evaluate(() => { window.parleyCallRelayOnly = true; });
  }
  await avery.getByRole('button', { name: 'Start a video call' }).click();
  await avery.getByRole('button', { name: 'Call now' }).click();
  const t0 = Date.now();
  await diego.getByText('Avery Chen is calling (video)…').waitFor({ timeout: 10000 });
  return Date.now() - t0;
}

async function connected(page) {
  return until(() => page.evaluate(() => {
    const c = window.parleyCall();
    return c && c.peers.length ? c.peers[0].pc.connectionState : 'none';
  }), (s) => s === 'connected', 'connection');
}

test('a video call rings on another page, carries media both ways, shares the screen and hangs up', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');

  const ringMs = await placeCall(avery, diego);
  console.log(`callee rang ${ringMs} ms after the caller pressed Call now`);
  await shot(diego, 'call-incoming');
  await diego.getByRole('button', { name: 'Accept with video' }).click();
  await connected(avery);
  await connected(diego);

  // Both sides decode audio and at least 30 video frames.
  for (const page of [avery, diego]) {
    const s = await until(() => inbound(page), (v) => v.audioBytes > 0 && v.videoBytes > 0 && v.frames >= 30, 'media');
    assert.ok(s.frames >= 30, JSON.stringify(s));
  }
  // The verification code is the same on both sides.
  const code = async (p) => until(() => p.evaluate(() => window.parleyCall().peers[0].code || ''), (c) => c.length > 0, 'code');
  assert.equal(await code(avery), await code(diego));

  // Screen share reaches Diego (a second decoded video stream), and stops.
  await avery.getByRole('button', { name: 'Share screen' }).click();
  await until(() => inbound(diego), (v) => v.videoStreams >= 2, 'screen frames decoded');
  await until(() => diego.locator('.call-videos video.remote').count(), (n) => n >= 2, 'screen shown');
  await shot(avery, 'call-video-screen-share');
  await avery.getByRole('button', { name: 'Stop sharing' }).click();
  const t1 = Date.now();
  await until(() => diego.locator('.call-videos video.remote').count(), (n) => n === 1, 'screen gone', 10000);
  console.log(`screen share gone on the other side ${Date.now() - t1} ms after stopping`);

  // 20 rapid toggles from both sides settle with no failed negotiation.
  for (let i = 0; i < 20; i++) {
    const page = i % 2 ? diego : avery;
    await page.evaluate(() => window.parleyCall().toggleScreen());
  }
  for (const page of [avery, diego]) {
    await until(() => page.evaluate(() => window.parleyCall().peers[0].pc.signalingState), (s) => s === 'stable', 'stable');
    const failed = await page.evaluate(() => window.parleyCall().peers[0].failedNegotiations);
    assert.equal(failed, 0, 'no failed negotiation');
  }
  await connected(avery);

  await avery.getByRole('button', { name: 'Hang up' }).click();
  await diego.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
  assert.deepEqual(avery.errors.filter((e) => !/favicon/.test(e)), []);
  await avery.context().close();
  await diego.context().close();
});

test('forced relay through the built-in TURN: relay/relay pair, frames decoded', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');
  await placeCall(avery, diego, { relayOnly: true });
  await diego.getByRole('button', { name: 'Accept with video' }).click();
  await connected(avery);
  const pair = await avery.evaluate(async () => {
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
  });
  assert.deepEqual(pair, ['relay', 'relay']);
  await until(() => inbound(diego), (v) => v.frames >= 30, 'relayed frames');
  await diego.getByText(/relayed/).waitFor({ timeout: 10000 });
  await diego.getByRole('button', { name: 'Hang up' }).click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor();
  await avery.context().close();
  await diego.context().close();
});

test('decline and answered elsewhere', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  const diego2 = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');

  // Declined.
  await placeCall(avery, diego);
  await diego.getByRole('button', { name: 'Decline' }).first().click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call declined' }).waitFor({ timeout: 10000 });
  await avery.getByRole('button', { name: 'Close' }).click();

  // Answered elsewhere: Diego's second context stops ringing.
  await placeCall(avery, diego);
  await diego2.getByText('Avery Chen is calling (video)…').waitFor();
  await diego.getByRole('button', { name: 'Accept audio only' }).click();
  await diego2.locator('#call-panel .call-title', { hasText: 'Answered on another device' }).waitFor({ timeout: 10000 });

  // (Busy needs a third person with a conversation with Diego: covered by the API tests.)
  await avery.getByRole('button', { name: 'Hang up' }).click();
  await diego.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
  for (const p of [avery, diego, diego2]) await p.context().close();
});

test('a call at phone size has the same controls', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos', { width: 375, height: 667 });
  await openConversation(avery, 'Diego Ramos');
  await placeCall(avery, diego);
  await diego.getByRole('button', { name: 'Accept with video' }).click();
  await connected(diego);
  await until(() => inbound(diego), (v) => v.frames >= 10, 'frames');
  for (const name of ['Mute', 'Camera off', 'Share screen', 'Full screen', 'Hang up']) {
    assert.ok(await diego.getByRole('button', { name }).isVisible(), name);
  }
  await shot(diego, 'call-phone');
  await diego.getByRole('button', { name: 'Hang up' }).click();
  await avery.locator('#call-panel .call-title', { hasText: 'Call ended' }).waitFor({ timeout: 10000 });
  await avery.context().close();
  await diego.context().close();
});
