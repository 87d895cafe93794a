// <parley-chat conversation="ID" token-provider="fnName"> for a marketplace's own pages:
// frames this server's /embed page (allowed by `embed_origins`), answers its token requests by
// calling window[fnName](refresh) (a function that returns, or resolves to, a user token), and
// passes the element's --parley-* CSS custom properties on as the chat's theme.
const THEME = ['--parley-accent', '--parley-bg', '--parley-fg', '--parley-font', '--parley-radius'];
const SERVER = new URL(import.meta.url).origin;

class ParleyChat extends HTMLElement {
  static get observedAttributes() { return ['conversation']; }

  connectedCallback() {
    this.style.display ||= 'block';
    this.onMessage = (e) => this.answer(e);
    window.addEventListener('message', this.onMessage);
    this.render();
  }

  disconnectedCallback() {
    window.removeEventListener('message', this.onMessage);
  }

  attributeChangedCallback() {
    if (this.isConnected) this.render();
  }

  render() {
    const id = this.getAttribute('conversation');
    if (!id) return;
    const frame = document.createElement('iframe');
    frame.src = `${SERVER}/embed?conversation=${encodeURIComponent(id)}`;
    frame.title = this.getAttribute('title') || 'Chat';
    frame.style.cssText = 'border:0;width:100%;height:100%;min-height:320px;display:block';
    frame.addEventListener('load', () => this.theme());
    this.replaceChildren(frame);
    this.frame = frame;
  }

  theme() {
    const css = getComputedStyle(this);
    const vars = {};
    for (const k of THEME) {
      const v = css.getPropertyValue(k).trim();
      if (v) vars[k] = v;
    }
    this.frame?.contentWindow?.postMessage({ type: 'parley:theme', vars }, SERVER);
  }

  async answer(e) {
    if (e.origin !== SERVER || !this.frame || e.source !== this.frame.contentWindow) return;
    if (e.data?.type !== 'parley:need-token') return;
    const provider = window[this.getAttribute('token-provider') ?? ''];
    if (typeof provider !== 'function') return;
    const token = await provider(Boolean(e.data.refresh));
    this.frame.contentWindow.postMessage({ type: 'parley:token', token }, SERVER);
  }
}

if (!customElements.get('parley-chat')) customElements.define('parley-chat', ParleyChat);
