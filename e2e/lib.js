// Shared helpers of the e2e tests: the browser, sign-in as a demo person, screenshots.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const URL = process.env.PARLEY_URL;
if (!URL) throw new Error('PARLEY_URL is not set: run the tests through e2e/run.sh');

// Screenshots go to target/e2e-screenshots (not tracked), so a test run leaves the work tree as it
// was; `PARLEY_SCREENSHOTS=docs/screenshots bash e2e/run.sh` refreshes the README's pictures.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOTS = process.env.PARLEY_SCREENSHOTS
  ? resolve(ROOT, process.env.PARLEY_SCREENSHOTS)
  : join(ROOT, 'target', 'e2e-screenshots');

/** Headless Debian Chromium (never a downloaded browser). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Calls: a fake camera and microphone, permission prompts accepted, video plays unmuted.
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--auto-select-desktop-capture-source=Entire screen', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** A new browser context signed in as the demo person `name`; resolves with its page. */
export async function signIn(browser, name, viewport = { width: 1200, height: 800 }, options = {}) {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC', ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.errors = errors;
  await page.goto(`${URL}/`);
  await page.getByRole('button', { name, exact: true }).click();
  await page.waitForURL(/#\/(inbox|review)$/);
  await page.getByText(name, { exact: true }).first().waitFor();
  return page;
}

/** Opens the conversation whose inbox entry contains `text`. */
export async function openConversation(page, text) {
  await page.getByRole('link', { name: new RegExp(text) }).first().click();
  await page.waitForURL(/#\/c\//);
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

/** Writes NAME.png into the screenshot folder (see SHOTS). */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** The messages log of the open conversation. */
export function log(page) {
  return page.getByRole('log');
}

/** A short random word (letters only: digits could look like a phone number to the detector). */
export function tag() {
  const a = 'abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < 8; i++) s += a[Math.floor(Math.random() * a.length)];
  return s;
}

/** The API as a demo person, from Node (for setting up data the way another client would). */
export async function apiAs(userId) {
  const r = await fetch(`${URL}/v1/demo/users/${userId}/session`, { method: 'POST' });
  if (r.status !== 201) throw new Error(`demo sign-in as ${userId}: ${r.status}`);
  const { token } = await r.json();
  return async (method, path, body) => {
    const resp = await fetch(`${URL}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    return { status: resp.status, data: text ? JSON.parse(text) : null };
  };
}

/** The id of the conversation between `me` and `other` (ids), through `call` = apiAs(me). */
export async function conversationWith(call, other) {
  const { data } = await call('GET', '/v1/conversations');
  const c = data.conversations.find((x) => x.members.includes(other));
  if (!c) throw new Error(`no conversation with ${other}`);
  return c.id;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Serious and critical accessibility violations on the page, by axe-core (the page's context must
 * have been made with bypassCSP: true, only so that the test can inject axe).
 */
export async function axe(page) {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}
