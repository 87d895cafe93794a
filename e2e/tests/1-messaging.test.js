// Two people in two browser contexts: live delivery, the live warning and the blocked alert,
// contact details shared once a contract is active, and the main screens as screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, signIn, openConversation, shot, log, tag } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

// The browser logs every non-2xx fetch (a blocked message is a 422 by design): other errors fail.
function realErrors(page) {
  return page.errors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e));
}

test('home page lists the demo people with role and organisation', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(process.env.PARLEY_URL + '/');
  for (const name of ['Avery Chen', 'Priya Natarajan', 'Diego Ramos', 'Mei Tanaka', 'Morgan Lee']) {
    await page.getByRole('button', { name, exact: true }).waitFor();
  }
  const avery = await page.locator('#who-avery').textContent();
  assert.match(avery, /Client at Northwind Labs/);
  assert.match(await page.locator('#who-morgan').textContent(), /Moderator/);
  await shot(page, 'home');
  await context.close();
});

test('Avery sends a message and Diego sees it live; a phone number is stopped before Diego sees it', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  await avery.getByRole('link', { name: /Mei Tanaka/ }).waitFor();
  await shot(avery, 'inbox');
  await openConversation(avery, 'Diego Ramos');
  await openConversation(diego, 'Avery Chen');
  // The pre-contract banner states the rule and points to files and scheduling on the platform.
  const banner = avery.getByRole('complementary', { name: 'How contact details work here' });
  await banner.waitFor();
  assert.match(await banner.textContent(), /calls.*file sharing/s);

  const normal = `Could you start on the hero section next week? (ref ${tag()})`;
  const box = avery.getByRole('textbox', { name: 'Message' });
  await box.fill(normal);
  await avery.getByRole('button', { name: 'Send' }).click();
  await log(avery).getByText(normal).waitFor();
  assert.equal(await box.inputValue(), '', 'a sent message leaves the composer');
  // Diego did not reload: the message arrives over the WebSocket.
  await log(diego).getByText(normal).waitFor({ timeout: 10000 });
  await shot(diego, 'conversation');

  // Typing shows up on the other side.
  await diego.getByRole('textbox', { name: 'Message' }).pressSequentially('Sure', { delay: 30 });
  await avery.getByText('Diego Ramos is typing…').waitFor({ timeout: 10000 });
  await diego.getByRole('textbox', { name: 'Message' }).fill('');

  // The phone number: a live warning while typing, with the number marked.
  const phone = 'Easier to talk by phone, call me at 415 555 0134';
  await box.fill(phone);
  const warning = avery.locator('.check-warn');
  await warning.waitFor({ timeout: 10000 });
  assert.match(await warning.locator('mark').first().textContent(), /^415 555 0134 \(phone number/);
  assert.match(await warning.textContent(), /phone number/);
  await shot(avery, 'live-warning');

  await avery.getByRole('button', { name: 'Send' }).click();
  const alert = avery.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Not sent/);
  assert.match(await alert.textContent(), /phone number/);
  assert.match(await alert.locator('mark').first().textContent(), /^415 555 0134 \(phone number/);
  assert.equal(await box.inputValue(), phone, 'the blocked text stays in the composer');
  await shot(avery, 'blocked-alert');

  // Diego never receives it: after a message sent later arrives, the number is still absent,
  // and it is absent after a reload too.
  const later = `Let's use the call button here instead (ref ${tag()})`;
  await box.fill(later);
  await avery.getByRole('button', { name: 'Send' }).click();
  await log(diego).getByText(later).waitFor({ timeout: 10000 });
  assert.equal(await log(diego).getByText('415 555 0134').count(), 0);
  await diego.reload();
  await log(diego).getByText(later).waitFor();
  assert.equal(await log(diego).getByText('415 555 0134').count(), 0);

  // Read state: Diego has the conversation open, so Avery sees "Seen" on her last message.
  await log(avery).getByText('Seen').waitFor({ timeout: 10000 });

  assert.deepEqual(realErrors(avery), []);
  assert.deepEqual(realErrors(diego), []);
  await avery.context().close();
  await diego.context().close();
});

