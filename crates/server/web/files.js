// Files in a conversation: attach (button, drag and drop, or paste) with the vendored
// tus-js-client (window.tus, /app/vendor/tus.min.js); per upload a progress bar with speed and
// time left, pause, resume and cancel (cancel terminates the upload on the server: tus DELETE);
// an interrupted upload (a network drop, a reload) resumes from the server's offset when the
// same file is chosen again (the client's stored fingerprint, per user and conversation). The
// Files panel lists every file the reader may see, newest first, with its state and, for the
// sender, why a file is held or blocked. A file uploaded here and not yet sent is offered
// above the composer ("Sends with your next message"): the next message carries it
// (`attachments`), and it shows under that message in the thread.

import { api, session } from './api.js';
import { h, replace, announce } from './util.js';

export const STATE_LABEL = {
  scanning: 'Checking…',
  clean: 'Shared',
  held: 'Held for review',
  blocked: 'Not shared',
  infected: 'Not shared: malware',
  scan_failed: 'Could not be checked: waiting for a reviewer',
};

const REASON_LABEL = {
  contact_details: 'it contains contact details',
  malware: 'the malware scanner found something in it',
  malware_scan_unavailable: 'it could not be checked for malware yet',
  type_mismatch: 'its content does not match its name or type',
  refused: 'this type of file is not accepted',
  malformed: 'it could not be read',
};

export function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

