// The operator dashboard: Morgan Lee (the demo moderator) opens it from the navigation and sees
// charts whose numbers are the API's (GET /v1/admin/dashboard), a webhook endpoint with its
// latest attempts, and replays one delivery. This file starts its own `parley demo` (with an
// operator key, and private webhook targets allowed for the loopback receiver below), so the
// shared demo of the other files is left as it was.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, shot, axe } from '../lib.js';

const BIN = process.env.PARLEY_BIN;
const KEY = 'e2e-dashboard-operator-key-0123456789abcdef';
let browser;
let server;
let dir;
let receiver;
let base;
const got = [];

async function startDemo() {
  dir = mkdtempSync(join(tmpdir(), 'parley-dash-'));
  server = spawn(BIN, ['demo', '--listen', '127.0.0.1:0', '--database', `sqlite://${join(dir, 'demo.db')}`, '--policy', 'policy.toml'], {
    env: { ...process.env, PARLEY_ADMIN_KEY: KEY, PARLEY_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  server.stderr.on('data', () => {});
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`parley demo did not start: ${out}`)), 30000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (m) { clearTimeout(t); resolve(m[0]); }
    });
    server.on('exit', (code) => reject(new Error(`parley demo exited (${code}): ${out}`)));
  });
}

/** A loopback receiver: the first attempt of the test event answers 500, everything else 204. */
function startReceiver() {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const type = JSON.parse(body).type;
      const id = req.headers['webhook-id'];
      const first = !got.some((g) => g.id === id);
      got.push({ id, type });
      res.writeHead(type === 'webhook.test' && first ? 500 : 204).end();
    });
  });
  return new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${receiver.address().port}`)));
}

async function admin(method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, data: text ? JSON.parse(text) : null };
}

before(async () => {
  browser = await launch();
  base = await startDemo();
  const hook = await startReceiver();
  const { status, data } = await admin('POST', '/v1/webhooks', { url: `${hook}/parley`, description: 'Marketplace CRM' });
  assert.equal(status, 201, JSON.stringify(data));
  assert.equal((await admin('POST', `/v1/webhooks/${data.id}/test`)).status, 202);
  // Some activity after the endpoint exists: a message and a blocked one, as Diego.
  const r = await fetch(`${base}/v1/demo/users/diego/session`, { method: 'POST' });
  const { token } = await r.json();
  const call = (method, path, b) => fetch(`${base}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(b),
  });
  const convs = await (await fetch(`${base}/v1/conversations`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const c = convs.conversations[0].id;
  assert.equal((await call('POST', `/v1/conversations/${c}/messages`, { body: 'Sending the draft tonight', client_id: 'dash-1' })).status, 201);
  const blocked = await call('POST', `/v1/conversations/${c}/messages`, { body: 'Text me on +1 415 555 0134 instead', client_id: 'dash-2' });
  assert.ok([202, 422, 201].includes(blocked.status), `status ${blocked.status}`);
  // Morgan Lee decides the demo's open report (a warning) and its appeal (overturned): the queue
  // empties, with times to decision and an overturn rate.
  const m = await (await fetch(`${base}/v1/demo/users/morgan/session`, { method: 'POST' })).json();
  const asMorgan = async (method, path, b) => {
    const resp = await fetch(`${base}${path}`, {
      method, headers: { Authorization: `Bearer ${m.token}`, 'Content-Type': 'application/json' }, body: b && JSON.stringify(b),
    });
    return { status: resp.status, data: await resp.json() };
  };
  const items = (await asMorgan('GET', '/v1/moderation/queue?status=open')).data.items;
  for (const [kind, action] of [['report', 'warn'], ['appeal', 'approve']]) {
    const it = items.find((x) => x.kind === kind);
    assert.ok(it, `the demo has an open ${kind}`);
    const r2 = await asMorgan('POST', `/v1/moderation/items/${it.id}/decision`, { action, note: 'checked in the e2e test' });
    assert.equal(r2.status, 200, JSON.stringify(r2.data));
  }
  // Avery's message to Diego with a street address is held (the e2e policy) and waits in the queue.
  const a = await (await fetch(`${base}/v1/demo/users/avery/session`, { method: 'POST' })).json();
  const averyConvs = await (await fetch(`${base}/v1/conversations`, { headers: { Authorization: `Bearer ${a.token}` } })).json();
  const withDiego = averyConvs.conversations.find((x) => x.members.includes('diego')).id;
  const held = await fetch(`${base}/v1/conversations/${withDiego}/messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ body: "For the site visit I'm at 221B Baker Street, London", client_id: 'dash-3' }),
  });
  assert.equal(held.status, 202, 'held for review');
  // Wait until every delivery is done: the test event fails once, then succeeds 5 s later.
  for (let i = 0; i < 200; i++) {
    const d = (await admin('GET', '/v1/admin/dashboard?days=14')).data;
    if (d.webhooks.pending === 0 && d.webhooks.recent_attempts.some((a) => a.status_code === 500) && d.webhooks.succeeded > 1) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error('webhook deliveries did not finish');
});

after(async () => {
  if (browser) await browser.close();
  if (receiver) receiver.close();
  if (server) server.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(name, viewport) {
  // bypassCSP only so that the test can inject axe-core for the accessibility check.
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC', bypassCSP: true });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${base}/`);
  await page.getByRole('button', { name, exact: true }).click();
  await page.waitForURL(/#\/(inbox|review)$/);
  return page;
}

/** The rows of a chart's number table: [[day or label, ...numbers as text]]. */
async function tableOf(page, id) {
  return page.locator(`#${id} table tbody tr`).evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())));
}