test('Avery and Mei share a phone number because their contract is active', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const mei = await signIn(browser, 'Mei Tanaka');
  await openConversation(avery, 'Mei Tanaka');
  await openConversation(mei, 'Avery Chen');
  assert.equal(await avery.getByRole('complementary', { name: 'How contact details work here' }).count(), 0,
    'no pre-contract banner under an active contract');
  const text = `My direct line for the launch: +1 415 555 0172 (ref ${tag()})`;
  const box = avery.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await avery.waitForTimeout(600); // the live check has run
  assert.equal(await avery.locator('.check-warn').count(), 0, 'no warning under an active contract');
  await avery.getByRole('button', { name: 'Send' }).click();
  await log(mei).getByText(text).waitFor({ timeout: 10000 });
  assert.equal(await avery.getByRole('alert').count(), 0);
  assert.deepEqual(realErrors(avery), []);
  await avery.context().close();
  await mei.context().close();
});

test('edit and delete of one’s own message reach the other side live', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  const diego = await signIn(browser, 'Diego Ramos');
  await openConversation(avery, 'Diego Ramos');
  await openConversation(diego, 'Avery Chen');
  const text = `Draft budget is 4,000 USD (ref ${tag()})`;
  const box = avery.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await avery.getByRole('button', { name: 'Send' }).click();
  await log(diego).getByText(text).waitFor({ timeout: 10000 });

  await log(avery).getByRole('button', { name: `Edit message: ${text.slice(0, 40)}` }).click();
  const edited = text.replace('4,000', '4,500');
  await box.fill(edited);
  await avery.getByRole('button', { name: 'Save' }).click();
  await log(diego).getByText(edited).waitFor({ timeout: 10000 });
  await log(diego).getByText('edited').first().waitFor();

  avery.once('dialog', (d) => d.accept());
  await log(avery).getByRole('button', { name: `Delete message: ${edited.slice(0, 40)}` }).click();
  await log(diego).getByText(edited).waitFor({ state: 'detached', timeout: 10000 });
  assert.ok(await log(diego).getByText('Message deleted').count() >= 1);
  await avery.context().close();
  await diego.context().close();
});

test('declaring an exception lets an email through for access to a named system', async () => {
  const avery = await signIn(browser, 'Avery Chen');
  await openConversation(avery, 'Diego Ramos');
  const text = `I added diego.ramos.design@gmail.com to our repo (ref ${tag()})`;
  const box = avery.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await avery.locator('.check-warn').waitFor({ timeout: 10000 });
  await avery.getByRole('button', { name: 'Declare an exception' }).first().click();
  await avery.getByLabel('System the email gives access to').fill('GitHub');
  await avery.getByRole('button', { name: 'Apply exception' }).click();
  await avery.getByText('Exception: email shared only for access to GitHub').waitFor();
  await avery.getByRole('button', { name: 'Send' }).click();
  await log(avery).getByText(text).waitFor({ timeout: 10000 });
  await log(avery).getByText('Exception declared: shared for access to GitHub').waitFor();
  assert.equal(await avery.getByRole('alert').count(), 0);
  await avery.context().close();
});

test('phone-sized screen: inbox and conversation one at a time, keyboard sends', async () => {
  const mei = await signIn(browser, 'Mei Tanaka', { width: 390, height: 780 });
  await mei.getByRole('link', { name: /Avery Chen/ }).waitFor();
  await shot(mei, 'phone-inbox');
  await openConversation(mei, 'Avery Chen');
  const box = mei.getByRole('textbox', { name: 'Message' });
  assert.ok(await box.isVisible());
  assert.equal(await mei.getByRole('heading', { name: 'Inbox' }).isVisible(), false, 'one pane at a time');
  const text = `Sent with the Enter key (ref ${tag()})`;
  await box.fill(text);
  await box.press('Enter');
  await log(mei).getByText(text).waitFor();
  await shot(mei, 'phone-conversation');
  await mei.getByRole('link', { name: 'Inbox' }).first().click();
  await mei.getByRole('heading', { name: 'Inbox' }).waitFor();
  await mei.context().close();
});
