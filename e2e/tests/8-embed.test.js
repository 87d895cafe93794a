// The embeddable chat: <parley-chat> on a host page (the demo's /app/embed-demo.html) frames
// /embed, gets its token from the page's token provider, shows the conversation, sends, shows a
// blocked message's explanation, and receives live (a message from another device); /embed's framing policy; its size.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { launch, tag, apiAs, URL } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

test('the embedded chat sends, receives live and explains a blocked message', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${URL}/app/embed-demo.html?with=diego`);
  const chat = page.frameLocator('parley-chat iframe');
  await chat.locator('.embed-msg').first().waitFor({ timeout: 15000 });

  const text = `Hello from the embedded chat (${tag()})`;
  await chat.getByRole('textbox', { name: 'Message' }).fill(text);
  await chat.getByRole('button', { name: 'Send' }).click();
  await chat.locator('.embed-msg.mine', { hasText: text }).waitFor();

  // Live: a message sent from another of Avery's devices (through the API) arrives over the
  // chat's WebSocket. (Diego may be restricted by the earlier files' blocked messages.)
  const conversation = await page.locator('parley-chat').getAttribute('conversation');
  const avery = await apiAs('avery');
  const answer = `Sent from my phone, live (${tag()})`;
  const r = await avery('POST', `/v1/conversations/${conversation}/messages`, { body: answer, client_id: tag() });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  await chat.locator('.embed-msg', { hasText: answer }).waitFor({ timeout: 15000 });
  // Blocked last (its strike may restrict Avery after the earlier files' blocked messages).
  await chat.getByRole('textbox', { name: 'Message' }).fill('Easier to talk by phone, call me at 415 555 0134');
  await chat.getByRole('button', { name: 'Send' }).click();
  await chat.getByRole('alert').waitFor();
  assert.match(await chat.getByRole('alert').textContent(), /\S/);
  assert.equal(await chat.locator('.embed-msg', { hasText: '415 555 0134' }).count(), 0);

  assert.deepEqual(errors, []);
  await context.close();
});

test('/embed may be framed only by the configured origins; its assets are small', async () => {
  const res = await fetch(`${URL}/embed?conversation=x`);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /frame-ancestors 'self'/, 'demo mode: this server may frame it');
  assert.equal(res.headers.get('x-frame-options'), null);
  const app = await fetch(`${URL}/`);
  assert.match(app.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  let total = 0;
  for (const f of ['embed.html', 'embed.js', 'parley-chat.js', 'app.css']) {
    total += gzipSync(Buffer.from(await (await fetch(`${URL}/app/${f}`)).arrayBuffer())).length;
  }
  console.log(`embedded chat: ${total} bytes gzipped`);
  assert.ok(total <= 80 * 1024, `${total} bytes`);
});
