// The page's own helpers, run in the browser: byte-offset spans on non-ASCII text (the server's
// offsets are UTF-8 bytes, JavaScript strings are UTF-16), day separators and time zones.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, URL } from '../lib.js';

let browser;
let page;
before(async () => {
  browser = await launch();
  page = await browser.newPage();
  await page.goto(`${URL}/`);
});
after(async () => { if (browser) await browser.close(); });

test('spans in UTF-8 bytes mark the right characters in accented and emoji text', async () => {
  const out = await page.evaluate(async () => {
    const u = await import('/app/util.js');
    const text = 'Olá 👋 José: ligue +55 11 91234-5678 já';
    const bytes = new TextEncoder().encode(text);
    const needle = new TextEncoder().encode('+55 11 91234-5678');
    let start = -1;
    for (let i = 0; i + needle.length <= bytes.length && start < 0; i++) {
      if (needle.every((b, j) => bytes[i + j] === b)) start = i;
    }
    const segs = u.segments(text, [{ start, end: start + needle.length, category: 'phone' }]);
    const overlapping = u.segments('abcdef', [{ start: 1, end: 4 }, { start: 2, end: 5 }, { start: 9, end: 12 }]);
    return { start, segs: segs.map((s) => [s.text, !!s.span]), overlapping: overlapping.map((s) => [s.text, !!s.span]) };
  });
  assert.ok(out.start > 0);
  assert.deepEqual(out.segs, [['Olá 👋 José: ligue ', false], ['+55 11 91234-5678', true], [' já', false]]);
  // Where spans overlap the earlier keeps the shared part; spans past the end are ignored.
  assert.deepEqual(out.overlapping, [['a', false], ['bcd', true], ['e', true], ['f', false]]);
});

test('day separators and clock times follow the reader’s time zone', async () => {
  const out = await page.evaluate(async () => {
    const u = await import('/app/util.js');
    const at = Date.UTC(2026, 0, 15, 23, 30); // 15 Jan 23:30 UTC
    return {
      utc: u.dayKey(at, 'UTC'),
      tokyo: u.dayKey(at, 'Asia/Tokyo'),
      la: u.dayKey(at, 'America/Los_Angeles'),
      tokyoTime: u.timeIn(at, 'Asia/Tokyo'),
      today: u.dayLabel(Date.now(), 'UTC'),
      yesterday: u.dayLabel(Date.now() - 86400000, 'UTC'),
      place: u.place('America/Mexico_City'),
      bad: u.timeIn(at, 'Not/AZone').length > 0,
    };
  });
  assert.equal(out.utc, '2026-01-15');
  assert.equal(out.tokyo, '2026-01-16');
  assert.equal(out.la, '2026-01-15');
  assert.match(out.tokyoTime, /08:30/);
  assert.equal(out.today, 'Today');
  assert.equal(out.yesterday, 'Yesterday');
  assert.equal(out.place, 'Mexico City');
  assert.ok(out.bad, 'an unknown time zone falls back to the browser’s');
});

test('the page runs under its Content Security Policy: an injected inline script does not run', async () => {
  const ran = await page.evaluate(() => {
    window.__inline = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.body.append(s);
    return window.__inline;
  });
  assert.equal(ran, false);
});
