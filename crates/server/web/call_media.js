// Parts of the call UI that need no call state: getting the camera and microphone, the ring
// tone, the verification code from both DTLS fingerprints, and the numbers of the
// connection-quality line (from `getStats`).

/** Camera and microphone (or the microphone alone when the camera is missing or denied, or
 *  nothing): {stream, note} with a note that says what is missing. */
export async function getMedia(video, devices = {}) {
  const audio = devices.mic ? { deviceId: { exact: devices.mic } } : true;
  if (video) {
    try {
      const v = devices.camera ? { deviceId: { exact: devices.camera } } : true;
      return { stream: await navigator.mediaDevices.getUserMedia({ audio, video: v }), note: '' };
    } catch { /* no camera, or denied: audio only */ }
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    return { stream, note: video ? 'Camera not available: continuing with audio only.' : '' };
  } catch {
    return { stream: new MediaStream(), note: 'Microphone and camera not available: you can listen only.' };
  }
}

let tone = null;

/** Starts the ring tone (WebAudio: no asset). */
export function startTone() {
  stopTone();
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0.05;
    gain.connect(ctx.destination);
    const beep = () => {
      const o = ctx.createOscillator();
      o.frequency.value = 440;
      o.connect(gain);
      o.start();
      o.stop(ctx.currentTime + 0.4);
    };
    beep();
    tone = { ctx, timer: setInterval(beep, 1500) };
  } catch { tone = null; }
}

export function stopTone() {
  if (!tone) return;
  clearInterval(tone.timer);
  tone.ctx.close().catch(() => {});
  tone = null;
}

/** A 6-digit code from both DTLS fingerprints of a connection ('' before both are known): the
 *  same on both sides unless someone sits between. */
export async function verificationCode(pc) {
  const fp = (sdp) => ((sdp || '').match(/a=fingerprint:\S+ (\S+)/) || [])[1] || '';
  const a = fp(pc.localDescription && pc.localDescription.sdp);
  const b = fp(pc.currentRemoteDescription && pc.currentRemoteDescription.sdp);
  if (!a || !b) return '';
  const joined = [a, b].sort().join('|');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(joined)));
  const n = ((digest[0] << 16) | (digest[1] << 8) | digest[2]) % 1000000;
  return String(n).padStart(6, '0').replace(/(\d{3})(\d{3})/, '$1 $2');
}

/** Round trip (s, the worst), packets lost and received, bytes received, and whether a selected
 *  candidate pair goes through a relay, over the given connections. */
export async function readStats(pcs) {
  let rtt = null; let lost = 0; let received = 0; let bytes = 0; let relayed = false;
  for (const pc of pcs) {
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((r) => byId.set(r.id, r));
    report.forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        if (typeof r.currentRoundTripTime === 'number') rtt = Math.max(rtt || 0, r.currentRoundTripTime);
        const l = byId.get(r.localCandidateId);
        const rc = byId.get(r.remoteCandidateId);
        if ((l && l.candidateType === 'relay') || (rc && rc.candidateType === 'relay')) relayed = true;
      }
      if (r.type === 'inbound-rtp') {
        lost += r.packetsLost || 0;
        received += r.packetsReceived || 0;
        bytes += r.bytesReceived || 0;
      }
    });
  }
  return { rtt, lost, received, bytes, relayed };
}
