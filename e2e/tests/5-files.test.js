// Files: attach a file with the tus client, the recipient sees it live once checked, and a
// file with an email address is held while its sender sees why; both then go with the next
// message, under which the sender sees each file's state and the recipient only the clean one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot, tag, axe, log, URL } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

function filesPanel(page) {
  return page.getByRole('region', { name: 'Files' });
}

test('a file is uploaded, checked and delivered live; one with an email is held with the reason', async () => {
  const avery = await signIn(browser, 'Avery Chen', undefined, { bypassCSP: true });
  const diego = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');
  await openConversation(diego, 'Avery Chen');

  const clean = `brief-${tag().replace(/\W/g, '')}.txt`;
  await avery.locator('#attach-input').setInputFiles({
    name: clean,
    mimeType: 'text/plain',
    buffer: Buffer.from('Kitchen brief: island 90 cm deep, budget 12,000 USD, start 1 April.\n'.repeat(2000)),
  });
  const own = filesPanel(avery).locator('.file-card', { hasText: clean });
  await own.getByText('Shared').waitFor({ timeout: 30000 });
  const theirs = filesPanel(diego).locator('.file-card', { hasText: clean });
  await theirs.getByText('Shared').waitFor({ timeout: 30000 });
  assert.equal(await theirs.getByRole('link', { name: `Download ${clean}` }).count(), 1);
  await shot(diego, 'file-received');

  const held = `contact-${tag().replace(/\W/g, '')}.txt`;
  await avery.locator('#attach-input').setInputFiles({
    name: held,
    mimeType: 'text/plain',
    buffer: Buffer.from('Project notes. Contact: avery.chen.northwind@gmail.com\n'),
  });
  const card = filesPanel(avery).locator('.file-card', { hasText: held });
  await card.getByText('Held for review').waitFor({ timeout: 30000 });
  const why = await card.locator('.file-why').textContent();
  assert.match(why, /avery\.chen\.northwind@gmail\.com/);
  assert.match(why, /email/i);
  await shot(avery, 'file-held');
  // The recipient never sees the held file.
  await diego.waitForTimeout(1000);
  assert.equal(await filesPanel(diego).locator('.file-card', { hasText: held }).count(), 0);

  // Both uploads wait above the composer and go with the next message.
  const ready = avery.getByRole('group', { name: 'Files that send with your next message' });
  await ready.getByText(clean).waitFor();
  await ready.getByText(held).waitFor();
  const text = `Here are the brief and my notes (ref ${tag()})`;
  await avery.getByRole('textbox', { name: 'Message' }).fill(text);
  await avery.getByRole('button', { name: 'Send' }).click();
  const mine = log(avery).locator('li.msg', { hasText: text });
  await mine.locator('.msg-file', { hasText: clean }).getByText('Shared').waitFor({ timeout: 10000 });
  await mine.locator('.msg-file', { hasText: held }).getByText('Held for review').waitFor();
  await ready.waitFor({ state: 'hidden' });
  assert.deepEqual(await axe(avery), []);
  await shot(avery, 'message-attachments');
  // Diego gets the message live with the clean file only, and its link downloads it.
  const theirsMsg = log(diego).locator('li.msg', { hasText: text });
  const link = theirsMsg.getByRole('link', { name: `Download ${clean}` });
  await link.waitFor({ timeout: 10000 });
  assert.equal(await theirsMsg.locator('.msg-file').count(), 1);
  assert.equal(await theirsMsg.locator('.msg-file', { hasText: held }).count(), 0);
  const res = await fetch(new globalThis.URL(await link.getAttribute('href'), URL).href);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /^Kitchen brief: island 90 cm deep/);
  assert.deepEqual(await axe(avery), []);
  await avery.context().close();
  await diego.context().close();
});
