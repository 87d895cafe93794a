// The composer: a textbox named "Message" and a "Send" button; live warnings while typing
// (debounced POST /v1/check), a blocked send shown as an alert with the words marked (the text
// stays), a declared exception (email for access to a named system) and editing one's messages.

import { api, ApiError } from './api.js';
import { h, replace, marked, categoryLabel, violations, debounce, uid, announce } from './util.js';
import { app } from './state.js';

const labelOf = (f) => `${categoryLabel(f.category)}${f.rule_text ? `: ${f.rule_text}` : ''}`;

function findingLine(f) {
  return h('li', {}, h('q', {}, f.matched), ` looks like a ${categoryLabel(f.category)}. `, f.rule_text ? `${f.rule_text}.` : '');
}

/**
 * opts: {conversationId, otherName, onSent(message, decision, status), onEdited(message, decision)}.
 * Returns {el, startEdit(message), focus()}.
 */
export function createComposer(opts) {
  const cid = opts.conversationId;
  let purpose = null;
  let editing = null;
  let clientId = null;
  let clientIdFor = null;
  let checkSeq = 0;
  let lastTyping = 0;
  let sending = false;

  const input = h('textarea', {
    id: 'composer-input', name: 'body', rows: 2, maxlength: 16000,
    placeholder: 'Write a message', autocomplete: 'off', 'aria-describedby': 'composer-help',
  });
  const send = h('button', { type: 'submit', class: 'primary send' }, 'Send');
  const check = h('div', { class: 'check', role: 'status', 'aria-live': 'polite' });
  const alertBox = h('div', { class: 'alert-slot' });
  const editBar = h('div', { class: 'edit-bar', hidden: true });
  const chip = h('div', { class: 'exception-chip', hidden: true });
  const systemInput = h('input', { id: 'exception-system', name: 'system', type: 'text', maxlength: 60, placeholder: 'e.g. GitHub, Figma, Jira' });
  const excToggle = h('button', {
    type: 'button', class: 'link exception-toggle', 'aria-expanded': 'false', 'aria-controls': 'exception-panel',
    onclick: () => toggleException(),
  }, 'Declare an exception');
  const excPanel = h('fieldset', { id: 'exception-panel', class: 'exception-panel', hidden: true },
    h('legend', {}, 'Declare an exception'),
    h('p', {}, 'Sharing an email address is allowed when it only gives ', opts.otherName || 'the other side',
      ' access to a system needed for the work (for example a code host or a design tool). It is recorded.'),
    h('label', { for: 'exception-system' }, 'System the email gives access to'),
    h('div', { class: 'row' }, systemInput,
      h('button', { type: 'button', onclick: () => applyException() }, 'Apply exception'),
      h('button', { type: 'button', class: 'link', onclick: () => toggleException(false) }, 'Cancel')));

  // Files uploaded and not sent yet (see files.js): the next new message carries them.
  const files = opts.attachments || null;
  const form = h('form', { class: 'composer', 'aria-label': 'Write a message', novalidate: true },
    editBar, alertBox, files ? files.el : null,
    h('label', { for: 'composer-input', class: 'sr-only' }, 'Message'),
    h('div', { class: 'composer-row' }, input, send),
    h('p', { id: 'composer-help', class: 'hint' }, 'Enter sends, Shift+Enter adds a line.'),
    check,
    h('div', { class: 'composer-tools' }, chip, excToggle),
    excPanel);

  function toggleException(open) {
    const show = open === undefined ? excPanel.hidden : open;
    excPanel.hidden = !show;
    excToggle.setAttribute('aria-expanded', String(show));
    if (show) systemInput.focus();
    else excToggle.focus();
  }

  function setPurpose(system) {
    purpose = system ? `scoping_access:${system}` : null;
    chip.hidden = !system;
    replace(chip, system ? [
      h('span', {}, `Exception: email shared only for access to ${system}`),
      h('button', { type: 'button', class: 'link', onclick: () => { setPurpose(null); input.focus(); } }, 'Remove exception'),
    ] : []);
    runCheck();
  }

  function applyException() {
    const system = systemInput.value.trim().replace(/[:\s]+/g, ' ').trim();
    if (!system) {
      systemInput.focus();
      return;
    }
    setPurpose(system);
    toggleException(false);
    announce(`Exception declared: access to ${system}`);
    input.focus();
  }

  const runCheck = debounce(async () => {
    const body = input.value;
    const seq = ++checkSeq;
    if (!body.trim()) {
      replace(check);
      return;
    }
    try {
      const { data } = await api('POST', '/v1/check', { body, conversation_id: cid, purpose: purpose || undefined });
      if (seq !== checkSeq) return;
      showCheck(body, data);
    } catch (e) {
      if (seq === checkSeq) replace(check);
    }
  }, 350);

  function showCheck(body, d) {
    const found = violations(d.findings);
    const allowed = (d.findings || []).filter((f) => f.exception === 'scoping_access');
    if (!found.length && !allowed.length) {
      replace(check);
      return;
    }
    if (!found.length) {
      replace(check, h('div', { class: 'check-ok' }, 'Allowed by your declared exception; it will be recorded.'));
      return;
    }
    const head = d.action === 'block' ? 'This can’t be sent yet'
      : d.action === 'mask' ? `Some words will be hidden from ${opts.otherName || 'the recipient'}`
      : d.action === 'hold_for_review' ? 'This will wait for a reviewer before it is delivered'
      : 'A friendly reminder';
    replace(check, h('div', { class: `check-warn act-${d.action}` },
      h('p', { class: 'check-head' }, h('strong', {}, head), ' — before a contract starts, contact details stay on Parley.'),
      h('p', { class: 'preview' }, marked(body, found, labelOf)),
      h('ul', { class: 'findings' }, found.map(findingLine)),
      found.some((f) => f.category === 'email') && !purpose
        ? h('p', {}, 'Giving access to a system? ', h('button', { type: 'button', class: 'link', onclick: () => toggleException(true) }, 'Declare an exception')) : null));
  }

  function showAlert(body, err) {
    const findings = violations(err.detail.findings || []);
    const lines = String(err.detail.explanation || err.message || '').split('\n').filter(Boolean);
    const more = lines.slice(1).filter((l) => !findings.some((f) => l.includes(`"${f.matched}"`)));
    const box = h('div', { role: 'alert', class: 'blocked' },
      h('p', { class: 'alert-head' }, h('strong', {}, editing ? 'Edit not saved.' : 'Not sent.'), ' ', lines[0] || ''),
      findings.length ? h('p', { class: 'preview' }, marked(body, findings, labelOf)) : null,
      findings.length ? h('ul', { class: 'findings' }, findings.map(findingLine)) : null,
      h('p', { class: 'hint' }, 'Your text is still in the box below: edit it and send again.'),
      more.length ? h('details', {}, h('summary', {}, 'What can I do?'), more.map((l) => h('p', {}, l))) : null,
      h('button', { type: 'button', class: 'link', onclick: () => { replace(alertBox); input.focus(); } }, 'Dismiss'));
    replace(check);
    replace(alertBox, box);
  }

  function showError(text) {
    replace(alertBox, h('div', { role: 'alert', class: 'blocked' }, h('p', {}, text),
      h('button', { type: 'button', class: 'link', onclick: () => replace(alertBox) }, 'Dismiss')));
  }

  function stopEdit() {
    editing = null;
    editBar.hidden = true;
    replace(editBar);
    send.textContent = 'Send';
  }

  async function submit() {
    const body = input.value;
    const attachments = !editing && files ? files.ids() : [];
    if ((!body.trim() && !attachments.length) || sending) return;
    sending = true;
    send.setAttribute('aria-busy', 'true');
    try {
      if (editing) {
        const m = editing;
        const { data } = await api('PATCH', `/v1/conversations/${encodeURIComponent(cid)}/messages/${m.id}`, { body });
        stopEdit();
        input.value = '';
        replace(alertBox);
        replace(check);
        opts.onEdited(data.message, data.decision);
        announce('Message edited');
      } else {
        // The same text retried (after a network error) keeps its client_id: one message at most.
        const key = `${body}\u0000${attachments.join(',')}`;
        if (clientIdFor !== key || !clientId) {
          clientId = uid();
          clientIdFor = key;
        }
        const { status, data } = await api('POST', `/v1/conversations/${encodeURIComponent(cid)}/messages`,
          {
            body: body.trim() ? body : undefined,
            client_id: clientId,
            purpose: purpose || undefined,
            attachments: attachments.length ? attachments : undefined,
          });
        if (files && attachments.length) files.sent(attachments);
        clientId = null;
        clientIdFor = null;
        input.value = '';
        replace(alertBox);
        replace(check);
        if (purpose) setPurpose(null);
        opts.onSent(data.message, data.decision, status);
        announce(status === 202 ? 'Message waiting for review' : 'Message sent');
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === 'policy_violation') showAlert(body, e);
      else if (e instanceof ApiError && e.code === 'network') showError('Not sent: the connection dropped. Your text is still here; press Send to try again.');
      else showError(`Not sent: ${e.message}`);
    } finally {
      sending = false;
      send.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    } else if (ev.key === 'Escape' && editing) {
      stopEdit();
      input.value = '';
      replace(check);
    }
  });
  input.addEventListener('input', () => {
    runCheck();
    const now = Date.now();
    if (input.value && now - lastTyping > 2500 && app.live) {
      lastTyping = now;
      app.live.send({ type: 'typing', conversation_id: cid });
    }
  });

  return {
    el: form,
    focus: () => input.focus(),
    startEdit(m) {
      editing = m;
      editBar.hidden = false;
      replace(editBar, h('span', {}, 'Editing your message'),
        h('button', { type: 'button', class: 'link', onclick: () => { stopEdit(); input.value = ''; replace(check); input.focus(); } }, 'Cancel edit'));
      send.textContent = 'Save';
      input.value = m.body || '';
      input.focus();
      runCheck();
    },
    destroy() { runCheck.cancel(); },
  };
}
