// Files in a conversation: attach (button or drag and drop) with the vendored tus-js-client
// (window.tus, /app/vendor/tus.min.js), a progress bar with pause and resume per upload, and the
// Files panel: every file the reader may see, newest first, with its state and, for the sender,
// why a file is held or blocked.

import { api, session } from './api.js';
import { h, replace, announce } from './util.js';

const STATE_LABEL = {
  scanning: 'Checking…',
  clean: 'Shared',
  held: 'Held for review',
  blocked: 'Not shared',
  infected: 'Not shared: malware',
  scan_failed: 'Could not be checked: waiting for a reviewer',
};

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The Files panel and attach controls of conversation `conversationId`. */
export function createFiles({ conversationId, me }) {
  const input = h('input', { type: 'file', multiple: true, class: 'sr-only', id: 'attach-input', tabindex: '-1', 'aria-hidden': 'true' });
  const legal = h('input', { type: 'checkbox', id: 'attach-legal' });
  const uploads = h('ul', { class: 'uploads', 'aria-label': 'Uploads in progress' });
  const list = h('ul', { class: 'file-list' });
  const attach = h('button', { type: 'button', class: 'attach', onclick: () => input.click() }, 'Attach files');
  const panel = h('section', { class: 'files-panel', 'aria-labelledby': 'files-title' },
    h('h3', { id: 'files-title' }, 'Files'),
    h('div', { class: 'attach-row' }, attach,
      h('label', { for: 'attach-legal', class: 'legal' }, legal, ' This is a legal document (NDA)'),
      h('span', { class: 'hint' }, 'or drop files here')),
    uploads, list);

  function startUpload(file) {
    if (!window.tus) {
      announce('File sharing is not available: the upload client did not load.');
      return;
    }
    const bar = h('progress', { max: '100', value: '0', 'aria-label': `Uploading ${file.name}` });
    const status = h('span', { class: 'upload-status', role: 'status' }, 'Starting…');
    const pause = h('button', { type: 'button', class: 'link' }, 'Pause');
    const item = h('li', { class: 'upload' }, h('span', { class: 'file-name' }, file.name), bar, status, pause);
    uploads.append(item);
    const metadata = { filename: file.name, filetype: file.type || 'application/octet-stream', conversation_id: conversationId };
    if (legal.checked) metadata.purpose = 'legal_document';
    const started = Date.now();
    const upload = new window.tus.Upload(file, {
      endpoint: '/v1/uploads',
      headers: { Authorization: `Bearer ${session.token}` },
      metadata,
      chunkSize: 5 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      onProgress(sent, total) {
        const pct = total ? Math.floor((sent / total) * 100) : 0;
        bar.value = pct;
        const secs = (Date.now() - started) / 1000;
        const speed = secs > 0 ? sent / secs : 0;
        const left = speed > 0 ? Math.ceil((total - sent) / speed) : 0;
        status.textContent = `${pct}% · ${size(speed)}/s · ${left} s left`;
      },
      onSuccess() {
        item.remove();
        announce(`${file.name} uploaded; checking it`);
        refresh();
      },
      onError(err) {
        const body = err && err.originalResponse ? err.originalResponse.getBody() : '';
        let msg = 'the upload failed';
        try { msg = JSON.parse(body).error.message; } catch { /* not JSON */ }
        status.textContent = `Not uploaded: ${msg}`;
        pause.remove();
        announce(`${file.name} was not uploaded: ${msg}`);
      },
    });
    let paused = false;
    pause.addEventListener('click', () => {
      paused = !paused;
      if (paused) {
        upload.abort();
        pause.textContent = 'Resume';
        status.textContent = `Paused at ${bar.value}%`;
      } else {
        upload.start();
        pause.textContent = 'Pause';
      }
    });
    // Resume an upload of the same file interrupted earlier (a reload, a network drop).
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function startAll(files) {
    for (const f of files) startUpload(f);
  }
  input.addEventListener('change', () => { startAll([...input.files]); input.value = ''; });

  /** Drag and drop onto `target` (the conversation pane). */
  function acceptDrops(target) {
    target.addEventListener('dragover', (e) => { e.preventDefault(); target.classList.add('dropping'); });
    target.addEventListener('dragleave', () => target.classList.remove('dropping'));
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      target.classList.remove('dropping');
      if (e.dataTransfer && e.dataTransfer.files.length) startAll([...e.dataTransfer.files]);
    });
  }

  function card(f) {
    const own = f.owner_id === me.id;
    const why = own && f.state !== 'clean' && f.state !== 'scanning' && f.scan && f.scan.explanation
      ? h('p', { class: 'file-why' }, f.scan.explanation) : null;
    const link = f.download_url ? h('a', { href: f.download_url, download: f.name, class: 'file-download' }, `Download ${f.name}`) : null;
    return h('li', { class: `file-card file-${f.state}`, 'data-file': f.id },
      h('span', { class: 'file-name' }, f.name),
      h('span', { class: 'file-meta' }, `${size(f.size)} · ${own ? 'you' : 'them'}`),
      h('span', { class: `file-state state-${f.state}` }, STATE_LABEL[f.state] || f.state),
      f.purpose === 'legal_document' ? h('span', { class: 'file-exception' }, 'Declared legal document') : null,
      why, link);
  }

  async function refresh() {
    try {
      const { data } = await api('GET', `/v1/conversations/${encodeURIComponent(conversationId)}/files`);
      replace(list, ...(data.files.length ? data.files.map(card) : [h('li', { class: 'hint' }, 'No files yet.')]));
    } catch (e) {
      replace(list, h('li', { class: 'hint' }, `Files could not be loaded: ${e.message}`));
    }
  }

  function onEvent(ev) {
    if (ev.type !== 'file.created' && ev.type !== 'file.updated') return;
    const f = ev.file || {};
    if (ev.type === 'file.created' && f.owner_id !== me.id) announce(`New file: ${f.name}`);
    if (ev.type === 'file.updated' && f.owner_id === me.id && f.state !== 'scanning') {
      announce(`${f.name}: ${STATE_LABEL[f.state] || f.state}`);
    }
    refresh();
  }

  refresh();
  return { el: panel, input, acceptDrops, onEvent, refresh };
}
