// Files: attach a file with the tus client, the recipient sees it live once checked, and a
// file with an email address is held while its sender sees why.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot, tag, axe } from '../lib.js';

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
  assert.deepEqual(await axe(avery), []);
  await avery.context().close();
  await diego.context().close();
});
