// Held for review: the sender sees it waiting, the recipient does not see it, a moderator approves
// it in the console and the recipient sees it arrive live. The e2e policy (e2e/policy.toml) holds a
// medium-confidence street address in a message; the built-in default would mask it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot, log, tag, URL, apiAs } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

test('a held message waits for review; Morgan Lee approves it and Diego sees it live', async (t) => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');
  await openConversation(diego, 'Avery Chen');
  const word = tag();
  const text = `For the site visit I'm at 221B Baker Street, London (${word})`;
  await avery.getByRole('textbox', { name: 'Message' }).fill(text);
  await avery.locator('.check-warn.act-hold_for_review').waitFor({ timeout: 10000 });
  await avery.getByRole('button', { name: 'Send' }).click();
  const mine = log(avery).locator('li.msg', { hasText: text });
  await mine.getByText('Waiting for a reviewer').waitFor();
  await diego.waitForTimeout(1000);
  assert.equal(await log(diego).getByText(text).count(), 0, 'a held message is not delivered');

  const morgan = await signIn(browser, 'Morgan Lee');
  const probe = await (await apiAs('morgan'))('GET', '/v1/moderation/queue?status=open');
  if (probe.status === 404) {
    console.error('\n!!! SKIPPING the moderator part: this server has no /v1/moderation API (issue 6 not merged) !!!\n');
    t.skip('no /v1/moderation API on this server');
    return;
  }
  await morgan.waitForURL(/#\/review$/);
  const item = morgan.locator('article.item', { hasText: word });
  await item.waitFor({ timeout: 10000 });
  assert.match(await item.locator('h3').textContent(), /Held message from Avery Chen/);
  assert.match(await item.locator('.evidence mark').first().textContent(), /^221B Baker Street/);
  assert.match(await item.textContent(), /Confidence/);
  await morgan.getByRole('img', { name: /Flagged messages per day/ }).waitFor();
  await shot(morgan, 'moderation');
  await item.getByRole('button', { name: 'Approve and deliver' }).click();
  await item.waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
  await morgan.locator('article.item.status-resolved', { hasText: word }).waitFor({ timeout: 10000 });

  // Diego has not reloaded: the approved message arrives over the WebSocket.
  await log(diego).getByText(text).waitFor({ timeout: 10000 });
  await mine.getByText('Waiting for a reviewer').waitFor({ state: 'detached', timeout: 10000 });
  for (const p of [avery, diego, morgan]) await p.context().close();
});

test('the review queue is for moderators only', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  assert.equal(await avery.getByRole('link', { name: 'Review queue' }).count(), 0);
  await avery.goto(`${URL}/#/review`);
  await avery.getByText('Only moderators can open the review queue.').waitFor();
  await avery.context().close();
});