function duration(secs) {
  if (!Number.isFinite(secs)) return '';
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A short word for the kind of file (the card's badge). */
export function kind(type, name) {
  const ext = (name.match(/\.([a-z0-9]{1,8})$/i) || [])[1] || '';
  if (type.startsWith('image/')) return 'Image';
  if (type === 'application/pdf' || ext.toLowerCase() === 'pdf') return 'PDF';
  if (type.startsWith('text/')) return 'Text';
  if (/zip|compressed|tar/.test(type)) return 'Archive';
  if (/word|document|sheet|excel|presentation|powerpoint|rtf/.test(type)) return 'Document';
  return ext ? ext.toUpperCase() : 'File';
}

/** The Files panel and attach controls of conversation `conversationId`. */
export function createFiles({ conversationId, me }) {
  const input = h('input', { type: 'file', multiple: true, class: 'sr-only', id: 'attach-input', tabindex: '-1', 'aria-hidden': 'true' });
  const legal = h('input', { type: 'checkbox', id: 'attach-legal' });
  const uploads = h('ul', { class: 'uploads', 'aria-label': 'Uploads in progress' });
  const interrupted = h('ul', { class: 'uploads interrupted', 'aria-label': 'Interrupted uploads' });
  const list = h('ul', { class: 'file-list', 'aria-label': 'Files shared, newest first' });
  const attach = h('button', { type: 'button', class: 'attach', onclick: () => input.click() }, 'Attach files');
  const panel = h('section', { class: 'files-panel', 'aria-labelledby': 'files-title' },
    h('h3', { id: 'files-title' }, 'Files'),
    h('div', { class: 'attach-row' }, attach,
      h('label', { for: 'attach-legal', class: 'legal' }, legal, ' This is a legal document (NDA)'),
      h('span', { class: 'hint' }, 'or drop or paste files here')),
    interrupted, uploads, list);
  // Uploads finished here and not sent yet: id -> name, in order.
  const ready = new Map();
  const readyBox = h('div', { class: 'ready-files', role: 'group', 'aria-label': 'Files that send with your next message', hidden: true });
  function renderReady() {
    readyBox.hidden = ready.size === 0;
    replace(readyBox, ...(ready.size ? [h('span', { class: 'hint' }, 'Sends with your next message:'),
      ...[...ready].map(([fid, name]) => h('span', { class: 'ready-file', 'data-ready': fid }, name,
        h('button', {
          type: 'button', class: 'link', 'aria-label': `Remove ${name} from the next message`,
          onclick: () => { ready.delete(fid); renderReady(); announce(`${name} removed from the next message`); },
        }, '×')))] : []));
  }

  const auth = () => ({ Authorization: `Bearer ${session.token}` });
  // One fingerprint per user, conversation and file: a stored upload is only offered to the
  // same user in the same conversation for the same file (name, type, size, modification time).
  const fingerprint = (file) => Promise.resolve(['parley', me.id, conversationId, file.name, file.type, file.size, file.lastModified].join('/'));

  function startUpload(file) {
    if (!window.tus) {
      announce('File sharing is not available: the upload client did not load.');
      return;
    }
    const bar = h('progress', { max: '100', value: '0', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', 'aria-label': `Uploading ${file.name}` });
    const status = h('span', { class: 'upload-status' }, 'Starting…');
    const pause = h('button', { type: 'button', class: 'link', 'aria-label': `Pause ${file.name}` }, 'Pause');
    const cancel = h('button', { type: 'button', class: 'link', 'aria-label': `Cancel ${file.name}` }, 'Cancel');
    const item = h('li', { class: 'upload', 'data-upload': file.name },
      h('span', { class: 'file-kind' }, kind(file.type || '', file.name)),
      h('span', { class: 'file-name' }, file.name), h('span', { class: 'file-meta' }, size(file.size)),
      bar, status, pause, cancel);
    uploads.append(item);
    const metadata = { filename: file.name, filetype: file.type || 'application/octet-stream', conversation_id: conversationId };
    if (legal.checked) metadata.purpose = 'legal_document';
    // Speed over the last few seconds (not since the start: a pause or a drop would skew it).
    let samples = [];
    let spoken = -1;
    let state = 'running'; // running | paused | failed | cancelled | done
    const upload = new window.tus.Upload(file, {
      endpoint: '/v1/uploads',
      headers: auth(),
      metadata,
      fingerprint,
      chunkSize: 5 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      onUploadUrlAvailable() {
        item.dataset.url = upload.url ? new URL(upload.url, window.location.href).href : '';
      },
      onProgress(sent, total) {
        const now = Date.now();
        samples.push([now, sent]);
        samples = samples.filter(([t]) => now - t <= 5000);
        const [t0, s0] = samples[0];
        const speed = now > t0 ? ((sent - s0) * 1000) / (now - t0) : 0;
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        bar.value = pct;
        bar.setAttribute('aria-valuenow', String(pct));
        bar.setAttribute('aria-valuetext', `${pct}% of ${size(total)}`);
        item.dataset.sent = String(sent);
        status.textContent = `${pct}% · ${size(sent)} of ${size(total)}${speed > 0 ? ` · ${size(speed)}/s · ${duration((total - sent) / speed)} left` : ''}`;
        // Screen readers hear every quarter, not every chunk.
        const quarter = Math.floor(pct / 25);
        if (quarter > spoken && pct < 100) {
          spoken = quarter;
          if (pct > 0) announce(`${file.name}: ${pct}% uploaded`);
        }
      },
      onSuccess() {
        state = 'done';
        item.remove();
        const fid = (upload.url || '').split('/').pop();
        if (fid) {
          ready.set(fid, file.name);
          renderReady();
        }
        announce(`${file.name} uploaded; checking it. It sends with your next message.`);
        refresh();
      },
      onError(err) {
        if (state === 'cancelled') return;
        state = 'failed';
        const res = err && err.originalResponse;
        const body = res ? res.getBody() : '';
        let msg = res ? 'the upload failed' : 'the connection dropped';
        try { msg = JSON.parse(body).error.message; } catch { /* not JSON */ }
        status.textContent = res ? `Not uploaded: ${msg}` : `Interrupted: ${msg}. It resumes when you are back online, or press Retry.`;
        if (res && res.getStatus() < 500) {
          pause.remove();
        } else {
          pause.textContent = 'Retry';
          pause.setAttribute('aria-label', `Retry ${file.name}`);
        }
        announce(`${file.name} was not uploaded: ${msg}`);
      },
    });
    pause.addEventListener('click', () => {
      if (state === 'running') {
        state = 'paused';
        upload.abort();
        pause.textContent = 'Resume';
        pause.setAttribute('aria-label', `Resume ${file.name}`);
        status.textContent = `Paused at ${bar.value}%`;
        announce(`${file.name} paused`);
      } else {
        state = 'running';
        samples = [];
        upload.start();
        pause.textContent = 'Pause';
        pause.setAttribute('aria-label', `Pause ${file.name}`);
        status.textContent = `Resuming at ${bar.value}%`;
      }
    });
    cancel.addEventListener('click', async () => {
      state = 'cancelled';
      status.textContent = 'Cancelling…';
      pause.disabled = true;
      cancel.disabled = true;
      try {
        // abort(true): stop sending, DELETE the upload on the server, forget the fingerprint.
        await upload.abort(true);
        item.remove();
        announce(`${file.name}: upload cancelled`);
      } catch (e) {
        status.textContent = `Could not cancel: ${e.message || e}`;
        cancel.disabled = false;
      }
      attach.focus();
    });
    // The network came back after a drop: carry on from the server's offset.
    window.addEventListener('online', () => {
      if (state === 'failed' && pause.isConnected) {
        state = 'running';
        upload.start();
      }
    });
    // Resume an upload of the same file interrupted earlier (a reload, a network drop).
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        status.textContent = 'Resuming…';
        for (const li of interrupted.querySelectorAll('li')) {
          if (li.dataset.url === previous[0].uploadUrl) li.remove();
        }
      }
      if (state === 'running') upload.start();
    });
  }

  /** Uploads of this conversation interrupted by a reload: offered to resume or discard. */
  async function listInterrupted() {
    if (!window.tus || !window.tus.defaultOptions || !window.tus.defaultOptions.urlStorage) return;
    let stored = [];
    try { stored = await window.tus.defaultOptions.urlStorage.findAllUploads(); } catch { return; }
    const prefix = `parley/${me.id}/${conversationId}/`;
    const mine = stored.filter((s) => s.urlStorageKey && s.urlStorageKey.includes(prefix) && s.uploadUrl);
    const items = [];
    for (const s of mine) {
      const name = (s.metadata && s.metadata.filename) || 'a file';
      let offset = null;
      try {
        const r = await fetch(s.uploadUrl, { method: 'HEAD', headers: { ...auth(), 'Tus-Resumable': '1.0.0' } });
        if (!r.ok) {
          // Expired or gone on the server: nothing to resume.
          await window.tus.defaultOptions.urlStorage.removeUpload(s.urlStorageKey);
          continue;
        }
        offset = Number(r.headers.get('Upload-Offset'));
      } catch { /* offline: still offer it */ }
      const pct = offset !== null && s.size ? Math.floor((offset / s.size) * 100) : null;
      const discard = h('button', { type: 'button', class: 'link', 'aria-label': `Discard ${name}` }, 'Discard');
      const li = h('li', { class: 'upload', 'data-url': s.uploadUrl },
        h('span', { class: 'file-name' }, name),
        h('span', { class: 'upload-status' }, `Interrupted${pct !== null ? ` at ${pct}%` : ''}: attach the same file again to resume.`),
        discard);
      discard.addEventListener('click', async () => {
        try { await window.tus.Upload.terminate(s.uploadUrl, { headers: auth() }); } catch { /* gone already */ }
        await window.tus.defaultOptions.urlStorage.removeUpload(s.urlStorageKey);
        li.remove();
        announce(`${name}: interrupted upload discarded`);
        attach.focus();
      });
      items.push(li);
    }
    replace(interrupted, ...items);
  }

  function startAll(files) {
    for (const f of files) startUpload(f);
  }
  input.addEventListener('change', () => { startAll([...input.files]); input.value = ''; });

  /** Drag and drop onto `target` (the conversation pane), and paste anywhere in it. */
  function acceptDrops(target) {
    target.addEventListener('dragover', (e) => { e.preventDefault(); target.classList.add('dropping'); });
    target.addEventListener('dragleave', () => target.classList.remove('dropping'));
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      target.classList.remove('dropping');
      if (e.dataTransfer && e.dataTransfer.files.length) startAll([...e.dataTransfer.files]);
    });
    target.addEventListener('paste', (e) => {
      const files = e.clipboardData ? [...e.clipboardData.files] : [];
      if (!files.length) return; // plain text pastes into the composer as usual
      e.preventDefault();
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      // A pasted screenshot has a generic name (or none): give it a dated one.
      startAll(files.map((f, i) => (f.name && f.name !== 'image.png' ? f
        : new File([f], `pasted-${stamp}${files.length > 1 ? `-${i + 1}` : ''}.${(f.type.split('/')[1] || 'bin').replace(/\W/g, '')}`, { type: f.type, lastModified: f.lastModified }))));
    });
  }

  function card(f) {
    const own = f.owner_id === me.id;
    const reason = f.reason ? (REASON_LABEL[f.reason] || f.reason.replace(/_/g, ' ')) : '';
    const explanation = f.scan && f.scan.explanation ? f.scan.explanation : (reason ? `Not shared because ${reason}.` : '');
    const why = own && f.state !== 'clean' && f.state !== 'scanning' && explanation
      ? h('p', { class: 'file-why' }, explanation) : null;
    const link = f.download_url ? h('a', { href: f.download_url, download: f.name, class: 'file-download' }, `Download ${f.name}`) : null;
    return h('li', { class: `file-card file-${f.state}`, 'data-file': f.id, 'data-created': f.created_at, 'aria-busy': f.state === 'scanning' ? 'true' : null },
      h('span', { class: 'file-kind' }, kind(f.content_type || '', f.name)),
      h('span', { class: 'file-name' }, f.name),
      h('span', { class: 'file-meta' }, `${size(f.size)} · ${own ? 'you' : 'them'} · ${new Date(f.created_at).toLocaleString()}`),
      h('span', { class: `file-state state-${f.state}` }, STATE_LABEL[f.state] || f.state),
      f.purpose === 'legal_document' ? h('span', { class: 'file-exception' }, 'Declared legal document') : null,
      why, link);
  }

  async function refresh() {
    try {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(conversationId)}/files`);
      // The server lists newest first; keep it so whatever the order of arrival.
      const files = [...data.files].sort((a, b) => b.created_at - a.created_at);
      replace(list, ...(files.length ? files.map(card) : [h('li', { class: 'hint' }, 'No files yet.')]));
    } catch (e) {
      replace(list, h('li', { class: 'hint' }, `Files could not be loaded: ${e.message}`));
    }
  }

  function onEvent(ev) {
    if (ev.type !== 'file.created' && ev.type !== 'file.updated' && ev.type !== 'file.deleted') return;
    const f = ev.file || {};
    if (ev.type === 'file.created' && f.owner_id !== me.id) announce(`New file: ${f.name}`);
    if (ev.type === 'file.updated' && f.owner_id === me.id && f.state !== 'scanning') {
      announce(`${f.name}: ${STATE_LABEL[f.state] || f.state}`);
    }
    refresh();
  }

  refresh();
  listInterrupted();
  const attachments = {
    el: readyBox,
    ids: () => [...ready.keys()],
    sent(ids) {
      for (const fid of ids) ready.delete(fid);
      renderReady();
    },
  };
  return { el: panel, input, acceptDrops, onEvent, refresh, attachments };
}