test('Morgan Lee opens the dashboard: its charts show the API’s numbers', async () => {
  const page = await signIn('Morgan Lee', { width: 1280, height: 900 });
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.waitForURL(/#\/dashboard$/);
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.locator('#chart-messages svg').waitFor();
  const api = (await admin('GET', '/v1/admin/dashboard?days=14')).data;
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);

  // Every chart is an image with a text description, and has its numbers in a table.
  for (const id of ['chart-messages', 'chart-decisions', 'chart-findings', 'chart-queue', 'chart-queue-age',
    'chart-time-to-decision', 'chart-appeals', 'chart-webhooks']) {
    const label = await page.locator(`#${id} svg`).getAttribute('aria-label');
    assert.ok(label && label.length > 20, `${id}: ${label}`);
    assert.equal(await page.locator(`#${id} table`).count(), 1, id);
  }
  const messages = await tableOf(page, 'chart-messages');
  assert.deepEqual(messages, api.daily.map((d) => [d.date, String(d.messages)]));
  assert.ok(sum(api.daily.map((d) => d.messages)) > 0, 'the demo has messages');
  assert.equal(await page.locator('[data-kpi="messages"] .kpi-value').textContent(), String(sum(api.daily.map((d) => d.messages))));
  const decisions = await tableOf(page, 'chart-decisions');
  assert.deepEqual(decisions.map((r) => r[r.length - 1]), api.daily.map((d) => String(sum(d.decisions.map((a) => a.count)))));
  const findings = await tableOf(page, 'chart-findings');
  assert.deepEqual(findings.map((r) => r[1]), api.findings.map((f) => String(f.count)));
  assert.ok(api.findings.length > 0, 'the demo has findings');
  const queue = await tableOf(page, 'chart-queue');
  assert.deepEqual(queue.map((r) => r[1]), api.daily.map((d) => String(d.queue_open)));
  assert.equal(await page.locator('[data-kpi="queue"] .kpi-value').textContent(), String(api.queue.open));
  const ages = await tableOf(page, 'chart-queue-age');
  assert.deepEqual(ages.map((r) => r[1]), api.queue.age.map((b) => String(b.count)));
  assert.equal(api.queue.time_to_decision.decided, 2, 'the report and the appeal');
  assert.equal(api.appeals.overturned, 1);
  assert.equal(await page.locator('[data-kpi="overturn"] .kpi-value').textContent(), `${Math.round(api.appeals.overturn_rate * 1000) / 10}%`);
  const ttd = await tableOf(page, 'chart-time-to-decision');
  assert.deepEqual(ttd.map((r) => r[1]), api.queue.time_to_decision.buckets.map((b) => String(b.count)));
  const appeals = await tableOf(page, 'chart-appeals');
  assert.deepEqual(appeals.map((r) => r.slice(1)), api.daily.map((d) => [String(d.appeals_overturned), String(d.appeals_upheld), String(d.appeals_overturned + d.appeals_upheld)]));
  const hooks = await tableOf(page, 'chart-webhooks');
  assert.deepEqual(hooks.map((r) => r[1]), api.daily.map((d) => String(d.webhook_attempts_succeeded)));
  assert.ok(sum(api.daily.map((d) => d.webhook_attempts - d.webhook_attempts_succeeded)) >= 1, 'a failed attempt');

  // The endpoint with its deliveries, and the latest attempts.
  const ep = api.webhooks.endpoints[0];
  const row = page.locator(`#endpoints tr[data-id="${ep.id}"]`);
  assert.match(await row.textContent(), /Marketplace CRM/);
  assert.deepEqual((await row.locator('td.num').allTextContents()),
    [String(ep.succeeded), String(ep.failed), String(ep.pending), '100%']);
  assert.equal(await page.locator('#attempts tbody tr').count(), api.webhooks.recent_attempts.length);

  // Accessible, with a chart's table open too.
  await page.locator('#chart-decisions summary').click();
  assert.deepEqual(await axe(page), [], 'dashboard');
  await page.locator('#chart-decisions summary').click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'dashboard');

  // Replay the newest attempt's delivery: the receiver gets the same webhook-id again.
  const newest = api.webhooks.recent_attempts[0];
  const before = got.filter((g) => g.id === newest.event_id).length;
  await page.locator(`#attempts tr[data-delivery="${newest.delivery_id}"]`).getByRole('button', { name: /^Replay/ }).click();
  await page.locator('.replay-status').getByText(`Delivery ${newest.delivery_id} (${newest.event_type}) queued again`).waitFor();
  for (let i = 0; i < 100 && got.filter((g) => g.id === newest.event_id).length === before; i++) {
    await page.waitForTimeout(100);
  }
  assert.equal(got.filter((g) => g.id === newest.event_id).length, before + 1, 'replayed once');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the dashboard fits a phone screen and is for moderators only', async () => {
  const page = await signIn('Morgan Lee', { width: 390, height: 844 });
  await page.goto(`${base}/#/dashboard`);
  await page.locator('#chart-webhooks svg').waitFor();
  const widths = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    main: document.getElementById('main').scrollWidth,
    vw: window.innerWidth,
    wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
      .slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
  }));
  assert.ok(widths.doc <= widths.vw && widths.main <= widths.vw, JSON.stringify(widths));
  const box = await page.locator('#chart-messages svg').boundingBox();
  assert.ok(box.width > 250 && box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  assert.deepEqual(await axe(page), [], 'dashboard on a phone');
  await page.context().close();

  const avery = await signIn('Avery Chen', { width: 1200, height: 800 });
  assert.equal(await avery.getByRole('link', { name: 'Dashboard' }).count(), 0);
  await avery.goto(`${base}/#/dashboard`);
  await avery.getByText('Only moderators and the operator can open the dashboard.').waitFor();
  const r = await fetch(`${base}/v1/admin/dashboard?days=0`, { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(r.status, 400);
  await avery.context().close();
});
