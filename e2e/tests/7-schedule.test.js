// Interview scheduling in two browser contexts in different time zones: the same offered time
// shown at each person's own local time (with the other's beside it), a booking that appears
// live for both, "Join call" handing the conversation to the call UI (the `parley:call` event:
// the pre-call check, then the other person rings),
// the Interviews page, and no serious accessibility violations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot, apiAs, conversationWith, axe } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

const TOKYO = 'Asia/Tokyo';
const LA = 'America/Los_Angeles';

function fmt(ms, tz, opts) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, ...opts }).format(new Date(ms));
}
const clock = (ms, tz) => fmt(ms, tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = (ms, tz) => fmt(ms, tz, { weekday: 'short', day: 'numeric', month: 'short' });
/** The value of a datetime-local input for an instant in a zone. */
function localInput(ms, tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

test('two time zones see the same slot at their own times; the booking is live for both; Join call starts the call', async () => {
  const mei = await signIn(browser, 'Mei Tanaka', undefined, { timezoneId: TOKYO, bypassCSP: true });
  const avery = await signIn(browser, 'Avery Chen', undefined, { timezoneId: LA, bypassCSP: true });
  await openConversation(mei, 'Avery Chen');
  await openConversation(avery, 'Mei Tanaka');
  const conv = await conversationWith(await apiAs('avery'), 'mei');

  // Mei offers a time three days ahead, on the hour, typed in her own (Tokyo) time.
  const t = (Math.floor(Date.now() / 3600000) + 72) * 3600000;
  await mei.getByRole('button', { name: 'Schedule', exact: true }).click();
  await mei.getByLabel('Time 1').fill(localInput(t, TOKYO));
  await mei.getByRole('button', { name: 'Offer times' }).click();

  // Each sees it at their own local time, with the other's beside it.
  const meiLabel = `${day(t, TOKYO)}, ${clock(t, TOKYO)} your time · ${day(t, LA) !== day(t, TOKYO) ? `${day(t, LA)}, ` : ''}${clock(t, LA)} Avery’s time`;
  await mei.getByText(meiLabel).waitFor({ timeout: 10000 });
  const pick = avery.getByRole('button', { name: /^Pick / });
  await pick.waitFor({ timeout: 10000 });
  const averyLabel = `Pick ${day(t, LA)}, ${clock(t, LA)} your time · ${day(t, TOKYO) !== day(t, LA) ? `${day(t, TOKYO)}, ` : ''}${clock(t, TOKYO)} Mei’s time · 30 min`;
  assert.equal((await pick.textContent()).trim(), averyLabel);
  assert.notEqual(clock(t, LA), clock(t, TOKYO), 'the two zones differ');
  await shot(avery, 'schedule-pick');

  // Avery picks it: the booking card appears live on both sides.
  await pick.click();
  await avery.locator('.booking-card', { hasText: 'Interview with Mei Tanaka' }).waitFor({ timeout: 10000 });
  await mei.locator('.booking-card', { hasText: 'Interview with Avery Chen' }).waitFor({ timeout: 10000 });
  const card = avery.locator('.booking-card', { hasText: 'Interview with Mei Tanaka' }).first();
  assert.equal(await card.getByRole('button', { name: 'Join call' }).isDisabled(), true, 'not yet: three days ahead');

  // An interview starting in a few minutes (booked through the API as another client would):
  // "Join call" is active, and it hands this conversation to the call UI.
  const soon = (Math.floor(Date.now() / 60000) + 5) * 60000;
  const meiApi = await apiAs('mei');
  const p = await meiApi('POST', `/v1/conversations/${conv}/proposals`, { slots: [{ start: new Date(soon).toISOString(), minutes: 30 }] });
  assert.equal(p.status, 201, JSON.stringify(p.data));
  const a = await (await apiAs('avery'))('POST', `/v1/proposals/${p.data.id}/accept`, { start: p.data.slots[0].start });
  assert.equal(a.status, 201, JSON.stringify(a.data));
  const soonCard = avery.locator(`.booking-card[data-booking="${a.data.booking.id}"]`);
  await soonCard.waitFor({ timeout: 10000 });
  await avery.evaluate(() => {
    window.__calls = [];
    window.addEventListener('parley:call', (e) => window.__calls.push(e.detail));
  });
  const join = soonCard.getByRole('button', { name: 'Join call' });
  assert.equal(await join.isEnabled(), true);
  await join.click();
  assert.deepEqual(await avery.evaluate(() => window.__calls), [{ conversation: conv, video: true }]);
  // The call UI takes it: Avery's pre-call check, then Mei rings; Avery hangs up before she
  // answers (canceled). Whatever happens, no call is left ringing for the next tests.
  try {
    await avery.getByText('Check your camera and microphone').waitFor({ timeout: 10000 });
    await avery.getByRole('button', { name: 'Call now' }).click();
    await mei.getByText('Avery Chen is calling (video)…').waitFor({ timeout: 10000 });
    await avery.getByRole('button', { name: 'Hang up' }).click();
    await mei.locator('#call-panel .call-title', { hasText: 'The caller hung up' }).waitFor({ timeout: 10000 });
  } finally {
    for (const page of [avery, mei]) await page.evaluate(() => window.parleyCallEnd && window.parleyCallEnd());
  }
  await avery.getByRole('button', { name: 'Close' }).click();
  await mei.getByRole('button', { name: 'Close' }).click();
  await shot(avery, 'schedule-booked');
  assert.deepEqual(await axe(avery), [], 'conversation with the schedule panel');

  // The Interviews page lists both interviews; the availability form is there.
  await avery.goto(`${process.env.PARLEY_URL}/#/interviews`);
  await avery.getByRole('heading', { name: 'Upcoming interviews' }).waitFor();
  const upcoming = avery.getByRole('list', { name: 'Upcoming interviews' });
  await upcoming.locator('.booking-card').nth(1).waitFor();
  assert.equal(await upcoming.locator('.booking-card').count(), 2);
  await avery.getByRole('button', { name: 'Save availability' }).waitFor();
  assert.deepEqual(await axe(avery), [], 'interviews page');
  await shot(avery, 'interviews');

  // Mei cancels one with a reason: it shows as cancelled for her, and leaves Avery's upcoming
  // list live.
  const meiCard = mei.locator('.booking-card', { hasText: 'Interview with Avery Chen' }).first();
  await meiCard.getByText('Reschedule or cancel').click();
  await meiCard.getByLabel(/Reason/).fill('The role is filled');
  await meiCard.getByRole('button', { name: 'Cancel the interview' }).click();
  await mei.getByText('Interview cancelled', { exact: true }).first().waitFor({ timeout: 10000 });
  await upcoming.locator('.booking-card').nth(1).waitFor({ state: 'detached', timeout: 10000 });
  await mei.context().close();
  await avery.context().close();
});
